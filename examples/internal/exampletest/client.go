package exampletest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/jwtclient"
)

// clientEnv is strict on purpose: no leeway, and no grace window, so that a second refresh with
// one refresh token is reuse and ends the session (which the run would see as failed calls).
var clientEnv = map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s"}

// Client runs the Go client (package jwtclient) against an example over loopback HTTP, on the
// example's fake clock: 50 goroutines through one client for 5 access-token lifetimes, a refresh
// whose answer is lost, logout, and a session ended from another device.
func Client(t *testing.T, start Starter) {
	t.Run("50 goroutines for 5 lifetimes", func(t *testing.T) { clientLifetimes(t, start) })
	t.Run("refresh answer lost", func(t *testing.T) { clientLostAnswer(t, start) })
	t.Run("after logout", func(t *testing.T) { clientLogout(t, start) })
	t.Run("session ended elsewhere", func(t *testing.T) { clientEndedElsewhere(t, start) })
}

// front is a recording proxy between the client and an example: it counts the requests, checks
// every refresh against the refresh token the client persisted last, remembers the refresh
// token the example issued last, and can hold back a refresh's answer.
type front struct {
	URL       string
	requests  atomic.Int64
	refreshes atomic.Int64
	persisted atomic.Value // string: what the client's WithOnTokens got last
	issued    atomic.Value // string: the refresh token of the example's last token response

	mu        sync.Mutex
	presented map[string]int // refresh token -> refresh requests presenting it
	stale     int            // refreshes that presented a token other than the persisted one
	keys      []string       // Idempotency-Key of every refresh

	// lose, when it returns true for the n-th refresh, makes the proxy forward the refresh, let
	// the example carry it out, and then never answer (until the client gives up).
	lose func(n int64) bool
}

func newFront(t *testing.T, s *Server) *front {
	f := &front{presented: map[string]int{}}
	f.persisted.Store("")
	f.issued.Store("")
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		refresh := r.Method == http.MethodPost && r.URL.Path == "/refresh"
		var n int64
		if refresh {
			n = f.refreshes.Add(1)
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(raw)))
			var in struct {
				RefreshToken string `json:"refresh_token"`
			}
			json.Unmarshal(raw, &in)
			f.mu.Lock()
			f.presented[in.RefreshToken]++
			if in.RefreshToken != f.persisted.Load().(string) {
				f.stale++
			}
			f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
			f.mu.Unlock()
		}
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		if (r.URL.Path == "/refresh" || r.URL.Path == "/login") && rec.Code == 200 {
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			json.Unmarshal(rec.Body.Bytes(), &out)
			f.issued.Store(out.RefreshToken)
		}
		if refresh && f.lose != nil && f.lose(n) {
			<-r.Context().Done() // the example rotated; its answer never arrives
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// newGoClient is a jwtclient for the example behind f, on the example's clock, persisting every
// pair into f; saved receives once per pair.
func newGoClient(t *testing.T, s *Server, f *front, saved chan<- struct{}, opts ...jwtclient.Option) *jwtclient.Client {
	t.Helper()
	base := []jwtclient.Option{
		jwtclient.WithBaseURL(f.URL),
		jwtclient.WithClock(s.Clock.Now),
		jwtclient.WithRetryBackoff(10 * time.Millisecond),
		jwtclient.WithOnTokens(func(tok jwtclient.Token) {
			f.persisted.Store(tok.RefreshToken)
			if saved != nil {
				saved <- struct{}{}
			}
		}),
	}
	c, err := jwtclient.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("jwtclient.New: %v", err)
	}
	if err := c.Login(context.Background(), demo["username"], demo["password"]); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return c
}

// call is one GET of a protected route through hc: nil when it answered 200.
func call(hc *http.Client, u string) error {
	resp, err := hc.Get(u)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New(resp.Status)
	}
	return nil
}

// clientLifetimes: 50 goroutines call GET /api/me through one client while the clock runs
// through 5 access-token lifetimes in steps of 3 s. No call may fail; every refresh token is
// presented exactly once (one refresh per token lifetime: a second one would be reuse and end
// the session, as the grace window is 0); every refresh presents the refresh token persisted
// last, and the persisted one is the example's current one whenever no refresh is under way.
func clientLifetimes(t *testing.T, start Starter) {
	if testing.Short() {
		t.Skip("5,000 calls: run without -short")
	}
	s := Start(t, start, clientEnv)
	f := newFront(t, s)
	saved := make(chan struct{}, 64)
	c := newGoClient(t, s, f, saved)
	<-saved // the login's pair
	hc := c.HTTPClient()
	const lifetime, step, goroutines = time.Minute, 3 * time.Second, 50
	var calls, failed atomic.Int64
	for elapsed := time.Duration(0); elapsed < 5*lifetime; elapsed += step {
		before := f.refreshes.Load()
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				calls.Add(1)
				if err := call(hc, f.URL+"/api/me"); err != nil {
					failed.Add(1)
					t.Errorf("at +%v: GET /api/me: %v", elapsed, err)
				}
			}()
		}
		wg.Wait()
		for n := f.refreshes.Load() - before; n > 0; n-- {
			select {
			case <-saved: // the refresh this step started has been persisted
			case <-time.After(30 * time.Second):
				t.Fatalf("at +%v: a refresh reached the example but no new pair was persisted", elapsed)
			}
		}
		if p, i := f.persisted.Load(), f.issued.Load(); p != i {
			t.Fatalf("at +%v: the persisted refresh token is not the example's current one", elapsed)
		}
		s.Clock.Advance(step)
	}
	refreshes := f.refreshes.Load()
	t.Logf("%d calls by %d goroutines over 5 lifetimes of %v: %d failed, %d refreshes (%.2f per lifetime; a refresh at 70-80%% of each token's lifetime)",
		calls.Load(), goroutines, lifetime, failed.Load(), refreshes, float64(refreshes)/5)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.presented {
		if n != 1 {
			t.Errorf("a refresh token was presented %d times, want once", n)
		}
	}
	if f.stale != 0 {
		t.Errorf("%d refreshes presented a refresh token other than the persisted one", f.stale)
	}
	// One refresh per token, each 42 to 48 s (70-80% of 60 s on a 3 s grid) after the last.
	if refreshes < 6 || refreshes > 8 {
		t.Errorf("%d refreshes in 5 lifetimes, want 6 to 8", refreshes)
	}
	if failed.Load() != 0 {
		t.Errorf("%d of %d calls failed, want 0", failed.Load(), calls.Load())
	}
}

// clientLostAnswer: the example carries out a refresh but its answer is held back past the
// client's timeout. The client retries with the same Idempotency-Key and gets the session's
// current tokens: no session lost, although the grace window is 0.
func clientLostAnswer(t *testing.T, start Starter) {
	s := Start(t, start, clientEnv)
	f := newFront(t, s)
	f.lose = func(n int64) bool { return n == 1 }
	c := newGoClient(t, s, f, nil, jwtclient.WithTimeout(time.Second))
	hc := c.HTTPClient()
	s.Clock.Advance(time.Minute) // expired: the next call waits for the refresh
	if err := call(hc, f.URL+"/api/me"); err != nil {
		t.Fatalf("after a lost refresh answer: %v", err)
	}
	f.mu.Lock()
	keys := append([]string(nil), f.keys...)
	f.mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("Idempotency-Keys of the refreshes: %q, want one key, sent twice", keys)
	}
	for i := 0; i < 3; i++ { // the session goes on: three more lifetimes
		s.Clock.Advance(time.Minute)
		if err := call(hc, f.URL+"/api/me"); err != nil {
			t.Fatalf("lifetime %d after the lost answer: %v", i+2, err)
		}
	}
	if p, i := f.persisted.Load(), f.issued.Load(); p != i {
		t.Fatal("the persisted refresh token is not the example's current one")
	}
	t.Logf("refresh answer lost once: %d refresh requests for 4 lifetimes, session kept", f.refreshes.Load())
}

// clientLogout: after Logout, every call returns ErrSessionEnded and nothing reaches the example.
func clientLogout(t *testing.T, start Starter) {
	s := Start(t, start, clientEnv)
	f := newFront(t, s)
	c := newGoClient(t, s, f, nil)
	hc := c.HTTPClient()
	if err := call(hc, f.URL+"/api/me"); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(context.Background()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	before := f.requests.Load()
	s.Clock.Advance(2 * time.Minute) // past expiry: a naive client would refresh now
	ended := stormCheck(t, hc, f.URL+"/api/me")
	if n := f.requests.Load() - before; n != 0 || ended != 500 {
		t.Fatalf("after logout: %d of 500 calls returned ErrSessionEnded, %d requests reached the example; want 500 and 0", ended, n)
	}
	t.Logf("after logout: 500 calls, all ErrSessionEnded, 0 requests to the example")
	// A new login (as a form this time) starts a new session.
	if err := c.LoginForm(context.Background(), url.Values{"username": {demo["username"]}, "password": {demo["password"]}}); err != nil {
		t.Fatalf("LoginForm after logout: %v", err)
	}
	if err := call(hc, f.URL+"/api/me"); err != nil {
		t.Fatalf("after a new login: %v", err)
	}
}

// clientEndedElsewhere: another device ends this client's session (DELETE /api/sessions/{id}).
// The client's next calls are refused (token revoked), one refresh is refused (invalid_grant),
// and from then on every call returns ErrSessionEnded without a request.
func clientEndedElsewhere(t *testing.T, start Starter) {
	s := Start(t, start, clientEnv)
	f := newFront(t, s)
	c := newGoClient(t, s, f, nil)
	hc := c.HTTPClient()
	resp, err := hc.Get(f.URL + "/api/sessions")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var id string
	for _, x := range list.Sessions {
		if x.Current {
			id = x.ID
		}
	}
	if id == "" {
		t.Fatalf("GET /api/sessions: no current session in %+v", list)
	}
	other, _ := s.login(t, "curl/8.5.0")
	if code, _, body := s.Do(t, "DELETE", "/api/sessions/"+id, other, nil, nil); code != 204 {
		t.Fatalf("DELETE /api/sessions/{id} from another device: got %d %v", code, body)
	}
	before, refreshesBefore := f.requests.Load(), f.refreshes.Load()
	ended := stormCheck(t, hc, f.URL+"/api/me")
	requests, refreshes := f.requests.Load()-before, f.refreshes.Load()-refreshesBefore
	t.Logf("session ended elsewhere: %d of 500 calls ErrSessionEnded, %d requests reached the example (%d refreshes)", ended, requests, refreshes)
	if ended != 500 || refreshes != 1 || requests > 51 {
		t.Fatalf("got %d ErrSessionEnded, %d requests, %d refreshes; want 500, at most 51 (one refused call per goroutine at most, one refresh), 1", ended, requests, refreshes)
	}
	if _, err := c.Token(); !errors.Is(err, jwtclient.ErrSessionEnded) {
		t.Fatalf("Token: %v, want ErrSessionEnded", err)
	}
}

// stormCheck makes 10 calls from each of 50 goroutines and returns how many returned
// ErrSessionEnded.
func stormCheck(t *testing.T, hc *http.Client, u string) int64 {
	var ended atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := call(hc, u); errors.Is(err, jwtclient.ErrSessionEnded) {
					ended.Add(1)
				} else {
					t.Errorf("got %v, want ErrSessionEnded", err)
				}
			}
		}()
	}
	wg.Wait()
	return ended.Load()
}
