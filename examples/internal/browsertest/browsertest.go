// Package browsertest drives a real headless Chromium, through chromedp, against
// a running jwtexp example that serves the browser client of package web at
// "/".
//
// An example's test starts its app on a loopback httptest.Server with a fake
// clock, an access TTL of a minute, leeway 0 and refresh grace 0, counts the
// POST /refresh requests it handles, and calls Run:
//
//	srv := httptest.NewServer(app)
//	browsertest.Run(t, srv.URL, browsertest.Hooks{
//		RefreshCalls: refreshes.Load,
//		Expire:       func() { clock.Advance(time.Minute + time.Second) },
//	})
//
// Run looks up Debian's "chromium" on PATH. Without it the test is skipped, or
// fails when the environment variable JWTEXP_REQUIRE_BROWSER is "1" (CI sets
// it). Every wait is bounded by Hooks.Timeout; nothing sleeps. When a subtest
// fails, a PNG screenshot of the page is written and its path logged, together
// with the page's state, its console and its recent network requests.
//
// What Run expects of the server :
//   - POST /login with JSON {"username","password"} answers an RFC 6749 §5.1
//     token response. With the request header "X-Refresh-Transport: cookie" the
//     refresh token goes only into the cookie "jwtexp_refresh" (HttpOnly,
//     Secure, SameSite=Strict, Path=/refresh); without it, into the JSON body.
//   - POST /refresh takes the refresh token from that cookie (the client sends
//     no body, and the header "X-Refresh-Transport: cookie") or from a JSON body
//     {"refresh_token"} (the client sends no cookie), rotates it, and answers 400
//     {"error":"invalid_grant"} to any failure (RFC 6749 §5.2); presenting an
//     already rotated token revokes the whole session (grace 0).
//   - GET /api/me needs "Authorization: Bearer <access token>".
//   - POST /logout with the Bearer token revokes the session, clears the cookie
//     and answers 204; the access token is refused afterwards.
package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// CookieName is the name of the refresh-token cookie that Run expects in
// cookie mode.
const CookieName = "jwtexp_refresh"

// RequireBrowserEnv is the environment variable that, set to "1", turns a
// missing Chromium from a skip into a failure.
const RequireBrowserEnv = "JWTEXP_REQUIRE_BROWSER"

// DefaultTimeout bounds each wait in the browser when Hooks.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Hooks connects Run to the server under test.
type Hooks struct {
	// RefreshCalls returns how many POST /refresh requests the server has
	// received so far, whatever their outcome. Run compares it before and after
	// each batch of parallel calls. Required.
	RefreshCalls func() int64

	// Expire makes every access token issued so far expire on the server, and
	// returns once it has: the examples advance their injected fake clock past
	// the access TTL (a one-minute TTL, leeway 0). Refresh tokens must stay
	// valid. Run calls it instead of sleeping. Required. The page shows the
	// seconds left by the browser's real clock (login waits for a positive
	// #expires-in), so the TTL must be well above a subtest's wall time.
	Expire func()

	// Username and Password are typed into the login form.
	// Default: the examples' demo user, "alice" / "wonderland".
	Username, Password string

	// Timeout bounds every single wait in the browser (page load, a DOM
	// condition, a CDP command) and the start of Chromium. Default: DefaultTimeout.
	Timeout time.Duration

	// ScreenshotDir is where a failing subtest writes its screenshot. Default:
	// the test's ArtifactDir when go test runs with -artifacts, otherwise a new
	// directory under os.TempDir() (created on failure only, and kept).
	ScreenshotDir string

	// Advance moves the server's clock forward by d (the examples advance their injected fake
	// clock). With IdleTimeout it enables the IdleTimeout subtest. Optional.
	Advance func(d time.Duration)

	// Now is the server's clock, for the DPoP proofs RunDPoP makes in Go. Default: time.Now.
	Now func() time.Time

	// IdleTimeout is the server's idle timeout (the examples' JWT_IDLE_TIMEOUT), more than the
	// access TTL plus a second (the subtest advances IdleTimeout-1s and expects one refresh).
	// Zero, or no Advance: the IdleTimeout subtest is skipped.
	IdleTimeout time.Duration

	// SkipSessions skips the Sessions subtest, for a server without the
	// /api/sessions routes.
	SkipSessions bool

	// SkipLive skips the LiveConnections subtest, for a server without GET
	// /api/events and GET /api/ws.
	SkipLive bool

	// SkipBodyTransport skips the subtest that runs the page with the JSON body
	// transport of the refresh token ("/?transport=body"), for a server that
	// only implements cookie mode.
	SkipBodyTransport bool
}

func (h Hooks) withDefaults() Hooks {
	if h.Username == "" {
		h.Username = "alice"
	}
	if h.Password == "" {
		h.Password = "wonderland"
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultTimeout
	}
	return h
}

// Run starts one headless Chromium for the test and runs these subtests
// against the example at baseURL (for example an httptest.Server's URL):
//
//   - ParallelCallsShareOneRefresh: log in through the form; #state is
//     logged-in and #expires-in positive; the refresh cookie is HttpOnly,
//     Secure, SameSite=Strict, Path=/refresh, and page script sees neither it
//     nor any token in web storage. Expire, click #call-api: every call ends
//     with 200 and the server saw exactly one refresh, which rotated the cookie.
//   - ReplayedRefreshTokenIsRefused: log in, keep the refresh cookie, let one
//     refresh rotate it, put the old cookie back (through CDP, since it is
//     HttpOnly), Expire and click #call-api: exactly one refresh, refused; the
//     page ends logged-out with the login form visible; the rotated cookie is
//     refused too (the reuse revoked the session).
//   - Logout: log in, call the API, click #logout: the page is logged-out, the
//     cookie is gone, and a call with the old access token gets 401.
//   - BodyTransport (unless Hooks.SkipBodyTransport): the first scenario with
//     the refresh token in JSON bodies, then logout.
//   - Sessions (unless Hooks.SkipSessions): two browser contexts (separate cookie jars) log in as the same
//     user. The first ends every other session, lists two sessions (its own
//     marked "this device"), ends the second's: the second's next calls fail
//     and it lands on the login view. The second logs in again and the first
//     clicks #end-others ("sign out other devices"): likewise. The first still
//     works throughout, and #last-response shows the answers' bodies.
//   - IdleTimeout (with Hooks.Advance and Hooks.IdleTimeout): a refresh just
//     within the idle timeout works; after a longer pause the next call fails
//     and the page lands on the login view.
//   - LiveConnections (unless Hooks.SkipLive or SkipSessions): click #live-toggle;
//     the stream (GET /api/events) and the socket (GET /api/ws) tick. Expire:
//     exactly one refresh, and both tick again with the new token's exp. A
//     second browser context logs in and signs the other devices out: the
//     first page's connections end and it lands on the login view.
//
// What Run also expects: GET /api/sessions, DELETE /api/sessions/{id} and
// DELETE /api/sessions as the examples serve them, behind the Bearer token.
//
// Run skips the test when Chromium is missing, unless JWTEXP_REQUIRE_BROWSER=1.
func Run(t *testing.T, baseURL string, h Hooks) {
	t.Helper()
	if h.RefreshCalls == nil || h.Expire == nil {
		t.Fatal("browsertest: Hooks.RefreshCalls and Hooks.Expire are required")
	}
	d := start(t, strings.TrimRight(baseURL, "/"), h.withDefaults())
	t.Run("ParallelCallsShareOneRefresh", d.parallelCalls)
	t.Run("ReplayedRefreshTokenIsRefused", d.replay)
	t.Run("Logout", d.logout)
	if !h.SkipBodyTransport {
		t.Run("BodyTransport", d.bodyTransport)
	}
	if !h.SkipSessions {
		t.Run("Sessions", d.sessions)
	}
	if h.Advance != nil && h.IdleTimeout > 0 {
		t.Run("IdleTimeout", d.idleTimeout)
	}
	if !h.SkipLive && !h.SkipSessions {
		t.Run("LiveConnections", d.live)
	}
}

// driver is one browser tab on the example, shared by the subtests of a Run.
type driver struct {
	ctx  context.Context // the tab; it has no deadline, each step adds its own
	base string
	h    Hooks

	consoleDone chan struct{} // closed when the console reader has stopped

	mu          sync.Mutex
	events      []string                     // recent console and network lines, for failure reports
	lastBearer  string                       // the last Authorization header sent to /api/me
	lastProof   string                       // the last DPoP header sent to /api/me (dpop.go)
	clockScript string                       // the page clock script installed for new documents (dpop.go), "" for none
	responses   []seen                       // recent responses, for the cookie-only checks (cookieonly.go)
	cookiesOut  map[network.RequestID]string // the Cookie header each recent request carried ("" none)
	cookieOrder []network.RequestID          // cookiesOut's keys, oldest first
	keptDir     string                       // where screenshots go without -artifacts or ScreenshotDir
}

const maxEvents = 200

func (d *driver) record(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.events) == maxEvents {
		d.events = append(d.events[:0], d.events[maxEvents/2:]...)
	}
	d.events = append(d.events, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
}

// findChromium returns the browser to run, or skips/fails the test.
func findChromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.Missing(t, RequireBrowserEnv, "no Chromium on PATH (looked for %s); install it with `apt-get install chromium`",
		strings.Join(names, ", "))
	return ""
}

// lockedBuffer collects Chromium's output for a failed start.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, base string, h Hooks) *driver {
	t.Helper()
	execPath := findChromium(t)
	// Made before the allocator, so that its removal runs after the browser has
	// exited. Chromium also writes outside its profile (a crash report database
	// under $XDG_CONFIG_HOME, dconf under $XDG_CACHE_HOME): keep that here too.
	tmp := t.TempDir()
	userDataDir := filepath.Join(tmp, "profile")
	xdg := filepath.Join(tmp, "xdg")
	output := &lockedBuffer{}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		// The machine has no network: nothing may phone home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.Env(
			"XDG_CONFIG_HOME="+filepath.Join(xdg, "config"),
			"XDG_CACHE_HOME="+filepath.Join(xdg, "cache"),
			"XDG_DATA_HOME="+filepath.Join(xdg, "data"),
		),
		chromedp.WindowSize(1100, 900),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	d := &driver{base: base, h: h}
	ctx, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithErrorf(func(format string, args ...any) { d.record("chromedp error: "+format, args...) }),
		chromedp.WithLogf(func(format string, args ...any) { d.record("chromedp: "+format, args...) }),
	)
	d.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		if d.consoleDone != nil {
			<-d.consoleDone // the console loop ends with the tab
		}
	})

	// The first Do starts the browser and ties it to ctx, so it gets no
	// deadline of its own; bound it from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(h.Timeout)
	defer timer.Stop()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: start %s: %v\nchromium output:\n%s", execPath, err, output.String())
		}
	case <-timer.C:
		cancelTab()
		<-started
		t.Fatalf("browsertest: %s did not start within %v\nchromium output:\n%s", execPath, h.Timeout, output.String())
	}

	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			d.record("-> %s %s", ev.Request.Method, ev.Request.URL)
			if strings.HasSuffix(strings.SplitN(ev.Request.URL, "?", 2)[0], "/api/me") {
				for k, v := range ev.Request.Headers {
					if s, ok := v.(string); ok && strings.EqualFold(k, "Authorization") {
						d.mu.Lock()
						d.lastBearer = s
						d.mu.Unlock()
					}
					if s, ok := v.(string); ok && strings.EqualFold(k, "DPoP") {
						d.mu.Lock()
						d.lastProof = s
						d.mu.Unlock()
					}
				}
			}
		case *network.EventResponseReceived:
			d.record("<- %d %s", ev.Response.Status, ev.Response.URL)
			d.saw(ev.RequestID, ev.Response.URL, ev.Response.Status)
		case *network.EventRequestWillBeSentExtraInfo:
			d.cookieHeader(ev.RequestID, ev.Headers)
		case *network.EventLoadingFailed:
			d.record("<- failed (%s) request %s", ev.ErrorText, ev.RequestID)
		}
	})
	if err != nil {
		t.Fatalf("browsertest: listen to network events: %v", err)
	}
	console := chromedp.Console(ctx)
	d.consoleDone = make(chan struct{})
	go func() {
		defer close(d.consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			d.record("console %s: %s", m.Type, m.Text)
		}
	}()
	return d
}

// step returns a context for one bounded step.
func (d *driver) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.ctx, d.h.Timeout)
}

// do runs browser actions as one bounded step.
func (d *driver) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v%s", what, err, d.diagnostics())
	}
}

// eval evaluates a JavaScript expression in the page, awaiting a promise.
func eval[T any](t *testing.T, d *driver, what, expr string) T {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, d.diagnostics())
	}
	return v
}

// until waits until a JavaScript expression is truthy and returns its value.
func until[T any](t *testing.T, d *driver, what, expr string) T {
	t.Helper()
	// The page-side poll gives up first; the context is the backstop.
	ctx, cancel := context.WithTimeout(d.ctx, d.h.Timeout+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(25*time.Millisecond),
		chromedp.WithPollingTimeout(d.h.Timeout)))
	if err != nil {
		t.Fatalf("waiting for %s (up to %v): %v%s", what, d.h.Timeout, err, d.diagnostics())
	}
	return v
}

func (d *driver) waitState(t *testing.T, state string) {
	t.Helper()
	until[bool](t, d, "#state to be "+state,
		fmt.Sprintf(`document.getElementById('state')?.textContent === %q`, state))
}

// diagnostics describes the page for a failure message.
func (d *driver) diagnostics() string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(d.ctx, 3*time.Second)
	defer cancel()
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		ready: document.body?.dataset.ready,
		state: document.getElementById('state')?.textContent,
		expiresIn: document.getElementById('expires-in')?.textContent,
		loginVisible: !document.getElementById('login-view')?.hidden,
		notice: document.getElementById('notice')?.textContent,
		loginError: document.getElementById('login-error')?.textContent,
		results: Array.from(document.querySelectorAll('#results li'), (li) => li.textContent),
	})`))
	if err != nil {
		page = "(page unreadable: " + err.Error() + ")"
	}
	fmt.Fprintf(&b, "\npage: %s\nrecent browser events:\n", page)
	d.mu.Lock()
	events := d.events
	if len(events) > 60 {
		events = events[len(events)-60:]
	}
	for _, e := range events {
		b.WriteString("  " + e + "\n")
	}
	d.mu.Unlock()
	return b.String()
}

// guard makes a failing subtest leave a screenshot of the page behind.
func (d *driver) guard(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := d.step()
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("browsertest: no screenshot: %v", err)
			return
		}
		dir, err := d.screenshotDir(t)
		if err != nil {
			t.Logf("browsertest: no screenshot: %v", err)
			return
		}
		name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_") + ".png"
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Logf("browsertest: no screenshot: %v", err)
			return
		}
		t.Logf("browsertest: screenshot of the page: %s", file)
	})
}

func (d *driver) screenshotDir(t *testing.T) (string, error) {
	if d.h.ScreenshotDir != "" {
		return d.h.ScreenshotDir, os.MkdirAll(d.h.ScreenshotDir, 0o755)
	}
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir(), nil
	}
	// t.TempDir and an ArtifactDir without -artifacts vanish with the test:
	// use one kept directory per Run, made on the first failure.
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keptDir == "" {
		dir, err := os.MkdirTemp("", "jwtexp-browsertest-")
		if err != nil {
			return "", err
		}
		d.keptDir = dir
	}
	return d.keptDir, nil
}

// open loads the page with an empty cookie jar and waits until it is ready
// and logged out.
func (d *driver) open(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("clear cookies: %v", err)
	}
	d.do(t, "open "+d.base+path, chromedp.Navigate(d.base+path))
	until[bool](t, d, "the page to be ready (body[data-ready])", `document.body?.dataset.ready === 'true'`)
	d.waitState(t, "logged-out")
	d.do(t, "see the login form", chromedp.WaitVisible(chromedp.ID("login")))
}

// login logs in through the form and checks what the page shows; it returns
// once the page has loaded its list of sessions.
func (d *driver) login(t *testing.T) {
	t.Helper()
	loads := eval[int](t, d, "read #sessions loads", `Number(document.getElementById('sessions').dataset.loads || 0)`)
	// A page that was logged in before still holds the username: start from empty
	// fields.
	eval[bool](t, d, "empty the login form", `(() => { for (const id of ['username', 'password']) document.getElementById(id).value = ''; return true; })()`)
	// Focus and type as key events to the focused field: chromedp.SendKeys reads the node's
	// attributes outside the node's lock (chromedp v0.23.0), which the race detector caught
	// against a DOM event of the page.
	d.do(t, "log in through the form",
		chromedp.Focus(chromedp.ID("username"), chromedp.NodeVisible),
		chromedp.KeyEvent(d.h.Username),
		chromedp.Focus(chromedp.ID("password"), chromedp.NodeVisible),
		chromedp.KeyEvent(d.h.Password),
		chromedp.Click(chromedp.ID("login")),
	)
	d.waitState(t, "logged-in")
	d.do(t, "see the logged-in view", chromedp.WaitVisible(chromedp.ID("call-api")))
	n := until[int](t, d, "#expires-in to show a positive number",
		`(() => { const n = Number(document.getElementById('expires-in').textContent); return Number.isInteger(n) && n > 0 ? n : 0; })()`)
	t.Logf("logged in; #expires-in = %d", n)
	d.waitLoads(t, loads)
	if !eval[bool](t, d, "read web storage", `localStorage.length === 0 && sessionStorage.length === 0`) {
		t.Error("the page wrote to localStorage or sessionStorage; tokens must stay in memory")
	}
	if eval[bool](t, d, "read document.cookie", fmt.Sprintf(`document.cookie.includes(%q)`, CookieName)) {
		t.Errorf("page script can read the %s cookie; it must be HttpOnly", CookieName)
	}
}

type callResult struct {
	Text   string `json:"text"`
	Status string `json:"status"`
}

// callAPI clicks #call-api and returns the lines of #results once every call has finished.
func (d *driver) callAPI(t *testing.T) []callResult {
	t.Helper()
	prev := eval[int](t, d, "read #results batch", `Number(document.getElementById('results').dataset.batch || 0)`)
	d.do(t, "click #call-api", chromedp.Click(chromedp.ID("call-api")))
	until[bool](t, d, "the parallel calls to finish", fmt.Sprintf(
		`(() => { const r = document.getElementById('results'); return Number(r.dataset.batch) === %d && r.getAttribute('aria-busy') === 'false'; })()`,
		prev+1))
	raw := eval[string](t, d, "read #results",
		`JSON.stringify(Array.from(document.querySelectorAll('#results li'), (li) => ({text: li.textContent, status: li.dataset.status})))`)
	var lines []callResult
	if err := json.Unmarshal([]byte(raw), &lines); err != nil {
		t.Fatalf("decode #results %s: %v", raw, err)
	}
	if len(lines) < 5 {
		t.Fatalf("#results has %d lines, want at least 5 (one per parallel call)%s", len(lines), d.diagnostics())
	}
	return lines
}

func checkStatuses(t *testing.T, lines []callResult, want string) {
	t.Helper()
	for i, l := range lines {
		if l.Status != want || !strings.HasSuffix(l.Text, " "+want) {
			t.Errorf("call %d: %q (status %s), want status %s", i+1, l.Text, l.Status, want)
		}
	}
}

// expireAndCall expires the access token, fires the parallel calls and checks
// that the server saw exactly one refresh.
func (d *driver) expireAndCall(t *testing.T) []callResult {
	t.Helper()
	before := d.h.RefreshCalls()
	d.h.Expire()
	lines := d.callAPI(t)
	if got := d.h.RefreshCalls() - before; got != 1 {
		t.Errorf("the server saw %d POST /refresh for %d parallel calls with an expired token, want exactly 1%s",
			got, len(lines), d.diagnostics())
	}
	return lines
}

// cookie returns the refresh cookie as the browser holds it for the refresh path, or nil.
func (d *driver) cookie(t *testing.T) *network.Cookie {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{d.base + "/refresh"}})
	if err != nil {
		t.Fatalf("read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

// refreshCookie returns the refresh cookie and checks its attributes.
func (d *driver) refreshCookie(t *testing.T) *network.Cookie {
	t.Helper()
	c := d.cookie(t)
	if c == nil {
		t.Fatalf("no %s cookie for %s/refresh after login in cookie mode%s", CookieName, d.base, d.diagnostics())
	}
	if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/refresh" {
		t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%q Path=%q, want HttpOnly, Secure, SameSite=Strict, Path=/refresh",
			CookieName, c.HTTPOnly, c.Secure, c.SameSite, c.Path)
	}
	return c
}

// putCookie puts a refresh cookie (back) into the browser, as a host-only cookie of the example.
func (d *driver) putCookie(t *testing.T, c *network.Cookie) {
	t.Helper()
	p := network.SetCookieParams{
		Name:     c.Name,
		Value:    c.Value,
		URL:      d.base + c.Path,
		Path:     c.Path,
		Secure:   new(c.Secure),
		HTTPOnly: new(c.HTTPOnly),
		SameSite: c.SameSite,
	}
	if !c.Session && c.Expires > 0 {
		p.Expires = cdp.TimeSinceEpoch(c.Expires)
	}
	ctx, cancel := d.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetCookie, p); err != nil {
		t.Fatalf("put the old refresh cookie back: %v", err)
	}
	if got := d.cookie(t); got == nil || got.Value != c.Value {
		t.Fatalf("the browser does not hold the replayed refresh cookie after Network.setCookie (got %+v)", got)
	}
}

// parallelCalls: expired token, parallel calls, all succeed after exactly one refresh.
func (d *driver) parallelCalls(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	first := d.refreshCookie(t)
	lines := d.expireAndCall(t)
	checkStatuses(t, lines, "200")
	d.waitState(t, "logged-in")
	// The refresh succeeded with a cookie-only request: the Secure cookie made
	// the round trip over plain http on loopback, and came back rotated.
	if second := d.refreshCookie(t); second.Value == first.Value {
		t.Errorf("the refresh did not rotate the %s cookie", CookieName)
	}
}

// replay: an old refresh token is refused, ends the session, and revokes it.
func (d *driver) replay(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	old := d.refreshCookie(t)
	checkStatuses(t, d.expireAndCall(t), "200")
	rotated := d.refreshCookie(t)
	if rotated.Value == old.Value {
		t.Fatalf("the refresh did not rotate the %s cookie; nothing to replay", CookieName)
	}

	d.putCookie(t, old)
	lines := d.expireAndCall(t)
	d.waitState(t, "logged-out")
	d.do(t, "see the login form after the refused refresh", chromedp.WaitVisible(chromedp.ID("login")))
	checkStatuses(t, lines, "401")

	// Reuse detection revokes the whole session: the token that replaced the
	// replayed one is refused as well.
	d.putCookie(t, rotated)
	status := eval[int](t, d, "refresh with the rotated cookie after the reuse",
		`fetch('/refresh', {method: 'POST', credentials: 'same-origin', headers: {'X-Refresh-Transport': 'cookie'}}).then((r) => r.status)`)
	if status != 400 {
		t.Errorf("POST /refresh with the rotated token after a reuse: status %d, want 400 (the reuse must revoke the session)", status)
	}
}

// logout: the page logs out and the old access token stops working.
func (d *driver) logout(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	checkStatuses(t, d.callAPI(t), "200")
	d.mu.Lock()
	bearer := d.lastBearer
	d.mu.Unlock()
	if !strings.HasPrefix(bearer, "Bearer ") {
		t.Fatalf("no Bearer token seen on GET /api/me (Authorization %q)", bearer)
	}

	d.do(t, "click #logout", chromedp.Click(chromedp.ID("logout")))
	d.waitState(t, "logged-out")
	d.do(t, "see the login form after logout",
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.WaitNotVisible(chromedp.ID("call-api")))
	if c := d.cookie(t); c != nil {
		t.Errorf("the %s cookie is still there after logout; POST /logout must clear it", CookieName)
	}
	status := eval[int](t, d, "call /api/me with the old access token", fmt.Sprintf(
		`fetch('/api/me', {headers: {Authorization: %q}}).then((r) => r.status)`, bearer))
	if status != 401 {
		t.Errorf("GET /api/me with the access token of a logged-out session: status %d, want 401", status)
	}
}

// bodyTransport: the first scenario with the refresh token in JSON bodies.
func (d *driver) bodyTransport(t *testing.T) {
	d.guard(t)
	d.open(t, "/?transport=body")
	if got := eval[string](t, d, "read #transport", `document.getElementById('transport').textContent`); got != "body" {
		t.Fatalf("#transport = %q, want body", got)
	}
	d.login(t)
	checkStatuses(t, d.expireAndCall(t), "200")
	d.waitState(t, "logged-in")
	d.do(t, "click #logout", chromedp.Click(chromedp.ID("logout")))
	d.waitState(t, "logged-out")
}
