package core

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
)

// Credentials are the username and password of a login request (see ReadCredentials).
type Credentials struct {
	Username string
	Password string
}

// ReadCredentials reads the username and password of a login request: a JSON body
// {"username": "...", "password": "..."} (member names exact, no duplicates), or a form body
// (application/x-www-form-urlencoded) with username and password, as the resource owner password
// grant sends them (RFC 6749 §4.3.2; grant_type, when present, must be "password"). Anything else -
// no body, another shape, a missing or empty field, a body over MaxBodySize - is an error matching
// ErrInvalidRequest (400 "malformed login request"). An application's login function can return
// that error as it is.
func ReadCredentials(r Request) (Credentials, error) {
	body, err := r.Body(MaxBodySize)
	if err != nil {
		return Credentials{}, errLoginBody
	}
	body = bytes.TrimSpace(body)
	var c Credentials
	ct, _ := r.Header("Content-Type")
	if strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		q, err := url.ParseQuery(string(body))
		if err != nil || (q.Has("grant_type") && q.Get("grant_type") != "password") ||
			len(q["username"]) != 1 || len(q["password"]) != 1 {
			return Credentials{}, errLoginBody
		}
		c.Username, c.Password = q.Get("username"), q.Get("password")
	} else {
		var req struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return Credentials{}, errLoginBody
		}
		c.Username, c.Password = req.Username, req.Password
	}
	if c.Username == "" || c.Password == "" {
		return Credentials{}, errLoginBody
	}
	return c, nil
}

// ServeLogin answers a login request: it calls authenticate - the application's check of the
// request's credentials against its user store, returning the user's subject and custom claims -
// and on success issues a session (see Issue) and answers with the token response of
// LoginResponse: JSON (RFC 6749 §5.1), the refresh token in the HttpOnly cookie instead when the
// request carries "X-Refresh-Transport: cookie". The adapters' LoginHandler calls it, passing
// WithRemoteAddr; opts go to Issue. With WithSessionClients the new session also records a
// description of the client (DescribeClient of the User-Agent and the remote address).
//
// What authenticate returns decides the answer:
//   - nil: 200 with the tokens;
//   - an error matching ErrInvalidCredentials: 401 invalid_grant "invalid username or password"
//     (reported as EventRejected);
//   - an error matching ErrInvalidRequest (ReadCredentials' error, for one): 400 invalid_request;
//   - an error matching ErrStoreUnavailable (the user store is down): 503;
//   - any other error: 500 server_error "internal error", logged at Error level with the error
//     (the client never sees it).
//
// A verification-only Manager answers 501 without calling authenticate.
func (m *Manager) ServeLogin(ctx context.Context, r Request, authenticate func() (subject string, custom any, err error), opts ...IssueOption) Response {
	if m.cfg.verificationOnly() {
		return m.Problem(ErrVerificationOnly)
	}
	subject, custom, err := authenticate()
	if err == nil {
		var p *TokenPair
		if m.cfg.sessionClients {
			ua, _ := r.Header("User-Agent")
			// Clip: appending must not write into spare capacity of the caller's slice, which
			// concurrent requests may share.
			opts = append(slices.Clip(opts), func(o *issueOptions) { o.describe, o.userAgent = true, ua })
		}
		if p, err = m.Issue(ctx, subject, custom, opts...); err == nil {
			return m.LoginResponse(r, p)
		}
	}
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		m.rejected(ctx, ErrInvalidCredentials)
		return m.Problem(ErrInvalidCredentials)
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrStoreUnavailable):
		return m.Problem(err)
	}
	if m.logger != nil {
		m.logger.LogAttrs(ctx, slog.LevelError, "jwtexp login failed", slog.String("error", err.Error()))
	}
	return m.Problem(errLoginInternal)
}
