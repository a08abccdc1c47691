package redisstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Durable revocations. Redis replicates asynchronously: a logout acknowledged by a master can be
// lost when the master dies and a replica that had not received it yet is promoted - the
// logged-out token is accepted again. So a revocation write (logout, end session, end other
// sessions, log out everywhere, deny a token) is followed, on the same connection of the master
// that ran it, by WAIT: the store answers only once the write reached the replicas, or fails the
// call (the Manager answers 503, the client retries; every revocation is idempotent).
//
// By default the store waits where there is something to wait for: at start it reads INFO
// replication from the master(s), and if they have replicas it waits for one, for at most
// DefaultReplicationWait. WithReplicationWait and WithoutReplicationWait decide explicitly.

// DefaultReplicationWait bounds how long a revocation waits for a replica's acknowledgement.
// Replication on one network takes well under a millisecond; a replica that does not answer
// within this is lagging or gone.
const DefaultReplicationWait = 200 * time.Millisecond

// WithReplicationWait makes every revocation write wait until replicas replicas acknowledged it,
// for at most timeout (see "Durable revocations" in the package documentation); a write not
// acknowledged in time fails (503; the client retries) unless the master has no connected
// replica at that moment (then nothing can be lost by a promotion). replicas must be at least 1
// and timeout positive. Default: one replica and DefaultReplicationWait when the server reports
// replicas at start, else no wait. It is not available on a *redis.Ring (its shards are
// independent servers without a common failover).
func WithReplicationWait(replicas int, timeout time.Duration) Option {
	return func(c *config) { c.waitReplicas, c.waitTimeout, c.waitSet = replicas, timeout, true }
}

// WithoutReplicationWait turns the replication wait off: a revocation is acknowledged as soon as
// the master wrote it, and a failover to a replica that had not received it loses it.
func WithoutReplicationWait() Option {
	return func(c *config) { c.waitReplicas, c.waitTimeout, c.waitSet = 0, 0, true }
}

// replicationWait is the store's setting: replicas to wait for (0: none) and for how long.
type replicationWait struct {
	replicas atomic.Int64
	timeout  time.Duration
	explicit bool
}

var connectedReplicasRE = regexp.MustCompile(`(?m)^connected_slaves:(\d+)`)

// connectedReplicas reads how many replicas node has connected now.
func connectedReplicas(ctx context.Context, node *redis.Client) (int, error) {
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	m := connectedReplicasRE.FindStringSubmatch(info)
	if m == nil {
		return 0, nil
	}
	return strconv.Atoi(m[1])
}

// detectReplicas turns the wait on (one replica) when the master(s) report replicas, unless the
// application decided.
func (s *Store) detectReplicas(ctx context.Context) {
	if s.wait.explicit {
		return
	}
	var has atomic.Bool // ForEachMaster calls in parallel
	switch c := s.client.(type) {
	case *redis.Client:
		n, err := connectedReplicas(ctx, c)
		has.Store(err == nil && n > 0)
	case *redis.ClusterClient:
		_ = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			if n, err := connectedReplicas(ctx, node); err == nil && n > 0 {
				has.Store(true)
			}
			return nil
		})
	}
	if has.Load() {
		s.wait.replicas.Store(1)
	}
}

// nodeOf is the client of the one server that holds subject's records (nil when the store cannot
// address it: a Ring, or an application's wrapper).
func (s *Store) nodeOf(ctx context.Context, subject string) *redis.Client {
	switch c := s.client.(type) {
	case *redis.Client:
		return c
	case *redis.ClusterClient:
		if node, err := c.MasterForKey(ctx, s.tag(subject)); err == nil {
			return node
		}
	}
	return nil
}

// errNotReplicated: a revocation the master wrote was not acknowledged by the replicas in time.
var errNotReplicated = errors.New("revocation written on the master but not acknowledged by its replicas in time; retry")

// runDurable runs a revocation script as sc.Run does and, with the replication wait on, WAIT on
// the same connection of the server that ran it.
func (s *Store) runDurable(ctx context.Context, subject string, sc script, keys []string, args ...any) *redis.Cmd {
	replicas := s.wait.replicas.Load()
	node := s.nodeOf(ctx, subject)
	if replicas <= 0 || node == nil {
		return sc.Run(ctx, s.client, keys, args...)
	}
	var cmd *redis.Cmd
	var acked *redis.Cmd
	for try := 0; try < 2; try++ {
		pipe := node.Pipeline() // one connection: WAIT counts the script's write
		cmd = sc.EvalSha(ctx, pipe, keys, args...)
		acked = pipe.Do(ctx, "WAIT", replicas, s.wait.timeout.Milliseconds())
		_, _ = pipe.Exec(ctx)
		if err := cmd.Err(); err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
			break
		}
		if err := sc.Load(ctx, node).Err(); err != nil { // first use on this server
			cmd.SetErr(err)
			return cmd
		}
	}
	if cmd.Err() != nil {
		return cmd
	}
	n, err := acked.Int64()
	if err == nil && n >= replicas {
		return cmd
	}
	// Not acknowledged: harmless only if the master has no replica to promote right now.
	if have, ierr := connectedReplicas(ctx, node); ierr == nil && have == 0 {
		return cmd
	}
	if err == nil {
		err = fmt.Errorf("%w (%d of %d within %v)", errNotReplicated, n, replicas, s.wait.timeout)
	}
	cmd.SetErr(err)
	return cmd
}
