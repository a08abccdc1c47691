package echo5jwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echo5jwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// me answers {"sub": <subject or "">}.
func me(c *echo.Context) error {
	sub := ""
	if claims, ok := echo5jwt.Claims(c); ok {
		sub = claims.Subject
	}
	return c.JSON(http.StatusOK, map[string]string{"sub": sub})
}

// router mounts the routes of the conformance suite (see internal/testutil/httpsuite.go) on an
// echo.New() with Echo's default HTTPErrorHandler: the middleware's refusals reach the client
// through it.
func router(m *core.Manager) *echo.Echo {
	e := echo.New()
	e.POST("/login", echo5jwt.LoginHandler(m, func(c *echo.Context) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(core.HTTPRequest(c.Request()))
	}))
	api := e.Group("/api", echo5jwt.Middleware(m))
	api.GET("/me", me)
	api.GET("/admin", me, echo5jwt.RequireScope(m, "admin"))
	api.GET("/write", me, echo5jwt.RequireAnyScope(m, "write", "admin"))
	api.GET("/role", me, echo5jwt.Require(m, testutil.SuiteIsAdmin))
	api.GET("/sensitive", me, echo5jwt.RequireStepUp(m, testutil.SuiteRecentLogin))
	api.GET("/mfa", me, echo5jwt.RequireStepUp(m, testutil.SuiteMFA))
	api.GET("/sessions", echo5jwt.SessionsHandler(m))
	api.DELETE("/sessions/:id", echo5jwt.EndSessionHandler(m, "id"))
	api.DELETE("/sessions", echo5jwt.EndOtherSessionsHandler(m))
	e.GET("/optional", me, echo5jwt.Middleware(m, echo5jwt.WithOptional()))
	e.POST("/refresh", echo5jwt.RefreshHandler(m))
	e.POST("/logout", echo5jwt.LogoutHandler(m))
	return e
}

func TestConformance(t *testing.T) {
	testutil.RunHTTPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestParallelRequests sends 400 concurrent requests, half with a valid token of its own subject
// and half with a tampered one, and checks every answer: a mix-up of claims between concurrent
// requests (a pooled *echo.Context reused too early) shows up as a wrong subject or status.
func TestParallelRequests(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	testutil.RunParallelRequests(t, m, testutil.HandlerDoer(router(m)))
}

// TestDefaultErrorHandler checks, byte for byte, that a refusal rendered by Echo's default
// HTTPErrorHandler is core's answer: status, challenge, Cache-Control, Content-Type and body -
// also for HEAD, where Echo writes no body.
func TestDefaultErrorHandler(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock)
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway)
	e := echo.New()
	e.Match([]string{http.MethodGet, http.MethodHead}, "/api", func(c *echo.Context) error {
		t.Error("the protected handler ran for a refused request")
		return nil
	}, echo5jwt.Middleware(m))
	for _, tc := range []struct {
		name, method, auth string
		sentinel           error
	}{
		{"expired", http.MethodGet, "Bearer " + p.AccessToken, core.ErrTokenExpired},
		{"missing", http.MethodGet, "", core.ErrTokenMissing},
		{"two credentials", http.MethodGet, "Bearer a.b.c, Bearer d.e.f", core.ErrInvalidRequest},
		{"malformed header", http.MethodGet, "Bearer ", core.ErrInvalidRequest},
		{"garbage", http.MethodGet, "Bearer eyJhbGciOiJIUzI1NiJ9.bm9wZQ.c2ln", core.ErrTokenMalformed},
		{"expired HEAD", http.MethodHead, "Bearer " + p.AccessToken, core.ErrTokenExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/api", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			auth, err := m.Authenticate(context.Background(), core.HTTPRequest(req))
			if auth != nil || !errors.Is(err, tc.sentinel) {
				t.Fatalf("core: got %v %v, want %v", auth, err, tc.sentinel)
			}
			want := m.HTTP().Problem(err)
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != want.Status {
				t.Errorf("status: got %d, want %d", w.Code, want.Status)
			}
			if got := w.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != want.WWWAuthenticate {
				t.Errorf("WWW-Authenticate: got %q, want exactly %q", got, want.WWWAuthenticate)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
			wantBody := string(want.Body)
			if tc.method == http.MethodHead {
				wantBody = ""
			} else if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			if got := strings.TrimSuffix(w.Body.String(), "\n"); got != wantBody {
				t.Errorf("body: got %q, want core's %q", got, wantBody)
			}
		})
	}
}

// TestCustomHTTPErrorHandler checks what an application's HTTPErrorHandler receives: an
// *echo5jwt.Error that reports core's status the way Echo v5's errors do (echo.StatusCode),
// unwraps to the core sentinel, renders core's body, and whose headers are already set.
func TestCustomHTTPErrorHandler(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	var handled error
	e := echo.NewWithConfig(echo.Config{HTTPErrorHandler: func(c *echo.Context, err error) {
		handled = err
		_ = c.String(echo.StatusCode(err), "app: "+err.Error())
	}})
	e.GET("/api", func(c *echo.Context) error { return nil }, echo5jwt.Middleware(m))
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	req.Header.Set("Authorization", "Bearer "+testutil.Tamper(mintAlice(t, m)))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)

	var je *echo5jwt.Error
	if !errors.As(handled, &je) {
		t.Fatalf("HTTPErrorHandler got %T %v, want *echo5jwt.Error", handled, handled)
	}
	if !errors.Is(handled, core.ErrSignature) || echo.StatusCode(handled) != http.StatusUnauthorized {
		t.Errorf("got %v status %d, want core.ErrSignature with 401", handled, echo.StatusCode(handled))
	}
	if b, err := json.Marshal(handled); err != nil || string(b) != `{"error":"invalid_token","error_description":"invalid signature"}` {
		t.Errorf("json.Marshal: got %s %v, want core's body", b, err)
	}
	if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Body.String(), "app: jwtexp: ") {
		t.Errorf("response: got %d %q, want the app's 401 text", w.Code, w.Body)
	}
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="jwtexp", error="invalid_token", error_description="invalid signature"`; got != want {
		t.Errorf("WWW-Authenticate: got %q, want %q", got, want)
	}
	// The app's handler wrote text: the adapter must not have labelled it JSON beforehand.
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type of the app's own error page: got %q, want text/plain", got)
	}
}

func mintAlice(t *testing.T, m *core.Manager) string {
	t.Helper()
	p, err := m.Issue(context.Background(), "alice", map[string]string{"role": "admin"})
	if err != nil {
		t.Fatal(err)
	}
	return p.AccessToken
}

func TestSkipperAndErrorHandler(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	reached := false
	var handled error
	sentinel := errors.New("refused")
	e := echo.NewWithConfig(echo.Config{HTTPErrorHandler: func(c *echo.Context, err error) { handled = err }})
	e.Use(echo5jwt.Middleware(m,
		echo5jwt.WithSkipper(func(c *echo.Context) bool { return c.Path() == "/health" }),
		echo5jwt.WithErrorHandler(func(c *echo.Context, err error) error {
			if c.Request().URL.Query().Has("return") {
				return fmt.Errorf("%w: %w", sentinel, err)
			}
			if c.Request().URL.Query().Has("write") {
				return echo5jwt.WriteError(c, m, err)
			}
			return c.String(http.StatusForbidden, core.Reason(err))
		}),
	))
	e.GET("/health", func(c *echo.Context) error {
		_, ok := echo5jwt.Claims(c)
		return c.String(http.StatusTeapot, fmt.Sprintf("claims=%v", ok))
	})
	e.GET("/api", func(c *echo.Context) error { reached = true; return nil })

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	if w.Code != http.StatusTeapot || w.Body.String() != "claims=false" {
		t.Errorf("/health: got %d %q, want 418 claims=false", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api", nil))
	if w.Code != http.StatusForbidden || w.Body.String() != "missing bearer token" || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("/api: got %d %q %v, want 403 missing bearer token and no challenge", w.Code, w.Body, w.Header())
	}
	if handled != nil {
		t.Errorf("/api: HTTPErrorHandler got %v, want no error when the error handler answered", handled)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api?write=1", nil))
	testutil.CheckAnswer(t, w.Result(), testutil.Answer{Status: http.StatusUnauthorized, Challenge: `Bearer realm="jwtexp"`,
		Body: map[string]string{"error": "unauthorized", "error_description": "missing bearer token"}})

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api?return=1", nil))
	if !errors.Is(handled, sentinel) || !errors.Is(handled, core.ErrTokenMissing) {
		t.Errorf("/api?return: HTTPErrorHandler got %v, want the error handler's error", handled)
	}
	if reached {
		t.Error("the protected handler ran for a refused request")
	}
}

// TestClaimsEverywhere checks that echo-style (Claims, Custom) and net/http-style
// (core.ClaimsFromContext on c.Request(), also through echo.WrapHandler) code find the same
// claims, and that Custom reports why it has no value.
func TestClaimsEverywhere(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	type role struct {
		Role string `json:"role"`
	}
	type badRole struct {
		Role int `json:"role"` // the token carries a string
	}
	token := mintAlice(t, m)
	e := echo.New()
	e.GET("/echo", func(c *echo.Context) error {
		claims, ok := echo5jwt.Claims(c)
		custom, cerr := echo5jwt.Custom[role](c)
		bad, berr := echo5jwt.Custom[badRole](c)
		ctxClaims, ctxOK := core.ClaimsFromContext(c.Request().Context())
		if !ok || cerr != nil || !ctxOK || ctxClaims != claims || berr == nil || errors.Is(berr, core.ErrNoClaims) || bad.Role != 0 {
			return c.String(http.StatusInternalServerError, fmt.Sprintf("claims %v custom %v context %v bad %v %v", ok, cerr, ctxOK, bad, berr))
		}
		return c.String(http.StatusOK, claims.Subject+" "+custom.Role)
	}, echo5jwt.Middleware(m))
	e.GET("/std", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := core.ClaimsFromContext(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, claims.Subject)
	})), echo5jwt.Middleware(m))
	e.GET("/anon", func(c *echo.Context) error {
		_, ok := echo5jwt.Claims(c)
		_, cerr := echo5jwt.Custom[role](c)
		return c.String(http.StatusOK, fmt.Sprintf("%v %v", ok, errors.Is(cerr, core.ErrNoClaims)))
	}, echo5jwt.Middleware(m, echo5jwt.WithOptional()))
	for _, tc := range []struct{ path, auth, want string }{
		{"/echo", "Bearer " + token, "alice admin"},
		{"/std", "Bearer " + token, "alice"},
		{"/anon", "", "false true"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.String() != tc.want {
			t.Errorf("%s: got %d %q, want 200 %q", tc.path, w.Code, w.Body, tc.want)
		}
	}
}

// TestCookieIgnoresForwardedProto checks that the refresh cookie's Secure attribute is core's
// configuration whatever X-Forwarded-Proto claims, from a trusted (loopback) or an untrusted
// peer: the adapter trusts the header no more than Echo's Scheme() does - not at all.
func TestCookieIgnoresForwardedProto(t *testing.T) {
	t.Parallel()
	for _, insecure := range []bool{false, true} {
		var opts []core.Option
		if insecure {
			opts = append(opts, core.WithInsecureCookie())
		}
		m := testutil.SuiteManager(t, testutil.NewClockNow(), opts...)
		e := router(m)
		for _, peer := range []string{"203.0.113.7:4000", "127.0.0.1:4000"} {
			for _, proto := range []string{"", "http", "https"} {
				req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(
					fmt.Sprintf(`{"username":%q,"password":%q}`, testutil.SuiteUser, testutil.SuitePassword)))
				req.Header.Set("Content-Type", "application/json")
				req.RemoteAddr = peer
				req.Header.Set(core.RefreshTransportHeader, "cookie")
				if proto != "" {
					req.Header.Set("X-Forwarded-Proto", proto)
				}
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				cookies := w.Result().Cookies()
				if w.Code != http.StatusOK || len(cookies) != 1 || cookies[0].Secure == insecure || !cookies[0].HttpOnly {
					t.Errorf("insecure=%v peer %s proto %q: got %d %v, want one HttpOnly cookie with Secure=%v", insecure, peer, proto, w.Code, cookies, !insecure)
				}
			}
		}
	}
}

// BenchmarkMiddleware measures an authenticated GET through an echo.Echo, with the middleware
// (jwtexp) and without it (bare): the difference is the cost of authentication.
func BenchmarkMiddleware(b *testing.B) {
	for _, mode := range []string{"bare", "jwtexp"} {
		for _, alg := range []string{"HS256", "EdDSA"} {
			b.Run(mode+"/"+alg, func(b *testing.B) {
				m := testutil.BenchManager(b, alg)
				p, err := m.Issue(context.Background(), "alice", nil)
				if err != nil {
					b.Fatal(err)
				}
				e := echo.New()
				if mode == "jwtexp" {
					e.Use(echo5jwt.Middleware(m))
				}
				e.GET("/api/me", me)
				req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
				req.Header.Set("Authorization", "Bearer "+p.AccessToken)
				w := testutil.NewDiscardWriter()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					w.Reset()
					e.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("got %d, want 200", w.Code)
					}
				}
			})
		}
	}
}

func TestSessionsConformance(t *testing.T) {
	testutil.RunSessionsSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestSetupChecks: a nil Manager, an Authorize without requirements and an EndSessionHandler
// without its parameter name fail when the route is built, with a message that names the
// function, not on the first request.
func TestSetupChecks(t *testing.T) {
	t.Parallel()
	login := func(c *echo.Context) (string, map[string]any, error) { return "", nil, nil }
	testutil.SetupChecks(t, "echo5jwt", map[string]func(*core.Manager){
		"Middleware":              func(m *core.Manager) { echo5jwt.Middleware(m) },
		"Authorize":               func(m *core.Manager) { echo5jwt.Authorize(m, core.MustRequirement(core.RequireScope("read"))) },
		"RequireScope":            func(m *core.Manager) { echo5jwt.RequireScope(m, "read") },
		"RequireAnyScope":         func(m *core.Manager) { echo5jwt.RequireAnyScope(m, "read") },
		"Require":                 func(m *core.Manager) { echo5jwt.Require(m, func(map[string]any) bool { return true }) },
		"RequireStepUp":           func(m *core.Manager) { echo5jwt.RequireStepUp(m, core.StepUp{MaxAge: time.Minute}) },
		"LoginHandler":            func(m *core.Manager) { echo5jwt.LoginHandler(m, login) },
		"LogoutHandler":           func(m *core.Manager) { echo5jwt.LogoutHandler(m) },
		"RefreshHandler":          func(m *core.Manager) { echo5jwt.RefreshHandler(m) },
		"JWKSHandler":             func(m *core.Manager) { echo5jwt.JWKSHandler(m) },
		"SessionsHandler":         func(m *core.Manager) { echo5jwt.SessionsHandler(m) },
		"EndSessionHandler":       func(m *core.Manager) { echo5jwt.EndSessionHandler(m, "id") },
		"EndOtherSessionsHandler": func(m *core.Manager) { echo5jwt.EndOtherSessionsHandler(m) },
	}, func(m *core.Manager, reqs ...*core.Requirement) { echo5jwt.Authorize(m, reqs...) })
	testutil.ParamCheck(t, "echo5jwt", func(m *core.Manager, param string) { echo5jwt.EndSessionHandler(m, param) })
}

// TestNaiveClients: the refresh interceptor most tutorials teach, 20 calls in flight at each of
// 50 expiries, loses no session and trips no reuse alarm (see testutil.RunNaiveClientSuite).
func TestNaiveClients(t *testing.T) {
	testutil.RunNaiveClientSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestPathSafety: with the framework's default settings, a mangled "end session" request
// (DELETE /api/sessions/, /api//sessions, ...) followed through any redirect never ends the
// caller's other sessions (see testutil.RunPathSafetySuite).
func TestPathSafety(t *testing.T) {
	testutil.RunPathSafetySuite(t, func(t *testing.T, m *core.Manager) string {
		srv := httptest.NewServer(router(m))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}

// TestCookieOnly: cookie-only mode and its cross-origin check (see testutil.RunCookieOnlySuite).
func TestCookieOnly(t *testing.T) {
	testutil.RunCookieOnlySuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}
