// Package faulttest puts a real redis-server under faults while Managers use it: killed during
// load, restarted, and stalled with CLIENT PAUSE. Verification and refresh must fail closed
// with ErrStoreUnavailable (HTTP 503), never accept, leak no goroutines, and recover by themselves.
package faulttest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/redis/go-redis/v9"
)

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

func manager(t *testing.T, client redis.UniversalClient) *core.Manager {
	st, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	// The real clock: the store breaker's cooldown must pass while the test waits for a real
	// redis-server to come back.
	return testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithClock(time.Now))
}

// settle waits (bounded) for the goroutine count to come back to at most base+slack.
func settle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines did not settle: %d, started with %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling a real process state with a deadline, not synchronisation
	}
}

func TestRedisKilledDuringLoad(t *testing.T) {
	rs := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: rs.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: 0})
	defer client.Close()
	base := runtime.NumGoroutine()
	m := manager(t, client)
	ctx := context.Background()
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	var accepted, refused, lost, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := m.Verify(ctx, p.AccessToken)
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, core.ErrStoreUnavailable):
					refused.Add(1)
				case errors.Is(err, core.ErrTokenRevoked):
					lost.Add(1) // issued before Redis came back empty: refused, as it may have been revoked
				default:
					other.Add(1)
				}
			}
		}()
	}
	// Let some requests succeed, kill Redis, let requests fail closed, bring it back.
	waitFor(t, func() bool { return accepted.Load() > 100 })
	rs.Stop()
	before := accepted.Load()
	waitFor(t, func() bool { return refused.Load() > 100 })
	if after := accepted.Load(); after-before > 16 { // at most the requests already past the store
		t.Errorf("%d requests accepted while Redis was down", after-before)
	}
	// Redis comes back without its data: the token, issued before, is refused from then on
	// (its revocation, if any, was lost), and nothing fails any other way.
	rs.Start()
	waitFor(t, func() bool { return lost.Load() > 100 })
	close(stop)
	wg.Wait()
	if other.Load() != 0 {
		t.Fatalf("%d requests failed with an error other than ErrStoreUnavailable", other.Load())
	}
	// A login works again without restarting anything: at once, or - in the second the loss
	// was found in, whose tokens it refuses - after the Retry-After second.
	loginRetrying(t, m, "bob", core.ErrIssuedUnderCutOff)
	t.Logf("accepted %d, refused (503) %d, refused after the data loss %d", accepted.Load(), refused.Load(), lost.Load())
	m.Close()
	client.Close()
	settle(t, base)
}

func TestRedisSlow(t *testing.T) {
	rs := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: rs.Addr, ReadTimeout: 100 * time.Millisecond, MaxRetries: 0})
	defer client.Close()
	m := manager(t, client)
	ctx := context.Background()
	p, _ := m.Issue(ctx, "alice", nil)
	// Another connection stalls every client for 1 s (CLIENT PAUSE: the server answers nothing
	// until the pause ends, as a slow or overloaded server would).
	blocker := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: rs.Addr})
	defer blocker.Close()
	if err := blocker.Do(ctx, "CLIENT", "PAUSE", "1000", "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	waitFor(t, func() bool {
		_, err := m.Verify(ctx, p.AccessToken)
		return errors.Is(err, core.ErrStoreUnavailable)
	})
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("refresh against a stalled Redis: got %v, want ErrStoreUnavailable", err)
	}
	if r := m.HTTP().Problem(core.ErrStoreUnavailable); r.Status != 503 {
		t.Fatalf("status %d, want 503", r.Status)
	}
	waitFor(t, func() bool { _, err := m.Verify(ctx, p.AccessToken); return err == nil })
}

// waitFor polls cond (which talks to real processes) until it holds, for at most 15 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 15s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
