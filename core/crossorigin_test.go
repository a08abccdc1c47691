package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// viewRequest is a core.Request that is not an *http.Request (as the Fiber adapters' fasthttp
// view), with or without core.RequestTarget.
type viewRequest struct {
	method, path string
	header       http.Header
	host         string
}

func (v viewRequest) Header(name string) (string, int) {
	if name == "Host" {
		return v.host, 1
	}
	vs := v.header[name]
	if len(vs) == 0 {
		return "", 0
	}
	return vs[0], len(vs)
}
func (v viewRequest) Cookie(string) (string, int)      { return "", 0 }
func (v viewRequest) Query(string) (string, int)       { return "", 0 }
func (v viewRequest) Body(int64) ([]byte, error)       { return nil, nil }
func (v viewRequest) Method() string                   { return v.method }
func (v viewRequest) URL() (scheme, host, path string) { return "https", v.host, v.path }
func (v viewRequest) withoutTarget() noTargetRequest   { return noTargetRequest{v} }

// noTargetRequest hides Method and Path: a third-party Request that does not know them.
type noTargetRequest struct{ v viewRequest }

func (n noTargetRequest) Header(name string) (string, int) { return n.v.Header(name) }
func (n noTargetRequest) Cookie(string) (string, int)      { return "", 0 }
func (n noTargetRequest) Query(string) (string, int)       { return "", 0 }
func (n noTargetRequest) Body(int64) ([]byte, error)       { return nil, nil }

// crossOriginRefused asks a cookie-only Manager to authenticate r in optional mode: without a
// credential it is either refused as cross-origin or let through anonymously.
func crossOriginRefused(t *testing.T, m *core.Manager, r core.Request) bool {
	t.Helper()
	_, c, err := m.HTTP().AuthenticateContext(context.Background(), r, true)
	switch {
	case err == nil && c == nil:
		return false
	case errors.Is(err, core.ErrCrossOrigin):
		if core.ReasonCode(err) != "cross_origin" || m.HTTP().Problem(err).Status != http.StatusForbidden {
			t.Errorf("cross-origin refusal: reason %q status %d, want cross_origin 403", core.ReasonCode(err), m.HTTP().Problem(err).Status)
		}
		return true
	}
	t.Fatalf("AuthenticateContext without a credential: claims %v, err %v", c, err)
	return false
}

// TestCookieOnlyCrossOrigin is the table of cookie-only mode's cross-origin check: every
// combination of method, Sec-Fetch-Site, Origin and Host, through an *http.Request and through a
// view of another server's request (the Fiber adapters' case), each decided as net/http's
// CrossOriginProtection decides it (the oracle), and as the table says.
func TestCookieOnlyCrossOrigin(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	trusted := "https://app.example.com"
	bypass := []string{"POST /hooks/", "DELETE api.example.com/items/{id}"}
	m := testutil.SuiteManager(t, clock, core.WithCookieOnly(), core.WithTrustedOrigins(trusted), core.WithCrossOriginBypass(bypass...))
	oracle := http.NewCrossOriginProtection()
	if err := oracle.AddTrustedOrigin(trusted); err != nil {
		t.Fatal(err)
	}
	for _, p := range bypass {
		oracle.AddInsecureBypassPattern(p)
	}

	type row struct {
		method, path, host, site, origin string
		refused                          bool
	}
	const host = "api.example.com"
	rows := []row{
		// Safe methods always pass.
		{"GET", "/api/me", host, "cross-site", "https://evil.example", false},
		{"HEAD", "/api/me", host, "cross-site", "https://evil.example", false},
		{"OPTIONS", "/api/me", host, "cross-site", "https://evil.example", false},
		// Fetch Metadata decides when present.
		{"POST", "/api/me", host, "same-origin", "", false},
		{"POST", "/api/me", host, "none", "", false},
		{"POST", "/api/me", host, "same-origin", "https://evil.example", false}, // the browser's word wins
		{"POST", "/api/me", host, "same-site", "https://other.example.com", true},
		{"POST", "/api/me", host, "cross-site", "https://evil.example", true},
		{"POST", "/api/me", host, "cross-site", "", true},
		{"DELETE", "/api/items/1", host, "cross-site", "https://evil.example", true},
		{"PUT", "/api/items/1", host, "cross-site", "https://evil.example", true},
		{"PATCH", "/api/items/1", host, "same-site", "http://api.example.com", true}, // http→https: another origin
		{"POST", "/api/me", host, "garbage", "https://evil.example", true},
		// Without Fetch Metadata: Origin against Host.
		{"POST", "/api/me", host, "", "", false}, // not a browser
		{"POST", "/api/me", host, "", "https://api.example.com", false},
		{"POST", "/api/me", host, "", "http://api.example.com", false}, // scheme unknown behind a proxy: passes, as in net/http
		{"POST", "/api/me", host, "", "https://api.example.com:8443", true},
		{"POST", "/api/me", host, "", "https://evil.example", true},
		{"POST", "/api/me", host, "", "null", true},
		{"POST", "/api/me", host, "", "not a url", true},
		{"POST", "/api/me", "127.0.0.1:8080", "", "http://127.0.0.1:8080", false},
		{"POST", "/api/me", "127.0.0.1:8080", "", "http://localhost:8080", true},
		// Trusted origins, with and without Fetch Metadata; matched exactly.
		{"POST", "/api/me", host, "same-site", trusted, false},
		{"POST", "/api/me", host, "", trusted, false},
		{"POST", "/api/me", host, "cross-site", trusted + "/", true},
		{"POST", "/api/me", host, "cross-site", "https://app.example.com:443", true},
		// Bypass patterns: method, host and path as ServeMux matches them.
		{"POST", "/hooks/github", host, "cross-site", "https://github.com", false},
		{"POST", "/hooks/", host, "", "https://github.com", false},
		{"PUT", "/hooks/github", host, "cross-site", "https://github.com", true}, // another method
		{"POST", "/hooks", host, "cross-site", "https://github.com", true},       // ServeMux would redirect
		{"POST", "/api/../hooks/x", host, "cross-site", "https://evil.example", true},
		{"DELETE", "/items/7", host, "cross-site", "https://evil.example", false},
		{"DELETE", "/items/7", "other.example.com", "cross-site", "https://evil.example", true}, // another host
		{"DELETE", "/items/7/more", host, "cross-site", "https://evil.example", true},
	}
	for _, tc := range rows {
		name := strings.Join([]string{tc.method, tc.host + tc.path, "site=" + tc.site, "origin=" + tc.origin}, " ")
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
			r.Host = tc.host
			h := http.Header{}
			if tc.site != "" {
				h.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			r.Header = h
			if want := oracle.Check(r) != nil; want != tc.refused {
				t.Fatalf("the table says refused=%v, net/http's CrossOriginProtection says %v: fix the table", tc.refused, want)
			}
			if got := crossOriginRefused(t, m, core.HTTPRequest(r)); got != tc.refused {
				t.Errorf("net/http request: refused=%v, want %v", got, tc.refused)
			}
			view := viewRequest{method: tc.method, path: tc.path, header: h, host: tc.host}
			if got := crossOriginRefused(t, m, view); got != tc.refused {
				t.Errorf("request view: refused=%v, want %v", got, tc.refused)
			}
			// A Request that cannot tell its method or path is checked as an unsafe request
			// without a path: it is refused whenever the headers say cross-origin, also for GET
			// and for a bypassed path.
			headersRefuse := oracle.Check(&http.Request{Method: "POST", Host: tc.host, URL: &url.URL{}, Header: h}) != nil
			if got := crossOriginRefused(t, m, view.withoutTarget()); got != headersRefuse {
				t.Errorf("request without method and path: refused=%v, want %v", got, headersRefuse)
			}
		})
	}

	t.Run("WebSocket handshake is checked as unsafe", func(t *testing.T) {
		for _, tc := range []struct {
			site, origin string
			refused      bool
		}{
			{"cross-site", "https://evil.example", true},
			{"same-site", "https://other.example.com", true},
			{"", "https://evil.example", true},
			{"same-origin", "https://api.example.com", false},
			{"", "https://api.example.com", false},
			{"cross-site", trusted, false},
		} {
			r := httptest.NewRequest("GET", "http://api.example.com/api/ws", nil)
			r.Header.Set("Upgrade", "WebSocket")
			r.Header.Set("Connection", "Upgrade")
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			r.Header.Set("Origin", tc.origin)
			if got := crossOriginRefused(t, m, core.HTTPRequest(r)); got != tc.refused {
				t.Errorf("handshake site=%q origin=%q: refused=%v, want %v", tc.site, tc.origin, got, tc.refused)
			}
			view := viewRequest{method: "GET", path: "/api/ws", header: r.Header, host: "api.example.com"}
			if got := crossOriginRefused(t, m, view); got != tc.refused {
				t.Errorf("handshake view site=%q origin=%q: refused=%v, want %v", tc.site, tc.origin, got, tc.refused)
			}
		}
	})

	t.Run("an access token from a WithTokenCookie cookie is checked", func(t *testing.T) {
		cm := testutil.SuiteManager(t, clock, core.WithTokenCookie("at"), core.WithTrustedOrigins(trusted))
		p, err := cm.Issue(context.Background(), "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, method, site, origin string
			bearer, ws, refused        bool
		}{
			{"cross-site POST", "POST", "cross-site", "https://evil.example", false, false, true},
			{"same-site DELETE", "DELETE", "same-site", "https://other.example.com", false, false, true},
			{"Origin only, another host", "PUT", "", "https://evil.example", false, false, true},
			{"cross-site WebSocket handshake", "GET", "cross-site", "https://evil.example", false, true, true},
			{"cross-site GET", "GET", "cross-site", "https://evil.example", false, false, false},
			{"same-origin POST", "POST", "same-origin", "https://api.example.com", false, false, false},
			{"trusted origin POST", "POST", "cross-site", trusted, false, false, false},
			{"no browser headers", "POST", "", "", false, false, false},
			{"cross-site POST with Bearer (no ambient credential)", "POST", "cross-site", "https://evil.example", true, false, false},
		} {
			r := httptest.NewRequest(tc.method, "http://api.example.com/api/me", nil)
			if tc.bearer {
				r.Header.Set("Authorization", "Bearer "+p.AccessToken)
			} else {
				r.AddCookie(&http.Cookie{Name: "at", Value: p.AccessToken})
			}
			if tc.ws {
				r.Header.Set("Upgrade", "websocket")
				r.Header.Set("Connection", "Upgrade")
			}
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			_, c, err := cm.HTTP().AuthenticateContext(context.Background(), core.HTTPRequest(r), false)
			switch {
			case tc.refused && !errors.Is(err, core.ErrCrossOrigin):
				t.Errorf("%s: claims %v, err %v, want ErrCrossOrigin", tc.name, c, err)
			case tc.refused && cm.HTTP().Problem(err).Status != http.StatusForbidden:
				t.Errorf("%s: status %d, want 403", tc.name, cm.HTTP().Problem(err).Status)
			case !tc.refused && (err != nil || c == nil || c.Subject != "alice"):
				t.Errorf("%s: claims %v, err %v, want alice's claims", tc.name, c, err)
			}
		}
	})

	t.Run("not in cookie-only mode, a Bearer-only Manager checks no protected route", func(t *testing.T) {
		plain := testutil.SuiteManager(t, clock)
		r := httptest.NewRequest("POST", "http://api.example.com/api/me", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if _, _, err := plain.HTTP().AuthenticateContext(context.Background(), core.HTTPRequest(r), true); err != nil {
			t.Errorf("Bearer mode, a cross-site POST without a credential: %v, want anonymous (a Bearer token is no ambient credential)", err)
		}
	})
}

// TestCookieOnlyTokenResponse: login and refresh in cookie-only mode set both cookies and give
// page scripts no token; the access cookie lasts as long as the refresh token, so that expiry is
// decided by the server's clock and reported as "token expired"; refresh and logout clear both.
func TestCookieOnlyTokenResponse(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	m := testutil.SuiteManager(t, clock, core.WithCookieOnly(), core.WithInsecureCookie(), core.WithSameSite(http.SameSiteLaxMode))
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The request asks for nothing: cookie-only mode sets the cookies anyway.
	resp := m.HTTP().LoginResponse(core.HTTPRequest(httptest.NewRequest("POST", "/login", nil)), p)
	if want := `{"token_type":"Bearer","expires_in":300,"token_transport":"cookie"}`; string(resp.Body) != want {
		t.Errorf("body: got %s, want %s", resp.Body, want)
	}
	if strings.Contains(string(resp.Body), p.AccessToken) || strings.Contains(string(resp.Body), p.RefreshToken) {
		t.Errorf("body carries a token")
	}
	hdr := http.Header{}
	resp.SetHeaders(hdr)
	cookies := (&http.Response{Header: hdr}).Cookies()
	if len(cookies) != 2 {
		t.Fatalf("Set-Cookie: got %v, want the access and the refresh cookie", hdr.Values("Set-Cookie"))
	}
	access, refresh := cookies[0], cookies[1]
	if access.Name != core.DefaultAccessCookie || access.Value != p.AccessToken || !access.HttpOnly || access.Secure ||
		access.SameSite != http.SameSiteLaxMode || access.Path != "/" || access.MaxAge != int(p.RefreshExpiresAt.Sub(clock.Now()).Seconds()) {
		t.Errorf("access cookie: %+v, want HttpOnly, not Secure (WithInsecureCookie), Lax, Path=/, Max-Age of the refresh token", access)
	}
	if refresh.Name != core.DefaultRefreshCookie || refresh.Value != p.RefreshToken || !refresh.HttpOnly || refresh.Path != core.DefaultRefreshPath {
		t.Errorf("refresh cookie: %+v", refresh)
	}
	if resp.CacheControl != "no-store" {
		t.Errorf("Cache-Control: %q, want no-store", resp.CacheControl)
	}

	// The expired access cookie is still sent: the server says why it is refused.
	clock.Advance(5*time.Minute + testutil.SuiteLeeway)
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.AddCookie(&http.Cookie{Name: core.DefaultAccessCookie, Value: p.AccessToken})
	if _, err := m.Authenticate(context.Background(), core.HTTPRequest(r)); !errors.Is(err, core.ErrTokenExpired) {
		t.Errorf("expired access cookie: %v, want ErrTokenExpired", err)
	}

	// A refused refresh clears both cookies.
	bad := httptest.NewRequest("POST", "/refresh", nil)
	bad.AddCookie(&http.Cookie{Name: core.DefaultRefreshCookie, Value: testutil.Tamper(p.RefreshToken)})
	out := m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(bad))
	if out.Status != http.StatusBadRequest || len(out.SetCookie) != 2 {
		t.Errorf("refused refresh: status %d, Set-Cookie %v; want 400 clearing both cookies", out.Status, out.SetCookie)
	}
}

// TestCookieOnlyConfig: the combinations cookie-only mode refuses at New, each saying what to change.
func TestCookieOnlyConfig(t *testing.T) {
	clock := testutil.NewClockNow()
	base := []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer(testutil.Issuer),
		core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil)}
	for _, tc := range []struct {
		name string
		opts []core.Option
		want string
	}{
		{"same cookie names", []core.Option{core.WithCookieOnly(), core.WithRefreshCookie(core.DefaultAccessCookie, "/refresh")}, "both named"},
		{"SameSite=None", []core.Option{core.WithCookieOnly(), core.WithSameSite(http.SameSiteNoneMode)}, "SameSite=None"},
		{"token cookie of the same name", []core.Option{core.WithCookieOnly(), core.WithTokenCookie(core.DefaultAccessCookie)}, "drop it"},
		{"bad bypass pattern", []core.Option{core.WithCrossOriginBypass("POST /a/{b")}, `pattern "POST /a/{b"`},
		{"conflicting bypass patterns", []core.Option{core.WithCrossOriginBypass("/a/", "/a/")}, "WithCrossOriginBypass"},
		{"empty bypass pattern", []core.Option{core.WithCrossOriginBypass("")}, "empty pattern"},
		{"DPoP required", []core.Option{core.WithCookieOnly(), core.WithDPoPRequired()}, "WithDPoPRequired"},
		{"DPoP nonces", []core.Option{core.WithCookieOnly(), core.WithDPoPNonce()}, "drop WithDPoPNonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := core.New(append(base, tc.opts...)...)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded, want a configuration error")
			}
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
}

// BenchmarkCookieOnlyCheck is the cost of cookie-only mode's cross-origin check before the token is
// looked at (AuthenticateContext in optional mode without a credential, so that nothing else
// runs): a same-origin request (decided by its headers), a cross-site one (the standard library's
// Check), and the same two through a view of another server's request (Fiber's case: a minimal
// *http.Request is built for the second).
func BenchmarkCookieOnlyCheck(b *testing.B) {
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(b, clock, core.WithCookieOnly())
	ctx := context.Background()
	mk := func(site string) *http.Request {
		r := httptest.NewRequest("DELETE", "http://api.example.com/api/sessions", nil)
		r.Header.Set("Sec-Fetch-Site", site)
		r.Header.Set("Origin", "https://evil.example")
		return r
	}
	for _, tc := range []struct {
		name string
		r    core.Request
	}{
		{"net/http same-origin", core.HTTPRequest(mk("same-origin"))},
		{"net/http cross-site", core.HTTPRequest(mk("cross-site"))},
		{"view same-origin", viewRequest{method: "DELETE", path: "/api/sessions", host: "api.example.com", header: mk("same-origin").Header}},
		{"view cross-site", viewRequest{method: "DELETE", path: "/api/sessions", host: "api.example.com", header: mk("cross-site").Header}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.HTTP().AuthenticateContext(ctx, tc.r, true)
			}
		})
	}
}
