package testutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The HTTP conformance suite: ONE table of requests and exact answers (status, WWW-Authenticate,
// JSON body) that every adapter must give identically. An adapter's test builds its framework's
// router with these routes and hands the suite a way to send requests through it ("me" answers 200
// {"sub": <claims subject, or "" when anonymous>}):
//
//	POST /login          -> LoginHandler(m, authenticate), authenticate returning SuiteAuthenticate(<its core.Request>)
//	GET  /api/me         -> Middleware(m), me
//	GET  /api/admin      -> Middleware(m), RequireScope(m, "admin"), me
//	GET  /api/write      -> Middleware(m), RequireAnyScope(m, "write", "admin"), me
//	GET  /api/role       -> Middleware(m), Require(m, SuiteIsAdmin), me
//	GET  /api/sensitive  -> Middleware(m), RequireStepUp(m, SuiteRecentLogin), me
//	GET  /api/mfa        -> Middleware(m), RequireStepUp(m, SuiteMFA), me
//	GET  /optional       -> Middleware(m, WithOptional()), me
//	POST /refresh        -> RefreshHandler(m)
//	POST /logout         -> LogoutHandler(m)
//
// (the /api routes may share one group with Middleware on it). The suite's Manager has a refresh
// hook reading the role of a user from a directory the cases change, and refusing disabled users.

// SuiteLeeway and SuiteAccessTTL are the settings of the suite's Manager.
const (
	SuiteLeeway    = 5 * time.Second
	SuiteAccessTTL = 5 * time.Minute
)

// Doer sends one request through an adapter's router and returns the complete response.
type Doer func(*http.Request) *http.Response

// HandlerDoer sends requests to an http.Handler (net/http, Gin, Echo) through a recorder.
func HandlerDoer(h http.Handler) Doer {
	return func(r *http.Request) *http.Response {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
}

// SuiteManager is the Manager every adapter is tested with: HS256 test secrets, leeway 5s, access
// TTL 5m, the library's default refresh grace window, the given clock, logging off.
func SuiteManager(t testing.TB, clock *Clock, opts ...core.Option) *core.Manager {
	t.Helper()
	base := []core.Option{
		core.WithHMAC(AccessSecret, RefreshSecret), core.WithIssuer(Issuer), core.WithAudience(Audience),
		core.WithLeeway(SuiteLeeway), core.WithAccessTTL(SuiteAccessTTL), core.WithClock(clock.Now),
		core.WithLogger(nil),
	}
	m, err := core.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("SuiteManager: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Answer is an expected response.
type Answer struct {
	Status    int
	Challenge string            // exact WWW-Authenticate; "" means absent
	Body      map[string]string // exact JSON object of string members; nil: not checked
}

func challenge(code, desc string) string {
	if code == "" {
		return `Bearer realm="jwtexp"`
	}
	return fmt.Sprintf(`Bearer realm="jwtexp", error=%q, error_description=%q`, code, desc)
}

func invalidToken(desc string) Answer {
	return Answer{http.StatusUnauthorized, challenge("invalid_token", desc),
		map[string]string{"error": "invalid_token", "error_description": desc}}
}

// invalidGrant is a refused refresh: 400 without a challenge (RFC 6749 §5.2).
func invalidGrant(desc string) Answer {
	return Answer{http.StatusBadRequest, "",
		map[string]string{"error": "invalid_grant", "error_description": desc}}
}

// insufficientScope is the 403 of RFC 6750 §3.1, with scope="<scopes>" when scopes were required.
func insufficientScope(desc, scopes string) Answer {
	c := challenge("insufficient_scope", desc)
	if scopes != "" {
		c += fmt.Sprintf(`, scope=%q`, scopes)
	}
	return Answer{http.StatusForbidden, c, map[string]string{"error": "insufficient_scope", "error_description": desc}}
}

// insufficientAuth is the 401 of RFC 9470 §3 with its parameters (max_age="300", ...).
func insufficientAuth(desc, params string) Answer {
	return Answer{http.StatusUnauthorized, challenge("insufficient_user_authentication", desc) + ", " + params,
		map[string]string{"error": "insufficient_user_authentication", "error_description": desc}}
}

var (
	answerBadCredentials = Answer{http.StatusUnauthorized, challenge("", ""),
		map[string]string{"error": "invalid_grant", "error_description": "invalid username or password"}}
	answerMissing = Answer{http.StatusUnauthorized, challenge("", ""),
		map[string]string{"error": "unauthorized", "error_description": "missing bearer token"}}
	answerTwo = Answer{http.StatusBadRequest, challenge("invalid_request", "more than one credential in request"),
		map[string]string{"error": "invalid_request", "error_description": "more than one credential in request"}}
	answerBadHeader = Answer{http.StatusBadRequest, challenge("invalid_request", "malformed authorization header"),
		map[string]string{"error": "invalid_request", "error_description": "malformed authorization header"}}
)

// session is a logged-in client of the suite.
type session struct {
	access, refresh string
	cookie          *http.Cookie
}

// RunHTTPSuite runs the conformance table against one adapter. build returns the Doer of a
// router mounted as described above on the given Manager; it is called once per case with a fresh
// Manager and clock.
func RunHTTPSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	type env struct {
		t     *testing.T
		do    Doer
		m     *core.Manager
		clock *Clock
		users *suiteDirectory
	}
	loginReq := func(user, password string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	login := func(e env, cookie bool) session {
		e.t.Helper()
		req := loginReq(SuiteUser, SuitePassword)
		if cookie {
			req.Header.Set(core.RefreshTransportHeader, "cookie")
		}
		resp := e.do(req)
		body := readJSON(e.t, resp)
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("login: got %d %v", resp.StatusCode, body)
		}
		s := session{access: str(body["access_token"]), refresh: str(body["refresh_token"])}
		for _, c := range resp.Cookies() {
			if c.Name == core.DefaultRefreshCookie {
				s.cookie = c
			}
		}
		return s
	}
	get := func(path, auth string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	refreshReq := func(token string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+token+`"}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	mint := func(e env, over string) string {
		now := e.clock.Now()
		claims := fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q,"iat":%d,"exp":%d%s}`,
			Issuer, Audience, now.Unix(), now.Add(time.Minute).Unix(), over)
		return HS256(AccessSecret, `{"alg":"HS256","typ":"JWT"}`, claims)
	}

	cases := []struct {
		name string
		run  func(e env) (*http.Response, Answer)
	}{
		{"missing token", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/me", "")), answerMissing
		}},
		{"other scheme is no credential", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/me", "Basic YWxpY2U6d29uZGVybGFuZA==")), answerMissing
		}},
		{"valid", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(get("/api/me", "Bearer "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"scheme case-insensitive", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(get("/api/me", "bEaReR "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"bearer without token", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/me", "Bearer ")), answerBadHeader
		}},
		{"bearer with two tokens", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/me", "Bearer a.b.c d.e.f")), answerBadHeader
		}},
		{"expired within leeway", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.clock.Advance(SuiteAccessTTL + SuiteLeeway - time.Second)
			return e.do(get("/api/me", "Bearer "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"expired beyond leeway", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.clock.Advance(SuiteAccessTTL + SuiteLeeway)
			return e.do(get("/api/me", "Bearer "+s.access)), invalidToken("token expired")
		}},
		{"refresh token as access token", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(get("/api/me", "Bearer "+s.refresh)), invalidToken("refresh token used as access token")
		}},
		{"tampered", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(get("/api/me", "Bearer "+Tamper(s.access))), invalidToken("invalid signature")
		}},
		{"alg none", func(e env) (*http.Response, Answer) {
			now := e.clock.Now()
			tok := Unsigned(`{"alg":"none","typ":"JWT"}`, fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q,"exp":%d}`, Issuer, Audience, now.Add(time.Minute).Unix()))
			return e.do(get("/api/me", "Bearer "+tok)), invalidToken("unsigned token")
		}},
		{"exp missing", func(e env) (*http.Response, Answer) {
			tok := HS256(AccessSecret, `{"alg":"HS256"}`, fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q}`, Issuer, Audience))
			return e.do(get("/api/me", "Bearer "+tok)), invalidToken("missing exp claim")
		}},
		{"foreign token", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/me", "Bearer "+mint(e, ""))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"two authorization headers", func(e env) (*http.Response, Answer) {
			r := get("/api/me", "Bearer "+mint(e, ""))
			r.Header.Add("Authorization", "Bearer "+mint(e, ""))
			return e.do(r), answerTwo
		}},
		{"oversized token", func(e env) (*http.Response, Answer) {
			tok := mint(e, `,"pad":"`+strings.Repeat("x", 9<<10)+`"`)
			return e.do(get("/api/me", "Bearer "+tok)), invalidToken("token too large")
		}},
		{"revoked after logout", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			if resp := e.do(httptest.NewRequest(http.MethodPost, "/logout", nil)); resp.StatusCode != 204 {
				e.t.Fatalf("anonymous logout: got %d, want 204", resp.StatusCode)
			}
			lo := httptest.NewRequest(http.MethodPost, "/logout", nil)
			lo.Header.Set("Authorization", "Bearer "+s.access)
			if resp := e.do(lo); resp.StatusCode != 204 {
				e.t.Fatalf("logout: got %d, want 204", resp.StatusCode)
			}
			return e.do(get("/api/me", "Bearer "+s.access)), invalidToken("session revoked")
		}},
		{"logout answer", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			lo := httptest.NewRequest(http.MethodPost, "/logout", nil)
			lo.Header.Set("Authorization", "Bearer "+s.access)
			resp := e.do(lo)
			if c := findCookie(resp); c == nil || c.MaxAge >= 0 {
				e.t.Errorf("logout must clear the refresh cookie, got %v", resp.Header.Values("Set-Cookie"))
			}
			return resp, Answer{Status: http.StatusNoContent}
		}},
		{"logout with just-expired token", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.clock.Advance(SuiteAccessTTL + time.Minute)
			lo := httptest.NewRequest(http.MethodPost, "/logout", nil)
			lo.Header.Set("Authorization", "Bearer "+s.access)
			if resp := e.do(lo); resp.StatusCode != 204 {
				e.t.Fatalf("logout with expired token: got %d, want 204", resp.StatusCode)
			}
			return e.do(refreshReq(s.refresh)), invalidGrant("session ended")
		}},
		{"logout with forged token", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			lo := httptest.NewRequest(http.MethodPost, "/logout", nil)
			lo.Header.Set("Authorization", "Bearer "+Tamper(s.access))
			return e.do(lo), invalidToken("invalid signature")
		}},
		{"refresh", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.clock.Advance(time.Minute)
			resp := e.do(refreshReq(s.refresh))
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				e.t.Errorf("Cache-Control: got %q, want no-store", cc)
			}
			return resp, Answer{200, "", map[string]string{"token_type": "Bearer"}}
		}},
		{"refresh with access token", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(refreshReq(s.access)), invalidGrant("not a refresh token")
		}},
		{"refresh without token", func(e env) (*http.Response, Answer) {
			return e.do(httptest.NewRequest(http.MethodPost, "/refresh", nil)), invalidGrant("missing refresh token")
		}},
		{"refresh with garbage body", func(e env) (*http.Response, Answer) {
			return e.do(httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader("{{{"))), invalidGrant("malformed refresh request")
		}},
		{"refresh replay inside the grace window gets the current token", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			first := readJSON(e.t, e.do(refreshReq(s.refresh)))
			e.clock.Advance(core.DefaultRefreshGrace - time.Second)
			// Both the replaced token and the current one: the same refresh token, no rotation.
			for _, tok := range []string{s.refresh, str(first["refresh_token"])} {
				resp := e.do(refreshReq(tok))
				if got := readJSON(e.t, resp); resp.StatusCode != http.StatusOK || got["refresh_token"] != first["refresh_token"] {
					e.t.Fatalf("refresh inside the window: got %d, the current token: %v; want 200 and the current token",
						resp.StatusCode, got["refresh_token"] == first["refresh_token"])
				}
			}
			return e.do(get("/api/me", "Bearer "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"refresh replay after the grace window revokes the session", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			first := readJSON(e.t, e.do(refreshReq(s.refresh)))
			e.clock.Advance(core.DefaultRefreshGrace)
			replay := e.do(refreshReq(s.refresh))
			if got := readJSON(e.t, replay); replay.StatusCode != 400 || got["error_description"] != "refresh token reused" {
				e.t.Fatalf("replay: got %d %v, want 400 refresh token reused", replay.StatusCode, got)
			}
			// The whole family is gone: the token the first refresh handed out is dead too.
			return e.do(refreshReq(str(first["refresh_token"]))), invalidGrant("session ended")
		}},
		{"cookie mode", func(e env) (*http.Response, Answer) {
			s := login(e, true)
			if s.refresh != "" {
				e.t.Errorf("cookie mode: refresh_token must not be in the body")
			}
			c := s.cookie
			if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != core.DefaultRefreshPath || c.Value == "" {
				e.t.Fatalf("cookie mode: got cookie %+v, want HttpOnly Secure SameSite=Strict Path=/refresh", c)
			}
			r := httptest.NewRequest(http.MethodPost, "/refresh", nil)
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			resp := e.do(r)
			if nc := findCookie(resp); nc == nil || nc.Value == "" || nc.Value == c.Value {
				e.t.Errorf("cookie refresh: want a new refresh cookie, got %v", resp.Header.Values("Set-Cookie"))
			}
			return resp, Answer{200, "", map[string]string{"token_type": "Bearer"}}
		}},
		{"cookie refresh sent from another origin", func(e env) (*http.Response, Answer) {
			s := login(e, true)
			r := httptest.NewRequest(http.MethodPost, "/refresh", nil)
			r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
			r.Header.Set("Origin", "https://evil.example")
			resp := e.do(r)
			// Refused without touching the session: the cookie still refreshes from its own page.
			own := httptest.NewRequest(http.MethodPost, "/refresh", nil)
			own.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
			own.Header.Set("Origin", "http://"+own.Host)
			if ok := e.do(own); ok.StatusCode != http.StatusOK {
				e.t.Errorf("cookie refresh from the server's own origin after a cross-site attempt: got %d, want 200", ok.StatusCode)
			}
			return resp, invalidGrant("cross-origin request refused")
		}},
		{"cookie refresh marked cross-site by the browser", func(e env) (*http.Response, Answer) {
			s := login(e, true)
			r := httptest.NewRequest(http.MethodPost, "/refresh", nil)
			r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return e.do(r), invalidGrant("cross-origin request refused")
		}},
		{"cookie login sent from another origin", func(e env) (*http.Response, Answer) {
			// A login whose answer would set the refresh cookie, from a page of another site:
			// refused before the credentials are checked, no cookie set (login CSRF). The same
			// login without the cookie transport sets no cookie and passes.
			r := loginReq(SuiteUser, SuitePassword)
			r.Header.Set(core.RefreshTransportHeader, "cookie")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.Header.Set("Origin", "https://evil.example")
			resp := e.do(r)
			if set := resp.Header.Values("Set-Cookie"); len(set) != 0 {
				e.t.Errorf("cross-site cookie login: Set-Cookie %v, want none", set)
			}
			plain := loginReq(SuiteUser, SuitePassword)
			plain.Header.Set("Sec-Fetch-Site", "cross-site")
			plain.Header.Set("Origin", "https://evil.example")
			if ok := e.do(plain); ok.StatusCode != http.StatusOK {
				e.t.Errorf("cross-site login without the cookie transport: got %d, want 200 (it sets no cookie)", ok.StatusCode)
			}
			return resp, Answer{http.StatusForbidden, "",
				map[string]string{"error": "forbidden", "error_description": "cross-origin request refused"}}
		}},
		{"cookie logout sent from another origin", func(e env) (*http.Response, Answer) {
			s := login(e, true)
			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
			r.Header.Set("Origin", "null")
			resp := e.do(r)
			if me := e.do(get("/api/me", "Bearer "+s.access)); me.StatusCode != http.StatusOK {
				e.t.Errorf("session after a refused cross-site logout: got %d, want 200", me.StatusCode)
			}
			return resp, Answer{http.StatusForbidden, "",
				map[string]string{"error": "forbidden", "error_description": "cross-origin request refused"}}
		}},
		{"refresh body as text/plain is not read as JSON", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+s.refresh+`"}`))
			r.Header.Set("Content-Type", "text/plain")
			return e.do(r), invalidGrant("malformed refresh request")
		}},
		{"login retried with its Idempotency-Key gets the same session", func(e env) (*http.Response, Answer) {
			withKey := func(key string) map[string]any {
				r := loginReq(SuiteUser, SuitePassword)
				r.Header.Set("Idempotency-Key", key)
				resp := e.do(r)
				body := readJSON(e.t, resp)
				if resp.StatusCode != http.StatusOK {
					e.t.Fatalf("login with key %s: got %d %v", key, resp.StatusCode, body)
				}
				return body
			}
			first := withKey(`"login-1"`)
			e.clock.Advance(2 * time.Second)
			retry := withKey(`"login-1"`) // the client lost the first answer and asks again
			if retry["refresh_token"] != first["refresh_token"] {
				e.t.Fatalf("retry with the same key: a refresh token of its own, want the first attempt's (one session)")
			}
			if other := withKey(`"login-2"`); other["refresh_token"] == first["refresh_token"] {
				e.t.Fatalf("another key: the first attempt's refresh token, want a new session")
			}
			return e.do(get("/api/me", "Bearer "+str(retry["access_token"]))), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"refresh retried with its Idempotency-Key", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			withKey := func(key string) *http.Request {
				r := refreshReq(s.refresh)
				r.Header.Set("Idempotency-Key", key)
				return r
			}
			first := readJSON(e.t, e.do(withKey(`"k-1"`)))
			e.clock.Advance(2 * time.Second)
			retry := e.do(withKey(`"k-1"`)) // the client lost the first answer and asks again
			body := readJSON(e.t, retry)
			if retry.StatusCode != http.StatusOK || body["refresh_token"] != first["refresh_token"] {
				e.t.Fatalf("retry with the same key: got %d, refresh token equal to the first answer's: %v; want 200 and the same token",
					retry.StatusCode, body["refresh_token"] == first["refresh_token"])
			}
			// Another key is another request: past the grace window, the old token presented
			// again is reuse.
			e.clock.Advance(core.DefaultRefreshGrace)
			return e.do(withKey(`"k-2"`)), invalidGrant("refresh token reused")
		}},
		{"refresh retried with its Idempotency-Key one access TTL later is reuse", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			withKey := func() *http.Request {
				r := refreshReq(s.refresh)
				r.Header.Set("Idempotency-Key", `"k-1"`)
				return r
			}
			if resp := e.do(withKey()); resp.StatusCode != http.StatusOK {
				e.t.Fatalf("refresh: got %d, want 200", resp.StatusCode)
			}
			// A retry is honored for one access-token lifetime after the rotation it repeats;
			// the old token and its key presented later are a leak, not a retry.
			e.clock.Advance(SuiteAccessTTL - time.Second)
			if resp := e.do(withKey()); resp.StatusCode != http.StatusOK {
				e.t.Fatalf("retry a second before the window ends: got %d, want 200", resp.StatusCode)
			}
			e.clock.Advance(time.Second)
			return e.do(withKey()), invalidGrant("refresh token reused")
		}},
		{"logout of a token with sid and no sub", func(e env) (*http.Response, Answer) {
			now := e.clock.Now()
			tok := HS256(AccessSecret, `{"alg":"HS256","typ":"JWT"}`, fmt.Sprintf(`{"iss":%q,"aud":%q,"sid":"s-1","iat":%d,"exp":%d}`,
				Issuer, Audience, now.Unix(), now.Add(time.Minute).Unix()))
			lo := httptest.NewRequest(http.MethodPost, "/logout", nil)
			lo.Header.Set("Authorization", "Bearer "+tok)
			if resp := e.do(lo); resp.StatusCode != http.StatusNoContent {
				e.t.Fatalf("logout of a token without sub: got %d, want 204", resp.StatusCode)
			}
			return e.do(get("/api/me", "Bearer "+tok)), invalidToken("session revoked")
		}},
		// Login (LoginHandler): the token response of RFC 6749 §5.1; the cookie transport is the
		// "cookie mode" case.
		{"login", func(e env) (*http.Response, Answer) {
			resp := e.do(loginReq(SuiteUser, SuitePassword))
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				e.t.Errorf("Cache-Control: got %q, want no-store", cc)
			}
			if findCookie(resp) != nil {
				e.t.Errorf("JSON transport: no refresh cookie expected, got %v", resp.Header.Values("Set-Cookie"))
			}
			return resp, Answer{200, "", map[string]string{"token_type": "Bearer"}}
		}},
		{"login tokens carry the user's claims", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			c, err := e.m.Verify(e.t.Context(), s.access)
			if err != nil {
				e.t.Fatal(err)
			}
			if got, _ := core.CustomClaims[SuiteClaims](c); got != SuiteLoginClaims || c.AuthTime.IsZero() {
				e.t.Errorf("claims: got %+v auth_time %v, want %+v and auth_time", got, c.AuthTime, SuiteLoginClaims)
			}
			return e.do(get("/api/me", "Bearer "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"login with a wrong password", func(e env) (*http.Response, Answer) {
			return e.do(loginReq(SuiteUser, "guess")), answerBadCredentials
		}},
		{"login of an unknown user", func(e env) (*http.Response, Answer) {
			return e.do(loginReq("mallory", SuitePassword)), answerBadCredentials
		}},
		{"login with a malformed body", func(e env) (*http.Response, Answer) {
			return e.do(httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(`{"username":`))),
				Answer{http.StatusBadRequest, challenge("invalid_request", "malformed login request"),
					map[string]string{"error": "invalid_request", "error_description": "malformed login request"}}
		}},

		// Scopes (RFC 6750 §3.1): 403 with the required scopes; authentication is checked first.
		{"scope missing", func(e env) (*http.Response, Answer) {
			s := login(e, false) // scope "profile"
			return e.do(get("/api/admin", "Bearer "+s.access)), insufficientScope("insufficient scope", "admin")
		}},
		{"scope as a string", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+mint(e, `,"scope":"profile admin"`))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"scope as an scp array", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+mint(e, `,"scp":["admin"]`))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"no scope claim", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+mint(e, ""))), insufficientScope("insufficient scope", "admin")
		}},
		{"scope compares exactly", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+mint(e, `,"scope":"Admin admin:read administrator"`))), insufficientScope("insufficient scope", "admin")
		}},
		{"scope of the wrong type", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+mint(e, `,"scope":["admin"]`))), invalidToken("invalid scope claim")
		}},
		{"any of the scopes", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/write", "Bearer "+mint(e, `,"scp":"write"`))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"none of the scopes", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/write", "Bearer "+mint(e, `,"scope":"read"`))), insufficientScope("insufficient scope", "write admin")
		}},
		{"scope route without token", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "")), answerMissing
		}},
		{"scope route with a bad token", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/admin", "Bearer "+Tamper(mint(e, `,"scope":"admin"`)))), invalidToken("invalid signature")
		}},

		// A predicate on the custom claims (a role).
		{"predicate refuses", func(e env) (*http.Response, Answer) {
			s := login(e, false) // role "user"
			return e.do(get("/api/role", "Bearer "+s.access)), insufficientScope("insufficient privileges", "")
		}},
		{"predicate accepts", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/role", "Bearer "+mint(e, `,"role":"admin"`))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},

		// Step-up (RFC 9470 §3).
		{"step-up after a fresh login", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			return e.do(get("/api/sensitive", "Bearer "+s.access)), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"step-up after an old login", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.clock.Advance(4 * time.Minute)
			next := readJSON(e.t, e.do(refreshReq(s.refresh))) // a refresh is no new login
			e.clock.Advance(2 * time.Minute)
			access := str(next["access_token"])
			if resp := e.do(get("/api/me", "Bearer "+access)); resp.StatusCode != 200 {
				e.t.Fatalf("refreshed token: got %d, want 200", resp.StatusCode)
			}
			return e.do(get("/api/sensitive", "Bearer "+access)), insufficientAuth("more recent authentication is required", `max_age="300"`)
		}},
		{"step-up without auth_time", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/sensitive", "Bearer "+mint(e, ""))), insufficientAuth("more recent authentication is required", `max_age="300"`)
		}},
		{"step-up with a recent auth_time", func(e env) (*http.Response, Answer) {
			at := e.clock.Now().Add(-time.Minute).Unix()
			return e.do(get("/api/sensitive", "Bearer "+mint(e, fmt.Sprintf(`,"auth_time":%d`, at)))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"step-up acr refused", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/mfa", "Bearer "+mint(e, `,"acr":"pwd"`))), insufficientAuth("a different authentication level is required", `acr_values="mfa"`)
		}},
		{"step-up acr accepted", func(e env) (*http.Response, Answer) {
			return e.do(get("/api/mfa", "Bearer "+mint(e, `,"acr":"mfa"`))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},

		// The refresh hook (core.WithRefreshHook) keeps claims current.
		{"refresh hook changes the role", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			if resp := e.do(get("/api/role", "Bearer "+s.access)); resp.StatusCode != http.StatusForbidden {
				e.t.Fatalf("before promotion: got %d, want 403", resp.StatusCode)
			}
			e.users.setRole(SuiteUser, "admin")
			next := readJSON(e.t, e.do(refreshReq(s.refresh)))
			return e.do(get("/api/role", "Bearer "+str(next["access_token"]))), Answer{200, "", map[string]string{"sub": "alice"}}
		}},
		{"refresh hook refuses a disabled user", func(e env) (*http.Response, Answer) {
			s := login(e, false)
			e.users.disable(SuiteUser)
			CheckAnswer(e.t, e.do(refreshReq(s.refresh)), invalidGrant("session revoked"))
			return e.do(get("/api/me", "Bearer "+s.access)), invalidToken("session revoked")
		}},

		{"optional without token", func(e env) (*http.Response, Answer) {
			return e.do(get("/optional", "")), Answer{200, "", map[string]string{"sub": ""}}
		}},
		{"optional with token", func(e env) (*http.Response, Answer) {
			return e.do(get("/optional", "Bearer "+mint(e, ""))), Answer{200, "", map[string]string{"sub": "bob"}}
		}},
		{"optional with bad token", func(e env) (*http.Response, Answer) {
			return e.do(get("/optional", "Bearer "+Tamper(mint(e, "")))), invalidToken("invalid signature")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			users := newSuiteDirectory()
			m := SuiteManager(t, clock, core.WithRefreshHook(users.hook))
			e := env{t: t, do: build(t, m), m: m, clock: clock, users: users}
			resp, want := tc.run(e)
			CheckAnswer(t, resp, want)
		})
	}
}

// CheckAnswer compares a response with an expected answer: status, WWW-Authenticate, and the
// string members of the JSON body.
func CheckAnswer(t testing.TB, resp *http.Response, want Answer) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want.Status {
		t.Errorf("status: got %d, want %d (body %s)", resp.StatusCode, want.Status, body)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != want.Challenge {
		t.Errorf("WWW-Authenticate: got %q, want %q", got, want.Challenge)
	}
	if want.Status == http.StatusNoContent && len(body) != 0 {
		t.Errorf("body: got %q, want none", body)
	}
	if want.Body == nil {
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	for k, v := range want.Body {
		if str(got[k]) != v {
			t.Errorf("body[%q]: got %q, want %q (body %s)", k, str(got[k]), v, body)
		}
	}
	if want.Status >= 400 && len(got) != 2 {
		t.Errorf("error body: got %s, want exactly error and error_description", body)
	}
}

func readJSON(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("response %q is not JSON: %v", b, err)
		}
	}
	return out
}

func findCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == core.DefaultRefreshCookie {
			return c
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
