package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
)

// Loss detection. Redis forgets records when it restarts without persistence, when a replica
// without the latest writes is promoted, or when it evicts keys under maxmemory. A forgotten
// revocation record would make a revoked token valid again, and the store could not tell
// "never revoked" from "revoked, then forgotten". So the store keeps loss markers:
//
//	<prefix>{!<n>}:live   on Redis Cluster, one per hash slot (<n> chosen so the key lies in that slot)
//	<prefix>{!}:live      on any other deployment, one
//
// A marker has no TTL; its value is "<lossAt>:<evicted>": lossAt is the Unix millisecond at which
// the store last found records lost in that slot (0: never), evicted the node's evicted_keys
// counter when the marker was last checked (only with WithEvictionRisk). Revoked reads the
// subject's marker in the same MGET as the subject's records (same slot), and Rotate in its
// script. A marker that is missing means the slot lost its data (the marker was written when
// the store started): the store records a loss at the server's time and from then on treats
// lossAt as a cut-off for every subject of the slot, so every token issued at or before the loss
// (in whole seconds, as iat) is refused. Those tokens have expired once the longest token
// lifetime has passed, so the cut-off refuses nothing else afterwards and never needs to expire.

// Guard modes passed to the scripts (ARGV): off (a Ring, whose shards the store cannot address
// per slot), markers only, markers and the eviction counter.
const (
	guardOff     = ""
	guardMarker  = "m"
	guardEvicted = "e"
)

// startupTimeout bounds the work New does on Redis (policy check, markers). When Redis cannot be
// reached within it, New still returns the store, which repeats that work on its first call.
const startupTimeout = 3 * time.Second

// guard is the loss-detection state of a Store.
type guard struct {
	mode    string // guardOff, guardMarker or guardEvicted
	cluster bool   // markers per slot
	fresh   bool   // tests: New creates missing markers without recording a loss

	ready   atomic.Bool // the policy check passed and the markers were written
	initMu  sync.Mutex
	initErr error // a refused configuration: every call fails with it

	lossSeen  atomic.Int64 // the latest loss time this store has reported
	repairing atomic.Bool
}

// prepare makes sure the eviction policy was checked and the markers written, once. Until it
// succeeds every call of the store fails (closed).
func (s *Store) prepare(ctx context.Context) error {
	if s.guard.ready.Load() {
		return nil
	}
	s.guard.initMu.Lock()
	defer s.guard.initMu.Unlock()
	if s.guard.initErr != nil {
		return s.guard.initErr
	}
	if s.guard.ready.Load() {
		return nil
	}
	if err := s.checkEvictionPolicy(ctx); err != nil {
		if errors.Is(err, core.ErrInvalidConfig) {
			s.guard.initErr = err
		}
		return err
	}
	if s.guard.mode != guardOff {
		if _, err := s.ensureMarkers(ctx, s.guard.fresh); err != nil {
			return err
		}
	}
	s.measureServerClock(ctx)
	s.detectReplicas(ctx)
	s.guard.ready.Store(true)
	return nil
}

// checkEvictionPolicy reads maxmemory-policy on every node (CONFIG GET) and refuses one that may
// evict, unless WithEvictionRisk. A node that refuses CONFIG (managed services often do) cannot
// be checked and is accepted: the documentation states the requirement.
func (s *Store) checkEvictionPolicy(ctx context.Context) error {
	check := func(ctx context.Context, c *redis.Client) error {
		vals, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return nil // the server refuses CONFIG: cannot check
		}
		if err != nil {
			return fmt.Errorf("jwtexp: redisstore: check maxmemory-policy on %s: %w", c.Options().Addr, err)
		}
		policy := vals["maxmemory-policy"]
		if policy == "" || policy == "noeviction" || s.guard.mode == guardEvicted {
			return nil
		}
		return fmt.Errorf("%w: redisstore: %s has maxmemory-policy %s, which may evict revocation records (every key of the store has a TTL) and so make revoked tokens valid again: set maxmemory-policy noeviction (and give Redis enough memory), or pass redisstore.WithEvictionRisk() to accept evictions and refuse older tokens whenever one happens",
			core.ErrInvalidConfig, c.Options().Addr, policy)
	}
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachShard(ctx, check)
	case *redis.Ring:
		return c.ForEachShard(ctx, check)
	case *redis.Client:
		return check(ctx, c)
	}
	return nil // an application's wrapper: nothing to address per node
}

// ensureMarkers creates the missing markers (recording a loss, unless fresh) and checks the
// others, and returns the latest loss time of all of them. It reports a new loss.
func (s *Store) ensureMarkers(ctx context.Context, fresh bool) (int64, error) {
	keys := s.markerKeys()
	if err := markerScript.Load(ctx, s.client).Err(); err != nil {
		return 0, fmt.Errorf("jwtexp: redisstore: load scripts: %w", err)
	}
	f := ""
	if fresh {
		f = "1"
	}
	var latest int64
	const batch = 4096
	for start := 0; start < len(keys); start += batch {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.Cmd, 0, batch)
		for _, k := range keys[start:min(start+batch, len(keys))] {
			cmds = append(cmds, markerScript.EvalSha(ctx, pipe, []string{k}, s.guard.mode, f))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, fmt.Errorf("jwtexp: redisstore: loss markers: %w", err)
		}
		for _, c := range cmds {
			n, err := c.Int64()
			if err != nil {
				return 0, fmt.Errorf("jwtexp: redisstore: loss markers: %w", err)
			}
			latest = max(latest, n)
		}
	}
	s.noteLoss(latest)
	return latest, nil
}

// noteLoss reports a loss time later than any this store has reported: an event, and a repair
// that writes every other missing marker at once, so that a lost node's slots all record the
// loss now rather than each at its first use.
func (s *Store) noteLoss(at int64) {
	for {
		seen := s.guard.lossSeen.Load()
		if at <= seen {
			return
		}
		if s.guard.lossSeen.CompareAndSwap(seen, at) {
			break
		}
	}
	if s.hook != nil {
		s.hook(context.Background(), core.Event{Kind: core.EventStoreDataLoss, Time: time.Now(),
			Reason: "records lost: tokens issued until " + time.UnixMilli(at).UTC().Format(time.RFC3339) + " are refused",
			Err:    ErrDataLoss})
	}
	if s.guard.ready.Load() && s.guard.repairing.CompareAndSwap(false, true) {
		go func() {
			defer s.guard.repairing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
			defer cancel()
			_, _ = s.ensureMarkers(ctx, false)
		}()
	}
}

// ErrDataLoss is the Err of the core.EventStoreDataLoss events the store passes to its event
// hook (WithEventHook) when it finds that Redis lost records.
var ErrDataLoss = errors.New("jwtexp: redisstore: Redis lost records (restart without persistence, failover, or eviction)")

// parseMarker returns a marker value's loss time; ok is false for a value the scripts do not
// write.
func parseMarker(v string) (int64, bool) {
	at, _, found := strings.Cut(v, ":")
	n, err := strconv.ParseInt(at, 10, 64)
	return n, found && err == nil && n >= 0
}

// withLoss adds a slot's loss time to a revocation answer: the loss acts as a cut-off.
func withLoss(r core.Revocation, lossAt int64) core.Revocation {
	if lossAt > 0 && lossAt > r.CutOff.UnixMilli() {
		r.CutOff = time.UnixMilli(lossAt).UTC()
	}
	return r
}

// waitPastLoss waits, at New, until the server's clock has left the second of a loss New itself
// recorded: tokens carry iat in whole seconds, and one issued in that second would be refused
// as issued before the loss.
func (s *Store) waitPastLoss(ctx context.Context, lossAt int64) {
	t, err := s.client.Time(ctx).Result()
	if err != nil {
		return
	}
	next := (lossAt/1000 + 1) * 1000
	if d := time.Duration(next-t.UnixMilli()) * time.Millisecond; d > 0 && d <= time.Second {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
}
