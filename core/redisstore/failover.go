package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
}

// opError wraps err with the operation, and on Redis Cluster asks for a topology reload when err
// says a node is gone or the slot map may be stale.
func (s *Store) opError(ctx context.Context, op string, err error) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok && topologyError(err) {
		s.reload.maybe(ctx, cc)
	}
	return opError(op, err)
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
	msg := err.Error()
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "LOADING", "READONLY", "MASTERDOWN", "connection refused", "EOF", "closed"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
