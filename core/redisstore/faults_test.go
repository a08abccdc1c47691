package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// Fault tests: a real six-node Cluster (exactly-once rotation, propagation, a cluster-bus
// partition, a master killed under load), and a single node restarted without data or evicting
// under maxmemory. They log the figures they measure (go test -v -run 'Cluster6|WithoutData|Eviction').

func newClusterClientFor(t *testing.T, tc *testCluster) *redis.ClusterClient {
	t.Helper()
	// The application's options: only what New requires. Everything else is go-redis's default
	// (ClusterStateReloadInterval 60 s, MaxRedirects 3, retries on): the store must cope.
	c := redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true, Addrs: tc.addrs()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// instance is one service instance: a store on its own client and a Manager on it.
type instance struct {
	store *Store
	m     *core.Manager
}

func newInstances(t *testing.T, clients func() redis.UniversalClient, clock func() *testutil.Clock, n int, storeOpts []Option, mgrOpts ...core.Option) []instance {
	t.Helper()
	var out []instance
	for range n {
		st, err := New(clients(), storeOpts...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, instance{store: st})
	}
	c := clock() // after New: a first New records a loss, which refuses tokens issued until then
	for i := range out {
		out[i].m = testutil.SuiteManager(t, c, append([]core.Option{core.WithStore(out[i].store)}, mgrOpts...)...)
	}
	return out
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return fmt.Sprintf("p50 %v, p99 %v, max %v (n=%d)", at(0.50).Round(time.Microsecond), at(0.99).Round(time.Microsecond), d[len(d)-1].Round(time.Microsecond), len(d))
}

// TestCluster6 runs on one six-node cluster: exactly-once rotation across Managers, propagation
// of revocations to every instance with and without the replica, and a cluster-bus partition.
func TestCluster6(t *testing.T) {
	tc := startCluster6(t)
	ctx := context.Background()
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	clients := func() redis.UniversalClient { return newClusterClientFor(t, tc) }

	t.Run("exactly-once rotation", func(t *testing.T) {
		// Every caller is answered (the grace window absorbs the burst), but exactly one of them
		// rotated the session, and all hold the same refresh token.
		var rotations atomic.Int32
		hook := core.WithEventHook(func(_ context.Context, e core.Event) {
			if e.Kind == core.EventRefreshed {
				rotations.Add(1)
			}
		})
		ins := newInstances(t, clients, testutil.NewClockNow, 3, []Option{prefix}, core.WithStoreTimeout(5*time.Second), hook)
		const rounds, callers = 20, 30
		for round := range rounds {
			p, err := ins[round%3].m.Issue(ctx, fmt.Sprintf("user-%d", round), nil)
			if err != nil {
				t.Fatal(err)
			}
			rotations.Store(0)
			var answered atomic.Int32
			tokens := sync.Map{}
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if np, err := ins[i%3].m.Refresh(ctx, p.RefreshToken); err == nil {
						answered.Add(1)
						tokens.Store(np.RefreshToken, true)
					}
				}()
			}
			wg.Wait()
			distinct := 0
			tokens.Range(func(any, any) bool { distinct++; return true })
			if rotations.Load() != 1 || answered.Load() != callers || distinct != 1 {
				t.Fatalf("round %d: %d rotations, %d of %d answered, %d distinct refresh tokens; want 1, all, 1",
					round, rotations.Load(), answered.Load(), callers, distinct)
			}
		}
	})

	t.Run("propagation", func(t *testing.T) {
		writer := newInstances(t, clients, testutil.NewClockNow, 1, []Option{prefix})[0]
		plain := newInstances(t, clients, testutil.NewClockNow, 2, []Option{prefix})
		replicas := newInstances(t, clients, testutil.NewClockNow, 2, []Option{prefix, WithLocalReplica()})
		for _, r := range replicas {
			waitInSync(t, r.store)
		}
		var withReplica, without []time.Duration
		const n = 150 // subjects hashing to every master
		for i := range n {
			p, err := writer.m.Issue(ctx, fmt.Sprintf("prop-%d", i), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := writer.m.Logout(ctx, p.AccessToken, p.RefreshToken); err != nil {
				t.Fatal(err)
			}
			done := time.Now()
			seen := func(group []instance) time.Duration {
				var worst time.Duration
				for _, in := range group {
					deadline := done.Add(5 * time.Second)
					for {
						_, err := in.m.Verify(ctx, p.AccessToken)
						if errors.Is(err, core.ErrTokenRevoked) {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("prop-%d: logged out, still %v after 5 s", i, err)
						}
					}
					worst = max(worst, time.Since(done))
				}
				return worst
			}
			withReplica = append(withReplica, seen(replicas))
			done = time.Now()
			without = append(without, seen(plain))
		}
		t.Logf("revocation seen by every instance, with the local replica: %s", percentiles(withReplica))
		t.Logf("revocation seen by every instance, without the replica (MGET per request): %s", percentiles(without))
	})

	t.Run("bus partition", func(t *testing.T) {
		topo, err := tc.topology(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var self, victim clusterNodeInfo
		for _, n := range topo {
			switch {
			case n.addr == tc.nodes[0].addr:
				self = n
			case n.master && victim.id == "":
				victim = n
			}
		}
		if !self.master || victim.id == "" {
			t.Fatalf("node 0 master %v, another master %q: %v", self.master, victim.id, errNotMaster)
		}
		writer := newInstances(t, clients, testutil.NewClockNow, 1, []Option{prefix})[0]
		reader := newInstances(t, clients, testutil.NewClockNow, 1, []Option{prefix, WithLocalReplica()})[0]
		waitInSync(t, reader.store)

		tc.proxy.drop.Store(victim.id)
		defer tc.proxy.drop.Store("")
		// The partition is real: node 0 no longer hears the victim's PUBLISH, while it hears
		// another master's, and still reports cluster_state:ok.
		sub := tc.admin[0].Subscribe(ctx, "probe")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		other := -1
		for _, n := range topo {
			if n.master && n.id != victim.id && n.id != self.id {
				other = tc.node(n.addr)
			}
		}
		v := tc.node(victim.addr)
		for i := range 5 {
			_ = tc.admin[v].Publish(ctx, "probe", "victim-"+strconv.Itoa(i)).Err()
			_ = tc.admin[other].Publish(ctx, "probe", "other-"+strconv.Itoa(i)).Err()
		}
		for got := 0; got < 5; {
			m, err := sub.ReceiveTimeout(ctx, 5*time.Second)
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			if msg, ok := m.(*redis.Message); ok {
				if strings.HasPrefix(msg.Payload, "victim-") {
					t.Fatalf("node 0 received %q through the partition", msg.Payload)
				}
				got++
			}
		}
		if info, _ := tc.admin[0].ClusterInfo(ctx).Result(); !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("cluster state during the partition: %s", info)
		}

		// Revocations of subjects on the victim master reach the replica all the same: its
		// subscription to the victim is direct, not through node 0's bus.
		subjects := tc.subjectsOn(t, victim.addr, 10)
		accepted := 0
		var noticed []time.Duration
		for _, subject := range subjects {
			p, err := writer.m.Issue(ctx, subject, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reader.m.Verify(ctx, p.AccessToken); err != nil {
				t.Fatalf("before logout: %v", err)
			}
			if err := writer.m.Logout(ctx, p.AccessToken, p.RefreshToken); err != nil {
				t.Fatal(err)
			}
			done := time.Now()
			for {
				_, err := reader.m.Verify(ctx, p.AccessToken)
				if errors.Is(err, core.ErrTokenRevoked) {
					noticed = append(noticed, time.Since(done))
					break
				}
				if time.Since(done) > 10*time.Second { // generous: a loaded CI machine; the figure is logged
					accepted++
					break
				}
			}
		}
		if tc.proxy.dropped.Load() == 0 {
			t.Fatal("the proxy dropped no bus message: the partition was not exercised")
		}
		t.Logf("bus partition (victim's Pub/Sub to node 0 dropped, %d bus messages dropped): revoked tokens accepted by the replica %d/%d; revocation seen after %s",
			tc.proxy.dropped.Load(), accepted, len(subjects), percentiles(noticed))
		if accepted != 0 {
			t.Errorf("bus partition: %d of %d revoked tokens still accepted after 10 s, want 0", accepted, len(subjects))
		}
	})
}

// A master is killed under load: its subjects are served again shortly after its replica's
// promotion, with go-redis's default cluster options, and the other subjects keep being served.
func TestCluster6MasterKilled(t *testing.T) {
	tc := startCluster6(t)
	ctx := context.Background()
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	// The wall clock: the Manager's breaker measures its cooldown on the Manager's clock.
	ins := newInstances(t, func() redis.UniversalClient { return newClusterClientFor(t, tc) }, testutil.NewClockNow, 2, []Option{prefix},
		core.WithClock(time.Now))
	topo, err := tc.topology(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var victim clusterNodeInfo
	for _, n := range topo {
		if n.master && n.addr != tc.nodes[0].addr {
			victim = n
			break
		}
	}
	if victim.id == "" {
		t.Fatal("no master to kill")
	}
	onVictim := tc.subjectsOn(t, victim.addr, 20)
	var others []string
	for _, n := range topo {
		if n.master && n.id != victim.id {
			others = append(others, tc.subjectsOn(t, n.addr, 10)...)
		}
	}
	tokens := func(subjects []string) []string {
		var out []string
		for _, s := range subjects {
			p, err := ins[0].m.Issue(ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.AccessToken)
		}
		return out
	}
	victimTokens, otherTokens := tokens(onVictim), tokens(others)

	type stats struct{ ok, fail atomic.Int64 }
	var victimStats, otherStats stats
	var lastVictimFail atomic.Int64 // Unix ns
	var lastVictimErr, lastOtherErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				in := ins[i%2]
				if i%4 == 0 {
					tok := victimTokens[i%len(victimTokens)]
					if _, err := in.m.Verify(ctx, tok); err != nil {
						victimStats.fail.Add(1)
						lastVictimFail.Store(time.Now().UnixNano())
						lastVictimErr.Store(err.Error())
					} else {
						victimStats.ok.Add(1)
					}
					continue
				}
				tok := otherTokens[i%len(otherTokens)]
				if _, err := in.m.Verify(ctx, tok); err != nil {
					otherStats.fail.Add(1)
					lastOtherErr.Store(err.Error())
				} else {
					otherStats.ok.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	waitForWithin(t, 5*time.Second, "load to run", func() bool { return otherStats.ok.Load() > 100 && victimStats.ok.Load() > 20 })
	before := time.Now()
	beforeOK := otherStats.ok.Load()
	waitForWithin(t, 5*time.Second, "a second of load", func() bool { return time.Since(before) >= time.Second })
	baseline := float64(otherStats.ok.Load()-beforeOK) / time.Since(before).Seconds()

	killed := time.Now()
	tc.nodes[tc.node(victim.addr)].kill(t)
	otherAtKill, otherFailAtKill := otherStats.ok.Load(), otherStats.fail.Load()
	var promoted time.Duration
	waitForWithin(t, 20*time.Second, "the victim's replica to be promoted", func() bool {
		nodes, err := tc.topology(ctx, 0)
		if err != nil {
			return false
		}
		for _, n := range nodes {
			if n.masterID == "-" && n.master && !n.failed && n.id != victim.id && n.addr != victim.addr {
				if owner, err := tc.masterOfSlot(ctx, 0, keySlot(encodeSubject(onVictim[0]))); err == nil && owner == n.addr {
					promoted = time.Since(killed)
					return true
				}
			}
		}
		return false
	})
	// Served again: a full second of victim-subject requests without a failure.
	var served time.Duration
	defer func() { t.Logf("last error for the victim's subjects: %v", lastVictimErr.Load()) }()
	waitForWithin(t, 30*time.Second, "the victim's subjects to be served again", func() bool {
		last := time.Unix(0, lastVictimFail.Load())
		if last.After(killed) && time.Since(last) >= time.Second && victimStats.ok.Load() > 0 {
			served = last.Sub(killed)
			return true
		}
		return false
	})
	during := float64(otherStats.ok.Load()-otherAtKill) / time.Since(killed).Seconds()
	otherFailed := otherStats.fail.Load() - otherFailAtKill
	t.Logf("master killed: replica promoted after %v; its subjects served again after %v (last failure); other subjects: %.0f req/s accepted during the outage, %.0f req/s before (%d workers, 2 instances, go-redis default cluster options)",
		promoted.Round(10*time.Millisecond), served.Round(10*time.Millisecond), during, baseline, workers)
	// The mechanism (the store reloads the slot map itself on the first errors) is what is
	// asserted; the bound is generous for a loaded 2-core machine and the figure is logged.
	if served > promoted+10*time.Second {
		t.Errorf("the victim's subjects were served %v after the kill, %v after the promotion; want within 10 s of it", served, served-promoted)
	}
	// The breaker is per master (redisstore.Store is a core.ShardedStore): the victim's failures
	// open its own breaker only, and the other masters' subjects are not refused.
	t.Logf("other subjects: %d refused during the outage (last: %v)", otherFailed, lastOtherErr.Load())
	if otherFailed > 0 {
		t.Errorf("other subjects: %d requests refused while another master was down, want 0", otherFailed)
	}
	if during < baseline/4 {
		t.Errorf("other subjects: %.0f req/s during the outage against %.0f before; want at least a quarter", during, baseline)
	}
}

// revokeMany issues tokens and revokes them every way the Manager can: logout (session), a
// denied access token, and "log out everywhere". It returns the revoked access tokens.
func revokeMany(t *testing.T, m *core.Manager, n int) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for i := range n {
		subject := fmt.Sprintf("rev-%d", i)
		p, err := m.Issue(ctx, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			err = m.Logout(ctx, p.AccessToken, p.RefreshToken)
		case 1:
			var c *core.Claims
			if c, err = m.Verify(ctx, p.AccessToken); err == nil {
				err = m.RevokeToken(ctx, c)
			}
		case 2:
			err = m.RevokeSubject(ctx, subject)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.AccessToken)
	}
	return out
}

// countNotRefusedAsRevoked counts the revoked tokens m does not refuse as revoked: accepted ones, and ones
// refused for another reason (a store that could not answer says nothing about the
// revocation records, so it must not pass for "still revoked").
func countNotRefusedAsRevoked(ctx context.Context, m *core.Manager, tokens []string) (n int) {
	for _, tok := range tokens {
		if _, err := m.Verify(ctx, tok); !errors.Is(err, core.ErrTokenRevoked) {
			n++
		}
	}
	return n
}

// Redis restarts without its data: no revoked token becomes valid again, with or without the
// local replica, and an event says what happened.
func TestRestartWithoutDataRevokedStayRefused(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	var losses atomic.Int32
	hook := func(_ context.Context, e core.Event) {
		if e.Kind == core.EventStoreDataLoss {
			losses.Add(1)
		}
	}
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var clock *testutil.Clock // started after the first New (see newInstances), shared
	clockFn := func() *testutil.Clock {
		if clock == nil {
			clock = testutil.NewClockNow()
		}
		return clock
	}
	plain := newInstances(t, client, clockFn, 1, []Option{prefix, WithEventHook(hook)})[0]
	repl := newInstances(t, client, clockFn, 1, []Option{prefix, WithLocalReplica()})[0]
	waitInSync(t, repl.store)
	revoked := revokeMany(t, plain.m, 36)
	waitForWithin(t, 5*time.Second, "the revocations to reach the replica", func() bool { return countNotRefusedAsRevoked(ctx, repl.m, revoked) == 0 })
	losses.Store(0)
	srv.Stop()
	srv.Start()
	if n := countNotRefusedAsRevoked(ctx, plain.m, revoked); n != 0 {
		t.Errorf("after a restart without data, without the replica: %d/%d revoked tokens not refused as revoked, want 0", n, len(revoked))
	}
	if n := countNotRefusedAsRevoked(ctx, repl.m, revoked); n != 0 {
		t.Errorf("after a restart without data, with the replica (while resyncing): %d/%d revoked tokens not refused as revoked, want 0", n, len(revoked))
	}
	waitInSync(t, repl.store)
	if n := countNotRefusedAsRevoked(ctx, repl.m, revoked); n != 0 {
		t.Errorf("after a restart without data, with the replica in sync again: %d/%d revoked tokens not refused as revoked, want 0", n, len(revoked))
	}
	if losses.Load() == 0 {
		t.Error("no EventStoreDataLoss after a restart without data")
	}
	t.Logf("restart without data: revoked tokens accepted 0/%d checked (with and without the replica), %d loss event(s)", len(revoked), losses.Load())
	// New sessions work again once the clock has left the loss's second.
	clock.Set(time.Now().Add(time.Second))
	p, err := plain.m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repl.m.Verify(ctx, p.AccessToken); err != nil {
		t.Errorf("a token issued after the loss: got %v, want accepted", err)
	}
}

// Under maxmemory with an evicting policy, New refuses the store unless WithEvictionRisk; with
// it, evicted revocation records are detected and no revoked token is accepted.
func TestEvictionPolicies(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"allkeys-lru", "volatile-lru", "volatile-ttl"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			srv := testutil.StartRedis(t)
			ctx := context.Background()
			client := serverClient(t, srv)
			if err := client.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
				t.Fatal(err)
			}
			prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
			_, err := New(client, prefix)
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "noeviction") {
				t.Fatalf("New under %s: got %v, want ErrInvalidConfig naming noeviction", policy, err)
			}
			var losses atomic.Int32
			hook := func(_ context.Context, e core.Event) {
				if e.Kind == core.EventStoreDataLoss {
					losses.Add(1)
				}
			}
			in := newInstances(t, func() redis.UniversalClient { return client }, testutil.NewClockNow, 1,
				[]Option{prefix, WithEvictionRisk(), WithEventHook(hook)})[0]
			revoked := revokeMany(t, in.m, 150)
			if n := countNotRefusedAsRevoked(ctx, in.m, revoked); n != 0 {
				t.Fatalf("before eviction: %d accepted", n)
			}
			losses.Store(0)
			used := usedMemory(t, client)
			if err := client.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+2<<20, 10)).Err(); err != nil {
				t.Fatal(err)
			}
			revocationKeys := func() int {
				n := 0
				iter := client.Scan(ctx, 0, "jwtexp-test-*:[cdr]*", 1000).Iterator()
				for iter.Next(ctx) {
					n++
				}
				return n
			}
			all := revocationKeys()
			value := strings.Repeat("x", 1024)
			for i := 0; revocationKeys() >= all; i++ {
				if i >= 200 {
					t.Fatalf("no revocation record evicted under %s after %d filler keys", policy, i*100)
				}
				pipe := client.Pipeline()
				for j := range 100 {
					pipe.Set(ctx, fmt.Sprintf("filler:%d:%d", i, j), value, time.Hour)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			evicted := all - revocationKeys()
			n := countNotRefusedAsRevoked(ctx, in.m, revoked)
			t.Logf("%s: %d of %d revocation records evicted; revoked tokens accepted %d/%d, %d loss event(s)", policy, evicted, all, n, len(revoked), losses.Load())
			if n != 0 {
				t.Errorf("%s with WithEvictionRisk: %d/%d revoked tokens accepted after eviction, want 0", policy, n, len(revoked))
			}
			if losses.Load() == 0 {
				t.Errorf("%s: no EventStoreDataLoss after eviction", policy)
			}
		})
	}
}

func usedMemory(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}
