package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestKeyRing runs the key-ring suite on one real Redis: three Managers share each ring, and
// the swap script decides every rotation by the suite's fake clock (requestClock), as it does by
// the server's TIME in production.
func TestKeyRing(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	testutil.KeyRingSuite(t, func(t *testing.T, _ *testutil.Clock) core.Store {
		s := newStore(t, client)
		s.requestClock = true
		return s
	})
}

// TestKeyRingLost: a Redis that lost the ring (a flush, a restart without data) gets it back from
// an instance's copy at its next sync, and the tokens signed before verify on every instance.
func TestKeyRingLost(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	clock := testutil.NewClockNow()
	s := newStore(t, client)
	s.requestClock = true
	var ms []*core.Manager
	for range 2 {
		m, err := core.New(testutil.KeyRingOptions(clock, s, func(context.Context, core.Event) {})...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	ctx := context.Background()
	p, err := ms[0].Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Del(ctx, s.keyRingKey("access"), s.keyRingKey("refresh")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := ms[1].SyncKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, s.keyRingKey("access"), s.keyRingKey("refresh")).Result(); err != nil || n != 2 {
		t.Fatalf("rings in Redis after the sync: %d, %v; want both written back", n, err)
	}
	clock.Advance(3 * time.Second)
	for i, m := range ms {
		if err := m.SyncKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatalf("instance %d: token signed before the loss: %v", i, err)
		}
	}
	if got, want := testutil.TokenKID(t, mustIssue(t, ms[1]).AccessToken), testutil.TokenKID(t, p.AccessToken); got != want {
		t.Fatalf("signing with %s after the loss, want the same Current %s", got, want)
	}
}

func mustIssue(t *testing.T, m *core.Manager) *core.TokenPair {
	t.Helper()
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
