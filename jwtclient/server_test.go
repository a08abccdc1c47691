package jwtclient_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// server is a small stand-in for a jwtexp server's HTTP contract, for the tests of this module
// (which depends on nothing but the standard library): login, refresh with rotation, reuse
// detection and Idempotency-Key retries, logout, and one protected route. Its tokens are
// unsigned JWT-shaped strings: the client never verifies tokens, the server looks them up.
// The client's tests against the real example apps live in the examples module.
type server struct {
	*httptest.Server
	clock *fakeClock
	ttl   time.Duration
	skew  atomic.Int64 // how far the server's clock runs ahead of clock, in ns

	// refusal is the status of a refused refresh: 400 (current servers) or 401 (older ones).
	refusal int
	// beforeRefresh, when set, runs first on every refresh and may answer it instead (true).
	beforeRefresh func(w http.ResponseWriter, r *http.Request, n int64) bool
	// afterLogin, when set, runs after a login recorded its session (or found the one its
	// Idempotency-Key names) and may answer instead of the tokens (true): an answer lost after
	// the server wrote.
	afterLogin func(w http.ResponseWriter, r *http.Request, n int64) bool

	logins, refreshes, logouts, apiCalls, apiRefused atomic.Int64

	mu       sync.Mutex
	n        int
	sessions map[string]*fakeSession // by sid
	refresh  map[string]string       // every refresh token ever issued -> sid
	keys     []string                // Idempotency-Key of every refresh, in order
	loginKey map[string]string       // Idempotency-Key of a login -> the sid it created
	lkeys    []string                // Idempotency-Key of every login attempt, in order
}

type fakeSession struct {
	current, access string
	ended           bool
	lastKey         string // Idempotency-Key of the rotation that issued current
	lastAnswer      []byte // its answer, repeated for a retry with the same key
}

func newServer(t testing.TB, clock *fakeClock, ttl time.Duration) *server {
	s := startServer(clock, ttl)
	t.Cleanup(s.Close)
	return s
}

// startServer starts a server; the caller closes it.
func startServer(clock *fakeClock, ttl time.Duration) *server {
	s := &server{clock: clock, ttl: ttl, refusal: 400, sessions: map[string]*fakeSession{}, refresh: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /refresh", s.doRefresh)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("/api/me", s.me)
	s.Server = httptest.NewServer(mux)
	return s
}

// now is the server's time: the test clock plus the skew.
func (s *server) now() time.Time { return s.clock.Now().Add(time.Duration(s.skew.Load())) }

func (s *server) token(kind, sid string) string {
	s.n++
	now := s.now().Unix()
	exp := now + int64(s.ttl/time.Second)
	if kind == "refresh" {
		exp = now + 7*24*3600
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		b64([]byte(fmt.Sprintf(`{"sub":"alice","sid":%q,"typ":%q,"iat":%d,"exp":%d,"n":%d}`, sid, kind, now, exp, s.n))) + ".sig"
}

// issue rotates session sid and returns the token response; s.mu is held.
func (s *server) issue(sid string) []byte {
	f := s.sessions[sid]
	f.access, f.current = s.token("access", sid), s.token("refresh", sid)
	s.refresh[f.current] = sid
	body, _ := json.Marshal(map[string]any{"access_token": f.access, "token_type": "Bearer",
		"expires_in": int64(s.ttl / time.Second), "refresh_token": f.current})
	return body
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}

func problem(w http.ResponseWriter, code int, errCode, desc string) {
	body, _ := json.Marshal(map[string]string{"error": errCode, "error_description": desc})
	writeJSON(w, code, body)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	n := s.logins.Add(1)
	var user, pass string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		user, pass = r.PostFormValue("username"), r.PostFormValue("password")
	} else {
		var c struct{ Username, Password string }
		json.NewDecoder(r.Body).Decode(&c)
		user, pass = c.Username, c.Password
	}
	if user != "alice" || pass != "wonderland" {
		problem(w, 401, "invalid_grant", "invalid username or password")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.lkeys = append(s.lkeys, key)
	sid, repeated := s.loginKey[key]
	if !repeated || key == "" {
		sid = fmt.Sprintf("s%d", len(s.sessions)+1)
		s.sessions[sid] = &fakeSession{}
		if s.loginKey == nil {
			s.loginKey = map[string]string{}
		}
		s.loginKey[key] = sid
	}
	body := s.issue(sid)
	s.mu.Unlock()
	if s.afterLogin != nil && s.afterLogin(w, r, n) {
		return
	}
	writeJSON(w, 200, body)
}

// loginKeys returns the Idempotency-Key of every login attempt, in order.
func (s *server) loginKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lkeys...)
}

func (s *server) doRefresh(w http.ResponseWriter, r *http.Request) {
	n := s.refreshes.Add(1)
	if s.beforeRefresh != nil && s.beforeRefresh(w, r, n) {
		return
	}
	s.doRefreshNoHook(w, r)
}

func (s *server) doRefreshNoHook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	key := strings.Trim(r.Header.Get("Idempotency-Key"), `"`)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
	sid, ok := s.refresh[req.RefreshToken]
	f := s.sessions[sid]
	switch {
	case !ok || f.ended:
		problem(w, s.refusal, "invalid_grant", "session ended")
	case req.RefreshToken == f.current:
		body := s.issue(sid)
		f.lastKey, f.lastAnswer = key, body
		writeJSON(w, 200, body)
	case key != "" && key == f.lastKey:
		writeJSON(w, 200, f.lastAnswer) // a retry of the rotation already made
	default:
		f.ended = true // reuse: the whole session ends (RFC 9700 §4.14.2)
		problem(w, s.refusal, "invalid_grant", "refresh token reused")
	}
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	s.logouts.Add(1)
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	if sid, ok := s.refresh[req.RefreshToken]; ok {
		s.sessions[sid].ended = true
	}
	s.mu.Unlock()
	w.WriteHeader(204)
}

// me answers 200 for the current access token of a live session that has not expired.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	s.apiCalls.Add(1)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
		problem(w, 401, "unauthorized", "token missing")
		return
	}
	reason := s.check(tok)
	if reason != "" {
		s.apiRefused.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="test", error="invalid_token", error_description="`+reason+`"`)
		problem(w, 401, "invalid_token", reason)
		return
	}
	body := []byte(`{"sub":"alice"}`)
	if r.Method == http.MethodPost {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			problem(w, 400, "invalid_request", "body is not JSON")
			return
		}
		body, _ = json.Marshal(map[string]any{"sub": "alice", "echo": in})
	}
	writeJSON(w, 200, body)
}

func (s *server) check(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "malformed token"
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Sid string `json:"sid"`
		Exp int64  `json:"exp"`
	}
	json.Unmarshal(raw, &c)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.sessions[c.Sid]
	switch {
	case !ok:
		return "unknown token"
	case f.ended:
		return "token revoked"
	case s.now().Unix() >= c.Exp:
		return "token expired"
	}
	return ""
}

// endSession ends every session, as "log out everywhere" on another device would.
func (s *server) endSessions() {
	s.mu.Lock()
	for _, f := range s.sessions {
		f.ended = true
	}
	s.mu.Unlock()
}

// currentRefresh is the current refresh token of the only session.
func (s *server) currentRefresh() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.sessions {
		return f.current
	}
	return ""
}

func (s *server) retryKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}
