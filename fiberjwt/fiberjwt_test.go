package fiberjwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fiberjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// me answers {"sub": <subject or "">}.
func me(c *fiber.Ctx) error {
	sub := ""
	if claims, ok := fiberjwt.Claims(c); ok {
		sub = claims.Subject
	}
	return c.JSON(fiber.Map{"sub": sub})
}

// newApp returns a quiet fiber.App whose header buffer holds the suite's 9 KiB token: with
// Fiber's default ReadBufferSize (4096) fasthttp refuses such a request before any handler runs
// (see the package doc), and the suite wants core's "token too large" answer.
func newApp(cfg ...fiber.Config) *fiber.App {
	var c fiber.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.DisableStartupMessage = true
	c.ReadBufferSize = 16 << 10
	return fiber.New(c)
}

// router mounts the routes of the conformance suite (see internal/testutil/httpsuite.go).
func router(m *core.Manager) *fiber.App {
	app := newApp()
	app.Post("/login", fiberjwt.LoginHandler(m, func(c *fiber.Ctx) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(fiberjwt.Request(c))
	}))
	api := app.Group("/api", fiberjwt.Middleware(m))
	api.Get("/me", me)
	api.Get("/admin", fiberjwt.RequireScope(m, "admin"), me)
	api.Get("/write", fiberjwt.RequireAnyScope(m, "write", "admin"), me)
	api.Get("/role", fiberjwt.Require(m, testutil.SuiteIsAdmin), me)
	api.Get("/sensitive", fiberjwt.RequireStepUp(m, testutil.SuiteRecentLogin), me)
	api.Get("/mfa", fiberjwt.RequireStepUp(m, testutil.SuiteMFA), me)
	api.Get("/sessions", fiberjwt.SessionsHandler(m))
	api.Delete("/sessions/:id", fiberjwt.EndSessionHandler(m, "id"))
	api.Delete("/sessions", fiberjwt.EndOtherSessionsHandler(m))
	app.Get("/optional", fiberjwt.Middleware(m, fiberjwt.WithOptional()), me)
	app.Post("/refresh", fiberjwt.RefreshHandler(m))
	app.Post("/logout", fiberjwt.LogoutHandler(m))
	return app
}

// doer sends requests through app.Test, which serializes the *http.Request onto a connection
// that the app's fasthttp server reads, as a real client's request would be.
func doer(t *testing.T, app *fiber.App) testutil.Doer {
	return func(r *http.Request) *http.Response {
		t.Helper()
		resp, err := app.Test(r, -1)
		if err != nil {
			t.Fatalf("app.Test: %v", err)
		}
		return resp
	}
}

func TestConformance(t *testing.T) {
	testutil.RunHTTPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return doer(t, router(m))
	})
}

// TestParallelRequests sends 400 concurrent requests over real connections to a listening app,
// half with a valid token of its own subject and half with a tampered one, and checks every
// answer: fasthttp reuses request contexts and buffers between requests, so a value that was not
// copied, or claims that leak between requests, show up as a wrong subject or status.
func TestParallelRequests(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	app := router(m)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	testutil.RunParallelRequests(t, m, testutil.ServerDoer(t, "http://"+ln.Addr().String()))
}

// TestValuesOutliveRequest serves two requests with one fasthttp.RequestCtx, as fasthttp does
// with its pooled contexts, and checks that what fiberjwt handed out during the first one - the
// Request values and the claims - still reads the same after the second one refilled the buffers.
func TestValuesOutliveRequest(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	type kept struct {
		header, cookie, query, sub string
		body                       []byte
	}
	var got []kept
	app := newApp()
	app.Post("/keep", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
		r := fiberjwt.Request(c)
		var k kept
		k.header, _ = r.Header("X-Keep")
		k.cookie, _ = r.Cookie("keep")
		k.query, _ = r.Query("keep")
		k.body, _ = r.Body(core.MaxBodySize)
		claims, _ := fiberjwt.Claims(c)
		k.sub = claims.Subject
		got = append(got, k)
		return c.SendStatus(http.StatusNoContent)
	})
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	tokens := map[string]string{}
	for _, v := range []string{"aaaaaaaa", "bbbbbbbb"} {
		p, err := m.Issue(context.Background(), "user-"+v, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens[v] = p.AccessToken // same length: the second lands exactly on the first's bytes
	}
	// a, b, then a again: the third is answered from the verified-token cache, which the
	// middleware reached through a view of fasthttp's buffer; the cached entry must still be a's.
	for _, v := range []string{"aaaaaaaa", "bbbbbbbb", "aaaaaaaa"} {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.ResetUserValues()
		ctx.Request.Header.SetMethod(http.MethodPost)
		ctx.Request.SetRequestURI("/keep?keep=" + v)
		ctx.Request.Header.Set("Authorization", "Bearer "+tokens[v])
		ctx.Request.Header.Set("X-Keep", v)
		ctx.Request.Header.SetCookie("keep", v)
		ctx.Request.SetBodyString(v)
		h(&ctx)
		if ctx.Response.StatusCode() != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	first := got[0]
	want := "aaaaaaaa"
	if first.header != want || first.cookie != want || first.query != want || string(first.body) != want || first.sub != "user-"+want {
		t.Errorf("values of the first request changed after the second: got %+v, want all %q", first, want)
	}
	if got[1].sub != "user-bbbbbbbb" || got[2].sub != "user-aaaaaaaa" {
		t.Errorf("subjects of the second and third requests: %q, %q; want user-bbbbbbbb, user-aaaaaaaa", got[1].sub, got[2].sub)
	}
}

// TestRequestCounts checks that duplicates are counted as net/http's view counts them.
func TestRequestCounts(t *testing.T) {
	t.Parallel()
	app := newApp()
	app.Get("/", func(c *fiber.Ctx) error {
		r := fiberjwt.Request(c)
		h, hn := r.Header("X-Dup")
		ck, cn := r.Cookie("dup")
		q, qn := r.Query("dup")
		_, missing := r.Header("X-None")
		body, err := r.Body(core.MaxBodySize)
		return c.SendString(fmt.Sprintf("%s/%d %s/%d %s/%d %d %q %v", h, hn, ck, cn, q, qn, missing, body, err))
	})
	req := httptest.NewRequest(http.MethodGet, "/?dup=1&dup=2&other=3", nil)
	req.Header.Add("X-Dup", "a")
	req.Header.Add("X-Dup", "b")
	req.Header.Add("Cookie", "dup=x; other=y")
	req.Header.Add("Cookie", "dup=z")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if got, want := string(b), `a/2 x/2 1/2 0 "" <nil>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	app := newApp()
	app.Post("/", func(c *fiber.Ctx) error {
		_, errOver := fiberjwt.Request(c).Body(3)
		b, errAt := fiberjwt.Request(c).Body(4)
		return c.SendString(fmt.Sprintf("%v|%s|%v", errOver != nil, b, errAt))
	})
	resp, err := app.Test(httptest.NewRequest(http.MethodPost, "/", strings.NewReader("abcd")), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if got, want := string(b), "true|abcd|<nil>"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestNextAndErrorHandler(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	var handled error
	reached := false
	sentinel := errors.New("refused")
	app := newApp(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		handled = err
		return c.Status(http.StatusTeapot).SendString("app error handler")
	}})
	app.Use(fiberjwt.Middleware(m,
		fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Path() == "/health" }),
		fiberjwt.WithErrorHandler(func(c *fiber.Ctx, err error) error {
			if c.Query("return") != "" {
				return fmt.Errorf("%w: %w", sentinel, err)
			}
			return c.Status(http.StatusForbidden).SendString(core.Reason(err))
		}),
	))
	app.Get("/health", func(c *fiber.Ctx) error {
		_, ok := fiberjwt.Claims(c)
		return c.Status(http.StatusOK).SendString(fmt.Sprintf("claims=%v", ok))
	})
	app.Get("/api", func(c *fiber.Ctx) error { reached = true; return nil })

	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/health", http.StatusOK, "claims=false"},
		{"/api", http.StatusForbidden, "missing bearer token"},
		{"/api?return=1", http.StatusTeapot, "app error handler"},
	} {
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Errorf("%s: got %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
	if !errors.Is(handled, sentinel) || !errors.Is(handled, core.ErrTokenMissing) {
		t.Errorf("app ErrorHandler got %v, want the error handler's error wrapping ErrTokenMissing", handled)
	}
	if reached {
		t.Error("the protected handler ran for a refused request")
	}
}

// TestClaimsEverywhere checks Claims, Custom and core.ClaimsFromContext(c.UserContext()).
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
	app := newApp()
	app.Get("/fiber", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
		claims, ok := fiberjwt.Claims(c)
		custom, cerr := fiberjwt.Custom[role](c)
		cok := cerr == nil
		ctxClaims, ctxOK := core.ClaimsFromContext(c.UserContext())
		if !ok || !cok || !ctxOK || ctxClaims != claims {
			return c.Status(http.StatusInternalServerError).SendString(fmt.Sprintf("claims %v custom %v context %v", ok, cok, ctxOK))
		}
		return c.SendString(claims.Subject + " " + custom.Role)
	})
	app.Get("/anon", fiberjwt.Middleware(m, fiberjwt.WithOptional()), func(c *fiber.Ctx) error {
		_, ok := fiberjwt.Claims(c)
		_, cerr := fiberjwt.Custom[role](c)
		cok := !errors.Is(cerr, core.ErrNoClaims) // false: anonymous requests get ErrNoClaims
		_, ctxOK := core.ClaimsFromContext(c.UserContext())
		return c.SendString(fmt.Sprintf("%v %v %v", ok, cok, ctxOK))
	})
	for _, tc := range []struct{ path, auth, want string }{
		{"/fiber", "Bearer " + p.AccessToken, "alice admin"},
		{"/anon", "", "false false false"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != tc.want {
			t.Errorf("%s: got %d %q, want 200 %q", tc.path, resp.StatusCode, b, tc.want)
		}
	}
}

// BenchmarkMiddleware measures an authenticated GET through a fiber.App's fasthttp handler, with
// the middleware (jwtexp) and without it (bare): the difference is the cost of authentication.
func BenchmarkMiddleware(b *testing.B) {
	for _, mode := range []string{"bare", "jwtexp"} {
		for _, alg := range []string{"HS256", "EdDSA"} {
			b.Run(mode+"/"+alg, func(b *testing.B) {
				m := testutil.BenchManager(b, alg)
				p, err := m.Issue(context.Background(), "alice", nil)
				if err != nil {
					b.Fatal(err)
				}
				app := newApp()
				if mode == "jwtexp" {
					app.Use(fiberjwt.Middleware(m))
				}
				app.Get("/api/me", me)
				h := app.Handler()
				var ctx fasthttp.RequestCtx
				ctx.Request.Header.SetMethod(http.MethodGet)
				ctx.Request.SetRequestURI("/api/me")
				ctx.Request.Header.Set("Authorization", "Bearer "+p.AccessToken)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					// What fasthttp's server does between two requests of a connection.
					ctx.Response.Reset()
					ctx.ResetUserValues()
					h(&ctx)
					if ctx.Response.StatusCode() != http.StatusOK {
						b.Fatalf("got %d, want 200", ctx.Response.StatusCode())
					}
				}
			})
		}
	}
}

func TestSessionsConformance(t *testing.T) {
	testutil.RunSessionsSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return doer(t, router(m))
	})
}

// TestSetupChecks: a nil Manager, an Authorize without requirements and an EndSessionHandler
// without its parameter name fail when the route is built, with a message that names the
// function, not on the first request.
func TestSetupChecks(t *testing.T) {
	t.Parallel()
	login := func(c *fiber.Ctx) (string, map[string]any, error) { return "", nil, nil }
	testutil.SetupChecks(t, "fiberjwt", map[string]func(*core.Manager){
		"Middleware":              func(m *core.Manager) { fiberjwt.Middleware(m) },
		"Authorize":               func(m *core.Manager) { fiberjwt.Authorize(m, core.MustRequirement(core.RequireScope("read"))) },
		"RequireScope":            func(m *core.Manager) { fiberjwt.RequireScope(m, "read") },
		"RequireAnyScope":         func(m *core.Manager) { fiberjwt.RequireAnyScope(m, "read") },
		"Require":                 func(m *core.Manager) { fiberjwt.Require(m, func(map[string]any) bool { return true }) },
		"RequireStepUp":           func(m *core.Manager) { fiberjwt.RequireStepUp(m, core.StepUp{MaxAge: time.Minute}) },
		"LoginHandler":            func(m *core.Manager) { fiberjwt.LoginHandler(m, login) },
		"LogoutHandler":           func(m *core.Manager) { fiberjwt.LogoutHandler(m) },
		"RefreshHandler":          func(m *core.Manager) { fiberjwt.RefreshHandler(m) },
		"JWKSHandler":             func(m *core.Manager) { fiberjwt.JWKSHandler(m) },
		"SessionsHandler":         func(m *core.Manager) { fiberjwt.SessionsHandler(m) },
		"EndSessionHandler":       func(m *core.Manager) { fiberjwt.EndSessionHandler(m, "id") },
		"EndOtherSessionsHandler": func(m *core.Manager) { fiberjwt.EndOtherSessionsHandler(m) },
	}, func(m *core.Manager, reqs ...*core.Requirement) { fiberjwt.Authorize(m, reqs...) })
	testutil.ParamCheck(t, "fiberjwt", func(m *core.Manager, param string) { fiberjwt.EndSessionHandler(m, param) })
}

// The middleware reads Authorization without fasthttp normalizing its name and leaves the
// request's normalizing as it found it; with DisableHeaderNormalizing it still finds
// Authorization in any case (see testutil.HeaderCaseSuite).
func TestHeaderNormalizing(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	testutil.HeaderCaseSuite(t, m, func(keepNames bool) testutil.Doer {
		app := newApp(fiber.Config{DisableHeaderNormalizing: keepNames})
		app.Get("/", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
			claims, _ := fiberjwt.Claims(c)
			return c.SendString(claims.Subject + " " + c.Get("x-probe"))
		})
		return doer(t, app)
	})
}

// TestNaiveClients: the refresh interceptor most tutorials teach, 20 calls in flight at each of
// 50 expiries, over real connections, loses no session and trips no reuse alarm (see
// testutil.RunNaiveClientSuite).
func TestNaiveClients(t *testing.T) {
	testutil.RunNaiveClientSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		app := router(m)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- app.Listener(ln) }()
		t.Cleanup(func() {
			if err := app.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-served
		})
		return testutil.ServerDoer(t, "http://"+ln.Addr().String())
	})
}

// TestPathSafety: with Fiber's default settings (lenient routing: "/api/sessions/" reaches the
// "/api/sessions" route), a mangled "end session" request never ends the caller's other sessions
// (see testutil.RunPathSafetySuite).
func TestPathSafety(t *testing.T) {
	testutil.RunPathSafetySuite(t, func(t *testing.T, m *core.Manager) string {
		app := router(m)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- app.Listener(ln) }()
		t.Cleanup(func() {
			if err := app.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-served
		})
		return "http://" + ln.Addr().String()
	})
}

// TestCookieOnly: cookie-only mode and its cross-origin check (see testutil.RunCookieOnlySuite).
func TestCookieOnly(t *testing.T) {
	testutil.RunCookieOnlySuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return doer(t, router(m))
	})
}

// TestUserContextKey checks that Middleware finds the context an earlier handler set with
// SetUserContext (it reads Fiber's user value itself, under Fiber's key, instead of calling
// UserContext): the handler's UserContext carries both that context's values and the claims. If
// Fiber renamed its key, the earlier value would be lost and this fails.
func TestUserContextKey(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{}
	app := newApp()
	app.Get("/set", func(c *fiber.Ctx) error {
		c.SetUserContext(context.WithValue(context.Background(), key{}, "earlier"))
		return c.Next()
	}, fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
		claims, ok := fiberjwt.Claims(c)
		v, _ := c.UserContext().Value(key{}).(string)
		if !ok {
			return c.SendString("no claims " + v)
		}
		return c.SendString(claims.Subject + " " + v)
	})
	app.Get("/unset", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
		claims, ok := fiberjwt.Claims(c)
		if !ok || c.UserContext().Err() != nil {
			return c.SendString("no claims")
		}
		return c.SendString(claims.Subject)
	})
	for _, tc := range []struct{ path, want string }{
		{"/set", "alice earlier"},
		{"/unset", "alice"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		for range 2 { // the second request is a cache hit
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(b) != tc.want {
				t.Errorf("%s: got %d %q, want 200 %q", tc.path, resp.StatusCode, b, tc.want)
			}
		}
	}
}
