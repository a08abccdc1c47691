package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// managers builds n Managers (as n service instances would be) sharing one Redis.
func managers(t *testing.T, rs *testutil.RedisServer, n int, opts ...core.Option) []*core.Manager {
	t.Helper()
	stores := redisStores(t, rs, n)
	// The clock starts after the stores: the first one found no loss markers on the new Redis
	// and refuses tokens issued until then.
	return managersOn(t, stores, testutil.NewClockNow(), opts...)
}

func redisStores(t *testing.T, rs *testutil.RedisServer, n int) []*redisstore.Store {
	t.Helper()
	var out []*redisstore.Store
	for range n {
		st, err := redisstore.New(redisstore.ServerClient(t, rs))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

func managersOn(t *testing.T, stores []*redisstore.Store, clock *testutil.Clock, opts ...core.Option) []*core.Manager {
	t.Helper()
	var out []*core.Manager
	for _, st := range stores {
		// A generous store deadline: these tests are about who wins, under a load (100
		// goroutines, the race detector, two shared cores) that a 300 ms deadline does not fit.
		m := testutil.SuiteManager(t, clock, append([]core.Option{core.WithStore(st), core.WithStoreTimeout(5 * time.Second)}, opts...)...)
		out = append(out, m)
	}
	return out
}

func jtiOf(t testing.TB, tok string) string {
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return c["jti"].(string)
}

// 100 goroutines spread over 3 instances present the same refresh token at once, 50 times.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	rs := testutil.StartRedis(t)
	ctx := context.Background()
	for _, grace := range []time.Duration{0, 10 * time.Second} {
		ms := managers(t, rs, 3, core.WithRefreshGrace(grace))
		for round := 0; round < 50; round++ {
			p, err := ms[0].Issue(ctx, "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var wins []*core.TokenPair
			var reused, other int
			start := make(chan struct{})
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func(m *core.Manager) {
					defer wg.Done()
					<-start
					np, err := m.Refresh(ctx, p.RefreshToken)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins = append(wins, np)
					case errors.Is(err, core.ErrRefreshReused):
						reused++
					case errors.Is(err, core.ErrInvalidGrant):
						other++
					default:
						t.Errorf("unexpected error %v", err)
					}
				}(ms[i%3])
			}
			close(start)
			wg.Wait()
			if grace == 0 {
				// One rotation wins; the first loser is a replay of a retired token, which
				// revokes the family; everyone after finds no family.
				if len(wins) != 1 || reused != 1 || other != 98 {
					t.Fatalf("grace 0, round %d: %d wins, %d reused, %d other; want 1, 1, 98", round, len(wins), reused, other)
				}
				if _, err := ms[1].Refresh(ctx, wins[0].RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
					t.Fatalf("round %d: the family must end revoked, got %v", round, err)
				}
				continue
			}
			if len(wins) != 100 {
				t.Fatalf("grace, round %d: %d of 100 succeeded", round, len(wins))
			}
			jti := jtiOf(t, wins[0].RefreshToken)
			for _, w := range wins {
				if got := jtiOf(t, w.RefreshToken); got != jti {
					t.Fatalf("grace, round %d: refresh jti %s and %s: the family forked", round, got, jti)
				}
			}
			if _, err := ms[2].Refresh(ctx, wins[0].RefreshToken); err != nil {
				t.Fatalf("grace, round %d: the current token must keep working: %v", round, err)
			}
		}
	}
}

// Redis stopped mid-test: refresh and revocation-checked verification fail closed with the store
// error; once Redis is back - empty: it kept no data - tokens issued before are refused, and new
// logins work without restarting anything.
func TestRedisDownFailsClosed(t *testing.T) {
	rs := testutil.StartRedis(t)
	ctx := context.Background()
	stores := redisStores(t, rs, 1)
	clock := testutil.NewClockNow()
	m := managersOn(t, stores, clock)[0]
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	ctxT, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := m.Verify(ctxT, p.AccessToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("verify with Redis down: got %v, want ErrStoreUnavailable", err)
	}
	if _, err := m.Refresh(ctxT, p.RefreshToken); !errors.Is(err, core.ErrStoreUnavailable) || errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("refresh with Redis down: got %v, want ErrStoreUnavailable", err)
	}
	_, err = m.Issue(ctxT, "alice", nil)
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("login with Redis down: got %v, want ErrStoreUnavailable", err)
	}
	if r := m.HTTP().Problem(err); r.Status != 503 {
		t.Fatalf("status: got %d, want 503", r.Status)
	}
	rs.Start()
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("verify a token issued before Redis lost its data: got %v, want ErrTokenRevoked", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); err == nil {
		t.Fatal("refresh a session Redis lost: got nil error, want a refusal")
	}
	clock.Set(time.Now().Add(time.Second)) // iat is in whole seconds: issue after the loss's second
	p2, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatalf("login after Redis is back: %v", err)
	}
	if _, err := m.Verify(ctx, p2.AccessToken); err != nil {
		t.Fatalf("verify after Redis is back: %v", err)
	}
	if _, err := m.Refresh(ctx, p2.RefreshToken); err != nil {
		t.Fatalf("refresh after Redis is back: %v", err)
	}
}

// skewedManager is one instance whose clock runs off by skew, sharing the Redis of rs.
func skewedManager(t *testing.T, rs *testutil.RedisServer, skew, grace time.Duration) *core.Manager {
	t.Helper()
	// Fresh markers: a first start counts as a loss at the server's time, which would refuse the
	// tokens of the instance whose clock is behind; that is the loss guard's business, not this
	// test's.
	st, err := redisstore.New(redisstore.ServerClient(t, rs), redisstore.WithFreshMarkers())
	if err != nil {
		t.Fatal(err)
	}
	return testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st),
		core.WithClock(func() time.Time { return time.Now().Add(skew) }),
		core.WithLeeway(10*time.Second), core.WithRefreshGrace(grace), core.WithStoreTimeout(5*time.Second),
		core.WithoutSessionChurnLimit()) // 50 rounds of reuse for one user
}

// TestSkewedClocksDecideAlike: two instances whose clocks are 5 ms and 6 s apart decide reuse and
// grace exactly as one instance would, because rotation decides by the Redis server's clock. With
// grace 0 an immediate replay on the other instance is reuse; with grace 5 s it is a grace replay,
// whichever instance is ahead.
func TestSkewedClocksDecideAlike(t *testing.T) {
	rs := testutil.StartRedis(t)
	ctx := context.Background()
	for _, skew := range []time.Duration{5 * time.Millisecond, 6 * time.Second} {
		for _, grace := range []time.Duration{0, 5 * time.Second} {
			// a rotates, b replays: once with b behind, once with b ahead.
			for _, order := range []struct{ a, b time.Duration }{{0, -skew}, {-skew, 0}} {
				a, b := skewedManager(t, rs, order.a, grace), skewedManager(t, rs, order.b, grace)
				const rounds = 50
				var replayed, reused int
				for i := 0; i < rounds; i++ {
					p, err := a.Issue(ctx, "alice", nil)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := a.Refresh(ctx, p.RefreshToken); err != nil {
						t.Fatalf("rotation: %v", err)
					}
					_, err = b.Refresh(ctx, p.RefreshToken)
					switch {
					case err == nil:
						replayed++
					case errors.Is(err, core.ErrRefreshReused):
						reused++
					default:
						t.Fatalf("replay on the other instance: %v", err)
					}
				}
				want := rounds // grace: every replay is a grace replay
				got := replayed
				if grace == 0 {
					got = reused // no grace: every replay is reuse
				}
				if got != want {
					t.Errorf("clocks %v and %v apart, grace %v: %d replays answered, %d reuse verdicts of %d; want all %s",
						order.a, order.b, grace, replayed, reused, rounds, map[bool]string{true: "reuse", false: "grace"}[grace == 0])
				}
			}
		}
	}
}

// TestCanceledClientIsNotAStoreFailure: a request whose client went away (its context canceled)
// gets ErrRequestCanceled and no store-failure event, and does not count towards the breaker.
func TestCanceledClientIsNotAStoreFailure(t *testing.T) {
	rs := testutil.StartRedis(t)
	st, err := redisstore.New(redisstore.ServerClient(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	var failures int
	var mu sync.Mutex
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithStoreBreaker(1, time.Minute),
		core.WithEventHook(func(_ context.Context, e core.Event) {
			if e.Kind == core.EventStoreFailure {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		}))
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 3; i++ {
		if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrRequestCanceled) || errors.Is(err, core.ErrStoreUnavailable) {
			t.Fatalf("verify with a canceled context: got %v, want ErrRequestCanceled and not ErrStoreUnavailable", err)
		}
	}
	if failures != 0 {
		t.Fatalf("store-failure events for canceled clients: got %d, want 0", failures)
	}
	// The breaker (1 failure opens it) is still closed: the next client is served.
	if _, err := m.Verify(context.Background(), p.AccessToken); err != nil {
		t.Fatalf("verify after canceled clients: %v", err)
	}
	if r := m.HTTP().Problem(core.ErrRequestCanceled); r.Status != 503 || r.RetryAfter == "" {
		t.Fatalf("answer to a canceled request: got %d Retry-After %q, want 503 with Retry-After", r.Status, r.RetryAfter)
	}
}

// TestFailOpenRevocation: with WithFailOpenRevocation and Redis down, a token that passes every
// stateless check is accepted and reported; a forged or expired one is still refused; refresh,
// login and logout still fail closed.
func TestFailOpenRevocation(t *testing.T) {
	rs := testutil.StartRedis(t)
	st, err := redisstore.New(redisstore.ServerClient(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	clock := testutil.NewClockNow()
	var skipped []core.Event
	var mu sync.Mutex
	m := testutil.SuiteManager(t, clock, core.WithStore(st), core.WithFailOpenRevocation(),
		core.WithEventHook(func(_ context.Context, e core.Event) {
			if e.Kind == core.EventRevocationSkipped {
				mu.Lock()
				skipped = append(skipped, e)
				mu.Unlock()
			}
		}))
	ctx := context.Background()
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	for i := 0; i < 3; i++ {
		c, err := m.Verify(ctx, p.AccessToken)
		if err != nil || c.Subject != "alice" {
			t.Fatalf("fail-open verify with Redis down: got %v, %v; want alice accepted", c, err)
		}
	}
	if len(skipped) != 3 || skipped[0].Subject != "alice" || skipped[0].Err == nil {
		t.Fatalf("EventRevocationSkipped: got %d events (%+v), want 3 naming alice and the store error", len(skipped), skipped)
	}
	if _, err := m.Verify(ctx, testutil.Tamper(p.AccessToken)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("forged token with Redis down: got %v, want ErrSignature", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("refresh with Redis down: got %v, want ErrStoreUnavailable (fail closed)", err)
	}
	if _, err := m.Issue(ctx, "bob", nil); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("login with Redis down: got %v, want ErrStoreUnavailable (fail closed)", err)
	}
	if err := m.Logout(ctx, p.AccessToken, ""); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("logout with Redis down: got %v, want ErrStoreUnavailable (fail closed)", err)
	}
	clock.Advance(testutil.SuiteAccessTTL + testutil.SuiteLeeway)
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("expired token with Redis down: got %v, want ErrTokenExpired", err)
	}
}
