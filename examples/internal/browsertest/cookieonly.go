package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// AccessCookieName is the name of the access-token cookie of cookie-only mode.
const AccessCookieName = "jwtexp_access"

// RunCookieOnly runs the browser client, unchanged, against an example in cookie-only mode
// (JWT_COOKIE_ONLY=1: both tokens in HttpOnly cookies, token responses without token strings):
//
//   - NoTokenReachesPageScripts: log in through the form; both cookies are HttpOnly, Secure,
//     SameSite=Strict; document.cookie is empty, web storage, IndexedDB and the Cache API hold
//     nothing; no request carries an Authorization header; a script of the page that calls
//     POST /login and POST /refresh itself (what an XSS would do) reads bodies without a token;
//     every body of /login and /refresh the browser received holds neither cookie's value nor
//     anything shaped like a JWT. Expire, click #call-api: all 200 after exactly one refresh,
//     which rotated both cookies. A reload resumes the session from the refresh cookie.
//   - ForgedRequestFromAnotherOrigin: a page of another origin on the same site (another port
//     of 127.0.0.1, so the SameSite=Strict cookies travel) posts to /logout and deletes the
//     sessions: the browser attaches the access cookie, the server answers 403, and the session
//     still works.
//   - Logout: click #logout: logged out, both cookies gone; the old access cookie put back is
//     refused with 401.
//   - DPoPPage: the page with "?dpop=1" (the client signs DPoP proofs) works the same: the server
//     ignores the proofs, the page says token type "cookie", calls and a refresh succeed.
//   - Sessions and LiveConnections: the subtests of Run, in cookie-only mode (the WebSocket
//     authenticates with the cookie).
//
// The page shows #expires-in by the browser's own clock (login waits for it to be positive), so the
// server's access TTL must be well above a subtest's wall time: the examples use a minute, and
// Hooks.Expire moves their fake clock past it.
func RunCookieOnly(t *testing.T, baseURL string, h Hooks) {
	t.Helper()
	if h.RefreshCalls == nil || h.Expire == nil {
		t.Fatal("browsertest: Hooks.RefreshCalls and Hooks.Expire are required")
	}
	d := start(t, strings.TrimRight(baseURL, "/"), h.withDefaults())
	t.Run("NoTokenReachesPageScripts", d.cookieOnlyNoToken)
	t.Run("ForgedRequestFromAnotherOrigin", d.cookieOnlyForged)
	t.Run("Logout", d.cookieOnlyLogout)
	t.Run("DPoPPage", d.cookieOnlyDPoPPage)
	if !h.SkipSessions {
		t.Run("Sessions", d.sessions)
	}
	if !h.SkipLive && !h.SkipSessions {
		t.Run("LiveConnections", d.live)
	}
}

// seen is a response the browser received.
type seen struct {
	id     network.RequestID
	url    string
	status int64
}

const maxSeen = 500

func (d *driver) saw(id network.RequestID, url string, status int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.responses) == maxSeen {
		d.responses = append(d.responses[:0], d.responses[maxSeen/2:]...)
	}
	d.responses = append(d.responses, seen{id, url, status})
}

// cookieHeader records the Cookie header a request carried as the browser sent it ("" for
// none), from the event that reports a request's final headers.
func (d *driver) cookieHeader(id network.RequestID, h network.Headers) {
	cookie := ""
	for k, v := range h {
		if s, ok := v.(string); ok && strings.EqualFold(k, "Cookie") {
			cookie = s
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cookiesOut == nil {
		d.cookiesOut = map[network.RequestID]string{}
	}
	if len(d.cookieOrder) == maxSeen { // forget the older half
		for _, old := range d.cookieOrder[:maxSeen/2] {
			delete(d.cookiesOut, old)
		}
		d.cookieOrder = append(d.cookieOrder[:0], d.cookieOrder[maxSeen/2:]...)
	}
	if _, again := d.cookiesOut[id]; !again {
		d.cookieOrder = append(d.cookieOrder, id)
	}
	d.cookiesOut[id] = cookie
}

// seenSince returns the responses received after the first n, whose URL path is path.
func (d *driver) seenSince(n int, path string) []seen {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []seen
	for _, r := range d.responses[min(n, len(d.responses)):] {
		if u, err := url.Parse(r.url); err == nil && u.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (d *driver) seenCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.responses)
}

// namedCookie returns the browser's cookie name for the URL base+path, or nil.
func (d *driver) namedCookie(t *testing.T, name, path string) *network.Cookie {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{d.base + path}})
	if err != nil {
		t.Fatalf("read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// accessCookie returns the access cookie and checks its attributes.
func (d *driver) accessCookie(t *testing.T) *network.Cookie {
	t.Helper()
	c := d.namedCookie(t, AccessCookieName, "/")
	if c == nil {
		t.Fatalf("no %s cookie after login in cookie-only mode%s", AccessCookieName, d.diagnostics())
	}
	if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
		t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%q Path=%q, want HttpOnly, Secure, SameSite=Strict, Path=/",
			AccessCookieName, c.HTTPOnly, c.Secure, c.SameSite, c.Path)
	}
	return c
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.`)

// noTokenIn fails when text holds one of the cookies' values or anything shaped like a JWT.
func noTokenIn(t *testing.T, what, text string, cookies ...*network.Cookie) {
	t.Helper()
	for _, c := range cookies {
		if c != nil && c.Value != "" && strings.Contains(text, c.Value) {
			t.Errorf("%s holds the value of the %s cookie: page scripts can read the token", what, c.Name)
		}
	}
	if jwtShape.MatchString(text) {
		t.Errorf("%s holds a JWT: %.200s", what, text)
	}
}

// scriptState checks what page scripts can reach: cookies, web storage, IndexedDB, the Cache API.
func (d *driver) scriptState(t *testing.T) {
	t.Helper()
	d.scriptStateBut(t, "")
}

// scriptStateBut is scriptState allowing the IndexedDB database db (the DPoP key store: a key
// that cannot be exported, no token).
func (d *driver) scriptStateBut(t *testing.T, db string) {
	t.Helper()
	if got := eval[string](t, d, "read document.cookie", `document.cookie`); got != "" {
		t.Errorf("document.cookie = %q, want empty: both cookies must be HttpOnly", got)
	}
	got := eval[string](t, d, "read the page's storage", fmt.Sprintf(`(async () => {
		const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name).filter((n) => n !== '%s') : [];
		const caches_ = typeof caches === 'undefined' ? [] : await caches.keys();
		return JSON.stringify({local: localStorage.length, session: sessionStorage.length, dbs, caches: caches_});
	})()`, db))
	if got != `{"local":0,"session":0,"dbs":[],"caches":[]}` {
		t.Errorf("storage reachable by page scripts: %s, want all empty", got)
	}
}

// cookieOnlyNoToken: no token reaches page scripts, while login, calls, refresh and reload work.
func (d *driver) cookieOnlyNoToken(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.mu.Lock()
	d.lastBearer = ""
	d.mu.Unlock()
	mark := d.seenCount()
	d.login(t)
	access, refresh := d.accessCookie(t), d.refreshCookie(t)
	d.scriptState(t)
	checkStatuses(t, d.callAPI(t), "200")

	// What an XSS would do: call the token endpoints itself and read the answers.
	before := d.h.RefreshCalls()
	got := eval[string](t, d, "log in and refresh from a page script", fmt.Sprintf(`(async () => {
		const login = await fetch('/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({username: %q, password: %q})});
		const refresh = await fetch('/refresh', {method: 'POST', headers: {'X-Refresh-Transport': 'cookie'}});
		return JSON.stringify({login: login.status, loginBody: await login.text(), refresh: refresh.status, refreshBody: await refresh.text(),
			headers: [...login.headers, ...refresh.headers].map(([k, v]) => k + ': ' + v).join('\n')});
	})()`, d.h.Username, d.h.Password))
	if !strings.Contains(got, `"login":200`) || !strings.Contains(got, `"refresh":200`) || !strings.Contains(got, `token_transport`) {
		t.Errorf("login and refresh from a page script: %s, want both 200 with cookie-only token responses", got)
	}
	if n := d.h.RefreshCalls() - before; n != 1 {
		t.Errorf("the server saw %d refreshes for the script's one", n)
	}
	access2, refresh2 := d.accessCookie(t), d.refreshCookie(t)
	noTokenIn(t, "what a page script read from /login and /refresh", got, access, refresh, access2, refresh2)

	// The page's own calls after expiry: one refresh, all 200, both cookies rotated.
	checkStatuses(t, d.expireAndCall(t), "200")
	d.waitState(t, "logged-in")
	access3, refresh3 := d.accessCookie(t), d.refreshCookie(t)
	if access3.Value == access2.Value || refresh3.Value == refresh2.Value {
		t.Errorf("the refresh did not rotate both cookies")
	}
	d.scriptState(t)
	d.mu.Lock()
	bearer := d.lastBearer
	d.mu.Unlock()
	if bearer != "" {
		t.Errorf("GET /api/me carried Authorization %q; in cookie-only mode the page has no token to send", bearer)
	}

	// Every token response the browser received, as the browser holds it.
	bodies := append(d.seenSince(mark, "/login"), d.seenSince(mark, "/refresh")...)
	if len(bodies) < 4 { // the page's login, the script's login and refresh, the page's refresh
		t.Errorf("saw %d responses of /login and /refresh, want at least 4%s", len(bodies), d.diagnostics())
	}
	for _, r := range bodies {
		ctx, cancel := d.step()
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: r.id})
		cancel()
		if err != nil {
			t.Errorf("read the body of %s: %v", r.url, err)
			continue
		}
		noTokenIn(t, "the body of "+r.url, string(res.Body), access, refresh, access2, refresh2, access3, refresh3)
	}

	// A reload loses the page's memory; the refresh cookie resumes the session.
	before = d.h.RefreshCalls()
	d.do(t, "reload the page", chromedp.Reload())
	until[bool](t, d, "the page to be ready (body[data-ready])", `document.body?.dataset.ready === 'true'`)
	d.waitState(t, "logged-in")
	if n := d.h.RefreshCalls() - before; n != 1 {
		t.Errorf("resuming after a reload: %d refreshes, want 1", n)
	}
	checkStatuses(t, d.callAPI(t), "200")
}

// cookieOnlyForged: a same-site page of another origin makes the browser send the session's
// cookies with an unsafe request; the server refuses it and the session survives.
func (d *driver) cookieOnlyForged(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	base := d.base
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>another origin</title>
<form id="f" method="POST" action="%[1]s/logout" target="sink"></form><iframe name="sink"></iframe>
<script>
(async () => {
  await fetch(%[1]q + '/logout', {method: 'POST', mode: 'no-cors', credentials: 'include'}).catch(() => {});
  document.getElementById('f').submit();
  document.title = 'sent';
})();
</script>`, base)
	}))
	defer evil.Close()
	mark := d.seenCount()
	d.do(t, "open a page of another origin", chromedp.Navigate(evil.URL))
	until[bool](t, d, "the forged requests to be sent", `document.title === 'sent'`)
	// The form's answer does not always navigate its frame (a 204 would not): wait for the
	// browser to report both answers and the Cookie header each request carried (Chromium
	// reports the headers it sent in an event of their own, which may come after the answer's),
	// 25 ms at a time, for at most 400 steps (10 s).
	var logouts []seen
	reported := func() bool {
		if logouts = d.seenSince(mark, "/logout"); len(logouts) < 2 {
			return false
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, r := range logouts {
			if _, ok := d.cookiesOut[r.id]; !ok {
				return false
			}
		}
		return true
	}
	for step := 0; step < 400 && !reported(); step++ {
		eval[bool](t, d, "wait a moment in the page", `new Promise((ok) => setTimeout(() => ok(true), 25))`)
	}
	if len(logouts) < 2 {
		t.Fatalf("saw %d answers to the forged POST /logout, want 2 (fetch and form)%s", len(logouts), d.diagnostics())
	}
	for _, r := range logouts {
		d.mu.Lock()
		cookie, ok := d.cookiesOut[r.id]
		d.mu.Unlock()
		if !ok {
			t.Errorf("the browser did not report the headers it sent with the forged POST /logout %s", r.id)
			continue
		}
		if !strings.Contains(cookie, AccessCookieName+"=") {
			t.Errorf("the forged POST /logout carried no access cookie (Cookie %q): the test does not test the check", cookie)
		}
		if r.status != http.StatusForbidden {
			t.Errorf("forged POST /logout from %s: status %d, want 403", evil.URL, r.status)
		}
	}
	// Back on the page: the reload resumes the session, which still works.
	d.do(t, "return to the page", chromedp.Navigate(base+"/"))
	until[bool](t, d, "the page to be ready (body[data-ready])", `document.body?.dataset.ready === 'true'`)
	d.waitState(t, "logged-in")
	checkStatuses(t, d.callAPI(t), "200")
}

// cookieOnlyLogout: logout clears both cookies; the old access cookie is refused.
func (d *driver) cookieOnlyLogout(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	checkStatuses(t, d.callAPI(t), "200")
	access := d.accessCookie(t)
	d.do(t, "click #logout", chromedp.Click(chromedp.ID("logout")))
	d.waitState(t, "logged-out")
	d.do(t, "see the login form after logout", chromedp.WaitVisible(chromedp.ID("login")))
	if c := d.namedCookie(t, AccessCookieName, "/"); c != nil {
		t.Errorf("the %s cookie is still there after logout", AccessCookieName)
	}
	if c := d.cookie(t); c != nil {
		t.Errorf("the %s cookie is still there after logout", CookieName)
	}
	d.putAccessCookie(t, access)
	status := eval[int](t, d, "call /api/me with the old access cookie", `fetch('/api/me').then((r) => r.status)`)
	if status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the access cookie of a logged-out session: status %d, want 401", status)
	}
}

// putAccessCookie puts an access cookie (back) into the browser, as a host-only cookie of the example.
func (d *driver) putAccessCookie(t *testing.T, c *network.Cookie) {
	t.Helper()
	p := network.SetCookieParams{
		Name: c.Name, Value: c.Value, URL: d.base + "/", Path: "/",
		Secure: new(c.Secure), HTTPOnly: new(c.HTTPOnly), SameSite: c.SameSite,
	}
	ctx, cancel := d.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetCookie, p); err != nil {
		t.Fatalf("put the old access cookie back: %v", err)
	}
	if got := d.namedCookie(t, c.Name, "/"); got == nil || got.Value != c.Value {
		t.Fatalf("the browser does not hold the access cookie after Network.setCookie (got %+v)", got)
	}
}

// cookieOnlyDPoPPage: a client asked to use DPoP against a cookie-only server holds no token and
// works as any other.
func (d *driver) cookieOnlyDPoPPage(t *testing.T) {
	d.guard(t)
	d.open(t, "/?dpop=1")
	d.login(t)
	if got := eval[string](t, d, "read #token-type", `document.getElementById('token-type').textContent`); got != "cookie" {
		t.Errorf("#token-type = %q, want cookie", got)
	}
	d.scriptStateBut(t, "jwtexp-dpop")
	checkStatuses(t, d.expireAndCall(t), "200")
	d.do(t, "click #logout", chromedp.Click(chromedp.ID("logout")))
	d.waitState(t, "logged-out")
}
