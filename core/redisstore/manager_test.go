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
	if r := m.Problem(err); r.Status != 503 {
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
