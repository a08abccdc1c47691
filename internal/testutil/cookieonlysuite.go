package testutil

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// RunCookieOnlySuite is the conformance table of cookie-only mode (core.WithCookieOnly), run by
// every adapter through the router of RunHTTPSuite and RunSessionsSuite (the unsafe protected
// routes are the session routes DELETE /api/sessions/{id} and DELETE /api/sessions). Each case
// builds its own Manager (SuiteManager with WithCookieOnly and the case's options) and router.
//
// It checks: login and refresh set the access and refresh cookies (HttpOnly, Secure,
// SameSite=Strict) and put no token in the body; the middleware reads the access cookie; every
// unsafe request to a protected route that a browser marks cross-site (Sec-Fetch-Site), or whose
// Origin is not the Host, is refused with 403 before its token is read, as is a cross-site
// WebSocket handshake; same-origin, Origin equal to Host, non-browser and safe requests pass;
// trusted origins and bypass patterns make their exceptions; logout clears both cookies; a login
// a browser sent from another origin is refused with 403 and sets no cookie (login CSRF).
func RunCookieOnlySuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	type env struct {
		t     *testing.T
		do    Doer
		m     *core.Manager
		clock *Clock
	}
	type jar struct{ access, refresh *http.Cookie }
	forbidden := Answer{http.StatusForbidden, "",
		map[string]string{"error": "forbidden", "error_description": "cross-origin request refused"}}
	noContent := Answer{http.StatusNoContent, "", nil}
	cookiesOf := func(t *testing.T, resp *http.Response) jar {
		t.Helper()
		var j jar
		for _, c := range resp.Cookies() {
			switch c.Name {
			case core.DefaultAccessCookie:
				j.access = c
			case core.DefaultRefreshCookie:
				j.refresh = c
			}
		}
		return j
	}
	// tokens checks a token response of cookie-only mode and returns its cookies.
	tokens := func(e env, resp *http.Response, what string) jar {
		e.t.Helper()
		body := readJSON(e.t, resp)
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("%s: got %d %v, want 200", what, resp.StatusCode, body)
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if _, ok := body[k]; ok {
				e.t.Errorf("%s: the body has %s, want no token string in cookie-only mode: %v", what, k, body)
			}
		}
		if body["token_transport"] != "cookie" || body["token_type"] != "Bearer" {
			e.t.Errorf("%s: body %v, want token_type Bearer and token_transport cookie", what, body)
		}
		if in, _ := body["expires_in"].(float64); in != SuiteAccessTTL.Seconds() {
			e.t.Errorf("%s: expires_in %v, want %v", what, body["expires_in"], SuiteAccessTTL.Seconds())
		}
		j := cookiesOf(e.t, resp)
		if c := j.access; c == nil || c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
			e.t.Fatalf("%s: access cookie %+v, want HttpOnly Secure SameSite=Strict Path=/ with a value", what, c)
		}
		if c := j.refresh; c == nil || c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != core.DefaultRefreshPath {
			e.t.Fatalf("%s: refresh cookie %+v, want HttpOnly Secure SameSite=Strict Path=%s with a value", what, c, core.DefaultRefreshPath)
		}
		return j
	}
	login := func(e env) jar {
		e.t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/login",
			strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)))
		r.Header.Set("Content-Type", "application/json")
		j := tokens(e, e.do(r), "login")
		e.clock.Advance(time.Second)
		return j
	}
	// req builds a request carrying cookie c and the browser headers h ("Sec-Fetch-Site", "Origin", ...).
	req := func(method, path string, c *http.Cookie, h ...string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		if c != nil {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	// loginReq is a login request of the suite's user with the body's Content-Type and the
	// browser headers h.
	loginReq := func(contentType string, h ...string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login",
			strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)))
		r.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	me := func(e env, c *http.Cookie) int {
		resp := e.do(req(http.MethodGet, "/api/me", c))
		resp.Body.Close()
		return resp.StatusCode
	}
	// alive reports whether the session of j still authenticates.
	alive := func(e env, j jar, what string) {
		e.t.Helper()
		if got := me(e, j.access); got != http.StatusOK {
			e.t.Errorf("%s: GET /api/me with the session's cookie got %d, want 200 (the session must be untouched)", what, got)
		}
	}

	cases := []struct {
		name string
		opts []core.Option
		run  func(e env) (*http.Response, Answer)
	}{
		{"login sets the access cookie, the middleware reads it", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodGet, "/api/me", j.access)), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"cross-site DELETE refused", nil, func(e env) (*http.Response, Answer) {
			other, j := login(e), login(e)
			resp := e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"))
			alive(e, other, "after a refused cross-site DELETE /api/sessions")
			return resp, forbidden
		}},
		{"same-site but cross-origin DELETE refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions/x", j.access, "Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com")), forbidden
		}},
		{"cross-origin DELETE without Fetch Metadata (Origin only) refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions/x", j.access, "Origin", "https://evil.example")), forbidden
		}},
		{"Origin null refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions", j.access, "Origin", "null")), forbidden
		}},
		{"cross-site request refused before its token is read", nil, func(e env) (*http.Response, Answer) {
			return e.do(req(http.MethodDelete, "/api/sessions", nil, "Sec-Fetch-Site", "cross-site")), forbidden
		}},
		{"cross-site WebSocket handshake refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodGet, "/api/me", j.access, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example",
				"Upgrade", "websocket", "Connection", "Upgrade")), forbidden
		}},
		{"same-origin DELETE passes", nil, func(e env) (*http.Response, Answer) {
			other, j := login(e), login(e)
			resp := e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"))
			if got := me(e, other.access); got != http.StatusUnauthorized {
				e.t.Errorf("the other session after a same-origin DELETE /api/sessions: got %d, want 401", got)
			}
			return resp, noContent
		}},
		{"Origin equal to Host passes without Fetch Metadata", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions", j.access, "Origin", "http://example.com")), noContent
		}},
		{"Sec-Fetch-Site none (user typed it) passes", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "none")), noContent
		}},
		{"a request without browser headers passes", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodDelete, "/api/sessions", j.access)), noContent
		}},
		{"safe method from another site passes", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodGet, "/api/me", j.access, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")),
				Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"trusted origin passes", []core.Option{core.WithTrustedOrigins("https://app.example.com")}, func(e env) (*http.Response, Answer) {
			j := login(e)
			if resp := e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")); resp.StatusCode != http.StatusForbidden {
				e.t.Errorf("an untrusted origin next to a trusted one: got %d, want 403", resp.StatusCode)
			}
			return e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "same-site", "Origin", "https://app.example.com")), noContent
		}},
		{"bypass pattern exempts its route only", []core.Option{core.WithCrossOriginBypass("DELETE /api/sessions/{id}")}, func(e env) (*http.Response, Answer) {
			j := login(e)
			if resp := e.do(req(http.MethodDelete, "/api/sessions", j.access, "Sec-Fetch-Site", "cross-site")); resp.StatusCode != http.StatusForbidden {
				e.t.Errorf("DELETE /api/sessions next to a bypass of /api/sessions/{id}: got %d, want 403", resp.StatusCode)
			}
			// Past the check: the handler answers (no such session).
			return e.do(req(http.MethodDelete, "/api/sessions/nope", j.access, "Sec-Fetch-Site", "cross-site")),
				Answer{http.StatusNotFound, "", map[string]string{"error": "not_found"}}
		}},
		{"refresh with the cookies", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			e.clock.Advance(SuiteAccessTTL + SuiteLeeway)
			if resp := e.do(req(http.MethodGet, "/api/me", j.access)); resp.StatusCode != http.StatusUnauthorized {
				e.t.Fatalf("expired access cookie: got %d, want 401", resp.StatusCode)
			}
			next := tokens(e, e.do(req(http.MethodPost, "/refresh", j.refresh, "Sec-Fetch-Site", "same-origin")), "refresh")
			if next.access.Value == j.access.Value || next.refresh.Value == j.refresh.Value {
				e.t.Errorf("refresh: want new access and refresh cookies")
			}
			return e.do(req(http.MethodGet, "/api/me", next.access)), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"cross-site refresh refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			resp := e.do(req(http.MethodPost, "/refresh", j.refresh, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"))
			if own := e.do(req(http.MethodPost, "/refresh", j.refresh, "Sec-Fetch-Site", "same-origin")); own.StatusCode != http.StatusOK {
				e.t.Errorf("refresh from the own origin after a refused cross-site one: got %d, want 200", own.StatusCode)
			}
			return resp, invalidGrant("cross-origin request refused")
		}},
		{"cross-site login refused, no cookie set (login CSRF)", nil, func(e env) (*http.Response, Answer) {
			// A page of another site posting the attacker's credentials as a text/plain form: a
			// 200 would put the attacker's session cookies in the victim's browser.
			forged := [][]string{
				{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
				{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com"},
				{"Origin", "https://evil.example"}, // no Fetch Metadata: the last, its answer is returned
			}
			var resp *http.Response
			for i, h := range forged {
				r := loginReq("text/plain", h...)
				resp = e.do(r)
				if set := resp.Header.Values("Set-Cookie"); len(set) != 0 {
					e.t.Errorf("login with %v: Set-Cookie %v, want none", h, set)
				}
				if i < len(forged)-1 {
					CheckAnswer(e.t, resp, forbidden)
				}
			}
			return resp, forbidden
		}},
		{"same-origin login passes", nil, func(e env) (*http.Response, Answer) {
			j := tokens(e, e.do(loginReq("application/json", "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")), "same-origin login")
			return e.do(req(http.MethodGet, "/api/me", j.access)), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"cross-site logout refused", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			resp := e.do(req(http.MethodPost, "/logout", j.access, "Sec-Fetch-Site", "cross-site"))
			alive(e, j, "after a refused cross-site logout")
			return resp, forbidden
		}},
		{"logout clears both cookies and ends the session", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			resp := e.do(req(http.MethodPost, "/logout", j.access, "Sec-Fetch-Site", "same-origin"))
			cleared := cookiesOf(e.t, resp)
			for _, c := range []*http.Cookie{cleared.access, cleared.refresh} {
				if c == nil || c.Value != "" || c.MaxAge >= 0 {
					e.t.Errorf("logout: want both cookies cleared (empty, Max-Age=0), got %v", resp.Header.Values("Set-Cookie"))
					break
				}
			}
			if got := me(e, j.access); got != http.StatusUnauthorized {
				e.t.Errorf("the logged-out access cookie: got %d, want 401", got)
			}
			return resp, noContent
		}},
		{"a DPoP proof at login is ignored: the cookie's token works unbound", nil, func(e env) (*http.Response, Answer) {
			r := httptest.NewRequest(http.MethodPost, "/login",
				strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("DPoP", NewDPoPKey(e.t).Proof(e.t, http.MethodPost, "http://example.com/login", "", "", e.clock.Now()))
			j := tokens(e, e.do(r), "login with a DPoP proof")
			return e.do(req(http.MethodGet, "/api/me", j.access)), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"cookie and Authorization header together are two credentials", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodGet, "/api/me", j.access, "Authorization", "Bearer "+j.access.Value)), answerTwo
		}},
		{"Authorization header alone still works", nil, func(e env) (*http.Response, Answer) {
			j := login(e)
			return e.do(req(http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+j.access.Value)),
				Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			m := SuiteManager(t, clock, append([]core.Option{core.WithCookieOnly()}, tc.opts...)...)
			e := env{t: t, do: build(t, m), m: m, clock: clock}
			resp, want := tc.run(e)
			CheckAnswer(t, resp, want)
		})
	}
}
