// Package exampletest checks the example apps from the outside: each example's test starts its
// router on a loopback port and runs the HTTP and example contract, the Redis variant and the browser
// test against it, through a counting reverse proxy, exactly as a client would see them.
package exampletest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/browsertest"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// Starter builds an example from env (as its main would, with env's clock and logger), serves its
// router on a loopback port until the test ends, and returns the harness's view of it and its
// base URL. The examples are package main and self-contained, so each supplies its own (the
// harness cannot import them).
type Starter func(t *testing.T, env Env) (App, string)

// Env is what an example is built from in a test: the environment variables (the README's), a
// fake clock and a logger.
type Env struct {
	Getenv func(string) string
	Clock  func() time.Time
	Logger *slog.Logger
}

// App is what the harness reads of a running example: its Manager and the configuration the
// checks mint tokens with.
type App struct {
	Manager          *core.Manager
	Issuer, Audience string
	AccessSecret     []byte // HS256 access secret; nil with other keys
}

// The examples' demo user.
const (
	DemoUser     = "alice"
	DemoPassword = "wonderland"
)

// ServeHandler is the Starter body for http.Handler routers (net/http, Gin, Echo).
func ServeHandler(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Listen returns a loopback listener closed at the end of the test, for routers that serve on a
// listener themselves (Fiber).
func Listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // a second Close, after the router's own, is harmless
	return ln
}

// Server is a running example behind a proxy that counts refresh requests.
type Server struct {
	URL      string
	App      App
	Clock    *testutil.Clock
	refreshN atomic.Int64
}

// RefreshCalls is the number of POST /refresh requests the example received.
func (s *Server) RefreshCalls() int64 { return s.refreshN.Load() }

// Start builds the example with the environment env (the variables the README lists) and a fake clock,
// serves it with start and puts the counting proxy in front.
func Start(t *testing.T, start Starter, env map[string]string) *Server {
	t.Helper()
	return startWith(t, start, env, testutil.NewClockNow())
}

// StartLive is Start on the real clock, for clients that wait for expiry themselves (Server.Clock
// is nil).
func StartLive(t *testing.T, start Starter, env map[string]string) *Server {
	t.Helper()
	return startWith(t, start, env, nil)
}

func startWith(t *testing.T, start Starter, env map[string]string, clock *testutil.Clock) *Server {
	t.Helper()
	e := Env{Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler)}
	if clock != nil {
		e.Clock = clock.Now
	}
	app, base := start(t, e)
	// A Redis store on a new redis-server records a data loss at the server's time while New
	// runs (a new Redis looks like one that lost its data) and refuses tokens issued until then.
	// The fake clock was read before New: bring it up to the time New returned, as a real clock
	// would be, so the example's first tokens are issued after the loss.
	if clock != nil {
		clock.Set(time.Now().Truncate(time.Second))
	} else if env["REDIS_URL"] != "" {
		// A real clock: logins in the second of that loss answer 503 (Retry-After), as they
		// must; the tests start in the next second rather than each retrying.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	}
	s := &Server{App: app, Clock: clock}
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/refresh" {
			s.refreshN.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	s.URL = front.URL
	return s
}

// Do sends a request to the example and returns status, headers and JSON body (nil if none).
func (s *Server) Do(t *testing.T, method, path, auth string, body any, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

var demo = map[string]string{"username": DemoUser, "password": DemoPassword}

// Contract checks the example contract against an example: login, /api/me, expiry with leeway, refresh,
// logout, the refusals, and the browser client at /.
func Contract(t *testing.T, start Starter) {
	s := Start(t, start, map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "10s", "JWT_REFRESH_GRACE": "0s"})

	code, _, body := s.Do(t, "POST", "/login", "", map[string]string{"username": "alice", "password": "nope"}, nil)
	if code != 401 || body["error"] != "invalid_grant" {
		t.Errorf("wrong password: got %d %v, want 401 invalid_grant", code, body)
	}
	code, _, body = s.Do(t, "POST", "/login", "", "not an object", nil)
	if code != 400 {
		t.Errorf("malformed login: got %d %v, want 400", code, body)
	}
	code, hdr, body := s.Do(t, "POST", "/login", "", demo, nil)
	if code != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 60.0 || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: got %d %v %v", code, body, hdr)
	}
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("login: tokens missing in %v", body)
	}

	code, _, body = s.Do(t, "GET", "/api/me", access, nil, nil)
	if code != 200 || body["sub"] != "alice" || body["exp"] == nil {
		t.Errorf("/api/me: got %d %v, want 200 sub alice with exp", code, body)
	}
	authorization(t, s, access)
	code, hdr, body = s.Do(t, "GET", "/api/me", "", nil, nil)
	if code != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="jwtexp"` {
		t.Errorf("/api/me without token: got %d %q %v", code, hdr.Get("WWW-Authenticate"), body)
	}

	s.Clock.Advance(time.Minute + 5*time.Second) // past exp, within leeway
	if code, _, body = s.Do(t, "GET", "/api/me", access, nil, nil); code != 200 {
		t.Errorf("within leeway: got %d %v, want 200", code, body)
	}
	s.Clock.Advance(5 * time.Second) // exp + leeway
	code, hdr, body = s.Do(t, "GET", "/api/me", access, nil, nil)
	if code != 401 || body["error_description"] != "token expired" ||
		!strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("expired: got %d %v %q, want 401 token expired", code, body, hdr.Get("WWW-Authenticate"))
	}

	code, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
	if code != 200 || body["refresh_token"] == refresh || body["access_token"] == nil {
		t.Fatalf("refresh: got %d %v", code, body)
	}
	access2, refresh2 := body["access_token"].(string), body["refresh_token"].(string)
	if code, _, _ = s.Do(t, "GET", "/api/me", access2, nil, nil); code != 200 {
		t.Errorf("refreshed access token: got %d, want 200", code)
	}

	if code, _, _ = s.Do(t, "POST", "/logout", access2, nil, nil); code != 204 {
		t.Errorf("logout: got %d, want 204", code)
	}
	if code, _, body = s.Do(t, "GET", "/api/me", access2, nil, nil); code != 401 {
		t.Errorf("after logout: got %d %v, want 401", code, body)
	}
	if code, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh2}, nil); code != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh after logout: got %d %v, want 400 invalid_grant", code, body)
	}

	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(page, []byte(`id="call-api"`)) {
		t.Errorf("GET /: got %d %q, want the browser client page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// authorization checks GET /api/admin (scope "admin", RFC 6750 §3.1) and GET /api/sensitive (a
// login at most 5 minutes old, RFC 9470 §3) with access, a fresh login of the demo user (scope
// "profile"), and with tokens of the example's issuer minted here.
func authorization(t *testing.T, s *Server, access string) {
	t.Helper()
	cfg := s.App
	mint := func(extra string) string {
		now := s.Clock.Now().Unix()
		return testutil.HS256(cfg.AccessSecret, `{"alg":"HS256","typ":"JWT"}`,
			fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"bob","iat":%d,"exp":%d%s}`, cfg.Issuer, cfg.Audience, now, now+30, extra))
	}
	check := func(name, path, token string, wantCode int, wantChallenge, wantError string) {
		t.Helper()
		code, hdr, body := s.Do(t, "GET", path, token, nil, nil)
		if code != wantCode || hdr.Get("WWW-Authenticate") != wantChallenge || (wantError != "" && body["error"] != wantError) ||
			(wantError == "" && body["sub"] == nil) {
			t.Errorf("%s: got %d %q %v, want %d %q %s", name, code, hdr.Get("WWW-Authenticate"), body, wantCode, wantChallenge, wantError)
		}
	}
	check("/api/admin as the demo user", "/api/admin", access, 403,
		`Bearer realm="jwtexp", error="insufficient_scope", error_description="insufficient scope", scope="admin"`, "insufficient_scope")
	check("/api/admin with scope \"profile admin\"", "/api/admin", mint(`,"scope":"profile admin"`), 200, "", "")
	check("/api/admin with scp [\"admin\"]", "/api/admin", mint(`,"scp":["admin"]`), 200, "", "")
	check("/api/admin without a token", "/api/admin", "", 401, `Bearer realm="jwtexp"`, "unauthorized")
	check("/api/sensitive after a fresh login", "/api/sensitive", access, 200, "", "")
	old := fmt.Sprintf(`,"auth_time":%d`, s.Clock.Now().Add(-6*time.Minute).Unix())
	check("/api/sensitive with an old login", "/api/sensitive", mint(old), 401,
		`Bearer realm="jwtexp", error="insufficient_user_authentication", error_description="more recent authentication is required", max_age="300"`,
		"insufficient_user_authentication")
}

// Redis runs two instances of the example sharing one real redis-server (REDIS_URL): a session
// started on one refreshes on the other, and a logout on one is seen by the other.
func Redis(t *testing.T, start Starter) {
	rs := testutil.StartRedis(t)
	env := map[string]string{"REDIS_URL": rs.URL(), "JWT_REFRESH_GRACE": "0s",
		"JWT_ACCESS_SECRET": strings.Repeat("a", 32), "JWT_REFRESH_SECRET": strings.Repeat("r", 32)}
	a, b := Start(t, start, env), Start(t, start, env)
	_, _, body := a.Do(t, "POST", "/login", "", demo, nil)
	refresh, _ := body["refresh_token"].(string)
	code, _, body := b.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
	if code != 200 {
		t.Fatalf("refresh on the other instance: got %d %v", code, body)
	}
	if code, _, body := a.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil); code != 400 || body["error_description"] != "refresh token reused" {
		t.Fatalf("replay on the first instance: got %d %v, want 400 refresh token reused", code, body)
	}

	// With the library's default grace window, the same replay on the other instance right after
	// a rotation gets the session's current refresh token (decided by the Redis server's clock).
	delete(env, "JWT_REFRESH_GRACE")
	c, d := Start(t, start, env), Start(t, start, env)
	_, _, body = c.Do(t, "POST", "/login", "", demo, nil)
	refresh, _ = body["refresh_token"].(string)
	_, _, first := d.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
	code, _, body = c.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
	if code != 200 || body["refresh_token"] == nil || body["refresh_token"] != first["refresh_token"] {
		t.Fatalf("replay inside the grace window on the other instance: got %d, the current token: %v; want 200 and the current token",
			code, body["refresh_token"] == first["refresh_token"])
	}

	// A logout on one instance is honoured by the other.
	_, _, body = b.Do(t, "POST", "/login", "", demo, nil)
	access, _ := body["access_token"].(string)
	if code, _, body := a.Do(t, "GET", "/api/me", access, nil, nil); code != 200 {
		t.Fatalf("token from the other instance: got %d %v, want 200", code, body)
	}
	if code, _, _ := b.Do(t, "POST", "/logout", access, nil, nil); code != 204 {
		t.Fatalf("logout: got %d, want 204", code)
	}
	// The examples' Redis store keeps a local replica of the revocation records, which hears the
	// other instance's logout over Pub/Sub within milliseconds: poll, within a generous bound.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, _, body := a.Do(t, "GET", "/api/me", access, nil, nil)
		if code == 401 && body["error_description"] == "session revoked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after logout on the other instance: got %d %v, want 401 session revoked", code, body)
		}
	}
}

// Browser runs the headless-Chromium test of the browser client against the example with a
// one-minute access TTL, leeway 0, no grace window and a five-minute idle timeout. The server's
// clock is the fake one Expire and Advance move; the page reckons #expires-in by the browser's
// real clock, so the TTL stays well above a subtest's wall time on a loaded machine.
func Browser(t *testing.T, start Starter) {
	s := Start(t, start, map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s",
		"JWT_IDLE_TIMEOUT": "5m"})
	browsertest.Run(t, s.URL, browsertest.Hooks{
		RefreshCalls: s.RefreshCalls,
		Expire:       func() { s.Clock.Advance(time.Minute + time.Second) },
		Advance:      s.Clock.Advance,
		IdleTimeout:  5 * time.Minute,
	})
}
