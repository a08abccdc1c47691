package nethttpjwt_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// router mounts the routes of the conformance suite.
func router(m *core.Manager) http.Handler {
	me := func(w http.ResponseWriter, r *http.Request) {
		sub := ""
		if c, ok := nethttpjwt.Claims(r); ok {
			sub = c.Subject
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"sub": sub})
	}
	mux := http.NewServeMux()
	mux.Handle("POST /login", nethttpjwt.LoginHandler(m, func(r *http.Request) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(core.HTTPRequest(r))
	}))
	auth := nethttpjwt.Middleware(m)
	mux.Handle("GET /api/me", auth(http.HandlerFunc(me)))
	mux.Handle("GET /api/admin", auth(nethttpjwt.RequireScope(m, "admin")(http.HandlerFunc(me))))
	mux.Handle("GET /api/write", auth(nethttpjwt.RequireAnyScope(m, "write", "admin")(http.HandlerFunc(me))))
	mux.Handle("GET /api/role", auth(nethttpjwt.Require(m, testutil.SuiteIsAdmin)(http.HandlerFunc(me))))
	mux.Handle("GET /api/sensitive", auth(nethttpjwt.RequireStepUp(m, testutil.SuiteRecentLogin)(http.HandlerFunc(me))))
	mux.Handle("GET /api/mfa", auth(nethttpjwt.RequireStepUp(m, testutil.SuiteMFA)(http.HandlerFunc(me))))
	mux.Handle("GET /optional", nethttpjwt.Middleware(m, nethttpjwt.WithOptional())(http.HandlerFunc(me)))
	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
	mux.Handle("GET /api/sessions", nethttpjwt.Middleware(m)(nethttpjwt.SessionsHandler(m)))
	mux.Handle("DELETE /api/sessions/{id}", nethttpjwt.Middleware(m)(nethttpjwt.EndSessionHandler(m, "id")))
	mux.Handle("DELETE /api/sessions", nethttpjwt.Middleware(m)(nethttpjwt.EndOtherSessionsHandler(m)))
	return mux
}

func TestConformance(t *testing.T) {
	testutil.RunHTTPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestParallelRequests: see testutil.RunParallelRequests.
func TestParallelRequests(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	testutil.RunParallelRequests(t, m, testutil.HandlerDoer(router(m)))
}

func TestSkipAndErrorHandler(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := nethttpjwt.Middleware(m,
		nethttpjwt.WithSkip(func(r *http.Request) bool { return r.URL.Path == "/health" }),
		nethttpjwt.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(core.Reason(err)))
		}),
	)(ok)
	for path, want := range map[string]int{"/health": http.StatusTeapot, "/api": http.StatusForbidden} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("%s: got %d, want %d", path, w.Code, want)
		}
	}
}

func TestAdversarial(t *testing.T) {
	testutil.RunAdversarialSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}

// TestSetupErrors: a requirement that cannot work stops the program at route setup with a
// message saying what to change, instead of refusing or accepting requests later.
func TestSetupErrors(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	for name, tc := range map[string]struct {
		setup func()
		want  string
	}{
		"no scope":         {func() { nethttpjwt.RequireScope(m) }, "RequireScope: no scope given"},
		"scope with space": {func() { nethttpjwt.RequireAnyScope(m, "read write") }, "pass each scope as its own argument"},
		"nil predicate":    {func() { nethttpjwt.Require[testutil.SuiteClaims](m, nil) }, "RequireClaims: predicate is nil"},
		"empty step-up":    {func() { nethttpjwt.RequireStepUp(m, core.StepUp{}) }, "set MaxAge, ACRValues or both"},
		"nil authenticate": {func() { nethttpjwt.LoginHandler[any](m, nil) }, "LoginHandler: authenticate is nil"},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("%s: got panic %q, want one containing %q", name, msg, tc.want)
				}
			}()
			tc.setup()
		}()
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
	login := func(r *http.Request) (string, map[string]any, error) { return "", nil, nil }
	testutil.SetupChecks(t, "nethttpjwt", map[string]func(*core.Manager){
		"Middleware":              func(m *core.Manager) { nethttpjwt.Middleware(m) },
		"Authorize":               func(m *core.Manager) { nethttpjwt.Authorize(m, core.MustRequirement(core.RequireScope("read"))) },
		"RequireScope":            func(m *core.Manager) { nethttpjwt.RequireScope(m, "read") },
		"RequireAnyScope":         func(m *core.Manager) { nethttpjwt.RequireAnyScope(m, "read") },
		"Require":                 func(m *core.Manager) { nethttpjwt.Require(m, func(map[string]any) bool { return true }) },
		"RequireStepUp":           func(m *core.Manager) { nethttpjwt.RequireStepUp(m, core.StepUp{MaxAge: time.Minute}) },
		"LoginHandler":            func(m *core.Manager) { nethttpjwt.LoginHandler(m, login) },
		"LogoutHandler":           func(m *core.Manager) { nethttpjwt.LogoutHandler(m) },
		"RefreshHandler":          func(m *core.Manager) { nethttpjwt.RefreshHandler(m) },
		"JWKSHandler":             func(m *core.Manager) { nethttpjwt.JWKSHandler(m) },
		"SessionsHandler":         func(m *core.Manager) { nethttpjwt.SessionsHandler(m) },
		"EndSessionHandler":       func(m *core.Manager) { nethttpjwt.EndSessionHandler(m, "id") },
		"EndOtherSessionsHandler": func(m *core.Manager) { nethttpjwt.EndOtherSessionsHandler(m) },
	}, func(m *core.Manager, reqs ...*core.Requirement) { nethttpjwt.Authorize(m, reqs...) })
	testutil.ParamCheck(t, "nethttpjwt", func(m *core.Manager, param string) { nethttpjwt.EndSessionHandler(m, param) })
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
		srv := httptest.NewServer(nethttpjwt.StrictPaths(router(m)))
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
