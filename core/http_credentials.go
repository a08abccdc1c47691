package core

import (
	"bytes"
	"net/url"
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

// refreshCredential reads the refresh token of a refresh or logout request: from the body when it
// carries one, else from the refresh cookie. cookie reports which.
func (m *Manager) refreshCredential(r Request) (token string, cookie bool, err error) {
	body, err := r.Body(MaxBodySize)
	if err != nil {
		return "", false, errRefreshBody
	}
	if body = bytes.TrimSpace(body); len(body) > 0 {
		ct, _ := r.Header("Content-Type")
		switch mediaType(ct) {
		case "application/x-www-form-urlencoded":
			q, err := url.ParseQuery(string(body))
			if err != nil || (q.Has("grant_type") && q.Get("grant_type") != "refresh_token") || len(q["refresh_token"]) != 1 {
				return "", false, errRefreshBody
			}
			token = q.Get("refresh_token")
		case "application/json", "":
			// JSON only when the request says so (or says nothing, as non-browser clients may):
			// a text/plain body is what a cross-site form can send without a preflight.
			var req struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				return "", false, errRefreshBody
			}
			token = req.RefreshToken
		default:
			return "", false, errRefreshBody
		}
		if token != "" {
			return token, false, nil
		}
		// A body without a refresh token ("{}" from a generic client): use the cookie if any.
	}
	v, n := r.Cookie(m.cfg.cookie.name)
	switch {
	case n > 1:
		return "", true, errTwoCredentials
	case v == "":
		return "", false, errNoRefresh
	case m.crossOrigin(r, true):
		return "", true, errCrossOrigin
	}
	return strings.Clone(v), true, nil
}

// retryKey reads the Idempotency-Key header of a refresh request: a Structured Field string
// ("...") as the IETF httpapi draft defines it, or the bare token some clients send.
func retryKey(r Request) string {
	v, n := r.Header("Idempotency-Key")
	if n != 1 {
		return ""
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return strings.Clone(v)
}

// mediaType is the media type of a Content-Type value, lower-case, without parameters; a
// structured-syntax suffix "+json" (RFC 6839 §3.1) counts as application/json.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json") {
		return "application/json"
	}
	return ct
}
