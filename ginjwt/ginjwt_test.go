package ginjwt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/ginjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// me answers {"sub": <subject or "">}.
func me(c *gin.Context) {
	sub := ""
	if claims, ok := ginjwt.Claims(c); ok {
		sub = claims.Subject
	}
	c.JSON(http.StatusOK, gin.H{"sub": sub})
}

// router mounts the routes of the conformance suite (see internal/testutil/httpsuite.go).
func router(m *core.Manager) *gin.Engine {
	r := gin.New()
	r.POST("/login", ginjwt.LoginHandler(m, func(c *gin.Context) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(core.HTTPRequest(c.Request))
	}))
	api := r.Group("/api", ginjwt.Middleware(m))
	api.GET("/me", me)
	api.GET("/admin", ginjwt.RequireScope(m, "admin"), me)
	api.GET("/write", ginjwt.RequireAnyScope(m, "write", "admin"), me)
	api.GET("/role", ginjwt.Require(m, testutil.SuiteIsAdmin), me)
	api.GET("/sensitive", ginjwt.RequireStepUp(m, testutil.SuiteRecentLogin), me)
	api.GET("/mfa", ginjwt.RequireStepUp(m, testutil.SuiteMFA), me)
	api.GET("/sessions", ginjwt.SessionsHandler(m))
	api.DELETE("/sessions/*id", ginjwt.EndSessionHandler(m, "id")) // a catch-all: "/sessions/" is not redirected
	api.DELETE("/sessions", ginjwt.EndOtherSessionsHandler(m))
	r.GET("/optional", ginjwt.Middleware(m, ginjwt.WithOptional()), me)
	r.POST("/refresh", ginjwt.RefreshHandler(m))
	r.POST("/logout", ginjwt.LogoutHandler(m))
	return r
}

func TestConformance(t *testing.T) {
	testutil.RunHTTPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestParallelRequests sends 400 concurrent requests, half with a valid token of its own subject
// and half with a tampered one, and checks every answer: a mix-up of claims between concurrent
// requests (a shared gin.Context, a reused buffer) shows up as a wrong subject or status.
func TestParallelRequests(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	testutil.RunParallelRequests(t, m, testutil.HandlerDoer(router(m)))
}

func TestSkipAndErrorHandler(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	var logged []error
	reached := false
	r := gin.New()
	r.Use(func(c *gin.Context) { // a logging middleware
		c.Next()
		for _, e := range c.Errors {
			logged = append(logged, e.Err)
		}
	})
	r.Use(ginjwt.Middleware(m,
		ginjwt.WithSkip(func(c *gin.Context) bool { return c.Request.URL.Path == "/health" }),
		ginjwt.WithErrorHandler(func(c *gin.Context, err error) {
			// Deliberately no c.Abort: the middleware must abort anyway.
			c.String(http.StatusForbidden, core.Reason(err))
		}),
	))
	r.GET("/health", func(c *gin.Context) {
		_, ok := ginjwt.Claims(c)
		c.String(http.StatusTeapot, "claims=%v", ok)
	})
	r.GET("/api", func(c *gin.Context) { reached = true })

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	if w.Code != http.StatusTeapot || w.Body.String() != "claims=false" {
		t.Errorf("/health: got %d %q, want 418 claims=false", w.Code, w.Body)
	}
	if len(logged) != 0 {
		t.Errorf("/health: got logged errors %v, want none", logged)
	}

	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api", nil))
	if w.Code != http.StatusForbidden || w.Body.String() != "missing bearer token" {
		t.Errorf("/api: got %d %q, want 403 missing bearer token", w.Code, w.Body)
	}
	if reached {
		t.Error("/api: the protected handler ran for a refused request")
	}
	if len(logged) != 1 || !errors.Is(logged[0], core.ErrTokenMissing) {
		t.Errorf("c.Errors: got %v, want one ErrTokenMissing", logged)
	}
}

// TestDefaultRefusalIsRecorded checks the default answer is the core one, that the refusal is in
// c.Errors with its sentinel, and that the chain is aborted.
func TestDefaultRefusalIsRecorded(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock)
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway)
	var logged []error
	reached := false
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		for _, e := range c.Errors {
			logged = append(logged, e.Err)
		}
	})
	r.GET("/api", ginjwt.Middleware(m), func(c *gin.Context) { reached = true })
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	req.Header.Set("Authorization", "Bearer "+p.AccessToken)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	testutil.CheckAnswer(t, w.Result(), testutil.Answer{
		Status:    http.StatusUnauthorized,
		Challenge: `Bearer realm="jwtexp", error="invalid_token", error_description="token expired"`,
		Body:      map[string]string{"error": "invalid_token", "error_description": "token expired"},
	})
	if reached {
		t.Error("the protected handler ran for an expired token")
	}
	if len(logged) != 1 || !errors.Is(logged[0], core.ErrTokenExpired) {
		t.Errorf("c.Errors: got %v, want one ErrTokenExpired", logged)
	}
}

// TestClaimsEverywhere checks that gin-style (Claims, Custom) and net/http-style
// (core.ClaimsFromContext on c.Request, also through gin.WrapH) code find the same claims.
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
	r := gin.New()
	r.GET("/gin", ginjwt.Middleware(m), func(c *gin.Context) {
		claims, ok := ginjwt.Claims(c)
		custom, cerr := ginjwt.Custom[role](c)
		cok := cerr == nil
		ctxClaims, ctxOK := core.ClaimsFromContext(c.Request.Context())
		if !ok || !cok || !ctxOK || ctxClaims != claims {
			c.String(http.StatusInternalServerError, "claims %v custom %v context %v", ok, cok, ctxOK)
			return
		}
		c.String(http.StatusOK, "%s %s", claims.Subject, custom.Role)
	})
	r.GET("/std", ginjwt.Middleware(m), gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := core.ClaimsFromContext(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, claims.Subject)
	})))
	r.GET("/anon", ginjwt.Middleware(m, ginjwt.WithOptional()), func(c *gin.Context) {
		_, ok := ginjwt.Claims(c)
		_, cerr := ginjwt.Custom[role](c)
		cok := !errors.Is(cerr, core.ErrNoClaims) // false: anonymous requests get ErrNoClaims
		c.String(http.StatusOK, "%v %v", ok, cok)
	})
	for _, tc := range []struct{ path, auth, want string }{
		{"/gin", "Bearer " + p.AccessToken, "alice admin"},
		{"/std", "Bearer " + p.AccessToken, "alice"},
		{"/anon", "", "false false"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.String() != tc.want {
			t.Errorf("%s: got %d %q, want 200 %q", tc.path, w.Code, w.Body, tc.want)
		}
	}
}

// BenchmarkMiddleware measures an authenticated GET through a gin.Engine, with the middleware
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
				r := gin.New()
				if mode == "jwtexp" {
					r.Use(ginjwt.Middleware(m))
				}
				r.GET("/api/me", me)
				req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
				req.Header.Set("Authorization", "Bearer "+p.AccessToken)
				w := testutil.NewDiscardWriter()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					w.Reset()
					r.ServeHTTP(w, req)
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

// WriteError with a nil error answers core's 500 instead of panicking in gin's c.Error.
func TestWriteErrorNil(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	ginjwt.WriteError(c, m, nil)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
}

// TestSetupChecks: a nil Manager, an Authorize without requirements and an EndSessionHandler
// without its parameter name fail when the route is built, with a message that names the
// function, not on the first request.
func TestSetupChecks(t *testing.T) {
	t.Parallel()
	login := func(c *gin.Context) (string, map[string]any, error) { return "", nil, nil }
	testutil.SetupChecks(t, "ginjwt", map[string]func(*core.Manager){
		"Middleware":              func(m *core.Manager) { ginjwt.Middleware(m) },
		"Authorize":               func(m *core.Manager) { ginjwt.Authorize(m, core.MustRequirement(core.RequireScope("read"))) },
		"RequireScope":            func(m *core.Manager) { ginjwt.RequireScope(m, "read") },
		"RequireAnyScope":         func(m *core.Manager) { ginjwt.RequireAnyScope(m, "read") },
		"Require":                 func(m *core.Manager) { ginjwt.Require(m, func(map[string]any) bool { return true }) },
		"RequireStepUp":           func(m *core.Manager) { ginjwt.RequireStepUp(m, core.StepUp{MaxAge: time.Minute}) },
		"LoginHandler":            func(m *core.Manager) { ginjwt.LoginHandler(m, login) },
		"LogoutHandler":           func(m *core.Manager) { ginjwt.LogoutHandler(m) },
		"RefreshHandler":          func(m *core.Manager) { ginjwt.RefreshHandler(m) },
		"JWKSHandler":             func(m *core.Manager) { ginjwt.JWKSHandler(m) },
		"SessionsHandler":         func(m *core.Manager) { ginjwt.SessionsHandler(m) },
		"EndSessionHandler":       func(m *core.Manager) { ginjwt.EndSessionHandler(m, "id") },
		"EndOtherSessionsHandler": func(m *core.Manager) { ginjwt.EndOtherSessionsHandler(m) },
	}, func(m *core.Manager, reqs ...*core.Requirement) { ginjwt.Authorize(m, reqs...) })
	testutil.ParamCheck(t, "ginjwt", func(m *core.Manager, param string) { ginjwt.EndSessionHandler(m, param) })
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
