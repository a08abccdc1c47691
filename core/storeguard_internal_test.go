package core

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The breaker's state machine, step by step on explicit times: closed until `failures` errors in
// a row, open (refusing) for the cooldown, then one probe at a time; the probe's outcome closes or
// reopens it, and a probe whose caller went away is forgotten.
func TestBreaker(t *testing.T) {
	g := storeGuardConfig{failures: 3, cooldown: time.Second}
	var b breaker
	t0 := time.Unix(1000, 0)
	must := func(step string, now time.Time, wantOK, wantProbe bool) bool {
		t.Helper()
		ok, probe := b.allow(now)
		if ok != wantOK || probe != wantProbe {
			t.Fatalf("%s: allow = (%v, %v), want (%v, %v)", step, ok, probe, wantOK, wantProbe)
		}
		return probe
	}
	for i := 0; i < 2; i++ {
		must("closed", t0, true, false)
		if b.done(false, false, t0, &g) {
			t.Fatalf("failure %d opened the breaker, want it open only at the 3rd", i+1)
		}
	}
	must("closed", t0, true, false)
	b.done(true, false, t0, &g) // a success resets the count
	for i := 0; i < 3; i++ {
		must("closed", t0, true, false)
		opened := b.done(false, false, t0, &g)
		if opened != (i == 2) {
			t.Fatalf("failure %d after a success: opened %v, want %v", i+1, opened, i == 2)
		}
	}
	must("open", t0.Add(999*time.Millisecond), false, false)
	probe := must("half-open", t0.Add(time.Second), true, true)
	must("a second caller while the probe is out", t0.Add(time.Second), false, false)
	b.release(probe) // the probe's client went away: nothing learnt
	probe = must("half-open again", t0.Add(time.Second), true, true)
	b.done(false, probe, t0.Add(time.Second), &g) // the probe failed: open for another cooldown
	must("reopened", t0.Add(1500*time.Millisecond), false, false)
	probe = must("next probe", t0.Add(2*time.Second), true, true)
	b.done(true, probe, t0.Add(2*time.Second), &g)
	must("closed after a successful probe", t0.Add(2*time.Second), true, false)
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		cooldown time.Duration
		want     string
	}{{10 * time.Millisecond, "1"}, {500 * time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Minute, "60"}} {
		if got := (storeGuardConfig{cooldown: tc.cooldown}).retryAfter(); got != tc.want {
			t.Errorf("cooldown %v: Retry-After %q, want %q", tc.cooldown, got, tc.want)
		}
	}
}

func TestStoreGuardOptions(t *testing.T) {
	for _, o := range []Option{WithStoreTimeout(0), WithStoreTimeout(11 * time.Second), WithStoreBreaker(0, time.Second),
		WithStoreBreaker(1, time.Millisecond), WithStoreBreaker(1, 2*time.Minute), WithTrustedOrigins("evil.example"),
		WithTrustedOrigins("https://a.example/path"), WithTrustedOrigins("ftp://a.example")} {
		c := defaultConfig()
		if err := o(&c); err == nil {
			t.Errorf("option accepted, want a configuration error")
		}
	}
}

// wrappedStore is a real MemoryStore behind a type the Manager does not recognise, so its calls
// go through the guard as a remote store's would.
type wrappedStore struct{ *MemoryStore }

// A half-open probe that panics is a failed probe: the breaker opens for another cooldown, then
// lets one call probe again (neither refused forever nor probing on every request).
func TestBreakerProbePanic(t *testing.T) {
	m := testManager(t, WithStore(wrappedStore{NewMemoryStore()}))
	m.breaker.openUntil = time.Unix(1, 0) // open, cooldown long over: the next call is the probe
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the probe's panic was swallowed")
			}
		}()
		_ = m.call(t.Context(), StoreOpRevoked, "probe", "alice", func(context.Context) error { panic("store bug") })
	}()
	now := m.cfg.now()
	if ok, _ := m.breaker.allow(now); ok {
		t.Fatal("after a panicking probe the breaker lets calls through, want it open for a cooldown")
	}
	if ok, probe := m.breaker.allow(now.Add(m.cfg.guard.cooldown + time.Second)); !ok || !probe {
		t.Fatalf("a cooldown after a panicking probe: allow = (%v, %v), want another probe (true, true)", ok, probe)
	}
}

// shardedStore is a memory store split into two named shards by the subject's first letter,
// the "b" shard failing on command: a Cluster with one master down.
type shardedStore struct {
	*MemoryStore
	bDown atomic.Bool
}

func (s *shardedStore) Shard(subject string) string { return subject[:1] }

func (s *shardedStore) Revoked(ctx context.Context, subject, jti, sid string) (Revocation, error) {
	if subject[0] == 'b' && s.bDown.Load() {
		return Revocation{}, errors.New("connection refused")
	}
	return s.MemoryStore.Revoked(ctx, subject, jti, sid)
}

// With a ShardedStore the breaker is per shard: a failing shard opens its own breaker and the
// other shard's subjects are served throughout; without sharding one breaker covers all.
func TestBreakerPerShard(t *testing.T) {
	st := &shardedStore{MemoryStore: NewMemoryStore()}
	m := testManager(t, WithStore(st), WithStoreBreaker(3, time.Minute))
	ctx := t.Context()
	a, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Issue(ctx, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	st.bDown.Store(true)
	for i := range 5 { // failures in a row: enough to open a breaker
		if _, err := m.Verify(ctx, b.AccessToken); !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("bob #%d with his shard down: got %v, want ErrStoreUnavailable", i, err)
		}
	}
	if _, err := m.Verify(ctx, b.AccessToken); !errors.Is(err, errBreakerOpen) {
		t.Errorf("bob after 5 failures: got %v, want his shard's breaker open", err)
	}
	for i := range 10 {
		if _, err := m.Verify(ctx, a.AccessToken); err != nil {
			t.Fatalf("alice #%d with the other shard down: got %v, want served", i, err)
		}
	}
	if ok, _ := m.breaker.allow(m.cfg.now()); !ok {
		t.Error("the store-wide breaker opened for one shard's failures")
	}
}
