package jwtclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/jwtclient"
)

// newClient is a client of s on s's clock, with retries that do not wait, plus opts.
func newClient(t *testing.T, s *server, opts ...jwtclient.Option) *jwtclient.Client {
	t.Helper()
	base := []jwtclient.Option{jwtclient.WithBaseURL(s.URL), jwtclient.WithClock(s.clock.Now),
		jwtclient.WithRetryBackoff(0), jwtclient.WithTimeout(5 * time.Second)}
	c, err := jwtclient.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func get(t *testing.T, hc *http.Client, u string) (int, error) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []jwtclient.Option
		want string
	}{
		{"no endpoint", nil, "WithBaseURL or WithRefreshURL"},
		{"relative base", []jwtclient.Option{jwtclient.WithBaseURL("/api")}, "WithBaseURL"},
		{"ftp refresh", []jwtclient.Option{jwtclient.WithRefreshURL("ftp://x/refresh")}, "WithRefreshURL"},
		{"user info", []jwtclient.Option{jwtclient.WithLoginURL("https://u:p@x/login")}, "WithLoginURL"},
		{"bad logout", []jwtclient.Option{jwtclient.WithLogoutURL("::")}, "WithLogoutURL"},
		{"nil http client", []jwtclient.Option{jwtclient.WithHTTPClient(nil)}, "WithHTTPClient"},
		{"ahead 1", []jwtclient.Option{jwtclient.WithRefreshAhead(1, 0)}, "WithRefreshAhead"},
		{"ahead 0", []jwtclient.Option{jwtclient.WithRefreshAhead(0, 0)}, "WithRefreshAhead"},
		{"jitter over ahead", []jwtclient.Option{jwtclient.WithRefreshAhead(0.5, 0.5)}, "WithRefreshAhead"},
		{"negative jitter", []jwtclient.Option{jwtclient.WithRefreshAhead(0.5, -0.1)}, "WithRefreshAhead"},
		{"zero timeout", []jwtclient.Option{jwtclient.WithTimeout(0)}, "WithTimeout"},
		{"huge timeout", []jwtclient.Option{jwtclient.WithTimeout(time.Hour)}, "WithTimeout"},
		{"negative retries", []jwtclient.Option{jwtclient.WithRefreshRetries(-1)}, "WithRefreshRetries"},
		{"many retries", []jwtclient.Option{jwtclient.WithRefreshRetries(11)}, "WithRefreshRetries"},
		{"negative backoff", []jwtclient.Option{jwtclient.WithRetryBackoff(-time.Second)}, "WithRetryBackoff"},
		{"nil callback", []jwtclient.Option{jwtclient.WithOnTokens(nil)}, "WithOnTokens"},
		{"nil end callback", []jwtclient.Option{jwtclient.WithOnSessionEnd(nil)}, "WithOnSessionEnd"},
		{"stored pair without refresh token", []jwtclient.Option{jwtclient.WithTokens(jwtclient.Token{AccessToken: "a"})}, "WithTokens"},
		{"stored pair of another type", []jwtclient.Option{jwtclient.WithTokens(jwtclient.Token{RefreshToken: "r", TokenType: "DPoP"})}, "WithTokens"},
		{"nil clock", []jwtclient.Option{jwtclient.WithClock(nil)}, "WithClock"},
		{"no origin", []jwtclient.Option{jwtclient.WithTokenOrigins()}, "WithTokenOrigins"},
		{"origin with path", []jwtclient.Option{jwtclient.WithTokenOrigins("https://x/api")}, "WithTokenOrigins"},
		{"nil option", []jwtclient.Option{nil}, "nil Option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if tc.name != "no endpoint" {
				opts = append([]jwtclient.Option{jwtclient.WithBaseURL("https://api.example")}, opts...)
			}
			_, err := jwtclient.New(opts...)
			if !errors.Is(err, jwtclient.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidConfig naming %s", err, tc.want)
			}
		})
	}
}

// TestRefreshAheadSharedByGoroutines: 50 goroutines through one client for 5 access-token
// lifetimes on a fake clock: no request fails, every refresh token is presented exactly once
// (one refresh per token), and every refresh presents the pair persisted last.
func TestRefreshAheadSharedByGoroutines(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	var persisted atomic.Value // the refresh token WithOnTokens saw last
	saved := make(chan struct{}, 100)
	var presentedNotPersisted atomic.Int64
	s.beforeRefresh = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte(persisted.Load().(string))) {
			presentedNotPersisted.Add(1)
		}
		return false
	}
	c := newClient(t, s, jwtclient.WithOnTokens(func(tok jwtclient.Token) {
		persisted.Store(tok.RefreshToken)
		saved <- struct{}{}
	}))
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	<-saved
	hc := c.HTTPClient()
	var failed atomic.Int64
	step := 3 * time.Second // 1/20 of the lifetime
	for i := 0; i < 100; i++ {
		before := s.refreshes.Load()
		var wg sync.WaitGroup
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, err := get(t, hc, s.URL+"/api/me"); err != nil || code != 200 {
					failed.Add(1)
					t.Errorf("GET /api/me: %d %v", code, err)
				}
			}()
		}
		wg.Wait()
		for n := s.refreshes.Load() - before; n > 0; n-- {
			<-saved // the refresh started in this step has been persisted
		}
		clock.Advance(step)
	}
	refreshes := s.refreshes.Load()
	t.Logf("5 lifetimes, 5000 calls: %d failed, %d refreshes, %d API refusals", failed.Load(), refreshes, s.apiRefused.Load())
	if failed.Load() != 0 || s.apiRefused.Load() != 0 {
		t.Fatalf("%d failed calls, %d refused by the API, want 0", failed.Load(), s.apiRefused.Load())
	}
	// A refresh between 70% and 80% of each 60 s lifetime, on a 3 s grid: every 42 to 48 s.
	if refreshes < 6 || refreshes > 8 {
		t.Fatalf("%d refreshes in 300 s, want one per token: 6 to 8", refreshes)
	}
	if presentedNotPersisted.Load() != 0 {
		t.Fatalf("%d refreshes presented a refresh token other than the persisted one", presentedNotPersisted.Load())
	}
	if got, want := persisted.Load(), s.currentRefresh(); got != want {
		t.Fatalf("persisted refresh token is not the session's current one")
	}
}

// TestRetryOnInvalidToken: a token the server refuses (expired early by the server's clock)
// gets one refresh shared by all refused requests, and each is sent once more, bodies included.
func TestRetryOnInvalidToken(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	c := newClient(t, s)
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	hc := c.HTTPClient()
	// The server's clock runs ahead: the token is expired there, not yet due here.
	s.skew.Store(int64(2 * time.Minute))
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Post(s.URL+"/api/me", "application/json", strings.NewReader(`{"n":1}`))
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"echo":{"n":1}`) {
				t.Errorf("POST after a refused token: got %d %s, want 200 with the body echoed", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	if n := s.refreshes.Load(); n != 1 {
		t.Fatalf("%d refreshes for 20 refused requests, want 1", n)
	}
	// Each refused request was sent once more; requests that started after the refresh went
	// out with the new token at once.
	if n, refused := s.apiCalls.Load(), s.apiRefused.Load(); refused == 0 || n != 20+refused {
		t.Fatalf("%d API calls with %d refused, want 20 plus one retry per refusal (at least one)", n, refused)
	}
}

// TestNoRetryWithoutReplayableBody: a request whose body cannot be sent again gets the 401.
func TestNoRetryWithoutReplayableBody(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	c := newClient(t, s)
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	s.skew.Store(int64(2 * time.Minute))
	req, _ := http.NewRequest("POST", s.URL+"/api/me", io.NopCloser(strings.NewReader(`{}`))) // no GetBody
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || s.apiCalls.Load() != 1 {
		t.Fatalf("got %d after %d API calls, want the 401 after 1", resp.StatusCode, s.apiCalls.Load())
	}
	// The next request uses the token the refused one triggered.
	if code, err := get(t, c.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil || s.refreshes.Load() != 1 {
		t.Fatalf("next request: %d %v after %d refreshes, want 200 after 1", code, err, s.refreshes.Load())
	}
}

// TestIdempotencyKeyOnRetry: the server rotates but its answer is lost (the client times out);
// the retry carries the same Idempotency-Key and gets the current pair: the session survives.
func TestIdempotencyKeyOnRetry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	s.beforeRefresh = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if n != 1 {
			return false
		}
		rec := &discardWriter{h: http.Header{}}
		s.doRefreshNoHook(rec, r) // rotate for real, then never answer
		<-r.Context().Done()
		return true
	}
	c := newClient(t, s, jwtclient.WithTimeout(time.Second)) // the first attempt hangs this long; every other one must fit in it, also on a loaded machine
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // expired: the call waits for the refresh
	if code, err := get(t, c.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil {
		t.Fatalf("after a lost refresh answer: got %d %v, want 200", code, err)
	}
	keys := s.retryKeys()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("Idempotency-Keys %q, want one non-empty key twice", keys)
	}
	clock.Advance(time.Minute)
	if code, err := get(t, c.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil {
		t.Fatalf("next lifetime: got %d %v, want 200", code, err)
	}
	if keys := s.retryKeys(); len(keys) != 3 || keys[2] == keys[1] {
		t.Fatalf("Idempotency-Keys %q, want a new key for the next refresh", keys)
	}
}

// TestServerErrorRetried: a 503 is retried with the same key; after all attempts fail the
// session is kept, and the next call tries again only after the backoff.
func TestServerErrorRetried(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	var down atomic.Bool
	down.Store(true)
	s.beforeRefresh = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if down.Load() {
			problem(w, 503, "temporarily_unavailable", "store unavailable")
			return true
		}
		return false
	}
	c := newClient(t, s, jwtclient.WithRefreshRetries(2))
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	_, err := c.Token()
	if !errors.Is(err, jwtclient.ErrRefreshUnavailable) {
		t.Fatalf("got %v, want ErrRefreshUnavailable", err)
	}
	if n := s.refreshes.Load(); n != 3 {
		t.Fatalf("%d refresh attempts, want 3", n)
	}
	down.Store(false)
	tok, err := c.Token()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("after the server came back: %v", err)
	}
	keys := s.retryKeys()
	if len(keys) != 1 {
		t.Fatalf("the server saw %d keyed refreshes, want 1", len(keys))
	}
}

// TestLoginRetried: a login whose answer is lost after the server recorded its session (a 503
// then) is sent again with the same Idempotency-Key and gets that session, not a second one; a
// refusal (401, and 429 for a user whose sessions ended too often) is never retried, and the
// next Login uses a new key.
func TestLoginRetried(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	var lost atomic.Int64
	lost.Store(1)
	s.afterLogin = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if n <= lost.Load() {
			problem(w, 503, "temporarily_unavailable", "service temporarily unavailable")
			return true
		}
		return false
	}
	c := newClient(t, s, jwtclient.WithRefreshRetries(2))
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatalf("login whose first answer was lost: %v", err)
	}
	keys := s.loginKeys()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("login Idempotency-Keys %q, want one non-empty key twice", keys)
	}
	if n := len(s.sessions); n != 1 {
		t.Fatalf("the server recorded %d sessions, want 1", n)
	}
	tok, err := c.Token()
	if err != nil || !strings.Contains(tok.AccessToken, ".") {
		t.Fatalf("Token after the retried login: %v", err)
	}

	lost.Store(100) // every answer lost: 3 attempts, then the 503
	err = c.Login(context.Background(), "alice", "wonderland")
	var se *jwtclient.ServerError
	if !errors.As(err, &se) || se.StatusCode != 503 || errors.Is(err, jwtclient.ErrLoginRefused) {
		t.Fatalf("login that never got an answer: got %v, want the 503 *ServerError", err)
	}
	if keys = s.loginKeys(); len(keys) != 5 || keys[2] == keys[1] || keys[2] != keys[4] {
		t.Fatalf("login Idempotency-Keys %q, want a new key for the new login, sent 3 times", keys)
	}

	lost.Store(0)
	before := s.logins.Load()
	if err := c.Login(context.Background(), "alice", "nope"); !errors.Is(err, jwtclient.ErrLoginRefused) {
		t.Fatalf("wrong password: got %v, want ErrLoginRefused", err)
	}
	s.afterLogin = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		problem(w, 429, "temporarily_unavailable", "too many sessions ended recently")
		return true
	}
	if err := c.Login(context.Background(), "alice", "wonderland"); !errors.Is(err, jwtclient.ErrLoginRefused) {
		t.Fatalf("429: got %v, want ErrLoginRefused", err)
	}
	if n := s.logins.Load() - before; n != 2 {
		t.Fatalf("refused logins sent %d times, want once each (2)", n)
	}
}

// TestSessionEnded: a refused refresh (400 from current servers, 401 from older ones) ends the
// session: ErrSessionEnded, the callback, and no further request to the server.
func TestSessionEnded(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			s := newServer(t, clock, time.Minute)
			s.refusal = status
			var endedWith atomic.Value
			c := newClient(t, s, jwtclient.WithOnSessionEnd(func(err error) { endedWith.Store(err) }))
			if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
				t.Fatal(err)
			}
			s.endSessions() // "log out everywhere" from another device
			hc := c.HTTPClient()
			_, err := hc.Get(s.URL + "/api/me")
			if !errors.Is(err, jwtclient.ErrSessionEnded) {
				t.Fatalf("got %v, want ErrSessionEnded", err)
			}
			var se *jwtclient.ServerError
			if !errors.As(err, &se) || se.StatusCode != status || se.Code != "invalid_grant" {
				t.Fatalf("got %v, want the server's %d invalid_grant in the chain", err, status)
			}
			if e, _ := endedWith.Load().(error); !errors.Is(e, jwtclient.ErrSessionEnded) {
				t.Fatalf("WithOnSessionEnd got %v", e)
			}
			calls := s.apiCalls.Load() + s.refreshes.Load()
			for i := 0; i < 50; i++ {
				if _, err := hc.Get(s.URL + "/api/me"); !errors.Is(err, jwtclient.ErrSessionEnded) {
					t.Fatalf("call %d: got %v, want ErrSessionEnded", i, err)
				}
			}
			if _, err := c.Token(); !errors.Is(err, jwtclient.ErrSessionEnded) {
				t.Fatalf("Token: got %v", err)
			}
			if n := s.apiCalls.Load() + s.refreshes.Load(); n != calls {
				t.Fatalf("%d requests after the session ended, want 0", n-calls)
			}
			if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
				t.Fatal(err)
			}
			if code, err := get(t, hc, s.URL+"/api/me"); code != 200 || err != nil {
				t.Fatalf("after a new login: %d %v", code, err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	c := newClient(t, s)
	ctx := context.Background()
	if _, err := c.Token(); !errors.Is(err, jwtclient.ErrNotLoggedIn) {
		t.Fatalf("before login: %v, want ErrNotLoggedIn", err)
	}
	if err := c.Login(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	refresh := s.currentRefresh()
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if s.logouts.Load() != 1 {
		t.Fatalf("%d logout calls", s.logouts.Load())
	}
	if _, err := c.HTTPClient().Get(s.URL + "/api/me"); !errors.Is(err, jwtclient.ErrSessionEnded) {
		t.Fatalf("after logout: %v, want ErrSessionEnded", err)
	}
	if s.apiCalls.Load() != 0 || s.refreshes.Load() != 0 {
		t.Fatalf("requests after logout: %d API, %d refresh", s.apiCalls.Load(), s.refreshes.Load())
	}
	// The server ended the session: the refresh token presented at logout is dead.
	restored := newClient(t, s, jwtclient.WithTokens(jwtclient.Token{RefreshToken: refresh}))
	if _, err := restored.Token(); !errors.Is(err, jwtclient.ErrSessionEnded) {
		t.Fatalf("refresh token after logout: %v, want ErrSessionEnded", err)
	}
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeClock(), time.Minute)
	c := newClient(t, s)
	err := c.Login(context.Background(), "alice", "nope")
	var se *jwtclient.ServerError
	if !errors.Is(err, jwtclient.ErrLoginRefused) || !errors.As(err, &se) || se.StatusCode != 401 || se.Code != "invalid_grant" {
		t.Fatalf("got %v, want ErrLoginRefused with 401 invalid_grant", err)
	}
	if strings.Contains(err.Error(), "nope") {
		t.Fatalf("the error %q repeats the password", err)
	}
	if err := c.LoginForm(context.Background(), url.Values{"username": {"alice"}, "password": {"wonderland"}}); err != nil {
		t.Fatalf("form login: %v", err)
	}
}

// TestRestore: a client started from a stored pair uses it, refreshes it on schedule, and a
// client started from a pair with no access token refreshes first.
func TestRestore(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	var stored jwtclient.Token
	first := newClient(t, s, jwtclient.WithOnTokens(func(tok jwtclient.Token) { stored = tok }))
	if err := first.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	stored.Expiry = time.Time{} // as if stored without it: read from exp
	second := newClient(t, s, jwtclient.WithTokens(stored))
	if code, err := get(t, second.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil || s.refreshes.Load() != 0 {
		t.Fatalf("restored: %d %v after %d refreshes, want 200 without refreshing", code, err, s.refreshes.Load())
	}
	clock.Advance(time.Minute)
	if code, err := get(t, second.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil || s.refreshes.Load() != 1 {
		t.Fatalf("restored, expired: %d %v after %d refreshes, want 200 after 1", code, err, s.refreshes.Load())
	}
	third := newClient(t, s, jwtclient.WithTokens(jwtclient.Token{RefreshToken: s.currentRefresh()}))
	if code, err := get(t, third.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil || s.refreshes.Load() != 2 {
		t.Fatalf("refresh token only: %d %v after %d refreshes, want 200 after 2", code, err, s.refreshes.Load())
	}
}

// TestTokenStaysHome: the token goes to the configured origin only, not to a redirect target.
func TestTokenStaysHome(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeClock(), time.Minute)
	var leaked atomic.Bool
	other := newServer(t, newFakeClock(), time.Minute)
	other.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization") != "")
	})
	c := newClient(t, s)
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, c.HTTPClient(), other.URL+"/x"); err != nil {
		t.Fatal(err)
	}
	if leaked.Load() {
		t.Fatal("the access token was sent to another origin")
	}
}

// discardWriter is a ResponseWriter whose answer goes nowhere (an answer lost on the way).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// TestExpiredTokenOneRefresh: 50 goroutines asking for a token at once, with the access token
// expired, wait for one refresh and all get its token.
func TestExpiredTokenOneRefresh(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	c := newClient(t, s)
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		}()
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("the goroutines got different access tokens")
		}
	}
	if n := s.refreshes.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

// TestRotatedThen5xx: the server rotates, then its proxy answers 502 (the answer is lost the
// other way); the retry carries the same key and gets the session's current pair.
func TestRotatedThen5xx(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	s.beforeRefresh = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if n != 1 {
			return false
		}
		s.doRefreshNoHook(&discardWriter{h: http.Header{}}, r)
		problem(w, 502, "bad_gateway", "upstream reset")
		return true
	}
	var persisted atomic.Value
	c := newClient(t, s, jwtclient.WithOnTokens(func(tok jwtclient.Token) { persisted.Store(tok.RefreshToken) }))
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if code, err := get(t, c.HTTPClient(), s.URL+"/api/me"); code != 200 || err != nil {
		t.Fatalf("after a 502 on a rotation the server made: %d %v, want 200", code, err)
	}
	if keys := s.retryKeys(); len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("Idempotency-Keys %q, want the same key twice", keys)
	}
	if persisted.Load() != s.currentRefresh() {
		t.Fatal("the persisted refresh token is not the session's current one")
	}
}

// TestWaitEndsWithContext: a caller waiting for a refresh stops when its context ends; the
// refresh goes on for the others.
func TestWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newServer(t, clock, time.Minute)
	release := make(chan struct{})
	s.beforeRefresh = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		<-release
		return false
	}
	c := newClient(t, s)
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.TokenContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	close(release)
	if tok, err := c.Token(); err != nil || tok.AccessToken == "" || s.refreshes.Load() != 1 {
		t.Fatalf("the refresh under way: %v after %d refreshes, want a token after 1", err, s.refreshes.Load())
	}
}

// TestTokenOrigins: with WithTokenOrigins the token goes to the origins named, and no further.
func TestTokenOrigins(t *testing.T) {
	t.Parallel()
	s := newServer(t, newFakeClock(), time.Minute)
	var got atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
	}))
	t.Cleanup(api.Close)
	c := newClient(t, s, jwtclient.WithTokenOrigins(api.URL))
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, c.HTTPClient(), api.URL+"/x"); err != nil || !strings.HasPrefix(got.Load().(string), "Bearer ") {
		t.Fatalf("named origin: %v, Authorization %q", err, got.Load())
	}
	if code, _ := get(t, c.HTTPClient(), s.URL+"/api/me"); code != 401 {
		t.Fatalf("origin not named: got %d, want 401 (no token sent)", code)
	}
}
