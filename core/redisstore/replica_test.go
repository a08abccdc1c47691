package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/storetest"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// waitDeadline bounds every wait for the replica: far above the few milliseconds propagation
// and resync take, so only a real failure hits it (also under -race on a loaded machine).
const waitDeadline = 20 * time.Second

// waitFor polls cond until it holds, failing the test after waitDeadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitDeadline, what)
		}
		<-tick.C
	}
}

// withReplicaTimings shortens the replica's sweep interval and overflow retry.
func withReplicaTimings(sweep, fullRetry time.Duration) Option {
	return func(c *config) { c.sweepInterval, c.fullRetry = sweep, fullRetry }
}

// newReplicaStore returns a store with the local replica on, under a prefix of its own (or the
// given one), closed when the test ends, and waits until its replica is in sync.
func newReplicaStore(t testing.TB, client redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1))), WithLocalReplica(), withFreshMarkers()}, opts...)
	s, err := New(client, opts...)
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	waitInSync(t, s)
	return s
}

func waitInSync(t testing.TB, s *Store) {
	t.Helper()
	waitFor(t, "the replica to be in sync", func() bool { return s.ReplicaStats().InSync })
}

// local answers from the replica only, never from Redis; it fails the test when the replica
// is out of sync.
func local(t testing.TB, s *Store, subject, jti, sid string) core.Revocation {
	t.Helper()
	r, ok, err := s.replica.lookup(subject, jti, sid)
	if !ok {
		t.Fatalf("replica lookup(%q, %q, %q): replica out of sync", subject, jti, sid)
	}
	if err != nil {
		t.Fatalf("replica lookup(%q, %q, %q): got error %v", subject, jti, sid, err)
	}
	return r
}

// clientWithHook returns a new client for srv that counts the commands it sends.
func clientWithHook(t testing.TB, addr string) (*redis.Client, *countingHook) {
	t.Helper()
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	hook := &countingHook{}
	client.AddHook(hook)
	return client, hook
}

// checkedStore compares every Revoked answer of the replica with Redis's.
type checkedStore struct {
	*Store
	t *testing.T
}

func (c checkedStore) Revoked(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	c.t.Helper()
	remote, rerr := c.revokedRemote(ctx, subject, jti, sid)
	rev, err := c.Store.Revoked(ctx, subject, jti, sid)
	if !c.ReplicaStats().InSync {
		c.t.Errorf("Revoked(%q, %q, %q): replica out of sync", subject, jti, sid)
	}
	if (err == nil) != (rerr == nil) || rev.TokenDenied != remote.TokenDenied ||
		rev.SessionRevoked != remote.SessionRevoked || !rev.CutOff.Equal(remote.CutOff) {
		c.t.Errorf("Revoked(%q, %q, %q): replica answered (%+v, %v), Redis (%+v, %v)", subject, jti, sid, rev, err, remote, rerr)
	}
	return rev, err
}

// The conformance suite with the replica on: every Revoked is answered by the replica, and
// checked against Redis's answer.
func TestStoreSuiteReplica(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	storetest.Run(t, func(t *testing.T, _ *testutil.Clock) core.Store {
		s := newReplicaStore(t, client)
		s.requestClock = true // the suite drives rotation decisions with its fake clock
		return checkedStore{s, t}
	}, storetest.Options{
		RealTime: true,
		TTL: func(t *testing.T, s core.Store, kind storetest.RecordKind, subject, id string) (time.Duration, bool) {
			t.Helper()
			key := s.(checkedStore).key(kind, subject, id)
			ttl, err := client.PTTL(context.Background(), key).Result()
			if err != nil {
				t.Fatalf("PTTL %s: %v", key, err)
			}
			switch ttl {
			case -2:
				return 0, false
			case -1:
				return -1, true
			}
			return ttl, true
		},
	})
}

func TestNewReplicaOptions(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	ring := redis.NewRing(&redis.RingOptions{ContextTimeoutEnabled: true, Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { _ = ring.Close() })
	cases := []struct {
		name   string
		client redis.UniversalClient
		opts   []Option
	}{
		{"zero ping interval", client, []Option{WithLocalReplica(), WithReplicaPingInterval(0)}},
		{"negative ping interval", client, []Option{WithLocalReplica(), WithReplicaPingInterval(-time.Second)}},
		{"zero bound", client, []Option{WithLocalReplica(), WithReplicaMaxEntries(0)}},
		{"ring", ring, []Option{WithLocalReplica()}},
	}
	for _, tc := range cases {
		if _, err := New(tc.client, tc.opts...); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: got error %v, want one matching core.ErrInvalidConfig", tc.name, err)
		}
	}
	// A ring without the replica is accepted, as before.
	if _, err := New(ring); err != nil {
		t.Errorf("ring without replica: got error %v, want nil", err)
	}
	s, err := New(client)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ReplicaStats(); got != (ReplicaStats{}) {
		t.Errorf("ReplicaStats without replica: got %+v, want zero", got)
	}
}

// With the replica in sync, Revoked sends nothing to Redis, and answers as Redis would.
func TestReplicaRevokedMakesNoCommands(t *testing.T) {
	// Not parallel: it counts allocations.
	srv := testutil.StartRedis(t)
	client, hook := clientWithHook(t, srv.Addr)
	s := newReplicaStore(t, client)
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Hour)
	if err := s.DenyToken(ctx, "alice", "jti-1", until); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "alice", "sid-1", until); err != nil {
		t.Fatal(err)
	}
	if err := s.CutOff(ctx, "bob", now, until); err != nil {
		t.Fatal(err)
	}
	hook.take()

	cases := []struct {
		subject, jti, sid string
		want              core.Revocation
	}{
		{"alice", "jti-1", "sid-1", core.Revocation{TokenDenied: true, SessionRevoked: true}},
		{"alice", "jti-2", "sid-2", core.Revocation{}},
		{"alice", "", "", core.Revocation{}},
		{"bob", "jti-1", "sid-1", core.Revocation{CutOff: time.UnixMilli(now.UnixMilli()).UTC()}},
		{"carol", "jti-1", "sid-1", core.Revocation{}},
	}
	for range 100 {
		for _, tc := range cases {
			got, err := s.Revoked(ctx, tc.subject, tc.jti, tc.sid)
			if err != nil || got != tc.want {
				t.Fatalf("Revoked(%q, %q, %q): got (%+v, %v), want (%+v, nil)", tc.subject, tc.jti, tc.sid, got, err, tc.want)
			}
		}
	}
	if got := hook.takeQueries(); len(got) != 0 {
		t.Errorf("Revoked with the replica in sync sent %d commands %q, want none", len(got), got)
	}
	if got := testing.AllocsPerRun(100, func() { _, _ = s.Revoked(ctx, "alice", "jti-1", "sid-1") }); got != 0 {
		t.Errorf("Revoked from the replica: got %v allocations, want 0", got)
	}
}

// A revocation written through one store (instance) is in the replica of another, for every kind
// of record, including the sid mark Rotate writes on reuse and records written by a store
// without the replica (the scripts always announce).
func TestReplicaPropagation(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	clientA, clientB := serverClient(t, srv), redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
	t.Cleanup(func() { _ = clientB.Close() })
	a := newReplicaStore(t, clientA, prefix)
	b := newReplicaStore(t, clientB, prefix)
	plain, err := New(clientA, prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Hour)

	seen := func(what string, cond func(core.Revocation) bool, subject, jti, sid string) {
		t.Helper()
		waitFor(t, what+" in the other store's replica", func() bool { return cond(local(t, b, subject, jti, sid)) })
	}
	if err := a.DenyToken(ctx, "alice", "jti-1", until); err != nil {
		t.Fatal(err)
	}
	seen("denied jti", func(r core.Revocation) bool { return r.TokenDenied }, "alice", "jti-1", "")
	if err := a.RevokeFamily(ctx, "alice", "sid-1", until); err != nil {
		t.Fatal(err)
	}
	seen("revoked sid", func(r core.Revocation) bool { return r.SessionRevoked }, "alice", "", "sid-1")
	if err := a.CutOff(ctx, "alice", now, until); err != nil {
		t.Fatal(err)
	}
	seen("cut-off", func(r core.Revocation) bool { return r.CutOff.Equal(time.UnixMilli(now.UnixMilli())) }, "alice", "", "")
	// A later cut-off replaces it.
	later := now.Add(time.Minute)
	if err := a.CutOff(ctx, "alice", later, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	seen("later cut-off", func(r core.Revocation) bool { return r.CutOff.Equal(time.UnixMilli(later.UnixMilli())) }, "alice", "", "")

	// Reuse detected by Rotate marks the sid revoked.
	f := core.Family{SessionID: "sid-2", Subject: "{odd}:subject", Current: "jti-a", CurrentIssuedAt: now,
		CurrentExpires: until, Expires: until}
	if _, err := a.CreateFamily(ctx, f, core.SessionLimit{}); err != nil {
		t.Fatal(err)
	}
	_, res, err := a.Rotate(ctx, core.RotateRequest{Subject: f.Subject, SessionID: "sid-2", Presented: "jti-old",
		PresentedIssuedAt: now, Next: "jti-b", NextIssuedAt: now, NextExpires: until, Now: now, Grace: 0,
		RevokeUntil: now.Add(15 * time.Minute)})
	if err != nil || res != core.RotateReused {
		t.Fatalf("Rotate: got (%v, %v), want (reused, nil)", res, err)
	}
	if !local(t, a, f.Subject, "", "sid-2").SessionRevoked {
		t.Error("the rotating store's own replica does not have the sid mark right after Rotate")
	}
	seen("sid revoked on reuse", func(r core.Revocation) bool { return r.SessionRevoked }, f.Subject, "", "sid-2")

	// A store without the replica announces its writes too.
	if err := plain.DenyToken(ctx, "", "jti:with:colons", until); err != nil {
		t.Fatal(err)
	}
	seen("jti denied by a store without replica", func(r core.Revocation) bool { return r.TokenDenied }, "", "jti:with:colons", "")
	// Nothing leaks to other subjects or ids.
	if r := local(t, b, "bob", "jti-1", "sid-1"); r != (core.Revocation{}) {
		t.Errorf("replica for another subject: got %+v, want nothing revoked", r)
	}
}

// Redis stopped: the replica goes out of sync and Revoked fails closed; back up, it resyncs.
func TestReplicaFailsClosedWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, PoolSize: 64})
	t.Cleanup(func() { _ = client.Close() })
	s := newReplicaStore(t, client)
	ctx := context.Background()
	if err := s.DenyToken(ctx, "alice", "jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	resyncs := s.ReplicaStats().Resyncs

	srv.Stop()
	waitFor(t, "the replica to go out of sync", func() bool { return !s.ReplicaStats().InSync })
	ctxT, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, q := range [][2]string{{"jti-1", ""}, {"jti-2", "sid-2"}} {
		if _, err := s.Revoked(ctxT, "alice", q[0], q[1]); err == nil {
			t.Errorf("Revoked(alice, %q, %q) with Redis down: got nil error, want an error (fail closed)", q[0], q[1])
		}
	}

	srv.Start()
	waitFor(t, "a resync after restart", func() bool {
		st := s.ReplicaStats()
		return st.InSync && st.Resyncs > resyncs
	})
	// The restarted server is empty, and so is the replica now.
	if r := local(t, s, "alice", "jti-1", ""); r.TokenDenied {
		t.Error("after resync with an empty server: got jti-1 denied, want the replica to match Redis")
	}
}

// gate lets a test refuse new connections of one client.
type gate struct{ closed atomic.Bool }

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.closed.Load() {
		return nil, errors.New("gate closed")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Records written while a store was disconnected (its subscription could not see them) are in
// its replica after it reconnects to the restarted server: the resync found them.
func TestReplicaResyncAfterRestart(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	g := &gate{}
	clientB := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr, Dialer: g.dial, MaxRetries: -1, DialerRetries: 1, PoolSize: 64})
	t.Cleanup(func() { _ = clientB.Close() })
	hook := &countingHook{}
	clientB.AddHook(hook)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	b := newReplicaStore(t, clientB, prefix)
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Hour)
	if err := b.DenyToken(ctx, "alice", "jti-before", until); err != nil {
		t.Fatal(err)
	}
	// b's own announcement comes back on its subscription; count messages from then on.
	waitFor(t, "b's own message", func() bool { return b.ReplicaStats().Messages > 0 })
	resyncs, messages := b.ReplicaStats().Resyncs, b.ReplicaStats().Messages

	g.closed.Store(true)
	srv.Stop()
	waitFor(t, "the replica to go out of sync", func() bool { return !b.ReplicaStats().InSync })
	srv.Start()

	// Another instance writes while b cannot connect.
	a, err := New(serverClient(t, srv), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DenyToken(ctx, "alice", "jti-during", until); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeFamily(ctx, "alice", "sid-during", until); err != nil {
		t.Fatal(err)
	}
	if err := a.CutOff(ctx, "bob", now, until); err != nil {
		t.Fatal(err)
	}
	// Issued after the loss the restart caused (a login in the loss's second is refused).
	f := core.Family{SessionID: "sid-fam", Subject: "alice", Current: "jti-x", CurrentIssuedAt: time.Now().Add(2 * time.Second).Truncate(time.Second),
		CurrentExpires: until, Expires: until}
	if _, err := a.CreateFamily(ctx, f, core.SessionLimit{}); err != nil { // families are not replicated
		t.Fatal(err)
	}
	if st := b.ReplicaStats(); st.InSync || st.Resyncs != resyncs {
		t.Fatalf("replica while disconnected: got %+v, want out of sync and no resync", st)
	}

	g.closed.Store(false)
	waitFor(t, "a resync after reconnecting", func() bool {
		st := b.ReplicaStats()
		return st.InSync && st.Resyncs > resyncs
	})
	if st := b.ReplicaStats(); st.Messages != messages {
		t.Errorf("replica applied %d new messages, want none: the records must come from the resync", st.Messages-messages)
	}
	hook.take()
	if r := local(t, b, "alice", "jti-during", "sid-during"); !r.TokenDenied || !r.SessionRevoked {
		t.Errorf("records written while disconnected: got %+v, want denied and revoked", r)
	}
	// The restart lost the data: the loss (recorded by a's New) is a cut-off for every subject,
	// later than bob's own.
	if r := local(t, b, "bob", "", ""); r.CutOff.Before(time.UnixMilli(now.UnixMilli())) {
		t.Errorf("cut-off written while disconnected: got %v, want at least %v", r.CutOff, now)
	}
	if r := local(t, b, "alice", "jti-before", "sid-fam"); r.TokenDenied || r.SessionRevoked || !r.RevokesIssuedAt(now) {
		t.Errorf("record lost in the restart, or family: got %+v, want not denied nor revoked, and a loss cut-off covering tokens issued before", r)
	}
	// The replica answers while it has heard from Redis within two ping intervals; on a loaded
	// machine that lease can lapse between the checks above and this call, so wait for it.
	waitInSync(t, b)
	hook.take()
	if r, err := b.Revoked(ctx, "alice", "jti-during", ""); err != nil || !r.TokenDenied {
		t.Errorf("Revoked after resync: got (%+v, %v), want denied", r, err)
	}
	if got := hook.takeQueries(); len(got) != 0 {
		t.Errorf("Revoked after resync sent %q, want nothing", got)
	}
	if st := b.ReplicaStats(); st.Entries != 3 {
		t.Errorf("replica entries after resync: got %d, want 3", st.Entries)
	}
}

// A server that accepts the connection but answers nothing (CLIENT PAUSE) is not trusted for
// longer than twice the ping interval.
func TestReplicaStalledServer(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	s := newReplicaStore(t, client, WithReplicaPingInterval(50*time.Millisecond))
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
	t.Cleanup(func() { _ = admin.Close() })

	pause := 3 * time.Second
	paused := time.Now()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to go out of sync", func() bool { return !s.ReplicaStats().InSync })
	if d := time.Since(paused); d >= pause {
		t.Fatalf("replica went out of sync after %v, only when the pause ended: the lease did not lapse", d)
	}
	waitInSync(t, s)
}

// Beyond its bound the replica is dropped and Revoked asks Redis; once the records fit again, a
// resync brings it back.
func TestReplicaOverflow(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client, hook := clientWithHook(t, srv.Addr)
	s := newReplicaStore(t, client, WithReplicaMaxEntries(3), withReplicaTimings(0, 50*time.Millisecond))
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	for i := range 3 {
		if err := s.DenyToken(ctx, "alice", fmt.Sprintf("jti-%d", i), until); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.ReplicaStats(); !st.InSync || st.Entries != 3 {
		t.Fatalf("at the bound: got %+v, want in sync with 3 entries", st)
	}
	if err := s.DenyToken(ctx, "alice", "jti-3", until); err != nil {
		t.Fatal(err)
	}
	if st := s.ReplicaStats(); st.InSync || st.Overflows != 1 {
		t.Fatalf("over the bound: got %+v, want out of sync after one overflow", st)
	}
	hook.take()
	if r, err := s.Revoked(ctx, "alice", "jti-3", ""); err != nil || !r.TokenDenied {
		t.Fatalf("Revoked over the bound: got (%+v, %v), want denied", r, err)
	}
	if got := hook.take(); !slices.Equal(got, []string{"mget"}) {
		t.Errorf("Revoked over the bound sent %q, want one mget", got)
	}
	// Retries keep failing while there are too many records...
	waitFor(t, "a failed resync", func() bool { return s.ReplicaStats().Overflows >= 2 })
	if s.ReplicaStats().InSync {
		t.Fatal("replica in sync with more records than its bound")
	}
	// ...and succeed once they fit.
	if err := client.Del(ctx, s.denyKey("alice", "jti-0"), s.denyKey("alice", "jti-1")).Err(); err != nil {
		t.Fatal(err)
	}
	waitInSync(t, s)
	if r := local(t, s, "alice", "jti-3", ""); !r.TokenDenied {
		t.Error("after the resync: got jti-3 not denied")
	}
	if st := s.ReplicaStats(); st.Entries != 2 {
		t.Errorf("after the resync: got %d entries, want 2", st.Entries)
	}
}

// Expired records are not reported, and are dropped lazily on read and by the sweeper.
func TestReplicaExpiry(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	s := newReplicaStore(t, serverClient(t, srv), withReplicaTimings(20*time.Millisecond, 0))
	ctx := context.Background()
	soon := time.Now().Add(200 * time.Millisecond)
	if err := s.DenyToken(ctx, "alice", "jti-1", soon); err != nil {
		t.Fatal(err)
	}
	if err := s.CutOff(ctx, "bob", time.Now(), soon); err != nil {
		t.Fatal(err)
	}
	if r := local(t, s, "alice", "jti-1", ""); !r.TokenDenied {
		t.Fatal("jti-1 not denied before its expiry")
	}
	// Lazy: the read that finds the record expired drops it.
	waitFor(t, "jti-1 to expire", func() bool { return !local(t, s, "alice", "jti-1", "").TokenDenied })
	// Periodic: the sweeper drops bob's cut-off, which nobody reads.
	waitFor(t, "the sweeper to drop every record", func() bool { return s.ReplicaStats().Entries == 0 })
	if r := local(t, s, "bob", "", ""); !r.CutOff.IsZero() {
		t.Errorf("expired cut-off: got %v, want none", r.CutOff)
	}
}

// A corrupt cut-off found by a resync fails Revoked for its subject only, as MGET would.
func TestReplicaCorruptRecord(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	prefix := fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1))
	ctx := context.Background()
	probe, err := New(client, WithPrefix(prefix), withFreshMarkers())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Set(ctx, probe.cutKey("alice"), "garbage", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Set(ctx, probe.denyKey("alice", "jti-1"), "not-a-time", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	s := newReplicaStore(t, client, WithPrefix(prefix))
	if _, err := s.Revoked(ctx, "alice", "jti-1", ""); err == nil {
		t.Error("Revoked with a corrupt cut-off: got nil error, want an error")
	}
	if r := local(t, s, "bob", "", ""); r != (core.Revocation{}) {
		t.Errorf("another subject: got %+v, want nothing revoked", r)
	}
	// A mark whose value is not a time lives as long as its key.
	if err := client.Del(ctx, probe.cutKey("alice")).Err(); err != nil {
		t.Fatal(err)
	}
	// Force a resync: drop the subscription (the replica reconnects by itself).
	resyncs := s.ReplicaStats().Resyncs
	if err := client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a resync", func() bool { st := s.ReplicaStats(); return st.InSync && st.Resyncs > resyncs })
	if r := local(t, s, "alice", "jti-1", ""); !r.TokenDenied || !r.CutOff.IsZero() {
		t.Errorf("after resync: got %+v, want jti-1 denied and no cut-off", r)
	}
}

// Anything on the channel that is not a revocation message takes the replica out of sync; it
// starts over with a resync.
func TestReplicaForeignMessage(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	s := newReplicaStore(t, client)
	ctx := context.Background()
	resyncs := s.ReplicaStats().Resyncs
	if err := client.Publish(ctx, s.channel, "hello").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a resync after a foreign message", func() bool {
		st := s.ReplicaStats()
		return st.InSync && st.Resyncs > resyncs
	})
}

// Close stops the replica's goroutine and subscription; the caller's client stays open and
// Revoked asks Redis again.
func TestReplicaCloseLeavesNoGoroutines(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	var stores []*Store
	for range 3 {
		stores = append(stores, newReplicaStore(t, client, prefix))
	}
	if err := stores[0].DenyToken(ctx, "alice", "jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "propagation", func() bool { return local(t, stores[2], "alice", "jti-1", "").TokenDenied })
	for i, s := range stores {
		select {
		case <-s.replica.done:
			t.Fatalf("store %d: the replica's goroutine has returned before Close", i)
		default:
		}
	}
	for _, s := range stores {
		for range 2 {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: got error %v, want nil", err)
			}
		}
		if s.ReplicaStats().InSync {
			t.Error("replica in sync after Close")
		}
	}
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= before })
	if n, err := client.PubSubNumSub(ctx, stores[0].channel).Result(); err != nil || n[stores[0].channel] != 0 {
		t.Errorf("subscribers after Close: got (%v, %v), want 0", n, err)
	}
	if r, err := stores[1].Revoked(ctx, "alice", "jti-1", ""); err != nil || !r.TokenDenied {
		t.Errorf("Revoked after Close: got (%+v, %v), want denied (from Redis)", r, err)
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	r := newReplica(nil, "p:", config{pingInterval: time.Second, maxEntries: 1})
	good := []struct {
		in   string
		want record
	}{
		{"d:1700000000000:YWxpY2U:jti:1", record{kind: kindDenied, subject: "alice", id: "jti:1", until: 1700000000000}},
		{"s:5:=:sid", record{kind: kindRevoked, subject: "", id: "sid", until: 5}},
		{"c:9:YWxpY2U:7", record{kind: kindCutOff, subject: "alice", at: 7, until: 9}},
	}
	for _, tc := range good {
		got, err := r.parseMessage(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseMessage(%q): got (%+v, %v), want (%+v, nil)", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "d", "d:", "d:1:YWxpY2U", "d:1:YWxpY2U:", "x:1:YWxpY2U:a", "d:z:YWxpY2U:a",
		"c:1:YWxpY2U:z", "d:1::a", "d:1:!!:a", "dd:1:YWxpY2U:a"} {
		if got, err := r.parseMessage(in); err == nil {
			t.Errorf("parseMessage(%q): got %+v, want an error", in, got)
		}
	}
	for key, want := range map[string]record{
		"p:{YWxpY2U}:deny:a}:b": {kind: kindDenied, subject: "alice", id: "a}:b"},
		"p:{=}:rsid:s":          {kind: kindRevoked, id: "s"},
		"p:{YWxpY2U}:cut":       {kind: kindCutOff, subject: "alice"},
	} {
		kind, subject, id, ok := r.parseKey(key)
		if !ok || kind != want.kind || subject != want.subject || id != want.id {
			t.Errorf("parseKey(%q): got (%c, %q, %q, %v), want (%c, %q, %q, true)", key, kind, subject, id, ok, want.kind, want.subject, want.id)
		}
	}
	for _, key := range []string{"p:{YWxpY2U}:fam:s", "q:{YWxpY2U}:cut", "p:{YWxpY2U}:deny:", "p:{YWxpY2U}:cutx", "p:{!}:cut", "p:YWxpY2U:cut"} {
		if _, _, _, ok := r.parseKey(key); ok {
			t.Errorf("parseKey(%q): got ok, want not a revocation key", key)
		}
	}
	if got, want := (&replica{prefix: "a*b?[c]\\:"}).scanPattern(), `a\*b\?\[c\]\\:{*}:[cdr]*`; got != want {
		t.Errorf("scanPattern: got %q, want %q", got, want)
	}
}

// Merging is order-independent: whatever order the states of one record arrive in, the replica
// ends with the latest.
func TestReplicaMergeOrder(t *testing.T) {
	t.Parallel()
	now := time.Now().UnixMilli()
	h := now + 3_600_000
	states := []record{ // successive states of one cut-off key, then of the key rewritten after expiry
		{kind: kindCutOff, subject: "a", at: 100, until: h},
		{kind: kindCutOff, subject: "a", at: 200, until: h},
		{kind: kindCutOff, subject: "a", at: 300, until: h + 10},
		{kind: kindCutOff, subject: "a", at: 50, until: h + 20},
	}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}} {
		r := newReplica(nil, "p:", config{pingInterval: time.Second, maxEntries: 10})
		r.synced.Store(true)
		r.answering.Store(true)
		for _, i := range order {
			r.apply(states[i], now)
		}
		got, _, _ := r.lookup("a", "", "")
		if !got.CutOff.Equal(time.UnixMilli(50)) {
			t.Errorf("order %v: got cut-off %v, want the latest state's (50 ms)", order, got.CutOff.UnixMilli())
		}
		if e := r.entries.Load(); e != 1 {
			t.Errorf("order %v: got %d entries, want 1", order, e)
		}
	}
}

// Three Managers (three instances) on one Redis, each with its own replica: a logout on one
// rejects the access token on the two others, which verify without a network call.
func TestReplicaManagers(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	var ms []*core.Manager
	var hooks []*countingHook
	for range 3 {
		client, hook := clientWithHook(t, srv.Addr)
		st := newReplicaStore(t, client, prefix)
		m, err := core.New(core.WithHMAC([]byte("access-secret-of-at-least-32-bytes!"), []byte("refresh-secret-of-at-least-32-bytes")),
			core.WithIssuer("https://issuer.example"), core.WithAudience("api"), core.WithStore(st), core.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		ms, hooks = append(ms, m), append(hooks, hook)
	}
	ctx := context.Background()
	p, err := ms[0].Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ms[0].Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		hooks[i].take()
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatalf("manager %d: verify before logout: %v", i, err)
		}
		if got := hooks[i].takeQueries(); len(got) != 0 {
			t.Errorf("manager %d: Verify sent %q, want nothing", i, got)
		}
	}
	if err := ms[0].Logout(ctx, p.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ms[0].Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("manager 0 right after its logout: got %v, want ErrTokenRevoked", err)
	}
	for i, m := range ms[1:] {
		waitFor(t, fmt.Sprintf("manager %d to reject the logged-out token", i+1), func() bool {
			_, err := m.Verify(ctx, p.AccessToken)
			return errors.Is(err, core.ErrTokenRevoked)
		})
		// The other session is untouched; a logout everywhere ends it too.
		if _, err := m.Verify(ctx, other.AccessToken); err != nil {
			t.Errorf("manager %d: other session: %v", i+1, err)
		}
	}
	for i := range hooks {
		if got := hooks[i].take(); slices.Contains(got, "mget") {
			t.Errorf("manager %d: verification asked Redis (%q), want the replica to answer", i, got)
		}
	}
	if err := ms[1].RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for i, m := range []*core.Manager{ms[0], ms[2]} {
		waitFor(t, fmt.Sprintf("manager %d to reject every token of alice", i), func() bool {
			_, err := m.Verify(ctx, other.AccessToken)
			return errors.Is(err, core.ErrTokenRevoked)
		})
	}
}

func BenchmarkRevokedReplica(b *testing.B) {
	srv := testutil.StartRedis(b)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	setup := func(b *testing.B, s *Store) {
		for i := range 1000 { // some records of other subjects
			if err := s.DenyToken(ctx, fmt.Sprintf("user-%d", i), "jti-1", until); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.DenyToken(ctx, "alice", "jti-1", until); err != nil {
			b.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, "alice", "sid-1", until); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("mget", func(b *testing.B) {
		s := newStore(b, serverClient(b, srv))
		setup(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Revoked(ctx, "alice", "jti-2", "sid-2"); err != nil {
				b.Fatal(err)
			}
		}
	})
	replicaStore := newReplicaStore(b, serverClient(b, srv))
	setup(b, replicaStore)
	// The usual request: a subject with no records; a subject with records, none of them for
	// this token; a revoked token (the clock is read to check the record's expiry).
	queries := []struct{ name, subject, jti, sid string }{
		{"clean", "nobody", "jti-2", "sid-2"},
		{"other-records", "alice", "jti-2", "sid-2"},
		{"revoked", "alice", "jti-1", "sid-1"},
	}
	for _, q := range queries {
		b.Run("replica/"+q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := replicaStore.Revoked(ctx, q.subject, q.jti, q.sid); err != nil {
					b.Fatal(err)
				}
			}
			if !replicaStore.ReplicaStats().InSync {
				b.Fatal("replica went out of sync during the benchmark")
			}
		})
		b.Run("replica-parallel/"+q.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := replicaStore.Revoked(ctx, q.subject, q.jti, q.sid); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRevocationPropagation measures, with three stores (three instances, each with its own
// client) on one redis-server, the time from the start of a revocation on one store until both
// others' replicas report it; they are polled in memory, without network calls. It makes at
// least 1000 revocations (denied jti, revoked sid and cut-off in turn) and reports the p50, p99
// and maximum latency.
func BenchmarkRevocationPropagation(b *testing.B) {
	srv := testutil.StartRedis(b)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	var stores []*Store
	for range 3 {
		client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
		b.Cleanup(func() { _ = client.Close() })
		stores = append(stores, newReplicaStore(b, client, prefix))
	}
	ctx := context.Background()
	n := max(b.N, 1000)
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := range n {
		subject, id := fmt.Sprintf("user-%d", i), fmt.Sprintf("id-%d", i)
		now := time.Now()
		until := now.Add(time.Hour)
		var err error
		var done func(core.Revocation) bool
		switch i % 3 {
		case 0:
			err = stores[0].DenyToken(ctx, subject, id, until)
			done = func(r core.Revocation) bool { return r.TokenDenied }
		case 1:
			err = stores[0].RevokeFamily(ctx, subject, id, until)
			done = func(r core.Revocation) bool { return r.SessionRevoked }
		case 2:
			err = stores[0].CutOff(ctx, subject, now, until)
			done = func(r core.Revocation) bool { return !r.CutOff.IsZero() }
		}
		if err != nil {
			b.Fatal(err)
		}
		deadline := now.Add(10 * time.Second)
		for _, s := range stores[1:] {
			for {
				r, ok, err := s.replica.lookup(subject, id, id)
				if !ok || err != nil {
					b.Fatalf("revocation %d: replica out of sync or failed: %v", i, err)
				}
				if done(r) {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("revocation %d not propagated within 10 s", i)
				}
				// Spin for the first half millisecond, for resolution; then sleep, so a
				// spinning poller does not take the CPU the subscribers need (on a
				// 2-core machine that inflates the tail), at the cost of the sleep's
				// granularity.
				if time.Since(now) < 500*time.Microsecond {
					runtime.Gosched()
				} else {
					time.Sleep(20 * time.Microsecond)
				}
			}
		}
		lat = append(lat, time.Since(now))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(lat)), "revocations")
}
