package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
)

// Failover. A *redis.ClusterClient learns that a replica was promoted only when a node answers
// MOVED or ASK, or when it reloads its slot map on its own schedule (ClusterStateReloadInterval,
// 60 s by default). A dead master answers nothing, so until then every call for its slots fails.
// The store therefore asks the client to reload its slot map whenever a call fails with a
// connection error, a timeout, or a CLUSTERDOWN / TRYAGAIN / LOADING / READONLY reply: the reload
// is lazy (ReloadState runs in the background) and asked for at most once per reloadInterval, so
// a storm of failing calls costs a few CLUSTER SLOTS, whatever options the application chose.
// The promoted replica is used at the first reload after the cluster has elected it.

// reloadInterval is the least time between two reloads the store asks for.
const reloadInterval = 250 * time.Millisecond

// reloader asks a *redis.ClusterClient to reload its slot map after a failure.
type reloader struct {
	last    atomic.Int64 // Unix ns of the last reload asked for
	reloads atomic.Uint64

	marked atomic.Int32 // len(down), read without the lock
	mu     sync.Mutex
	down   map[string]time.Time // master address -> failing fast until
}

// opError wraps err with the operation. On Redis Cluster, when err says a node is gone or the
// slot map may be stale, it asks for a topology reload and marks the master of subject's slot
// down for reloadInterval: calls for that master's subjects then fail at once (closed) instead
// of each waiting out the caller's deadline in go-redis's retries, so a dead master ties up no
// workers, while the other masters' subjects are served as usual.
func (s *Store) opError(ctx context.Context, subject, op string, err error) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok && topologyError(err) {
		s.reload.maybe(ctx, cc)
		s.reload.markDown(ctx, cc, s.tag(subject))
	}
	return opError(op, err)
}

// errNodeDown is the error of a call refused because its master failed moments ago.
var errNodeDown = errors.New("the master of this subject's slot failed moments ago; retried after the next topology reload")

// failFast returns errNodeDown when subject's master was marked down less than reloadInterval
// ago. It costs one atomic load while no master is marked.
func (s *Store) failFast(ctx context.Context, subject string) error {
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok || s.reload.marked.Load() == 0 {
		return nil
	}
	node, err := cc.MasterForKey(ctx, s.tag(subject))
	if err != nil {
		return nil
	}
	s.reload.mu.Lock()
	until, down := s.reload.down[node.Options().Addr]
	s.reload.mu.Unlock()
	if down && time.Now().Before(until) {
		return errNodeDown
	}
	return nil
}

func (r *reloader) markDown(ctx context.Context, cc *redis.ClusterClient, key string) {
	node, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil {
		r.down = map[string]time.Time{}
	}
	for addr, until := range r.down {
		if now.After(until) {
			delete(r.down, addr)
		}
	}
	r.down[node.Options().Addr] = now.Add(reloadInterval)
	r.marked.Store(int32(len(r.down)))
}

func (r *reloader) maybe(ctx context.Context, cc *redis.ClusterClient) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(reloadInterval) || !r.last.CompareAndSwap(last, now) {
		return
	}
	r.reloads.Add(1)
	cc.ReloadState(ctx)
}

// topologyError reports an error after which the client's slot map may be out of date: the
// node could not be reached or answered late, or the cluster says the slot is not served.
func topologyError(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, code := range []string{"CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "LOADING", "READONLY", "MASTERDOWN"} {
			if strings.HasPrefix(msg, code+" ") || msg == code {
				return true
			}
		}
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}

// ready is what every call does first: the one-time preparation (prepare), then, on Redis
// Cluster, failFast.
func (s *Store) ready(ctx context.Context, subject string) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	return s.failFast(ctx, subject)
}

var _ core.ShardedStore = (*Store)(nil)

// Shard implements core.ShardedStore: on a Cluster, the address of the master that holds
// subject's hash slot now, so that the Manager's circuit breaker opens per master and a master
// that fails refuses only its own subjects; "" on any other deployment (one breaker for the
// store). It reads the client's cached slot map: no round trip.
func (s *Store) Shard(subject string) string {
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return ""
	}
	node, err := cc.MasterForKey(context.Background(), s.tag(subject))
	if err != nil {
		return ""
	}
	return node.Options().Addr
}
