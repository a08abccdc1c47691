package faulttest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestLoginDuringFreezeCreatesNothing: logins answered 503 while redis-server is stopped
// (SIGSTOP) must not create their sessions when it resumes and runs the commands waiting in its
// sockets. Before, 8 clients retrying during a freeze created sessions that, through the session
// cap, ended real ones; now the create script gets the caller's deadline in the server's clock
// and writes nothing past it.
func TestLoginDuringFreezeCreatesNothing(t *testing.T) {
	rs := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	// Real time: the store's deadlines are wall-clock ones, as in production.
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithClock(time.Now),
		core.WithStoreTimeout(200*time.Millisecond), core.WithMaxSessions(4))
	for range 3 {
		if _, err := m.Issue(ctx, "alice", nil); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.Sessions(ctx, "alice")
	if err != nil || len(before) != 3 {
		t.Fatalf("sessions before the freeze: %d (%v), want 3", len(before), err)
	}
	base := connectedClients(t, client)

	if err := syscall.Kill(rs.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var refused, created sync.Map
	for i := range 8 { // 8 clients, each trying twice while Redis is stopped
		wg.Go(func() {
			for j := range 2 {
				_, err := m.Issue(ctx, "alice", nil)
				key := fmt.Sprintf("%d/%d", i, j)
				if errors.Is(err, core.ErrStoreUnavailable) {
					refused.Store(key, true)
				} else {
					created.Store(key, err)
				}
			}
		})
	}
	wg.Wait()
	if err := syscall.Kill(rs.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	created.Range(func(k, v any) bool {
		t.Errorf("login %v while Redis was stopped: got %v, want ErrStoreUnavailable", k, v)
		return true
	})
	// Redis has run every command waiting in the abandoned connections once it has read them
	// to their end and dropped them: wait for the connection count to come back.
	deadline := time.Now().Add(20 * time.Second)
	for connectedClients(t, client) > base {
		if time.Now().After(deadline) {
			t.Fatalf("abandoned connections still open 20 s after SIGCONT")
		}
		time.Sleep(20 * time.Millisecond) // polling a real server's state, not ordering goroutines
	}
	after, err := st.Sessions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 3 {
		t.Fatalf("sessions after the freeze: %d, want the 3 real ones (logins answered 503 must create nothing)", len(after))
	}
	for _, f := range before {
		if !hasSession(after, f.SessionID) {
			t.Errorf("real session %s ended by the freeze", f.SessionID)
		}
	}
	// And logins work again, once the breaker's cooldown (Retry-After) has passed.
	loginRetrying(t, m, "alice", core.ErrStoreUnavailable)
}

// loginRetrying logs subject in as a client honoring Retry-After does: retried every 100 ms while
// the error matches retryable (the breaker's cooldown, the second of a data loss), for at most
// 10 s; any other error fails the test.
func loginRetrying(t *testing.T, m *core.Manager, subject string, retryable error) *core.TokenPair {
	t.Helper()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) { // the Retry-After pause
		p, err := m.Issue(context.Background(), subject, nil)
		if err == nil {
			return p
		}
		if !errors.Is(err, retryable) || time.Since(start) > 10*time.Second {
			t.Fatalf("login of %s: %v", subject, err)
		}
	}
}

func hasSession(list []core.Family, sid string) bool {
	for _, f := range list {
		if f.SessionID == sid {
			return true
		}
	}
	return false
}

var connectedRE = regexp.MustCompile(`connected_clients:(\d+)`)

// connectedClients is the server's connected_clients (INFO clients).
func connectedClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := connectedRE.FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("no connected_clients in INFO: %q", info)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestLoginRetriedAfterLostAnswer: a login whose answer is held back past the store deadline
// (the command ran at once, only its reply is late: a congested network) is answered 503 although
// Redis recorded the session. The client retries with the same Idempotency-Key and gets that
// session - one session, not two - and a retry with another key is a new login.
func TestLoginRetriedAfterLostAnswer(t *testing.T) {
	rs := testutil.StartRedis(t)
	proxy := startDelayProxy(t, rs.Addr)
	client := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithClock(time.Now),
		core.WithStoreTimeout(200*time.Millisecond))
	// A first login loads the script into Redis (EVALSHA would otherwise answer NOSCRIPT, late).
	if _, err := m.Issue(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	proxy.delay.Store(int64(time.Second))
	if _, err := m.Issue(ctx, "alice", nil, core.WithIdempotencyKey("login-1")); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("login with its answer held back: got %v, want ErrStoreUnavailable", err)
	}
	proxy.delay.Store(0)
	var recorded []core.Family
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) { // the late reply drains
		if recorded, err = st.Sessions(ctx, "alice"); err == nil && len(recorded) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first attempt's session was not recorded: %d sessions, %v", len(recorded), err)
		}
	}
	var p *core.TokenPair
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) { // past Retry-After
		if p, err = m.Issue(ctx, "alice", nil, core.WithIdempotencyKey("login-1")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry with the same key: %v", err)
		}
	}
	if p.SessionID != recorded[0].SessionID {
		t.Fatalf("retry with the same key: session %s, want the first attempt's %s", p.SessionID, recorded[0].SessionID)
	}
	if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 1 {
		t.Fatalf("sessions after the retry: %d (%v), want 1", len(list), err)
	}
	if _, err := m.Verify(ctx, p.AccessToken); err != nil {
		t.Errorf("the retry's access token: %v", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); err != nil {
		t.Errorf("the retry's refresh token: %v", err)
	}
	if q, err := m.Issue(ctx, "alice", nil, core.WithIdempotencyKey("login-2")); err != nil || q.SessionID == p.SessionID {
		t.Errorf("a login with another key: got %v (same session %v), want a new session", err, err == nil && q.SessionID == p.SessionID)
	}
}

// TestLogoutSurvivesFailover: a master with one replica. While the replica is stopped (SIGSTOP)
// a logout cannot be replicated: with the replication wait (on by default when the master has
// replicas) it is not acknowledged (ErrStoreUnavailable) instead of answering success. Once the
// replica runs again the retried logout is acknowledged; then the master is killed by PID and
// the replica promoted (as Sentinel would): the logged-out token is still refused. Without the
// wait the first logout answers success and the promotion loses it - tried.
func TestLogoutSurvivesFailover(t *testing.T) {
	master, replica := testutil.StartRedis(t), testutil.StartRedis(t)
	host, port, _ := strings.Cut(master.Addr, ":")
	replica.Do("REPLICAOF", host, port)
	waitReplication(t, replica)
	client := redis.NewClient(&redis.Options{Addr: master.Addr, ContextTimeoutEnabled: true})
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithClock(time.Now),
		core.WithStoreTimeout(2*time.Second))
	p := loginRetrying(t, m, "alice", core.ErrIssuedUnderCutOff) // past a loss's second, if any

	if err := syscall.Kill(replica.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(replica.PID(), syscall.SIGCONT)
		}
	}()
	if err := m.Logout(ctx, p.AccessToken, ""); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("logout while the replica cannot receive it: got %v, want ErrStoreUnavailable (not acknowledged)", err)
	}
	if err := syscall.Kill(replica.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	if err := m.Logout(ctx, p.AccessToken, ""); err != nil {
		t.Fatalf("logout retried with the replica back: %v", err)
	}

	master.Stop() // killed right after the logout returned
	replica.Do("REPLICAOF", "NO", "ONE")
	promoted := redis.NewClient(&redis.Options{Addr: replica.Addr, ContextTimeoutEnabled: true})
	defer promoted.Close()
	st2, err := redisstore.New(promoted)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	m2 := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st2), core.WithClock(time.Now))
	if _, err := m2.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("the logged-out token on the promoted replica: got %v, want ErrTokenRevoked", err)
	}
}

// waitReplication waits until replica's link to its master is up and the initial sync is done.
func waitReplication(t testing.TB, replica *testutil.RedisServer) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") && !strings.Contains(info, "master_sync_in_progress:1") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not sync: %s", info)
		}
	}
}

// BenchmarkLogoutReplicationWait measures what the replication wait costs a logout: a master
// with one replica on loopback, RevokeFamily with and without WAIT.
func BenchmarkLogoutReplicationWait(b *testing.B) {
	master, replica := testutil.StartRedis(b), testutil.StartRedis(b)
	host, port, _ := strings.Cut(master.Addr, ":")
	replica.Do("REPLICAOF", host, port)
	waitReplication(b, replica)
	for _, tc := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"wait", nil},
		{"nowait", []redisstore.Option{redisstore.WithoutReplicationWait()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := redis.NewClient(&redis.Options{Addr: master.Addr, ContextTimeoutEnabled: true})
			defer client.Close()
			st, err := redisstore.New(client, tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			until := time.Now().Add(time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := st.RevokeFamily(ctx, "alice", fmt.Sprintf("sid-%d", i), until); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
