package redisstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// waitConnEnded waits for a bound connection to end and returns its cause and how long it took.
func waitConnEnded(t *testing.T, conn *core.Connection) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-conn.Context().Done():
		return context.Cause(conn.Context()), time.Since(start)
	case <-time.After(waitDeadline):
		t.Fatalf("the bound connection did not end within %v", waitDeadline)
		return nil, 0
	}
}

func bindToken(t *testing.T, m *core.Manager, token string) *core.Connection {
	t.Helper()
	c, err := m.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	conn, err := m.Bind(context.Background(), c)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// Two instances with the local replica: a logout, an "end other sessions" and a "log out
// everywhere" on one end the connections held by the other, within a second, through the
// replica's Pub/Sub.
func TestConnectionsAcrossManagersReplica(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	in := newInstances(t, client, testutil.NewClockNow, 2, []Option{prefix, WithLocalReplica()})
	for _, i := range in {
		waitInSync(t, i.store)
		if _, ok := i.store.NotifyRevocations(func(core.RevocationNotice) {}); !ok {
			t.Fatal("NotifyRevocations with the replica: ok false, want true")
		}
	}
	ctx := context.Background()
	issue := func() *core.TokenPair {
		p, err := in[0].m.Issue(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := issue(), issue(), issue()
	connA, connB, connC := bindToken(t, in[1].m, a.AccessToken), bindToken(t, in[1].m, b.AccessToken), bindToken(t, in[1].m, c.AccessToken)

	start := time.Now()
	if err := in[0].m.Logout(ctx, a.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	cause, _ := waitConnEnded(t, connA)
	took := time.Since(start)
	if !errors.Is(cause, core.ErrTokenRevoked) {
		t.Fatalf("logout on the other instance: cause %v, want ErrTokenRevoked", cause)
	}
	if took > 5*time.Second { // the design aims at well under a second (logged below); generous for a loaded CI machine
		t.Errorf("logout on the other instance ended the connection after %v, want within 5s", took)
	}
	t.Logf("logout on instance 0 ended a stream held by instance 1 after %v", took)
	if connB.Context().Err() != nil || connC.Context().Err() != nil {
		t.Fatal("a logout ended the connections of other sessions")
	}
	if _, err := in[0].m.EndOtherSessions(ctx, "alice", c.SessionID); err != nil {
		t.Fatal(err)
	}
	if cause, _ := waitConnEnded(t, connB); !errors.Is(cause, core.ErrTokenRevoked) {
		t.Fatalf("end other sessions: cause %v, want ErrTokenRevoked", cause)
	}
	if err := in[0].m.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if cause, _ := waitConnEnded(t, connC); !errors.Is(cause, core.ErrTokenRevoked) {
		t.Fatalf("log out everywhere: cause %v, want ErrTokenRevoked", cause)
	}
}

// Without the replica the store cannot announce: the Manager asks it every
// WithConnectionCheckInterval.
func TestConnectionsWithoutReplica(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var clock *testutil.Clock // after New (see newInstances)
	in := newInstances(t, client, func() *testutil.Clock { clock = testutil.NewClockNow(); return clock }, 2, []Option{prefix},
		core.WithConnectionCheckInterval(time.Second))
	if _, ok := in[1].store.NotifyRevocations(func(core.RevocationNotice) {}); ok {
		t.Fatal("NotifyRevocations without the replica: ok true, want false")
	}
	ctx := context.Background()
	p, err := in[0].m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := bindToken(t, in[1].m, p.AccessToken)
	if err := in[0].m.Logout(ctx, p.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // the check interval, by the Manager's clock
	if cause, _ := waitConnEnded(t, conn); !errors.Is(cause, core.ErrTokenRevoked) {
		t.Fatalf("cause: got %v, want ErrTokenRevoked", cause)
	}
}

// A Redis restart without data is a data-loss cut-off: the replica's resync announces it and
// the connections of tokens issued before the loss end.
func TestConnectionsDataLoss(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var clock *testutil.Clock
	clockFn := func() *testutil.Clock {
		if clock == nil {
			clock = testutil.NewClockNow()
		}
		return clock
	}
	in := newInstances(t, client, clockFn, 1, []Option{prefix, WithLocalReplica()})[0]
	waitInSync(t, in.store)
	p, err := in.m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := bindToken(t, in.m, p.AccessToken)
	srv.Stop()
	srv.Start()
	if cause, _ := waitConnEnded(t, conn); !errors.Is(cause, core.ErrTokenRevoked) {
		t.Fatalf("cause: got %v, want ErrTokenRevoked", cause)
	}
}
