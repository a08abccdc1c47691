package redisstore

import (
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// Option configures a Store.
type Option func(*config)

type config struct {
	prefix       string
	replica      bool
	pingInterval time.Duration
	maxEntries   int
	hook         core.Hook
	evictionRisk bool

	waitReplicas int           // WithReplicationWait
	waitTimeout  time.Duration // WithReplicationWait
	waitSet      bool          // WithReplicationWait or WithoutReplicationWait was given

	// Set by tests only: New creates missing loss markers without recording a loss, so that a
	// test's fresh prefix does not count as a Redis that lost its data.
	freshMarkers bool

	// Set by tests only; zero means the default.
	sweepInterval, fullRetry time.Duration
}

// WithPrefix sets the prefix of every key (default DefaultPrefix, "jwtexp:"), to share one Redis
// database between applications or environments. It must be non-empty and must not contain '{'
// or '}', which would change the keys' Cluster hash tag; New reports such a prefix as an error.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// Defaults of the local replica (WithLocalReplica).
const (
	// DefaultReplicaPingInterval is how long the replica's subscription may stay silent before
	// the store pings Redis on it (WithReplicaPingInterval). The replica answers only while it
	// has heard from Redis within the last two intervals.
	DefaultReplicaPingInterval = time.Second

	// DefaultReplicaMaxEntries is how many revocation records the replica holds at most
	// (WithReplicaMaxEntries).
	DefaultReplicaMaxEntries = 1_000_000
)

// WithLocalReplica makes Revoked answer from a local, bounded, in-memory replica of the
// revocation records (denied jtis, revoked sids and cut-offs; never families), kept current
// through Redis Pub/Sub, so verifying an access token makes no network call while the replica
// is in sync. When it is not in sync (before the first resync, while the subscription is down,
// after a silence longer than twice the ping interval, or beyond the size bound) Revoked falls
// back to its one-round-trip MGET, which fails closed when Redis is unreachable. See "Local
// replica" in the package documentation.
//
// The store then runs one goroutine and holds one extra connection (the subscription) until
// Close. A *redis.Ring client is refused: its shards do not share Pub/Sub.
func WithLocalReplica() Option {
	return func(c *config) { c.replica = true }
}

// WithReplicaPingInterval sets how long the replica's subscription may stay silent before the
// store pings Redis on it (default DefaultReplicaPingInterval, 1 s). The replica answers only
// while it has heard from Redis (a message or a pong) within the last 2*d, so a subscription that
// died without the connection being closed (a partition, a stalled server) is never trusted for
// longer than that. d must be positive; it has no effect without WithLocalReplica.
func WithReplicaPingInterval(d time.Duration) Option {
	return func(c *config) { c.pingInterval = d }
}

// WithReplicaMaxEntries bounds the replica to n revocation records (default
// DefaultReplicaMaxEntries). A denylisted jti, a revoked sid and a subject's cut-off count one
// each; a record takes about 200 bytes of memory with a 32-character id, so the default bound
// is about 200 MB at most (the replica is usually far smaller). When a new record would exceed
// the bound, the replica is dropped and Revoked uses MGET (one round trip per call) until a
// resync, retried every minute, finds at most n live records. n must be positive; it has no
// effect without WithLocalReplica.
func WithReplicaMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// WithEventHook passes the local replica's state to hook as core.EventReplicaSync events: InSync
// true each time the replica (re)gains sync or hears from Redis (a revocation message or a pong,
// so at least once per ping interval while in sync), InSync false once when it stops answering
// (subscription lost, lease run out, bound exceeded, Close). The time of the last InSync event
// tells how stale the replica may be; the metrics modules (otelmetrics, prommetrics) turn it into
// an in-sync gauge and a lag. The hook runs on the replica's goroutine, or on the one whose write
// overflowed it: keep it fast. nil is ignored.
//
// The hook also receives a core.EventStoreDataLoss (Err ErrDataLoss, Reason naming the loss time)
// each time the store finds a later loss of records than it knew of: Redis came back without its
// data or evicted keys, and tokens issued until then are refused (see "Persistence and eviction"
// in the package documentation). Alert on it.
func WithEventHook(hook core.Hook) Option {
	return func(c *config) { c.hook = hook }
}

// WithEvictionRisk lets New accept a Redis whose maxmemory-policy may evict keys (anything but
// noeviction). Every key the store writes has a TTL, so volatile-* policies may evict revocation
// records as readily as allkeys-* ones (volatile-ttl evicts them first), and an evicted
// revocation makes a revoked token valid again. With this option the store detects evictions
// instead: Revoked and Rotate become scripts that also read the node's evicted_keys counter
// (INFO stats), and when it changed since the last check of a slot, every token of that slot
// issued until then is refused, as after a restart without data (see "Persistence and
// eviction" in the package documentation). Under memory pressure this logs users out again and
// again; prefer noeviction and enough memory. It cannot be combined with WithLocalReplica,
// whose copy cannot see evictions.
func WithEvictionRisk() Option {
	return func(c *config) { c.evictionRisk = true }
}
