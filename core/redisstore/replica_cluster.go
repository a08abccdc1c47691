package redisstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The local replica on Redis Cluster.
//
// A classic PUBLISH on Cluster reaches a subscriber connected to another node only over the
// cluster bus, fire-and-forget: when the bus drops one master's messages, a subscriber hears
// nothing amiss and silently misses that master's revocations. So on Cluster the write scripts
// SPUBLISH each announcement on the shard channel of the record's slot,
// "{<slot tag>}<prefix>revocations" (Redis 7), which Redis delivers only to subscribers
// connected to that slot's own master, and the replica holds one subscription per master,
// covering the shard channels of every slot that master serves (taken from CLUSTER SLOTS).
//
// Each subscription is its own TCP connection to its master: announcements of one master arrive
// in order on it, or the connection fails. The replica answers only while every one of them is
// alive and has been heard (a message or a pong) within two ping intervals, and while the slot
// map it subscribed by is still the cluster's: once per ping interval it reads CLUSTER SLOTS,
// and any change (a failover, a reshard) ends the session. Any failure - a connection lost, a
// silence, a MOVED reply, a slot map change - takes the replica out of sync (Revoked then asks
// Redis, failing closed), and the replica subscribes again to the current masters and resyncs.

// errTopology ends a cluster session whose slot map is no longer the cluster's.
var errTopology = errors.New("cluster slot map changed")

// errResubscribed ends a cluster session whose subscription reconnected by itself: what was
// published meanwhile is lost to it.
var errResubscribed = errors.New("shard subscription resubscribed")

// clusterLayout maps each master's address to the slots it serves, from CLUSTER SLOTS.
func clusterLayout(ctx context.Context, cc *redis.ClusterClient) (map[string][]int, error) {
	ranges, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	layout := map[string][]int{}
	for _, rg := range ranges {
		if len(rg.Nodes) == 0 || rg.Start < 0 || rg.End >= slotCount || rg.Start > rg.End {
			return nil, fmt.Errorf("bad CLUSTER SLOTS range %d-%d", rg.Start, rg.End)
		}
		addr := rg.Nodes[0].Addr
		for sl := rg.Start; sl <= rg.End; sl++ {
			layout[addr] = append(layout[addr], sl)
		}
	}
	for _, sl := range layout {
		slices.Sort(sl)
	}
	return layout, nil
}

func sameLayout(a, b map[string][]int) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]int])
}

// shardSub is one master's subscription within a cluster session.
type shardSub struct {
	ps       *redis.PubSub
	channels map[string]bool
	heardAt  atomic.Int64 // Unix ns of the last message or pong
}

// clusterSession runs one set of per-master subscriptions until one fails. synced reports
// whether the replica got in sync.
func (r *replica) clusterSession(ctx context.Context, cc *redis.ClusterClient, sweep func()) (synced bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		// Stop every reader before the next session starts, so none of them renews the
		// lease of a session that has ended.
		cancel()
		r.closeShards()
		wg.Wait()
	}()
	layout, err := clusterLayout(ctx, cc)
	if err != nil {
		return false, err
	}
	subs := make([]*shardSub, 0, len(layout))
	r.psMu.Lock()
	if r.closed {
		r.psMu.Unlock()
		return false, context.Canceled
	}
	for _, addr := range slices.Sorted(maps.Keys(layout)) {
		sub := &shardSub{channels: map[string]bool{}}
		names := make([]string, 0, len(layout[addr]))
		for _, sl := range layout[addr] {
			ch := shardChannel(r.prefix, sl)
			sub.channels[ch] = true
			names = append(names, ch)
		}
		// The connection goes to the master of the first channel's slot, which serves all of
		// them; if the client's slot map is stale, the reply is MOVED and the session fails.
		// One SSUBSCRIBE per channel: Redis refuses channels of several slots in one.
		sub.ps = cc.SSubscribe(ctx, names[0])
		r.shardSubs = append(r.shardSubs, sub.ps)
		subs = append(subs, sub)
		for _, ch := range names[1:] {
			if err := sub.ps.SSubscribe(ctx, ch); err != nil {
				r.psMu.Unlock()
				return false, err
			}
		}
	}
	r.psMu.Unlock()

	errc := make(chan error, len(subs))
	ready := make(chan struct{}, len(subs))
	start := make(chan struct{})
	for i, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.shardLoop(ctx, subs, i, sub, ready, start, errc)
		}()
	}
	fail := func(err error) (bool, error) { return synced, err }
	for range subs {
		select {
		case <-ready:
		case err := <-errc:
			return fail(err)
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	// Every master confirmed every channel: from now on each announcement is queued on a
	// subscription, so a snapshot read now misses nothing.
	r.markOutOfSync()
	if err := r.resync(ctx); err != nil {
		return fail(err)
	}
	r.resyncs.Add(1)
	now := time.Now().UnixNano()
	for _, sub := range subs {
		sub.heardAt.Store(now)
	}
	if r.markInSync() {
		synced = true
	}
	close(start)

	tick := time.NewTicker(r.pingInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fail(err)
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-tick.C:
			if r.full.Load() {
				return fail(errReplicaFull)
			}
			sweep()
			cur, err := clusterLayout(ctx, cc)
			if err == nil && !sameLayout(cur, layout) {
				return fail(errTopology)
			}
		}
	}
}

// shardLoop reads one master's subscription: it counts the subscription confirmations, signals
// ready, waits for the resync, then applies messages and renews the lease.
func (r *replica) shardLoop(ctx context.Context, subs []*shardSub, i int, sub *shardSub, ready chan<- struct{}, start <-chan struct{}, errc chan<- error) {
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	confirmed := map[string]bool{}
	var pending []string // announcements received before the resync finished
	started := false
	pinged := false
	for {
		msg, err := sub.ps.ReceiveTimeout(ctx, r.pingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isTimeout(err) && !pinged {
				if err := sub.ps.Ping(ctx); err != nil {
					report(err)
					return
				}
				pinged = true
				continue
			}
			report(err)
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "ssubscribe" || !sub.channels[m.Channel] {
				report(fmt.Errorf("unexpected %s", m)) // sunsubscribe: the slot moved
				return
			}
			if confirmed[m.Channel] {
				report(errResubscribed)
				return
			}
			confirmed[m.Channel] = true
			if len(confirmed) == len(sub.channels) {
				ready <- struct{}{}
				select {
				case <-start:
				case <-ctx.Done():
					return
				}
				started = true
				for _, p := range pending {
					if !r.applyShardMessage(p, report) {
						return
					}
				}
				pending = nil
				r.heardShard(subs, i)
			}
		case *redis.Message:
			if !started {
				pending = append(pending, m.Payload)
				continue
			}
			if !r.applyShardMessage(m.Payload, report) {
				return
			}
			r.heardShard(subs, i)
		case *redis.Pong:
			if started {
				r.heardShard(subs, i)
			}
		default:
			report(fmt.Errorf("unexpected pubsub message %T", msg))
			return
		}
	}
}

func (r *replica) applyShardMessage(payload string, report func(error)) bool {
	rc, err := r.parseMessage(payload)
	if err != nil {
		report(err) // not ours, or garbled: the replica can no longer be trusted
		return false
	}
	r.apply(rc, time.Now().UnixMilli())
	r.messages.Add(1)
	return true
}

// heardShard records that master i was heard from, and extends the lease to two ping intervals
// after the master heard from least recently: the replica answers only while every master's
// subscription is known to be alive.
func (r *replica) heardShard(subs []*shardSub, i int) {
	subs[i].heardAt.Store(time.Now().UnixNano())
	oldest := int64(1<<63 - 1)
	for _, sub := range subs {
		oldest = min(oldest, sub.heardAt.Load())
	}
	r.stateMu.Lock()
	synced := r.synced.Load()
	if synced {
		r.extendUntilLocked(time.Unix(0, oldest).Add(r.staleAfter))
	}
	r.stateMu.Unlock()
	if synced {
		r.report(true)
	}
}

// closeShards closes the current session's subscriptions.
func (r *replica) closeShards() {
	r.psMu.Lock()
	shards := r.shardSubs
	r.shardSubs = nil
	r.psMu.Unlock()
	for _, ps := range shards {
		_ = ps.Close()
	}
}
