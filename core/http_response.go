package core

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Response is an HTTP answer decided by the Manager. Adapters copy it to their framework's
// response (Write does it for http.ResponseWriter); they never decide status, headers or body
// themselves, which is how every adapter answers the same request identically.
type Response struct {
	Status          int
	WWWAuthenticate string   // empty: no challenge
	CacheControl    string   // "no-store" on token responses and errors
	SetCookie       []string // complete Set-Cookie header values
	RetryAfter      string   // Retry-After in seconds (RFC 9110 §10.2.3) on 503 and 429; empty: none
	DPoPNonce       string   // DPoP-Nonce (RFC 9449 §8) when server nonces are on; empty: none
	Body            []byte   // JSON, or nil for 204
}

// Write copies the response to w.
func (r Response) Write(w http.ResponseWriter) {
	r.SetHeaders(w.Header())
	w.WriteHeader(r.Status)
	if r.Body != nil {
		w.Write(r.Body)
	}
}

// SetHeaders sets the response's headers in h (SetControlHeaders, and Content-Type for a JSON
// body), for adapters whose framework writes status and body itself.
func (r Response) SetHeaders(h http.Header) {
	r.SetControlHeaders(h)
	if r.Body != nil {
		h.Set("Content-Type", "application/json")
	}
}

// SetControlHeaders sets every header of the response but Content-Type: WWW-Authenticate,
// Cache-Control, each Set-Cookie, Retry-After and DPoP-Nonce. It is for a refusal handed to an application's
// own error handler, which writes a body of its choosing and labels it itself.
func (r Response) SetControlHeaders(h http.Header) {
	if r.WWWAuthenticate != "" {
		h["Www-Authenticate"] = []string{r.WWWAuthenticate} // canonical key: Set would rebuild it
	}
	if r.CacheControl != "" {
		h.Set("Cache-Control", r.CacheControl)
	}
	for _, c := range r.SetCookie {
		h.Add("Set-Cookie", c)
	}
	if r.RetryAfter != "" {
		h.Set("Retry-After", r.RetryAfter)
	}
	if r.DPoPNonce != "" {
		h["Dpop-Nonce"] = []string{r.DPoPNonce}
	}
}

// Problem is the answer for an error from the Manager:
//
//   - ErrTokenMissing: 401, WWW-Authenticate: Bearer realm="..." with no error code (RFC 6750
//     §3.1), body {"error":"unauthorized",...}; with WithDPoPRequired this challenge, and every
//     other one below, names the DPoP scheme instead, with algs (DPoP realm="...", algs="...",
//     RFC 9449 §7.1), since no Bearer token is accepted; so does the refusal of a request that
//     used the DPoP scheme (an expired or revoked DPoP token, a DPoP-bound token's missing
//     scope), as Authenticate and Authorize mark it;
//   - ErrInvalidRequest: 400 invalid_request;
//   - ErrInsufficientScope: 403 insufficient_scope, with scope="<required scopes>" in the
//     challenge when scopes were required (RFC 6750 §3.1);
//   - ErrInsufficientUserAuthentication: 401 insufficient_user_authentication with max_age
//     and/or acr_values in the challenge (RFC 9470 §3);
//   - ErrInvalidGrant (any refused refresh): 400 invalid_grant without a challenge (RFC 6749
//     §5.2). Not 401: a client that answers every 401 with a refresh would take a refused
//     refresh for one more expired access token and refresh again, forever;
//   - ErrInvalidCredentials (a refused login): 401 invalid_grant with a bare Bearer challenge;
//   - ErrStoreUnavailable, ErrIssuedUnderCutOff, and ErrRequestCanceled (the client went away
//     while the store was asked): 503 temporarily_unavailable with Retry-After (the breaker's
//     cooldown, at least 1 s), never an accept;
//   - ErrSessionChurn (a login refused, WithSessionChurnLimit): 429 temporarily_unavailable with
//     Retry-After, the seconds until SessionChurnError.RetryAt (RFC 6585 §4);
//   - ErrVerificationOnly (Issue or Refresh of a verification-only Manager): 501 not_implemented;
//   - ErrSessionNotFound: 404 not_found; ErrSessionsNotRecorded: 501 not_implemented;
//   - ErrDPoPProof, ErrDPoPNonce, ErrDPoPBinding: 401 invalid_dpop_proof, use_dpop_nonce,
//     invalid_token, with a DPoP challenge listing the accepted algorithms (RFC 9449 §7.1) and,
//     with server nonces on, a fresh DPoP-Nonce; at login and refresh a refused proof is 400
//     invalid_dpop_proof or use_dpop_nonce without a challenge (RFC 9449 §5, §8);
//   - every other token error: 401 invalid_token with the short reason as error_description;
//   - anything else: 500 server_error.
//
// The description is a fixed short text per failure ("token expired"); it never contains the
// token, a secret or err.Error(). Status, code and default description are read from the one
// table of sentinels (errorTable); nothing else decides them.
func (h *HTTP) Problem(err error) Response {
	m := h.m
	dpopScheme := false
	if d, ok := err.(*dpopSchemeError); ok { // a DPoP request's refusal: a DPoP challenge
		err, dpopScheme = d.err, true
	}
	row := answerRow(err)
	code, status := row.oauth, row.status
	desc, params := Reason(err), challengeParams(err)
	key := problemKey{code, desc, params, status, dpopScheme}
	m.problemsMu.RLock()
	r, ok := m.problems[key]
	m.problemsMu.RUnlock()
	if ok {
		return withRetryAt(m, m.withDPoPNonce(r, row), err)
	}
	r = Response{Status: status, CacheControl: "no-store", Body: errorBody(code, desc)}
	if status == http.StatusServiceUnavailable {
		r.RetryAfter = m.cfg.guard.retryAfter()
	}
	if row.challenge == dpopChallenge {
		r.WWWAuthenticate = `DPoP realm="` + m.cfg.realm + `", error="` + code + `", error_description="` + desc + `", algs="` + dpopAlgs + `"`
	} else if row.challenge != noChallenge {
		// With DPoP required no Bearer token is ever accepted, and a request that used the DPoP
		// scheme was refused as one: the challenge names the DPoP scheme, with the algorithms a
		// proof may use (RFC 9449 §7.1), so that the client is not sent off to get a Bearer
		// token.
		dpopOnly := dpopScheme || m.cfg.dpop.mode == dpopRequired
		if dpopOnly {
			r.WWWAuthenticate = `DPoP realm="` + m.cfg.realm + `"`
		} else {
			r.WWWAuthenticate = `Bearer realm="` + m.cfg.realm + `"`
		}
		if m.cfg.resourceMetadata != "" { // RFC 9728 §5.1
			r.WWWAuthenticate += `, resource_metadata="` + m.cfg.resourceMetadata + `"`
		}
		// RFC 6750 §3.1: no error code when the request had no credential; a refused refresh
		// grant is not a bearer-token error either (bareChallenge).
		if row.challenge == fullChallenge {
			r.WWWAuthenticate += `, error="` + code + `", error_description="` + desc + `"` + params
		}
		if dpopOnly {
			r.WWWAuthenticate += `, algs="` + dpopAlgs + `"`
		}
	}
	// Answers are built once per (code, reason) - a small fixed set, since reasons are fixed
	// texts - and shared: a flood of bad tokens costs no allocation here. Write only reads them.
	// The challenge parameters come from the application's requirements, a fixed set too unless
	// it builds them per request (a scope per tenant): past maxProblems answers are not kept.
	m.problemsMu.Lock()
	if m.problems == nil {
		m.problems = map[problemKey]Response{}
	}
	if len(m.problems) < maxProblems {
		m.problems[key] = r
	}
	m.problemsMu.Unlock()
	return withRetryAt(m, m.withDPoPNonce(r, row), err)
}

// withRetryAt gives a 429 the Retry-After of its SessionChurnError: the whole seconds until
// RetryAt, rounded up, at least 1. The shared answer r is a value: setting it changes no other.
func withRetryAt(m *Manager, r Response, err error) Response {
	if r.Status != http.StatusTooManyRequests {
		return r
	}
	var ce *SessionChurnError
	secs := int64(1)
	if errors.As(err, &ce) {
		if d := ce.RetryAt.Sub(m.cfg.now()); d > time.Second {
			secs = int64((d + time.Second - 1) / time.Second)
		}
	}
	r.RetryAfter = strconv.FormatInt(secs, 10)
	return r
}

type problemKey struct {
	code, desc, params string
	status             int  // a DPoP refusal's code is the same at the token endpoint (400) and a resource (401)
	dpop               bool // the challenge names the DPoP scheme (a DPoP request's refusal)
}

// maxProblems bounds the answers Problem keeps: every fixed (code, reason) pair, and the
// requirements of a few hundred routes.
const maxProblems = 512

// challengeParams returns the extra WWW-Authenticate parameters an authorization refusal carries
// (scope, max_age, acr_values), already formatted; "" for every other error.
func challengeParams(err error) string {
	if te, ok := err.(*tokenError); ok {
		return te.params
	}
	var te *tokenError
	if errors.As(err, &te) {
		return te.params
	}
	return ""
}

func errorBody(code, desc string) []byte {
	b := make([]byte, 0, 48+len(code)+len(desc))
	b = append(b, `{"error":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"error_description":`...)
	b = appendJSONString(b, desc)
	return append(b, '}')
}

// TokenResponse is the answer to a successful login or refresh (RFC 6749 §5.1): JSON with
// access_token, token_type "Bearer" ("DPoP" for a pair bound to a DPoP key, RFC 9449 §5), expires_in (seconds) and refresh_token, with
// Cache-Control: no-store. In cookie mode the refresh token goes into an HttpOnly, Secure,
// SameSite cookie scoped to the refresh path instead of the body, out of reach of page scripts.
//
// In cookie-only mode (WithCookieOnly) both tokens go into cookies whatever cookie says, and the
// body carries none: {"token_type":"Bearer","expires_in":...,"token_transport":"cookie"}.
func (h *HTTP) TokenResponse(p *TokenPair, cookie bool) Response {
	m := h.m
	if m.cfg.cookieOnly.on {
		return m.cookieOnlyTokens(p)
	}
	b := make([]byte, 0, 64+len(p.AccessToken)+len(p.RefreshToken))
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, p.AccessToken)
	if p.DPoPThumbprint != "" {
		b = append(b, `,"token_type":"DPoP","expires_in":`...)
	} else {
		b = append(b, `,"token_type":"Bearer","expires_in":`...)
	}
	b = appendJSONInt(b, p.ExpiresIn)
	if p.RefreshToken != "" && !cookie {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, p.RefreshToken)
	}
	b = append(b, '}')
	r := Response{Status: http.StatusOK, CacheControl: "no-store", Body: b, DPoPNonce: m.dpopNonce()}
	if cookie && p.RefreshToken != "" {
		r.SetCookie = []string{m.refreshCookie(p.RefreshToken, p.RefreshExpiresAt)}
	}
	return r
}

// LoginResponse answers a login request with p: in cookie mode when the request asked for it with
// the header "X-Refresh-Transport: cookie", else with the refresh token in the body.
func (h *HTTP) LoginResponse(r Request, p *TokenPair) Response {
	v, _ := r.Header(RefreshTransportHeader)
	return h.TokenResponse(p, v == "cookie")
}

// cookieOnlyTokens is the token response of cookie-only mode: the access cookie, expiring with the
// session's refresh token so that the server's clock, not the browser's, decides when the access
// token has expired, and the refresh cookie; a body with expires_in and no token string.
func (m *Manager) cookieOnlyTokens(p *TokenPair) Response {
	b := make([]byte, 0, 80)
	b = append(b, `{"token_type":"Bearer","expires_in":`...)
	b = appendJSONInt(b, p.ExpiresIn)
	b = append(b, `,"token_transport":"cookie"}`...)
	until := p.RefreshExpiresAt
	if p.RefreshToken == "" || until.Before(p.AccessExpiresAt) {
		until = p.AccessExpiresAt
	}
	r := Response{Status: http.StatusOK, CacheControl: "no-store", Body: b,
		SetCookie: []string{m.accessCookie(p.AccessToken, until)}}
	if p.RefreshToken != "" {
		r.SetCookie = append(r.SetCookie, m.refreshCookie(p.RefreshToken, p.RefreshExpiresAt))
	}
	return r
}

// clearCookies are the Set-Cookie values that delete the refresh cookie and, in cookie-only
// mode, the access cookie.
func (m *Manager) clearCookies() []string {
	if m.cfg.cookieOnly.on {
		return []string{m.refreshCookie("", time.Time{}), m.accessCookie("", time.Time{})}
	}
	return []string{m.refreshCookie("", time.Time{})}
}

func (m *Manager) refreshCookie(value string, expires time.Time) string {
	c := &http.Cookie{
		Name: m.cfg.cookie.name, Value: value, Path: m.cfg.cookie.path, Domain: m.cfg.cookie.domain,
		HttpOnly: true, Secure: m.cfg.cookie.secure, SameSite: m.cfg.cookie.sameSite,
	}
	if value == "" {
		c.MaxAge = -1 // Max-Age=0: delete
	} else {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(m.cfg.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c.String()
}

// expiresIn is d in whole seconds, rounded up, for expires_in.
func expiresIn(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}
