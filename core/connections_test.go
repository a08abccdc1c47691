package core_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// connTimeout bounds every wait for a bound connection to end: generous, so a loaded machine
// does not fail the test; the time it actually took is checked apart where it matters.
const connTimeout = 5 * time.Second

var connEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// login issues a pair for subject and returns it with the verified claims of its access token.
func login(t *testing.T, m *core.Manager, subject string) (*core.TokenPair, *core.Claims) {
	t.Helper()
	p, err := m.Issue(context.Background(), subject, nil)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, err := m.Verify(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return p, c
}

func bind(t *testing.T, m *core.Manager, c *core.Claims) *core.Connection {
	t.Helper()
	conn, err := m.Bind(context.Background(), c)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// waitEnded waits for conn's context to end and returns its cause and how long it took.
func waitEnded(t *testing.T, conn *core.Connection) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-conn.Context().Done():
		return context.Cause(conn.Context()), time.Since(start)
	case <-time.After(connTimeout):
		t.Fatalf("the bound connection did not end within %v", connTimeout)
		return nil, 0
	}
}

// stillLive checks that conn's context has not ended after the connection goroutine had time
// for several rounds (it reads the clock at least every 200 ms).
func stillLive(t *testing.T, conn *core.Connection, what string) {
	t.Helper()
	select {
	case <-conn.Context().Done():
		t.Fatalf("%s: the connection ended with %v, want it live", what, context.Cause(conn.Context()))
	case <-time.After(600 * time.Millisecond):
	}
}

func TestBindEndsAtExpiryPlusLeeway(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(connEpoch)
	var ended atomic.Pointer[core.Event]
	m := testutil.SuiteManager(t, clock, core.WithEventHook(func(_ context.Context, e core.Event) {
		if e.Kind == core.EventConnectionEnded {
			ended.Store(&e)
		}
	}))
	_, c := login(t, m, "alice")
	conn := bind(t, m, c)
	if want := c.ExpiresAt.Add(testutil.SuiteLeeway); !conn.Deadline().Equal(want) {
		t.Fatalf("Deadline: got %v, want exp + leeway %v", conn.Deadline(), want)
	}
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway - time.Second)
	stillLive(t, conn, "one second before exp + leeway")
	clock.Advance(time.Second)
	cause, took := waitEnded(t, conn)
	if !errors.Is(cause, core.ErrTokenExpired) || !errors.Is(cause, jwt.ErrTokenExpired) {
		t.Fatalf("cause: got %v, want ErrTokenExpired and jwt.ErrTokenExpired", cause)
	}
	if took > 5*time.Second { // the goroutine reads the clock every 200 ms; generous for a loaded CI machine
		t.Errorf("ended %v after the clock reached exp + leeway, want within 5s", took)
	}
	if got := core.EndReason(cause); got != core.EndTokenExpired {
		t.Errorf("EndReason: got %q, want %q", got, core.EndTokenExpired)
	}
	if code, reason := core.WebSocketClose(cause); code != 4001 || reason != "token expired" {
		t.Errorf("WebSocketClose: got %d %q, want 4001 \"token expired\"", code, reason)
	}
	if e := ended.Load(); e == nil || core.ReasonCode(e.Err) != "expired" || e.Subject != "alice" {
		t.Errorf("EventConnectionEnded: got %+v, want one for alice with ReasonCode expired", e)
	}
	if n := m.Connections(); n != 0 {
		t.Errorf("Connections after the end: got %d, want 0", n)
	}
}

func TestBindExpiredToken(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock)
	_, c := login(t, m, "alice")
	clock.Advance(time.Hour)
	conn := bind(t, m, c)
	if cause, _ := waitEnded(t, conn); !errors.Is(cause, core.ErrTokenExpired) {
		t.Fatalf("cause: got %v, want ErrTokenExpired", cause)
	}
	if _, err := m.Bind(context.Background(), nil); !errors.Is(err, core.ErrNoClaims) {
		t.Fatalf("Bind(nil claims): got %v, want ErrNoClaims", err)
	}
}

// Every way a token, its session or its subject is revoked ends the connections bound to it,
// within a second, with a cause matching ErrTokenRevoked.
func TestBindRevocationPaths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name   string
		opts   []core.Option
		revoke func(t *testing.T, m *core.Manager, clock *testutil.Clock, p *core.TokenPair, c *core.Claims)
	}{
		{"logout", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, p *core.TokenPair, _ *core.Claims) {
			if err := m.Logout(ctx, p.AccessToken, ""); err != nil {
				t.Fatal(err)
			}
		}},
		{"logout by refresh token", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, p *core.TokenPair, _ *core.Claims) {
			if err := m.Logout(ctx, "", p.RefreshToken); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoke token", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, _ *core.TokenPair, c *core.Claims) {
			if err := m.RevokeToken(ctx, c); err != nil {
				t.Fatal(err)
			}
		}},
		{"end session", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, p *core.TokenPair, _ *core.Claims) {
			if err := m.EndSession(ctx, "alice", p.SessionID); err != nil {
				t.Fatal(err)
			}
		}},
		{"end other sessions", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, _ *core.TokenPair, _ *core.Claims) {
			other, _ := login(t, m, "alice")
			if n, err := m.EndOtherSessions(ctx, "alice", other.SessionID); err != nil || n != 1 {
				t.Fatalf("EndOtherSessions: got (%d, %v), want (1, nil)", n, err)
			}
		}},
		{"log out everywhere", nil, func(t *testing.T, m *core.Manager, _ *testutil.Clock, _ *core.TokenPair, _ *core.Claims) {
			if err := m.RevokeSubject(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}},
		{"refresh token reuse", nil, func(t *testing.T, m *core.Manager, clock *testutil.Clock, p *core.TokenPair, _ *core.Claims) {
			if _, err := m.Refresh(ctx, p.RefreshToken); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute) // past the grace window
			if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
				t.Fatalf("replayed refresh token: got %v, want ErrRefreshReused", err)
			}
		}},
		{"session limit", []core.Option{core.WithMaxSessions(1)}, func(t *testing.T, m *core.Manager, clock *testutil.Clock, _ *core.TokenPair, _ *core.Claims) {
			clock.Advance(time.Second)
			login(t, m, "alice") // ends the least recently used session: the bound one
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock(connEpoch)
			m := testutil.SuiteManager(t, clock, tc.opts...)
			p, c := login(t, m, "alice")
			conn := bind(t, m, c)
			_, bc := login(t, m, "bob")
			bystander := bind(t, m, bc)
			start := time.Now()
			tc.revoke(t, m, clock, p, c)
			cause, _ := waitEnded(t, conn)
			if took := time.Since(start); took > 5*time.Second { // generous for a loaded CI machine
				t.Errorf("ended %v after the revocation, want within 5s", took)
			}
			if !errors.Is(cause, core.ErrTokenRevoked) {
				t.Fatalf("cause: got %v, want ErrTokenRevoked", cause)
			}
			if got := core.EndReason(cause); got != core.EndTokenRevoked {
				t.Errorf("EndReason: got %q, want %q", got, core.EndTokenRevoked)
			}
			if code, reason := core.WebSocketClose(cause); code != 4003 || reason != "token revoked" {
				t.Errorf("WebSocketClose: got %d %q, want 4003 \"token revoked\"", code, reason)
			}
			if err := bystander.Context().Err(); err != nil {
				t.Errorf("another user's connection ended too: %v", context.Cause(bystander.Context()))
			}
		})
	}
}

// The idle timeout cannot outlive an access token (it is at least the access TTL, counted from
// the last refresh, which issued the token): a connection of an idle session ends by its
// token's expiry at the latest.
func TestBindIdleSession(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock, core.WithIdleTimeout(time.Hour))
	_, c := login(t, m, "alice")
	conn := bind(t, m, c)
	clock.Advance(time.Hour)
	if cause, _ := waitEnded(t, conn); !errors.Is(cause, core.ErrTokenExpired) {
		t.Fatalf("cause: got %v, want ErrTokenExpired", cause)
	}
}

func TestBindReauthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock)
	p, c := login(t, m, "alice")
	conn := bind(t, m, c)

	clock.Advance(4 * time.Minute)
	next, err := m.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := conn.Reauthenticate(ctx, next.AccessToken)
	if err != nil {
		t.Fatalf("Reauthenticate with a token of the same session: %v", err)
	}
	if want := nc.ExpiresAt.Add(testutil.SuiteLeeway); !conn.Deadline().Equal(want) || conn.Claims().TokenID != nc.TokenID {
		t.Fatalf("after Reauthenticate: deadline %v, want %v", conn.Deadline(), want)
	}
	if got := string(core.ReauthAnswer(nc)); got != `{"type":"reauth","exp":`+strconv.FormatInt(nc.ExpiresAt.Unix(), 10)+`}` {
		t.Errorf("ReauthAnswer: got %s", got)
	}
	clock.Advance(2 * time.Minute) // past the first token's deadline, not the second's
	stillLive(t, conn, "after the first token's deadline")
	clock.Advance(4 * time.Minute)
	if cause, _ := waitEnded(t, conn); !errors.Is(cause, core.ErrTokenExpired) {
		t.Fatalf("cause: got %v, want ErrTokenExpired", cause)
	}

	refused := []struct {
		name  string
		token func() string
	}{
		{"another session", func() string { p, _ := login(t, m, "alice"); return p.AccessToken }},
		{"another subject", func() string { p, _ := login(t, m, "bob"); return p.AccessToken }},
		{"garbage", func() string { return "not.a.token" }},
		{"the refresh token", func() string { return next.RefreshToken }},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, c := login(t, m, "alice")
			conn := bind(t, m, c)
			if _, err := conn.Reauthenticate(ctx, tc.token()); !errors.Is(err, core.ErrReauthRefused) {
				t.Fatalf("Reauthenticate: got %v, want ErrReauthRefused", err)
			}
			cause, _ := waitEnded(t, conn)
			if !errors.Is(cause, core.ErrReauthRefused) {
				t.Fatalf("cause: got %v, want ErrReauthRefused", cause)
			}
			if code, _ := core.WebSocketClose(cause); code != 4003 {
				t.Errorf("WebSocketClose: got %d, want 4003", code)
			}
			if core.ReasonCode(cause) != "reauth_refused" {
				t.Errorf("ReasonCode: got %q, want reauth_refused", core.ReasonCode(cause))
			}
		})
	}
}

func TestBindCloseAndParent(t *testing.T) {
	t.Parallel()
	var events atomic.Int32
	m := testutil.SuiteManager(t, testutil.NewClock(connEpoch), core.WithEventHook(func(_ context.Context, e core.Event) {
		if e.Kind == core.EventConnectionEnded && e.Err == nil {
			events.Add(1)
		}
	}))
	_, c := login(t, m, "alice")
	conn := bind(t, m, c)
	conn.Close()
	conn.Close()
	if cause := context.Cause(conn.Context()); !errors.Is(cause, context.Canceled) || core.Ended(conn.Context()) {
		t.Fatalf("after Close: cause %v, want context.Canceled and not Ended", cause)
	}
	parent, cancel := context.WithCancel(context.Background())
	conn, err := m.Bind(parent, c)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitEnded(t, conn)
	// The parent's cancellation reaches conn's context at once; the connection's own end (the
	// count, then the event) runs in the AfterFunc goroutine: wait for both, bounded.
	deadline := time.Now().Add(connTimeout)
	for (m.Connections() != 0 || events.Load() < 2) && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := m.Connections(); n != 0 {
		t.Fatalf("Connections after the parent ended: got %d, want 0", n)
	}
	if n := events.Load(); n != 2 {
		t.Errorf("EventConnectionEnded without error: got %d, want 2", n)
	}
}

// Ten thousand connections of one user, logged out everywhere at once: all end, and the
// goroutines are back to what they were before the first Bind.
func TestBindTenThousand(t *testing.T) {
	const n = 10000
	ctx := context.Background()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock)
	claims := make([]*core.Claims, 100) // a hundred sessions, a hundred connections each
	for i := range claims {
		_, claims[i] = login(t, m, "alice")
	}
	runtime.GC()
	baseline := runtime.NumGoroutine()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]*core.Connection, n)
	for i := range conns {
		conn, err := m.Bind(ctx, claims[i%len(claims)])
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = conn
	}
	runtime.ReadMemStats(&after)
	t.Logf("%d bound connections: %d goroutines more than before, %d bytes allocated per connection",
		n, runtime.NumGoroutine()-baseline, (after.TotalAlloc-before.TotalAlloc)/n)
	if extra := runtime.NumGoroutine() - baseline; extra > 1 {
		t.Errorf("%d bound connections run %d goroutines, want at most 1", n, extra)
	}
	start := time.Now()
	if err := m.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for i, conn := range conns {
		select {
		case <-conn.Context().Done():
		case <-time.After(connTimeout):
			t.Fatalf("connection %d did not end", i)
		}
		if cause := context.Cause(conn.Context()); !errors.Is(cause, core.ErrTokenRevoked) {
			t.Fatalf("connection %d: cause %v, want ErrTokenRevoked", i, cause)
		}
	}
	t.Logf("%d connections ended %v after the revocation", n, time.Since(start))
	for _, conn := range conns {
		conn.Close()
	}
	tick := time.NewTicker(10 * time.Millisecond) // polling for the goroutine to return
	defer tick.Stop()
	for deadline := time.Now().Add(connTimeout); runtime.NumGoroutine() > baseline && time.Now().Before(deadline); {
		<-tick.C
	}
	if got := runtime.NumGoroutine(); got > baseline {
		t.Fatalf("goroutines: got %d, want at most the baseline %d", got, baseline)
	}
	if got := m.Connections(); got != 0 {
		t.Fatalf("Connections: got %d, want 0", got)
	}
}

// countingStore is a store that cannot announce revocations (it hides MemoryStore's
// NotifyRevocations) and counts the revocation lookups.
type countingStore struct {
	core.Store
	revoked atomic.Int64
}

func (s *countingStore) Revoked(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	s.revoked.Add(1)
	return s.Store.Revoked(ctx, subject, jti, sid)
}

// A store that cannot announce revocations is asked every WithConnectionCheckInterval, once
// per token whatever the number of connections bound to it.
func TestBindPollingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(connEpoch)
	mem := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	t.Cleanup(func() { mem.Close() })
	store := &countingStore{Store: mem}
	m := testutil.SuiteManager(t, clock, core.WithStore(store), core.WithConnectionCheckInterval(10*time.Second))
	_, c := login(t, m, "alice")
	conns := make([]*core.Connection, 50)
	for i := range conns {
		conns[i] = bind(t, m, c)
	}
	if err := m.RevokeToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	before := store.revoked.Load()
	clock.Advance(9 * time.Second)
	stillLive(t, conns[0], "before the check interval")
	clock.Advance(time.Second)
	for _, conn := range conns {
		if cause, _ := waitEnded(t, conn); !errors.Is(cause, core.ErrTokenRevoked) {
			t.Fatalf("cause: got %v, want ErrTokenRevoked", cause)
		}
	}
	if got := store.revoked.Load() - before; got != 1 {
		t.Errorf("revocation lookups for 50 connections of one token: got %d, want 1", got)
	}
	if _, err := core.New(core.WithConnectionCheckInterval(time.Millisecond)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("WithConnectionCheckInterval(1ms): got %v, want ErrInvalidConfig", err)
	}
}

// unreachableStore fails every revocation lookup once failing is set.
type unreachableStore struct {
	core.Store
	failing atomic.Bool
}

func (s *unreachableStore) Revoked(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	if s.failing.Load() {
		return core.Revocation{}, errors.New("connection refused")
	}
	return s.Store.Revoked(ctx, subject, jti, sid)
}

// A check that cannot reach the store ends the connection (fail closed), unless
// WithFailOpenRevocation.
func TestBindStoreFailure(t *testing.T) {
	t.Parallel()
	for _, failOpen := range []bool{false, true} {
		clock := testutil.NewClock(connEpoch)
		mem := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
		t.Cleanup(func() { mem.Close() })
		store := &unreachableStore{Store: mem}
		opts := []core.Option{core.WithStore(store), core.WithConnectionCheckInterval(time.Second)}
		if failOpen {
			opts = append(opts, core.WithFailOpenRevocation())
		}
		m := testutil.SuiteManager(t, clock, opts...)
		_, c := login(t, m, "alice")
		conn := bind(t, m, c)
		store.failing.Store(true)
		clock.Advance(time.Second)
		if failOpen {
			stillLive(t, conn, "fail open")
			continue
		}
		cause, _ := waitEnded(t, conn)
		if !errors.Is(cause, core.ErrStoreUnavailable) || core.EndReason(cause) != core.EndUnavailable {
			t.Fatalf("cause: got %v, want ErrStoreUnavailable", cause)
		}
		if code, _ := core.WebSocketClose(cause); code != 1013 {
			t.Errorf("WebSocketClose: got %d, want 1013", code)
		}
	}
}

// Binding, reauthenticating, revoking and closing from many goroutines at once (for -race).
func TestBindConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock)
	var wg sync.WaitGroup
	// Every login before any goroutine starts: a login racing goroutine 3's "log out
	// everywhere" may lose, which is right but not what this test is about.
	type session struct {
		p *core.TokenPair
		c *core.Claims
	}
	var sessions []session
	for range 8 {
		p, c := login(t, m, "alice")
		sessions = append(sessions, session{p, c})
	}
	for i, s := range sessions {
		p, c := s.p, s.c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				conn, err := m.Bind(ctx, c)
				if errors.Is(err, core.ErrTokenRevoked) {
					return // goroutine 3 has logged alice out everywhere: refused, as it must be
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					conn.Reauthenticate(ctx, p.AccessToken)
				}
				conn.Close()
			}
			if i == 3 {
				m.RevokeSubject(ctx, "alice")
			}
			clock.Advance(time.Second)
		}()
	}
	wg.Wait()
	if got := m.Connections(); got != 0 {
		t.Fatalf("Connections: got %d, want 0", got)
	}
}

func TestManagerCloseEndsConnections(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClock(connEpoch))
	_, c := login(t, m, "alice")
	conn := bind(t, m, c)
	m.Close()
	if cause, _ := waitEnded(t, conn); !errors.Is(cause, context.Canceled) {
		t.Fatalf("cause: got %v, want context.Canceled", cause)
	}
}
