package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

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
//   - ErrIssuedUnderCutOff (the session store just found a data loss, and tokens issued in this
//     second would be refused): 503 with Retry-After, never 200 with tokens that do not work;
//   - ErrSessionChurn (too many of the subject's sessions ended recently, WithSessionChurnLimit):
//     429 temporarily_unavailable with Retry-After;
//   - any other error: 500 server_error "internal error", logged at Error level with the error
//     (the client never sees it).
//
// A verification-only Manager answers 501 without calling authenticate.
//
// A login whose answer sets cookies - every login in cookie-only mode (WithCookieOnly), and one
// asking for the refresh cookie with "X-Refresh-Transport: cookie" - is refused with
// ErrCrossOrigin (403) before authenticate is called when a browser sent it on behalf of another
// origin (the cross-origin check of protected routes): a page of another site posting the
// attacker's credentials would otherwise sign the victim's browser in to the attacker's account
// (login cross-site request forgery).
//
// DPoP (RFC 9449 §5): a request carrying a DPoP header gets tokens bound to the proof's key
// (token_type "DPoP") when the proof is valid for this request (POST and the login URL, fresh,
// never seen, with the server nonce when nonces are on); an invalid proof is answered 400
// invalid_dpop_proof (or use_dpop_nonce with a DPoP-Nonce header) before authenticate is called.
// With WithDPoPRequired a request without a proof is refused the same way.
func (h *HTTP) ServeLogin(ctx context.Context, r Request, authenticate func() (subject string, custom any, err error), opts ...IssueOption) Response {
	m := h.m
	if m.cfg.verificationOnly() {
		return h.Problem(ErrVerificationOnly)
	}
	if m.loginSetsCookies(r) && m.crossOrigin(r, true) {
		return h.Problem(errCrossOrigin)
	}
	jkt, err := m.tokenEndpointProof(ctx, r)
	if err != nil {
		return h.Problem(err)
	}
	if jkt != "" {
		opts = append(slices.Clip(opts), WithDPoPKey(jkt))
	}
	subject, custom, err := authenticate()
	if err == nil {
		var p *TokenPair
		if key := retryKey(r); key != "" {
			opts = append(slices.Clip(opts), WithIdempotencyKey(key))
		}
		if m.cfg.sessionClients {
			ua, _ := r.Header("User-Agent")
			// Clip: appending must not write into spare capacity of the caller's slice, which
			// concurrent requests may share.
			opts = append(slices.Clip(opts), func(o *issueOptions) { o.describe, o.userAgent = true, ua })
		}
		if p, err = m.Issue(ctx, subject, custom, opts...); err == nil {
			return h.LoginResponse(r, p)
		}
	}
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		m.rejected(ctx, ErrInvalidCredentials)
		return h.Problem(ErrInvalidCredentials)
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrIssuedUnderCutOff),
		errors.Is(err, ErrSessionChurn):
		return h.Problem(err)
	}
	if m.logger != nil {
		m.logger.LogAttrs(ctx, slog.LevelError, "jwtexp login failed", slog.String("error", err.Error()))
	}
	return h.Problem(errLoginInternal)
}

// loginSetsCookies reports whether the answer to the login request r sets cookies: always in
// cookie-only mode, else when r asks for the refresh cookie (RefreshTransportHeader).
func (m *Manager) loginSetsCookies(r Request) bool {
	if m.cfg.cookieOnly.on {
		return true
	}
	v, _ := r.Header(RefreshTransportHeader)
	return v == "cookie"
}

// ServeRefresh answers a refresh request. The refresh token comes from a JSON body
// {"refresh_token": "..."} (or a form body with grant_type=refresh_token, RFC 6749 §6), and
// without a body from the refresh cookie; the answer uses the same transport. Every refusal is 400
// invalid_grant without a challenge (RFC 6749 §5.2), so a client that refreshes on every 401 does
// not take a refused refresh for an expired access token and loop; a store failure is 503.
//
// DPoP: a proof in the request is checked as at login (an invalid one: 400 invalid_dpop_proof or
// use_dpop_nonce); a refresh token bound to a DPoP key is refused with 400 invalid_grant unless
// the request carries a valid proof by that key (a stolen refresh token alone is worthless), and
// the new tokens are bound to the same key.
func (h *HTTP) ServeRefresh(ctx context.Context, r Request) Response {
	m := h.m
	if m.cfg.verificationOnly() {
		return h.Problem(ErrVerificationOnly)
	}
	token, cookie, err := m.refreshCredential(r)
	if err != nil {
		return h.Problem(grantError(err))
	}
	var opts []RefreshOption
	if key := retryKey(r); key != "" {
		opts = append(opts, WithRetryKey(key))
	}
	jkt, err := m.tokenEndpointProof(ctx, r)
	if err != nil {
		return h.Problem(err)
	}
	if jkt != "" {
		opts = append(opts, WithRefreshDPoPKey(jkt))
	}
	p, err := m.Refresh(ctx, token, opts...)
	if err != nil {
		resp := h.Problem(err)
		if cookie && !errors.Is(err, ErrStoreUnavailable) {
			resp.SetCookie = m.clearCookies()
		}
		return resp
	}
	return h.TokenResponse(p, cookie)
}

// ServeLogout answers a logout request: it revokes the session named by the Bearer
// access token and/or by a refresh token in the JSON body or refresh cookie, clears the refresh
// cookie (and the access cookie of cookie-only mode) and answers 204 No Content - also when the
// request carries no credential at all. A browser request from another origin carrying the
// refresh cookie, or in cookie-only mode any cookie credential, is refused with ErrCrossOrigin
// (403): a forged logout would end the user's session.
func (h *HTTP) ServeLogout(ctx context.Context, r Request) Response {
	m := h.m
	if m.cfg.cookieOnly.on && m.crossOrigin(r, true) {
		return h.Problem(errCrossOrigin)
	}
	access, err := m.extract(r)
	if err != nil && err != errMissing {
		return h.Problem(err)
	}
	refresh, _, err := m.refreshCredential(r)
	if err != nil && !errors.Is(err, ErrTokenMissing) {
		return h.Problem(err)
	}
	if err := m.Logout(ctx, access, refresh); err != nil {
		return h.Problem(err)
	}
	return Response{
		Status:       http.StatusNoContent,
		CacheControl: "no-store",
		SetCookie:    m.clearCookies(),
	}
}

// ServeSessions answers "list my sessions" for the verified claims c of the request (the
// adapters' SessionsHandler): 200 with
//
//	{"sessions": [{"id", "created_at", "last_used_at", "expires_at", "current", "client"}]}
//
// most recently used first; times are NumericDate seconds (RFC 7519 §2), expires_at is the
// absolute end, current marks the session of c, client is null when none was recorded. nil
// claims answer 401, a store failure 503.
func (h *HTTP) ServeSessions(ctx context.Context, c *Claims) Response {
	m := h.m
	if c == nil {
		return h.Problem(ErrTokenMissing)
	}
	list, err := m.Sessions(ctx, c.Subject, c.SessionID)
	if err != nil {
		return h.Problem(err)
	}
	b := make([]byte, 0, 16+len(list)*160)
	b = append(b, `{"sessions":[`...)
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, s.ID)
		b = append(b, `,"created_at":`...)
		b = appendJSONInt(b, s.CreatedAt.Unix())
		b = append(b, `,"last_used_at":`...)
		b = appendJSONInt(b, s.LastUsedAt.Unix())
		b = append(b, `,"expires_at":`...)
		b = appendJSONInt(b, s.ExpiresAt.Unix())
		b = append(b, `,"current":`...)
		if s.Current {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
		b = append(b, `,"client":`...)
		if s.Client == "" {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, s.Client)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return Response{Status: http.StatusOK, CacheControl: "no-store", Body: b}
}

// ServeEndSession answers "end session id" for the verified claims c of the request (the
// adapters' EndSessionHandler): 204 when id was one of c's subject's live sessions (ended as by
// EndSession), 404 not_found otherwise (whoever the id belongs to), 401 for nil claims, 503 on a
// store failure. One leading "/" of id is dropped, so the handler may be mounted with a
// catch-all parameter ("/api/sessions/*id" in Gin and Echo): then "/api/sessions/" reaches it
// (an empty id: 404) instead of being redirected to the collection, whose DELETE ends every
// other session.
func (h *HTTP) ServeEndSession(ctx context.Context, c *Claims, id string) Response {
	m := h.m
	if c == nil {
		return h.Problem(ErrTokenMissing)
	}
	id = strings.TrimPrefix(id, "/")
	if id == "" {
		return h.Problem(ErrSessionNotFound)
	}
	if err := m.EndSession(ctx, c.Subject, id); err != nil {
		return h.Problem(err)
	}
	return Response{Status: http.StatusNoContent, CacheControl: "no-store"}
}

// ServeEndOtherSessions answers "sign out other devices" for the verified claims c of the
// request (the adapters' EndOtherSessionsHandler): every session of c's subject but c's own ends
// (EndOtherSessions) and the answer is 204; 401 for nil claims, 503 on a store failure.
//
// path is the request's path as the router received it. A path that is not in canonical form -
// a trailing "/", an empty segment ("//"), a "." or ".." segment - is answered 404 not_found and
// ends nothing: it is a request for "end session <empty id>" (DELETE /api/sessions/) or a mangled
// one that a lenient router (Fiber's default routing, for one) handed to this handler, and a
// client that meant to end one session must never end all the others.
func (h *HTTP) ServeEndOtherSessions(ctx context.Context, c *Claims, path string) Response {
	m := h.m
	if c == nil {
		return h.Problem(ErrTokenMissing)
	}
	if !CanonicalPath(path) {
		return h.Problem(ErrSessionNotFound)
	}
	if _, err := m.EndOtherSessions(ctx, c.Subject, c.SessionID); err != nil {
		return h.Problem(err)
	}
	return Response{Status: http.StatusNoContent, CacheControl: "no-store"}
}

// JWKSCacheControl is the Cache-Control of ServeJWKS: shared caches and clients may keep the key
// set for five minutes. Publish a new key (as an older, verification-only key) at least this long
// before it starts signing, so that every verifier has it by then (see Manager.KeyRetirable).
const JWKSCacheControl = "public, max-age=300"

// ServeJWKS is the answer to GET /.well-known/jwks.json (or wherever the key set is published):
// 200 with the JWKS document as JSON and Cache-Control JWKSCacheControl (public, max-age=300), so
// verifiers do not fetch it on every request yet see a newly published key within minutes. With
// WithKeyRotation the document is the key ring (Next, Current, Previous) and the max-age is
// WithJWKSMaxAge, the publish-ahead: a verifier that caches as told holds every key before the
// first token it signs.
func (h *HTTP) ServeJWKS() Response {
	body, cc := h.m.publishedJWKS()
	return Response{Status: http.StatusOK, CacheControl: cc, Body: body}
}

// CanonicalPath reports whether path is "/" or a clean absolute path: no trailing "/", no empty,
// "." or ".." segment. The empty path (an adapter that cannot tell) counts as canonical.
// HTTP.ServeEndOtherSessions refuses a request whose path is not canonical, and nethttpjwt's
// StrictPaths keeps ServeMux from redirecting such a request to the clean path.
func CanonicalPath(path string) bool {
	if path == "" || path == "/" {
		return true
	}
	if path[0] != '/' || path[len(path)-1] == '/' {
		return false
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
