package echojwt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echojwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// me answers {"sub": <subject or "">}.
func me(c echo.Context) error {
	sub := ""
	if claims, ok := echojwt.Claims(c); ok {
		sub = claims.Subject
	}
	return c.JSON(http.StatusOK, map[string]string{"sub": sub})
}

// router mounts the routes of the conformance suite (see internal/testutil/httpsuite.go).
func router(m *core.Manager) *echo.Echo {
	e := echo.New()
	e.POST("/login", echojwt.LoginHandler(m, func(c echo.Context) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(core.HTTPRequest(c.Request()))
	}))
	api := e.Group("/api", echojwt.Middleware(m))
	api.GET("/me", me)
	api.GET("/admin", me, echojwt.RequireScope(m, "admin"))
	api.GET("/write", me, echojwt.RequireAnyScope(m, "write", "admin"))
	api.GET("/role", me, echojwt.Require(m, testutil.SuiteIsAdmin))
	api.GET("/sensitive", me, echojwt.RequireStepUp(m, testutil.SuiteRecentLogin))
	api.GET("/mfa", me, echojwt.RequireStepUp(m, testutil.SuiteMFA))
	api.GET("/sessions", echojwt.SessionsHandler(m))
	api.DELETE("/sessions/:id", echojwt.EndSessionHandler(m, "id"))
	api.DELETE("/sessions", echojwt.EndOtherSessionsHandler(m))
	e.GET("/optional", me, echojwt.Middleware(m, echojwt.WithOptional()))
	e.POST("/refresh", echojwt.RefreshHandler(m))
	e.POST("/logout", echojwt.LogoutHandler(m))
	return e
}

func TestConformance(t *testing.T) {
	testutil.RunHTTPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestParallelRequests sends 400 concurrent requests, half with a valid token of its own subject
// and half with a tampered one, and checks every answer: a mix-up of claims between concurrent
// requests (a pooled echo.Context reused too early) shows up as a wrong subject or status.
func TestParallelRequests(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	testutil.RunParallelRequests(t, m, testutil.HandlerDoer(router(m)))
}

func TestSkipperAndErrorHandler(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	reached := false
	var handled error
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled = err }
	sentinel := errors.New("refused")
	e.Use(echojwt.Middleware(m,
		echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == "/health" }),
		echojwt.WithHTTPErrors(), // WithErrorHandler takes precedence
		echojwt.WithErrorHandler(func(c echo.Context, err error) error {
			if c.Request().URL.Query().Has("return") {
				return fmt.Errorf("%w: %w", sentinel, err)
			}
			return c.String(http.StatusForbidden, core.Reason(err))
		}),
	))
	e.GET("/health", func(c echo.Context) error {
		_, ok := echojwt.Claims(c)
		return c.String(http.StatusTeapot, fmt.Sprintf("claims=%v", ok))
	})
	e.GET("/api", func(c echo.Context) error { reached = true; return nil })

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	if w.Code != http.StatusTeapot || w.Body.String() != "claims=false" {
		t.Errorf("/health: got %d %q, want 418 claims=false", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api", nil))
	if w.Code != http.StatusForbidden || w.Body.String() != "missing bearer token" {
		t.Errorf("/api: got %d %q, want 403 missing bearer token", w.Code, w.Body)
	}
	if handled != nil {
		t.Errorf("/api: HTTPErrorHandler got %v, want no error when the error handler answered", handled)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api?return=1", nil))
	if !errors.Is(handled, sentinel) || !errors.Is(handled, core.ErrTokenMissing) {
		t.Errorf("/api?return: HTTPErrorHandler got %v, want the error handler's error", handled)
	}
	if reached {
		t.Error("the protected handler ran for a refused request")
	}
}

// TestHTTPErrors checks WithHTTPErrors: the app's HTTPErrorHandler gets an *echo.HTTPError with
// core's status and the core error inside, the challenge header is core's, and Echo's default
// handler renders its own body.
func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock)
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway)
	reached := false
	build := func(custom bool) (*echo.Echo, *error) {
		e := echo.New()
		var handled error
		if custom {
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				handled = err
				e.DefaultHTTPErrorHandler(err, c)
			}
		}
		e.GET("/api", func(c echo.Context) error { reached = true; return nil }, echojwt.Middleware(m, echojwt.WithHTTPErrors()))
		return e, &handled
	}
	for _, tc := range []struct {
		name, auth string
		status     int
		challenge  string
		message    string
		sentinel   error
	}{
		{"expired", "Bearer " + p.AccessToken, http.StatusUnauthorized,
			`Bearer realm="jwtexp", error="invalid_token", error_description="token expired"`, "token expired", core.ErrTokenExpired},
		{"missing", "", http.StatusUnauthorized, `Bearer realm="jwtexp"`, "missing bearer token", core.ErrTokenMissing},
		{"malformed header", "Bearer ", http.StatusBadRequest,
			`Bearer realm="jwtexp", error="invalid_request", error_description="malformed authorization header"`,
			"malformed authorization header", core.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, handled := build(true)
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			var he *echo.HTTPError
			if !errors.As(*handled, &he) || he.Code != tc.status || he.Message != tc.message || !errors.Is(*handled, tc.sentinel) {
				t.Errorf("HTTPErrorHandler got %#v, want *echo.HTTPError %d %q wrapping %v", *handled, tc.status, tc.message, tc.sentinel)
			}
			if w.Code != tc.status {
				t.Errorf("status: got %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tc.challenge)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
			if got, want := strings.TrimSpace(w.Body.String()), `{"message":"`+tc.message+`"}`; got != want {
				t.Errorf("body: got %s, want Echo's %s", got, want)
			}
		})
	}
	if reached {
		t.Error("the protected handler ran for a refused request")
	}
}

// TestClaimsEverywhere checks that echo-style (Claims, Custom) and net/http-style
// (core.ClaimsFromContext on c.Request(), also through echo.WrapHandler) code find the same
// claims.
func TestClaimsEverywhere(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	type role struct {
		Role string `json:"role"`
	}
	p, err := m.Issue(context.Background(), "alice", map[string]string{"role": "admin"})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.GET("/echo", func(c echo.Context) error {
		claims, ok := echojwt.Claims(c)
		custom, cerr := echojwt.Custom[role](c)
		cok := cerr == nil
		ctxClaims, ctxOK := core.ClaimsFromContext(c.Request().Context())
		if !ok || !cok || !ctxOK || ctxClaims != claims {
			return c.String(http.StatusInternalServerError, fmt.Sprintf("claims %v custom %v context %v", ok, cok, ctxOK))
		}
		return c.String(http.StatusOK, claims.Subject+" "+custom.Role)
	}, echojwt.Middleware(m))
	e.GET("/std", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := core.ClaimsFromContext(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, claims.Subject)
	})), echojwt.Middleware(m))
	e.GET("/anon", func(c echo.Context) error {
		_, ok := echojwt.Claims(c)
		_, cerr := echojwt.Custom[role](c)
		cok := !errors.Is(cerr, core.ErrNoClaims) // false: anonymous requests get ErrNoClaims
		return c.String(http.StatusOK, fmt.Sprintf("%v %v", ok, cok))
	}, echojwt.Middleware(m, echojwt.WithOptional()))
	for _, tc := range []struct{ path, auth, want string }{
		{"/echo", "Bearer " + p.AccessToken, "alice admin"},
		{"/std", "Bearer " + p.AccessToken, "alice"},
		{"/anon", "", "false false"},
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
					e.Use(echojwt.Middleware(m))
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
	login := func(c echo.Context) (string, map[string]any, error) { return "", nil, nil }
	testutil.SetupChecks(t, "echojwt", map[string]func(*core.Manager){
		"Middleware":              func(m *core.Manager) { echojwt.Middleware(m) },
		"Authorize":               func(m *core.Manager) { echojwt.Authorize(m, core.MustRequirement(core.RequireScope("read"))) },
		"RequireScope":            func(m *core.Manager) { echojwt.RequireScope(m, "read") },
		"RequireAnyScope":         func(m *core.Manager) { echojwt.RequireAnyScope(m, "read") },
		"Require":                 func(m *core.Manager) { echojwt.Require(m, func(map[string]any) bool { return true }) },
		"RequireStepUp":           func(m *core.Manager) { echojwt.RequireStepUp(m, core.StepUp{MaxAge: time.Minute}) },
		"LoginHandler":            func(m *core.Manager) { echojwt.LoginHandler(m, login) },
		"LogoutHandler":           func(m *core.Manager) { echojwt.LogoutHandler(m) },
		"RefreshHandler":          func(m *core.Manager) { echojwt.RefreshHandler(m) },
		"JWKSHandler":             func(m *core.Manager) { echojwt.JWKSHandler(m) },
		"SessionsHandler":         func(m *core.Manager) { echojwt.SessionsHandler(m) },
		"EndSessionHandler":       func(m *core.Manager) { echojwt.EndSessionHandler(m, "id") },
		"EndOtherSessionsHandler": func(m *core.Manager) { echojwt.EndOtherSessionsHandler(m) },
	}, func(m *core.Manager, reqs ...*core.Requirement) { echojwt.Authorize(m, reqs...) })
	testutil.ParamCheck(t, "echojwt", func(m *core.Manager, param string) { echojwt.EndSessionHandler(m, param) })
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
