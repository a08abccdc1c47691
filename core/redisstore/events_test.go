package redisstore

import (
	"context"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// syncEvents records the replica's EventReplicaSync events.
type syncEvents struct {
	mu     sync.Mutex
	states []bool
}

func (e *syncEvents) hook(_ context.Context, ev core.Event) {
	if ev.Kind != core.EventReplicaSync || ev.Time.IsZero() {
		return
	}
	e.mu.Lock()
	e.states = append(e.states, ev.InSync)
	e.mu.Unlock()
}

func (e *syncEvents) last() (state bool, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.states) == 0 {
		return false, 0
	}
	return e.states[len(e.states)-1], len(e.states)
}

// The replica reports gaining sync, going out of sync when Redis goes away (once), and sync again.
func TestReplicaSyncEvents(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	var ev syncEvents
	s := newReplicaStore(t, client, WithEventHook(ev.hook))
	waitFor(t, "an InSync event", func() bool { st, n := ev.last(); return st && n > 0 })

	srv.Stop()
	waitFor(t, "an out-of-sync event", func() bool { st, _ := ev.last(); return !st })
	ev.mu.Lock()
	falses := 0
	for _, st := range ev.states {
		if !st {
			falses++
		}
	}
	ev.mu.Unlock()
	if falses != 1 {
		t.Errorf("got %d out-of-sync events, want 1 (reported once per loss)", falses)
	}

	srv.Start()
	waitFor(t, "sync again", func() bool { st, _ := ev.last(); return st && s.ReplicaStats().InSync })
}
