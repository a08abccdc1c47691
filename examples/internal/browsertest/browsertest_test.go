package browsertest

// A self-test of the driver and of the page's JavaScript. The real example
// apps call Run from their own tests; here a small stand-in server implements
// just enough of the examples' HTTP contract (README "HTTP contract"), with opaque random tokens and a
// fake clock instead of JWTs. It is a test harness for the driver, not a
// reference implementation of the contract.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jwtexp/jwtexp/webclient"
)

// accessTTL is a minute: the page reckons #expires-in by the browser's real clock, and a loaded
// machine can take seconds between a login and its rendering.
const accessTTL = time.Minute

type accessRecord struct {
	sid string
	exp time.Time
}

type refreshRecord struct {
	sid     string
	current bool // false once rotated: presenting it again is reuse
}

// fakeAPI is the stand-in example server.
type fakeAPI struct {
	mu      sync.Mutex
	now     time.Time // the fake clock
	access  map[string]accessRecord
	refresh map[string]*refreshRecord
	revoked map[string]bool // by sid

	refreshCalls    atomic.Int64 // every POST /refresh
	cookieRefreshes atomic.Int64 // successful refreshes with the cookie alone
	bodyRefreshes   atomic.Int64 // successful refreshes with the JSON body alone
	twoCredentials  atomic.Int64 // refreshes that carried both a cookie and a body
	meCalls         atomic.Int64 // every GET /api/me

	refuseAPI         atomic.Bool  // GET /api/me answers 401 whatever the token
	failRefreshes5xx  atomic.Int64 // the next n refreshes answer 503
	cookieWithoutFlag atomic.Int64 // cookie refreshes without X-Refresh-Transport: cookie

	keysMu sync.Mutex
	keys   []string // the Idempotency-Key of every POST /refresh, in order
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{
		now:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		access:  make(map[string]accessRecord),
		refresh: make(map[string]*refreshRecord),
		revoked: make(map[string]bool),
	}
}

func (s *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /refresh", s.refreshHandler)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /api/me", s.me)
	mux.Handle("/", webclient.Handler())
	return mux
}

// expire moves the fake clock past the access TTL (leeway 0).
func (s *fakeAPI) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(accessTTL + time.Second)
}

func randomToken() string {
	return rand.Text()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	if code == "invalid_token" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jwtexp-example", error="invalid_token", error_description="`+description+`"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func refreshCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/refresh",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	}
}

// issue mints a token pair for session sid; s.mu must be held.
func (s *fakeAPI) issue(sid string) (access, refresh string) {
	access, refresh = randomToken(), randomToken()
	s.access[access] = accessRecord{sid: sid, exp: s.now.Add(accessTTL)}
	s.refresh[refresh] = &refreshRecord{sid: sid, current: true}
	return access, refresh
}

// writeTokens answers an RFC 6749 §5.1 token response; in cookie mode the
// refresh token goes only into the cookie.
func writeTokens(w http.ResponseWriter, access, refresh string, cookieMode bool) {
	body := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(accessTTL / time.Second),
	}
	if cookieMode {
		http.SetCookie(w, refreshCookie(refresh, 7*24*3600))
	} else {
		body["refresh_token"] = refresh
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *fakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body is not JSON")
		return
	}
	if req.Username != "alice" || req.Password != "wonderland" {
		writeError(w, http.StatusUnauthorized, "invalid_grant", "wrong username or password")
		return
	}
	cookieMode := strings.EqualFold(r.Header.Get("X-Refresh-Transport"), "cookie")
	s.mu.Lock()
	access, refresh := s.issue(randomToken())
	s.mu.Unlock()
	writeTokens(w, access, refresh, cookieMode)
}

func (s *fakeAPI) refreshHandler(w http.ResponseWriter, r *http.Request) {
	s.refreshCalls.Add(1)
	s.keysMu.Lock()
	s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
	s.keysMu.Unlock()
	if s.failRefreshes5xx.Load() > 0 {
		s.failRefreshes5xx.Add(-1)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "store unavailable")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	var fromBody string
	if len(bytes.TrimSpace(raw)) > 0 {
		var req struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(raw, &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "body is not JSON")
			return
		}
		fromBody = req.RefreshToken
	}
	var fromCookie string
	if c, err := r.Cookie(CookieName); err == nil {
		fromCookie = c.Value
	}
	var token string
	cookieMode := false
	switch {
	case fromCookie != "" && fromBody != "":
		s.twoCredentials.Add(1)
		writeError(w, http.StatusBadRequest, "invalid_request", "two refresh credentials")
		return
	case fromCookie != "":
		token, cookieMode = fromCookie, true
		if !strings.EqualFold(r.Header.Get("X-Refresh-Transport"), "cookie") {
			s.cookieWithoutFlag.Add(1)
		}
	case fromBody != "":
		token = fromBody
	default:
		writeError(w, http.StatusBadRequest, "invalid_grant", "no refresh token")
		return
	}

	s.mu.Lock()
	rec, ok := s.refresh[token]
	switch {
	case !ok:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		return
	case s.revoked[rec.sid]:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_grant", "session revoked")
		return
	case !rec.current:
		s.revoked[rec.sid] = true // reuse: the whole family goes
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_grant", "refresh token reused")
		return
	}
	rec.current = false
	access, refresh := s.issue(rec.sid)
	s.mu.Unlock()

	if cookieMode {
		s.cookieRefreshes.Add(1)
	} else {
		s.bodyRefreshes.Add(1)
	}
	writeTokens(w, access, refresh, cookieMode)
}

func (s *fakeAPI) me(w http.ResponseWriter, r *http.Request) {
	s.meCalls.Add(1)
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jwtexp-example"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "token missing"})
		return
	}
	if s.refuseAPI.Load() {
		writeError(w, http.StatusUnauthorized, "invalid_token", "refused by the test")
		return
	}
	s.mu.Lock()
	rec, found := s.access[token]
	expired := !s.now.Before(rec.exp)
	revoked := s.revoked[rec.sid]
	s.mu.Unlock()
	switch {
	case !found:
		writeError(w, http.StatusUnauthorized, "invalid_token", "unknown token")
	case expired:
		writeError(w, http.StatusUnauthorized, "invalid_token", "token expired")
	case revoked:
		writeError(w, http.StatusUnauthorized, "invalid_token", "token revoked")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"sub": "alice", "exp": rec.exp.Unix()})
	}
}

func (s *fakeAPI) logout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	// An expired access token still names its session for logout.
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if rec, found := s.access[token]; found {
			s.revoked[rec.sid] = true
		}
	}
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req) == nil {
		if rec, found := s.refresh[req.RefreshToken]; found {
			s.revoked[rec.sid] = true
		}
	}
	s.mu.Unlock()
	http.SetCookie(w, refreshCookie("", -1))
	w.WriteHeader(http.StatusNoContent)
}

func newServer(t *testing.T) (*fakeAPI, *httptest.Server) {
	t.Helper()
	api := newFakeAPI()
	srv := httptest.NewServer(api.handler())
	t.Cleanup(srv.Close) // registered first, so it runs after the browser has gone
	return api, srv
}

// TestRun runs the whole browser scenario against the stand-in server.
func TestRun(t *testing.T) {
	api, srv := newServer(t)
	began := time.Now()
	Run(t, srv.URL, Hooks{RefreshCalls: api.refreshCalls.Load, Expire: api.expire, SkipSessions: true})
	t.Logf("browser scenario took %v", time.Since(began).Round(time.Millisecond))

	// The Secure cookie must have made the round trip over http://127.0.0.1:
	// refreshes with the cookie alone succeeded.
	if n := api.cookieRefreshes.Load(); n == 0 {
		t.Error("no refresh succeeded with the cookie alone: the Secure cookie did not round-trip")
	} else {
		t.Logf("%d refreshes succeeded with the HttpOnly Secure cookie alone on %s", n, srv.URL)
	}
	if api.bodyRefreshes.Load() == 0 {
		t.Error("no refresh succeeded with the JSON body transport")
	}
	if n := api.twoCredentials.Load(); n != 0 {
		t.Errorf("%d refreshes carried both the cookie and a JSON body", n)
	}
	if n := api.cookieWithoutFlag.Load(); n != 0 {
		t.Errorf("%d cookie refreshes came without X-Refresh-Transport: cookie", n)
	}
}

// TestClientNeverLoops: when the retried call is refused again, the client
// reports it and stops: one refresh in all, and each call sent twice.
func TestClientNeverLoops(t *testing.T) {
	api, srv := newServer(t)
	d := start(t, srv.URL, Hooks{RefreshCalls: api.refreshCalls.Load, Expire: api.expire}.withDefaults())
	d.guard(t)
	d.open(t, "/")
	d.login(t)

	api.refuseAPI.Store(true)
	refreshes, calls := api.refreshCalls.Load(), api.meCalls.Load()
	lines := d.callAPI(t)
	checkStatuses(t, lines, "401")
	if got := api.refreshCalls.Load() - refreshes; got != 1 {
		t.Errorf("refreshes: %d, want 1", got)
	}
	if got, want := api.meCalls.Load()-calls, int64(2*len(lines)); got != want {
		t.Errorf("GET /api/me requests: %d, want %d (each call once, then one retry)", got, want)
	}
	// The refresh itself succeeded, so the session stays.
	d.waitState(t, "logged-in")
}

// TestRefreshServerErrorKeepsSession: a 5xx from /refresh is not the end of
// the session: the calls report their 401, the page stays logged in, and the
// next batch refreshes and succeeds.
func TestRefreshServerErrorKeepsSession(t *testing.T) {
	api, srv := newServer(t)
	d := start(t, srv.URL, Hooks{RefreshCalls: api.refreshCalls.Load, Expire: api.expire}.withDefaults())
	d.guard(t)
	d.open(t, "/")
	d.login(t)

	api.failRefreshes5xx.Store(1)
	checkStatuses(t, d.expireAndCall(t), "401")
	d.waitState(t, "logged-in")
	lines := d.callAPI(t)
	checkStatuses(t, lines, "200")
	// The refresh retried after the 503 is the same request: it carries the same
	// Idempotency-Key, so a server that had rotated the token before failing can
	// answer it with the current token instead of a reuse verdict. The next
	// refresh is a new request with a new key.
	api.keysMu.Lock()
	keys := append([]string(nil), api.keys...)
	api.keysMu.Unlock()
	if len(keys) < 2 || keys[len(keys)-1] == "" || keys[len(keys)-1] != keys[len(keys)-2] {
		t.Fatalf("Idempotency-Key of the refreshes: got %q, want the failed one and its retry to share one non-empty key", keys)
	}
	api.expire()
	checkStatuses(t, d.callAPI(t), "200")
	api.keysMu.Lock()
	last := api.keys[len(api.keys)-1]
	api.keysMu.Unlock()
	if last == keys[len(keys)-1] || last == "" {
		t.Fatalf("Idempotency-Key of the next refresh: got %q, want a new one (previous %q)", last, keys[len(keys)-1])
	}
}

// TestPageResumesSessionAfterReload: in cookie mode the HttpOnly refresh cookie
// survives a reload, and the page resumes the session without the form.
func TestPageResumesSessionAfterReload(t *testing.T) {
	api, srv := newServer(t)
	d := start(t, srv.URL, Hooks{RefreshCalls: api.refreshCalls.Load, Expire: api.expire}.withDefaults())
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	before := api.refreshCalls.Load()
	d.do(t, "reload the page", chromedp.Reload())
	until[bool](t, d, "the page to be ready", `document.body?.dataset.ready === 'true'`)
	d.waitState(t, "logged-in")
	if got := api.refreshCalls.Load() - before; got != 1 {
		t.Errorf("refreshes on reload: %d, want 1", got)
	}
	checkStatuses(t, d.callAPI(t), "200")
}

// TestHandler checks the headers and routes of webclient.Handler, which the page
// relies on (module scripts need a JavaScript Content-Type; no inline script
// runs under the CSP).
func TestHandler(t *testing.T) {
	h := webclient.Handler()
	cases := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/client.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/index.html", 404, ""},
		{"GET", "/missing.js", 404, ""},
		{"POST", "/", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if c.status != 200 {
				return
			}
			for k, want := range map[string]string{
				"Content-Type":            c.contentType,
				"Cache-Control":           "no-cache",
				"Content-Security-Policy": webclient.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if !strings.HasPrefix(webclient.ContentSecurityPolicy, "default-src 'self'") {
				t.Errorf("CSP %q does not start with default-src 'self'", webclient.ContentSecurityPolicy)
			}
			etag := rec.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			req := httptest.NewRequest(c.method, c.path, nil)
			req.Header.Set("If-None-Match", etag)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified {
				t.Errorf("with If-None-Match: status %d, want 304", rec.Code)
			}
		})
	}
	// No inline script: every <script> has a src, and no element has an on* handler.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has an inline script %s, which the CSP blocks", tag)
		}
	}
	if m := regexp.MustCompile(`\son[a-z]+\s*=`).FindString(body); m != "" {
		t.Errorf("index.html has an inline event handler %q, which the CSP blocks", m)
	}
}

// TestRunOnLocalhost: Chromium treats http://localhost, like http://127.0.0.1,
// as potentially trustworthy, so the Secure refresh cookie works there too.
func TestRunOnLocalhost(t *testing.T) {
	api, srv := newServer(t)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	Run(t, base, Hooks{RefreshCalls: api.refreshCalls.Load, Expire: api.expire, SkipBodyTransport: true, SkipSessions: true})
	if api.cookieRefreshes.Load() == 0 {
		t.Errorf("no refresh succeeded with the cookie alone on %s", base)
	}
}
