package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The replica's subscription and resync: one goroutine (run) subscribes to the revocation
// channel (on Cluster the shard channels, replica_cluster.go), applies each message to the state
// of replica.go, pings a silent subscription, and rebuilds the state from a SCAN of the keyspace
// whenever it may have missed a message.

// start launches the goroutine that keeps the replica in sync.
func (r *replica) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
}

// close stops the loop and the subscription and waits for the loop to return. The replica is out
// of sync afterwards, so Revoked uses MGET on the caller's client, which stays open.
func (r *replica) close() {
	r.closeOnce.Do(func() {
		r.cancel()
		r.psMu.Lock()
		r.closed = true
		if r.ps != nil {
			_ = r.ps.Close()
		}
		for _, ps := range r.shardSubs {
			_ = ps.Close()
		}
		r.psMu.Unlock()
		<-r.done
		r.markOutOfSync()
		r.stateMu.Lock()
		if r.leaseTimer != nil {
			r.leaseTimer.Stop()
		}
		r.stateMu.Unlock()
	})
}

// errReplicaFull ends a session whose replica exceeded its bound.
var errReplicaFull = errors.New("replica exceeds its bound")

// run keeps the replica in sync until Close: it subscribes, resyncs on every (re)subscription,
// applies messages, and starts over after any failure.
func (r *replica) run(ctx context.Context) {
	defer close(r.done)
	backoff := replicaMinBackoff
	lastSweep := time.Now()
	sweep := func() {
		if time.Since(lastSweep) >= r.sweepInterval {
			r.sweep()
			lastSweep = time.Now()
		}
	}
	cc, cluster := r.client.(*redis.ClusterClient)
	for {
		var synced bool
		var err error
		if cluster {
			synced, err = r.clusterSession(ctx, cc, sweep)
			r.markOutOfSync()
			r.closeShards()
			if ctx.Err() == nil {
				cc.ReloadState(ctx) // the topology may have changed: a failover, a reshard
			}
		} else {
			ps := r.subscribe(ctx)
			if ps == nil {
				return
			}
			synced, err = r.session(ctx, ps, sweep)
			r.markOutOfSync()
			r.unsubscribe(ps)
		}
		if ctx.Err() != nil {
			return
		}
		if synced {
			backoff = replicaMinBackoff
		}
		wait := backoff
		backoff = min(2*backoff, replicaMaxBackoff)
		if errors.Is(err, errReplicaFull) {
			// Drop the replica; the next resync counts the records afresh.
			r.clear()
			r.full.Store(false)
			wait = r.fullRetry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sweep()
	}
}

// subscribe opens a new subscription, or returns nil after Close.
func (r *replica) subscribe(ctx context.Context) *redis.PubSub {
	r.psMu.Lock()
	defer r.psMu.Unlock()
	if r.closed {
		return nil
	}
	// Subscribe sends SUBSCRIBE when it can connect; otherwise the first receive connects and
	// subscribes. Either way the confirmation arrives as a *redis.Subscription.
	r.ps = r.client.Subscribe(ctx, r.channel)
	return r.ps
}

func (r *replica) unsubscribe(ps *redis.PubSub) {
	r.psMu.Lock()
	if r.ps == ps {
		r.ps = nil
	}
	r.psMu.Unlock()
	_ = ps.Close()
}

// session runs one subscription until it fails. synced reports whether it got in sync.
func (r *replica) session(ctx context.Context, ps *redis.PubSub, sweep func()) (synced bool, err error) {
	pinged := false
	for {
		if r.full.Load() {
			return synced, errReplicaFull
		}
		sweep()
		msg, err := ps.ReceiveTimeout(ctx, r.pingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return synced, ctx.Err()
			}
			// Silence: ping once; a second silent interval means the connection is dead
			// (by then the lease has lapsed too).
			if isTimeout(err) && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return synced, err
				}
				pinged = true
				continue
			}
			return synced, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != r.channel {
				return synced, fmt.Errorf("unexpected %s", m)
			}
			// A (re)subscription: messages published while we were not subscribed are lost,
			// so rebuild from Redis. Messages published from now on are queued behind this one
			// and applied after the resync; applying one twice changes nothing.
			r.markOutOfSync()
			if err := r.resync(ctx); err != nil {
				return synced, err
			}
			r.resyncs.Add(1)
			if r.markInSync() {
				synced = true
			}
		case *redis.Message:
			rc, err := r.parseMessage(m.Payload)
			if err != nil {
				// Not ours, or garbled: the replica can no longer be trusted. Start over.
				return synced, err
			}
			r.apply(rc, time.Now().UnixMilli())
			r.messages.Add(1)
			r.heard()
		case *redis.Pong:
			r.heard()
		default:
			return synced, fmt.Errorf("unexpected pubsub message %T", msg)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Message format, one PUBLISH per record written, from inside the script that writes it:
//
//	<kind>:<until>:<subject>:<id>
//
// kind is 'd' (denied jti), 's' (revoked sid) or 'c' (cut-off); until is the record's absolute
// expiry in Unix milliseconds after the write; subject is encoded as in the keys (base64url, "="
// for the empty subject), so it holds no ':'; id is the jti, the sid, or for a cut-off its time
// in Unix milliseconds. id comes last and may contain anything.

func (r *replica) parseMessage(payload string) (record, error) {
	bad := func() (record, error) { return record{}, fmt.Errorf("bad revocation message %q", payload) }
	if len(payload) < 2 || payload[1] != ':' {
		return bad()
	}
	rc := record{kind: payload[0]}
	untilS, rest, ok1 := strings.Cut(payload[2:], ":")
	enc, id, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return bad()
	}
	var err error
	if rc.until, err = strconv.ParseInt(untilS, 10, 64); err != nil {
		return bad()
	}
	if rc.subject, err = decodeSubject(enc); err != nil {
		return bad()
	}
	switch rc.kind {
	case kindDenied, kindRevoked:
		if id == "" {
			return bad()
		}
		rc.id = id
	case kindCutOff:
		if rc.at, err = strconv.ParseInt(id, 10, 64); err != nil {
			return bad()
		}
	default:
		return bad()
	}
	return rc, nil
}

// applyMessage applies a message a script returned to this store, so its own writes are in its
// replica before the call returns (read your writes), without waiting for the subscription.
func (r *replica) applyMessage(payload string) {
	if payload == "" {
		return
	}
	rc, err := r.parseMessage(payload)
	if err != nil {
		// Cannot happen with our scripts; distrust the replica rather than ignore a write.
		r.markOutOfSync()
		return
	}
	r.apply(rc, time.Now().UnixMilli())
}

// resync rebuilds the replica from Redis: it scans the prefix for revocation keys (on Redis
// Cluster on every master) and reads each key's value, which holds its absolute expiry (PTTL
// only for a record whose value is not a time). The snapshot replaces the replica's content.
func (r *replica) resync(ctx context.Context) error {
	if r.markers != nil {
		lossAt, err := r.markers(ctx)
		if err != nil {
			return fmt.Errorf("jwtexp: redisstore: replica resync: %w", err)
		}
		r.lossCut.Store(lossAt)
	}
	var snap [replicaShards]map[string]*subjectRecords
	var counts [replicaShards]int64
	for i := range snap {
		snap[i] = map[string]*subjectRecords{}
	}
	var mu sync.Mutex // ForEachMaster scans masters concurrently
	var total int64
	add := func(rc record) error {
		mu.Lock()
		defer mu.Unlock()
		i := maphash.String(r.seed, rc.subject) & (replicaShards - 1)
		sh := replicaShard{subjects: snap[i]}
		added, _ := sh.put(rc, true)
		if added {
			counts[i]++
			total++
			if total > r.maxEntries {
				return errReplicaFull
			}
		}
		return nil
	}
	scan := func(ctx context.Context, c redis.Cmdable) error { return r.scanNode(ctx, c, add) }
	var err error
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, r.client)
	}
	if errors.Is(err, errReplicaFull) {
		r.overflow()
		return err
	}
	if err != nil {
		return fmt.Errorf("jwtexp: redisstore: replica resync: %w", err)
	}
	r.install(&snap, &counts)
	return nil
}

// scanNode reads every revocation key of one node and passes it to add.
func (r *replica) scanNode(ctx context.Context, c redis.Cmdable, add func(record) error) error {
	pattern := r.scanPattern()
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, replicaScanCount).Result()
		if err != nil {
			return err
		}
		type found struct {
			rc  record
			get *redis.StringCmd
			ttl *redis.DurationCmd
		}
		batch := make([]found, 0, len(keys))
		pipe := c.Pipeline()
		for _, key := range keys {
			kind, subject, id, ok := r.parseKey(key)
			if !ok {
				continue
			}
			batch = append(batch, found{rc: record{kind: kind, subject: subject, id: id},
				get: pipe.Get(ctx, key), ttl: pipe.PTTL(ctx, key)})
		}
		if len(batch) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			nowMS := time.Now().UnixMilli()
			for _, f := range batch {
				val, err := f.get.Result()
				if errors.Is(err, redis.Nil) {
					continue // expired since SCAN
				}
				if err != nil {
					return err
				}
				ttl, err := f.ttl.Result()
				if err != nil {
					return err
				}
				rc, live := recordFromValue(f.rc, val, ttl, nowMS)
				if !live {
					continue
				}
				if err := add(rc); err != nil {
					return err
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// recordFromValue completes rc from its key's value and PTTL. A mark's value is its expiry and
// a cut-off's is "<at>:<until>", as the scripts write them. A mark whose value is not a time
// expires after its PTTL (never, without one: Redis would report it forever too); a cut-off that
// does not parse is kept as corrupt, and Revoked reports an error for its subject, as MGET does.
// live is false for a record that no longer exists or has expired.
func recordFromValue(rc record, val string, ttl time.Duration, nowMS int64) (record, bool) {
	if ttl == -2 {
		return rc, false
	}
	fromTTL := int64(1<<63 - 1)
	if ttl >= 0 {
		fromTTL = nowMS + ttl.Milliseconds()
	}
	switch rc.kind {
	case kindDenied, kindRevoked:
		u, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			u = fromTTL
		}
		rc.until = u
	case kindCutOff:
		// The same check as Revoked's MGET path: the cut-off time must be a non-zero time.
		at, u, found := strings.Cut(val, ":")
		a, err := strconv.ParseInt(at, 10, 64)
		if !found || err != nil || a == 0 {
			rc.bad, rc.until = val, fromTTL
			break
		}
		rc.at = a
		if rc.until, err = strconv.ParseInt(u, 10, 64); err != nil {
			rc.until = fromTTL
		}
	}
	return rc, rc.until > nowMS
}
