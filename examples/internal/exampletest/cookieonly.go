package exampletest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/browsertest"
)

// CookieOnly checks an example started with JWT_COOKIE_ONLY=1 from the outside: login sets the
// access cookie and answers without token strings, /api/me reads the cookie, a cross-site (or
// cross-origin) DELETE to a protected route, a cross-site logout and a cross-site login get 403
// and change nothing (the login sets no cookie),
// same-origin requests work, refresh after expiry rotates both cookies, logout clears them; then
// the browser client in headless Chromium (browsertest.RunCookieOnly).
func CookieOnly(t *testing.T, start Starter) {
	s := Start(t, start, map[string]string{"JWT_COOKIE_ONLY": "1", "JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s"})
	t.Run("Contract", func(t *testing.T) { cookieOnlyContract(t, s) })
	t.Run("Browser", func(t *testing.T) {
		// The page shows #expires-in by the browser's real clock, and login waits for it to be
		// positive: a TTL of seconds could run out on a slow machine before the page renders.
		// A minute of TTL, and Expire moves the server's fake clock past it.
		b := Start(t, start, map[string]string{"JWT_COOKIE_ONLY": "1", "JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s"})
		browsertest.RunCookieOnly(t, b.URL, browsertest.Hooks{
			RefreshCalls: b.RefreshCalls,
			Expire:       func() { b.Clock.Advance(time.Minute + time.Second) },
		})
	})
}

// cookieJar is what a cookie-only login or refresh set.
type cookieJar struct{ access, refresh *http.Cookie }

// cookieDo sends a request with the cookies of j (those not nil) and the headers h (name, value,
// ...), and returns the status, the cookies set and the JSON body.
func (s *Server) cookieDo(t *testing.T, method, path string, j cookieJar, h ...string) (int, cookieJar, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	for _, c := range []*http.Cookie{j.access, j.refresh} {
		if c != nil {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	if method == http.MethodPost && path == "/login" {
		b, _ := json.Marshal(demo)
		req.Body = io.NopCloser(strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, raw, err)
		}
	}
	var set cookieJar
	for _, c := range resp.Cookies() {
		switch c.Name {
		case core.DefaultAccessCookie:
			set.access = c
		case core.DefaultRefreshCookie:
			set.refresh = c
		}
	}
	return resp.StatusCode, set, out
}

// cookieTokens checks a token response of cookie-only mode: no token string in the body, both
// cookies HttpOnly, Secure and SameSite=Strict.
func cookieTokens(t *testing.T, what string, code int, j cookieJar, body map[string]any) {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("%s: got %d %v, want 200", what, code, body)
	}
	for k := range body {
		if k != "token_type" && k != "expires_in" && k != "token_transport" {
			t.Errorf("%s: body member %q, want only token_type, expires_in and token_transport (no token for page scripts)", what, k)
		}
	}
	if body["token_transport"] != "cookie" {
		t.Errorf("%s: token_transport %v, want cookie", what, body["token_transport"])
	}
	for _, c := range []*http.Cookie{j.access, j.refresh} {
		if c == nil || c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
			t.Fatalf("%s: cookies %+v %+v, want both set HttpOnly, Secure, SameSite=Strict", what, j.access, j.refresh)
		}
	}
	if j.access.Path != "/" || j.refresh.Path != core.DefaultRefreshPath {
		t.Errorf("%s: access cookie path %q, refresh cookie path %q; want / and %s", what, j.access.Path, j.refresh.Path, core.DefaultRefreshPath)
	}
}

func cookieOnlyContract(t *testing.T, s *Server) {
	forbidden := func(what string, code int, body map[string]any) {
		t.Helper()
		if code != http.StatusForbidden || body["error"] != "forbidden" || body["error_description"] != "cross-origin request refused" {
			t.Errorf("%s: got %d %v, want 403 forbidden \"cross-origin request refused\"", what, code, body)
		}
	}
	code, jar, body := s.cookieDo(t, "POST", "/login", cookieJar{})
	cookieTokens(t, "login", code, jar, body)
	other := jar // a second session of the same user, which a forged "end other sessions" would end
	code, jar, body = s.cookieDo(t, "POST", "/login", cookieJar{})
	cookieTokens(t, "second login", code, jar, body)
	me := func(j cookieJar) int {
		code, _, _ := s.cookieDo(t, "GET", "/api/me", cookieJar{access: j.access})
		return code
	}
	if code, _, body := s.cookieDo(t, "GET", "/api/me", cookieJar{access: jar.access}); code != 200 || body["sub"] != DemoUser {
		t.Fatalf("GET /api/me with the access cookie: got %d %v, want 200 sub %s", code, body, DemoUser)
	}
	origin := strings.TrimSuffix(s.URL, "/")

	// Forged requests: refused before anything happens.
	code, _, body = s.cookieDo(t, "DELETE", "/api/sessions", cookieJar{access: jar.access}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	forbidden("cross-site DELETE /api/sessions", code, body)
	code, _, body = s.cookieDo(t, "DELETE", "/api/sessions", cookieJar{access: jar.access}, "Origin", "https://evil.example")
	forbidden("DELETE /api/sessions with a foreign Origin and no Fetch Metadata", code, body)
	code, _, body = s.cookieDo(t, "DELETE", "/api/sessions/anything", cookieJar{access: jar.access}, "Sec-Fetch-Site", "same-site", "Origin", "http://other.localhost")
	forbidden("same-site cross-origin DELETE /api/sessions/{id}", code, body)
	code, _, body = s.cookieDo(t, "POST", "/logout", cookieJar{access: jar.access}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	forbidden("cross-site POST /logout", code, body)
	// Login CSRF: a page of another site posting the attacker's credentials would put the
	// attacker's session cookies in the victim's browser.
	code, forged, body := s.cookieDo(t, "POST", "/login", cookieJar{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	forbidden("cross-site POST /login", code, body)
	if forged.access != nil || forged.refresh != nil {
		t.Errorf("cross-site POST /login set cookies %+v %+v, want none", forged.access, forged.refresh)
	}
	code, _, body = s.cookieDo(t, "POST", "/refresh", cookieJar{refresh: jar.refresh}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if code != http.StatusBadRequest || body["error_description"] != "cross-origin request refused" {
		t.Errorf("cross-site POST /refresh: got %d %v, want 400 invalid_grant \"cross-origin request refused\"", code, body)
	}
	if got := me(other); got != 200 {
		t.Fatalf("the other session after the forged requests: got %d, want 200 (nothing may have changed)", got)
	}
	if got := me(jar); got != 200 {
		t.Fatalf("the session after the forged requests: got %d, want 200", got)
	}

	// The same requests from the page's own origin work.
	if code, _, body := s.cookieDo(t, "DELETE", "/api/sessions", cookieJar{access: jar.access}, "Sec-Fetch-Site", "same-origin", "Origin", origin); code != http.StatusNoContent {
		t.Fatalf("same-origin DELETE /api/sessions: got %d %v, want 204", code, body)
	}
	if got := me(other); got != http.StatusUnauthorized {
		t.Errorf("the other session after a same-origin \"end other sessions\": got %d, want 401", got)
	}

	// Expiry, then refresh with the cookie: both cookies rotate.
	s.Clock.Advance(time.Minute + time.Second)
	if got := me(jar); got != http.StatusUnauthorized {
		t.Fatalf("expired access cookie: got %d, want 401", got)
	}
	code, next, body := s.cookieDo(t, "POST", "/refresh", cookieJar{refresh: jar.refresh}, "Sec-Fetch-Site", "same-origin", "Origin", origin)
	cookieTokens(t, "refresh", code, next, body)
	if next.access.Value == jar.access.Value || next.refresh.Value == jar.refresh.Value {
		t.Errorf("refresh: the cookies did not rotate")
	}
	if got := me(next); got != 200 {
		t.Fatalf("the refreshed access cookie: got %d, want 200", got)
	}

	// Logout clears both cookies and ends the session.
	code, cleared, _ := s.cookieDo(t, "POST", "/logout", cookieJar{access: next.access}, "Sec-Fetch-Site", "same-origin", "Origin", origin)
	if code != http.StatusNoContent {
		t.Fatalf("logout: got %d, want 204", code)
	}
	if cleared.access == nil || cleared.access.MaxAge >= 0 || cleared.refresh == nil || cleared.refresh.MaxAge >= 0 {
		t.Errorf("logout: want both cookies cleared, got %+v %+v", cleared.access, cleared.refresh)
	}
	if got := me(next); got != http.StatusUnauthorized {
		t.Errorf("the logged-out access cookie: got %d, want 401", got)
	}
}
