package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func sessionManager(t *testing.T, clock *testutil.Clock, opts ...core.Option) *core.Manager {
	t.Helper()
	return testutil.SuiteManager(t, clock, opts...)
}

func TestSessionOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []core.Option
		want string // in the error; "" for none
	}{
		{"defaults", nil, ""},
		{"max sessions 1", []core.Option{core.WithMaxSessions(1)}, ""},
		{"max sessions 0", []core.Option{core.WithMaxSessions(0)}, "WithMaxSessions: 0 is not positive"},
		{"max sessions negative", []core.Option{core.WithMaxSessions(-3)}, "WithMaxSessions: -3"},
		{"idle", []core.Option{core.WithIdleTimeout(time.Hour)}, ""},
		{"idle zero", []core.Option{core.WithIdleTimeout(0)}, "WithIdleTimeout: 0s is not positive"},
		{"idle under access TTL", []core.Option{core.WithIdleTimeout(time.Minute)}, "idle timeout 1m0s is shorter than access TTL 5m0s"},
		{"idle at refresh TTL", []core.Option{core.WithIdleTimeout(core.DefaultRefreshTTL)}, "is not shorter than refresh TTL"},
		{"idle without rotation", []core.Option{core.WithIdleTimeout(time.Hour), core.WithoutRotation()}, "needs refresh-token rotation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := []core.Option{
				core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer("i"),
				core.WithAudience("a"), core.WithAccessTTL(5 * time.Minute),
			}
			m, err := core.New(append(base, tc.opts...)...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: got %v, want nil", err)
				}
				m.Close()
				return
			}
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: got %v, want ErrInvalidConfig containing %q", err, tc.want)
			}
		})
	}
}

// The idle timeout ends a session nobody refreshed in time, and never lets one outlive its
// maximum age.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	m := sessionManager(t, clock, core.WithRefreshTTL(2*time.Hour), core.WithMaxSessionAge(150*time.Minute),
		core.WithIdleTimeout(time.Hour))
	idle, _ := m.Issue(ctx, "alice", nil)
	active, _ := m.Issue(ctx, "alice", nil)
	if got := active.RefreshExpiresAt.Sub(clock.Now()); got != time.Hour {
		t.Fatalf("refresh token lifetime with a 1h idle timeout: got %v, want 1h", got)
	}
	p := active
	for _, at := range []time.Duration{50 * time.Minute, 100 * time.Minute, 149 * time.Minute} {
		clock.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(at))
		next, err := m.Refresh(ctx, p.RefreshToken)
		if err != nil {
			t.Fatalf("refresh of the active session at %v: got %v, want a new pair", at, err)
		}
		if end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(150 * time.Minute); next.RefreshExpiresAt.After(end) {
			t.Fatalf("refresh token at %v expires %v, after the session's end %v", at, next.RefreshExpiresAt, end)
		}
		p = next
	}
	// The idle one was last used at login, 149 minutes ago.
	if _, err := m.Refresh(ctx, idle.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("refresh after the idle timeout: got %v, want ErrInvalidGrant", err)
	}
	list, err := m.Sessions(ctx, "alice", "")
	if err != nil || len(list) != 1 || list[0].ID != active.SessionID {
		t.Fatalf("Sessions: got (%+v, %v), want only the active one", list, err)
	}
	clock.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(150 * time.Minute))
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("refresh at the maximum session age: got %v, want ErrInvalidGrant", err)
	}
}

func TestSessionClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	m := sessionManager(t, clock)
	cases := []struct{ in, want string }{
		{"", ""},
		{"  Firefox on Linux  ", "Firefox on Linux"},
		{"evil\r\nSet-Cookie: x\x00", "evil  Set-Cookie: x"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{strings.Repeat("é", 100), strings.Repeat("é", core.MaxSessionClientLen/2)},
		{strings.Repeat("a", 127) + "é", strings.Repeat("a", 127)},
	}
	for _, tc := range cases {
		p, err := m.Issue(ctx, "client-"+tc.in, nil, core.WithClientDescription(tc.in), nil)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		list, err := m.Sessions(ctx, p.Subject, p.SessionID)
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions: got (%v, %v), want one", list, err)
		}
		if list[0].Client != tc.want || len(list[0].Client) > core.MaxSessionClientLen {
			t.Errorf("WithClientDescription(%q): got %q, want %q", tc.in, list[0].Client, tc.want)
		}
	}
}

func TestDescribeClient(t *testing.T) {
	t.Parallel()
	const (
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
		chrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
		edge    = chrome + " Edg/126.0"
		safari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	)
	cases := []struct{ ua, addr, want string }{
		{firefox, "192.0.2.77:51234", "Firefox on Linux, 192.0.2.0/24"},
		{chrome, "", "Chrome on Windows"},
		{edge, "[2001:db8:1234:5678::1]:443", "Edge on Windows, 2001:db8:1234::/48"},
		{safari, "::ffff:198.51.100.9", "Safari on iOS, 198.51.100.0/24"},
		{"curl/8.5.0", "not an address", "curl"},
		{"", "", ""},
		{"", "fe80::1%eth0", "fe80::/48"},
	}
	for _, tc := range cases {
		if got := core.DescribeClient(tc.ua, tc.addr); got != tc.want {
			t.Errorf("DescribeClient(%q, %q): got %q, want %q", tc.ua, tc.addr, got, tc.want)
		}
	}
}

func TestServeSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	m := sessionManager(t, clock)
	a, _ := m.Issue(ctx, "alice", nil, core.WithClientDescription("laptop"))
	clock.Advance(time.Minute)
	b, _ := m.Issue(ctx, "alice", nil)
	mallory, _ := m.Issue(ctx, "mallory", nil)
	claimsB, err := m.Verify(ctx, b.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	r := m.HTTP().ServeSessions(ctx, claimsB)
	var body struct {
		Sessions []map[string]any `json:"sessions"`
	}
	if r.Status != http.StatusOK || r.CacheControl != "no-store" || json.Unmarshal(r.Body, &body) != nil || len(body.Sessions) != 2 {
		t.Fatalf("ServeSessions: got %d %s, want 200 with two sessions", r.Status, r.Body)
	}
	first, second := body.Sessions[0], body.Sessions[1]
	if first["id"] != b.SessionID || first["current"] != true || first["client"] != nil ||
		second["id"] != a.SessionID || second["current"] != false || second["client"] != "laptop" {
		t.Errorf("ServeSessions body: got %s", r.Body)
	}
	start := float64(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	if second["created_at"] != start || second["last_used_at"] != start ||
		second["expires_at"] != start+core.DefaultMaxSessionAge.Seconds() {
		t.Errorf("ServeSessions times: got %s, want NumericDate seconds", r.Body)
	}

	for _, tc := range []struct {
		name   string
		resp   core.Response
		status int
		body   string
	}{
		{"end another subject's session", m.HTTP().ServeEndSession(ctx, claimsB, mallory.SessionID), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"end an unknown session", m.HTTP().ServeEndSession(ctx, claimsB, "nope"), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"end an empty id", m.HTTP().ServeEndSession(ctx, claimsB, ""), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"list without claims", m.HTTP().ServeSessions(ctx, nil), 401, ""},
		{"end without claims", m.HTTP().ServeEndSession(ctx, nil, a.SessionID), 401, ""},
		{"end others without claims", m.HTTP().ServeEndOtherSessions(ctx, nil, "/api/sessions"), 401, ""},
		{"end an id of only a slash (catch-all route)", m.HTTP().ServeEndSession(ctx, claimsB, "/"), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"end one", m.HTTP().ServeEndSession(ctx, claimsB, a.SessionID), 204, ""},
		{"end it again", m.HTTP().ServeEndSession(ctx, claimsB, a.SessionID), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"end others at a trailing slash", m.HTTP().ServeEndOtherSessions(ctx, claimsB, "/api/sessions/"), 404, `{"error":"not_found","error_description":"session not found"}`},
		{"end others at an empty segment", m.HTTP().ServeEndOtherSessions(ctx, claimsB, "/api//sessions"), 404, ""},
		{"end others at a dot segment", m.HTTP().ServeEndOtherSessions(ctx, claimsB, "/api/./sessions"), 404, ""},
		{"end others", m.HTTP().ServeEndOtherSessions(ctx, claimsB, "/api/sessions"), 204, ""},
	} {
		if tc.resp.Status != tc.status || (tc.body != "" && string(tc.resp.Body) != tc.body) {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, tc.resp.Status, tc.resp.Body, tc.status, tc.body)
		}
	}
	if _, err := m.Verify(ctx, a.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("access token of the ended session: got %v, want ErrTokenRevoked", err)
	}
	if _, err := m.Verify(ctx, mallory.AccessToken); err != nil {
		t.Errorf("another subject's session after a 404: got %v, want still valid", err)
	}
	if _, err := m.Verify(ctx, b.AccessToken); err != nil {
		t.Errorf("the current session after ending the others: got %v, want still valid", err)
	}
}

func TestSessionsWithoutRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := sessionManager(t, testutil.NewClockNow(), core.WithoutRotation())
	p, _ := m.Issue(ctx, "alice", nil)
	c, _ := m.Verify(ctx, p.AccessToken)
	if _, err := m.Sessions(ctx, "alice", ""); !errors.Is(err, core.ErrSessionsNotRecorded) {
		t.Errorf("Sessions without rotation: got %v, want ErrSessionsNotRecorded", err)
	}
	if r := m.HTTP().ServeSessions(ctx, c); r.Status != http.StatusNotImplemented {
		t.Errorf("ServeSessions without rotation: got %d, want 501", r.Status)
	}
	if err := m.EndSession(ctx, "alice", p.SessionID); !errors.Is(err, core.ErrSessionsNotRecorded) {
		t.Errorf("EndSession without rotation: got %v, want ErrSessionsNotRecorded", err)
	}
}

// Many logins of one subject keep at most the bound of sessions (JWTEXP_MANY_LOGINS=200000 for
// the figure of the issue; the default keeps the test fast under -race).
func TestSessionBoundManyLogins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now), core.WithSweepInterval(0))
	t.Cleanup(func() { store.Close() })
	m := sessionManager(t, clock, core.WithStore(store), core.WithoutSessionChurnLimit()) // the session bound alone
	n := 5_000
	if v, err := strconv.Atoi(os.Getenv("JWTEXP_MANY_LOGINS")); err == nil && v > 0 {
		n = v
	}
	for range n {
		if _, err := m.Issue(ctx, "alice", nil); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	list, err := m.Sessions(ctx, "alice", "")
	if err != nil || len(list) != core.DefaultMaxSessions {
		t.Fatalf("Sessions after %d logins: got %d (%v), want %d", n, len(list), err, core.DefaultMaxSessions)
	}
	// The ended sessions' sid marks live one access-token lifetime plus leeway.
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway)
	store.Sweep()
	if got := store.Len(); got != core.DefaultMaxSessions {
		t.Fatalf("records after %d logins and one access TTL: got %d, want %d", n, got, core.DefaultMaxSessions)
	}
}

// ServeLogin records a client description only when the Manager was built with
// WithSessionClients, from the User-Agent and the remote address the adapter passes; an
// explicit WithClientDescription wins.
func TestServeLoginSessionClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	login := func(m *core.Manager, opts ...core.IssueOption) string {
		t.Helper()
		r, _ := http.NewRequest(http.MethodPost, "/login", nil)
		r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
		resp := m.HTTP().ServeLogin(ctx, core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil },
			append([]core.IssueOption{core.WithRemoteAddr("192.0.2.77:4242")}, opts...)...)
		if resp.Status != http.StatusOK {
			t.Fatalf("login: got %d %s", resp.Status, resp.Body)
		}
		list, err := m.Sessions(ctx, "alice", "")
		if err != nil || len(list) == 0 {
			t.Fatalf("Sessions: got (%v, %v)", list, err)
		}
		return list[0].Client
	}
	clock := testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if got := login(sessionManager(t, clock)); got != "" {
		t.Errorf("without WithSessionClients: recorded %q, want nothing", got)
	}
	if got := login(sessionManager(t, clock, core.WithSessionClients())); got != "Firefox on Linux, 192.0.2.0/24" {
		t.Errorf("with WithSessionClients: recorded %q, want %q", got, "Firefox on Linux, 192.0.2.0/24")
	}
	if got := login(sessionManager(t, clock, core.WithSessionClients()), core.WithClientDescription("kiosk 7")); got != "kiosk 7" {
		t.Errorf("with an explicit WithClientDescription: recorded %q, want %q", got, "kiosk 7")
	}
}
