// Package redisstore is a core.Store on Redis, for deployments where several instances must see
// the same sessions and revocations: a logout on one instance is refused by all of them, and
// exactly one of N concurrent refreshes with the same token wins across all of them.
//
// # Usage
//
//	client := redis.NewClient(&redis.Options{ // or NewClusterClient, NewFailoverClient
//		Addr:                  "127.0.0.1:6379",
//		ContextTimeoutEnabled: true, // required: see "Deadlines"
//	})
//	store, err := redisstore.New(client)
//	if err != nil { ... }
//	defer store.Close() // does not close client: the caller owns it
//
// To check revocations without a network round trip per request, add WithLocalReplica (see
// "Local replica" below):
//
//	store, err := redisstore.New(client, redisstore.WithLocalReplica())
//
// New takes a client the application built (any redis.UniversalClient: single node, Sentinel or
// Cluster) and never dials anything itself. It does use that client at once, for at most 3 s, to
// check the eviction policy and write the loss markers (see "Persistence and eviction").
//
// # Deadlines
//
// The Manager gives every store call its own deadline (core.WithStoreTimeout, 300 ms by default)
// and stops calling a failing store for a while (core.WithStoreBreaker). go-redis honours context
// deadlines only when the client was built with ContextTimeoutEnabled; without it a frozen Redis
// would hold each request for the client's ReadTimeout times its retries, so New refuses such a
// client (*redis.Client, *redis.ClusterClient, *redis.Ring) with an error saying what to set.
// Other go-redis settings can stay at their defaults: MaxRetries may re-send a rotation whose
// reply was lost, and Rotate answers the repeat exactly as it answered the first.
//
// Rotate decides expiry, cut-off and grace by the Redis server's clock (TIME inside the script),
// so instances whose clocks differ decide alike.
//
// # Keys
//
// Every record of one subject lives under one hash tag, so on Redis Cluster all of them sit in one
// slot and each operation is one round trip to one node:
//
//	<prefix>{<subject>}:fam:<sid>   hash: the token family (current and previous jti, times)
//	<prefix>{<subject>}:deny:<jti>  denylisted token id
//	<prefix>{<subject>}:rsid:<sid>  revoked session id
//	<prefix>{<subject>}:cut         the subject's cut-off ("log out everywhere")
//	<prefix>{<subject>}:sess        sorted set: the subject's session ids, scored by last use (ms)
//	<prefix>{!<n>}:live             loss marker, one per Cluster hash slot ("{!}" on one node)
//	<prefix>{~keyring}:k:<name>     hash: a signing-key ring of core.WithKeyRotation ("access",
//	                                "refresh"): generation, due time, document (public keys and
//	                                sealed private keys, never one in the clear)
//
// The prefix defaults to "jwtexp:" (WithPrefix). The subject is written base64url-encoded (and
// an empty subject as "="), so a subject containing '{', '}' or ':' can neither break the hash
// tag nor collide with another subject's keys. Times are stored as Unix milliseconds.
//
// Only token ids (jti) and session ids (sid) are stored, never tokens. The loss markers and the
// key rings are the only keys without a TTL: a fixed set (16384 small keys per prefix on Cluster,
// one elsewhere; two rings of at most 16 keys each). A key ring is read and swapped by one script
// each, and its rotation decided by the server's TIME (core.KeyRingStore); a ring Redis lost is
// written back from an instance's copy at its next sync.
//
// # Expiry
//
// Every key carries an absolute expiry (PXAT / PEXPIREAT) computed from the times the Manager
// passes in, so Redis drops each record exactly when the tokens it describes have expired, and
// memory stays bounded by token lifetimes. A write whose expiry is not after the Redis server's
// current time writes nothing, and a revocation record is never shortened by a later write with
// an earlier expiry. Redis expires keys by its own clock: keep the clocks of the application
// hosts and the Redis servers synchronised (NTP), as for any JWT deployment.
//
// # Atomicity and round trips
//
// Rotate is one Lua script (EVALSHA, falling back to EVAL once after a server restart) that reads
// the family and the cut-off, decides and writes in a single atomic step, so exactly one of many
// concurrent rotations of the same token succeeds; it also moves the session up in the subject's
// session index (or removes it on reuse) in that step.
//
// Sessions. The index ":sess" lets Sessions list a subject's sessions in one round trip (one
// read-only script), EndSessions end all but one, and CreateFamily bound a subject's live
// sessions (core.SessionLimit: the least recently used are ended in the same script that writes
// the new family). The scripts derive the family keys from the index key's name rather than from
// KEYS, since only the index knows them; they share its hash tag and so its Cluster slot. Every
// write that adds a member makes the index live at least as long as that member's family, so it
// expires with the last of them; members whose family expired are skipped by readers and dropped
// by the next login of the subject. A family written by a version of this package without the
// index joins it at its next rotation. Revoked, on the path of every authenticated
// request, is one MGET, or no network call at all with the local replica. Each other write is
// one script.
//
// # Local replica
//
// WithLocalReplica makes Revoked, the check on every authenticated request, answer from memory:
// the store keeps a local copy of the revocation records (denied jtis, revoked sids, cut-offs;
// never families, so Rotate stays one atomic script on Redis) and verification makes no network
// call while that copy is in sync. It is opt-in; without it, Revoked is one MGET.
//
// Announcements. Every script that writes a revocation record (DenyToken, RevokeFamily's sid
// mark, CutOff, and Rotate's reuse path) also publishes, inside the same script and so in the
// same atomic step, one message describing the record as stored after the write: on one node
// or Sentinel a PUBLISH on "<prefix>revocations", on Redis Cluster an SPUBLISH (sharded Pub/Sub,
// Redis 7) on the shard channel of the record's slot, "{!<n>}<prefix>revocations":
//
//	<kind>:<until>:<subject>:<id>
//
// kind is d (denied jti), s (revoked sid) or c (cut-off); until is the record's absolute expiry
// in Unix milliseconds; subject is encoded as in the keys; id is the jti, the sid, or the
// cut-off time in Unix milliseconds. Every store announces, with or without the replica, so
// instances with and without it can share a prefix; but a version of this package older than
// the replica does not: upgrade every instance before enabling the replica on any.
//
// Applying. Each store with the replica subscribes to the channel and merges every message: a
// record is never shortened, and of two states of one cut-off the one with the later expiry (or,
// with the same expiry, the later cut-off time) wins, which is the order Redis wrote them in.
// Merging is idempotent and order-independent, so the writing store also applies the message
// its script returned before the call returns (a Revoked right after a revocation on the same
// instance sees it), and the copy arriving on the subscription changes nothing. On one Redis, a
// revocation reaches the other instances' replicas typically within a fraction of a millisecond,
// a few milliseconds at the 99th percentile (BenchmarkRevocationPropagation).
//
// Resync. A message published while a store is not subscribed is lost to it, so on every
// subscription and resubscription (go-redis reports each one with a *redis.Subscription) the
// store rebuilds its replica: it SCANs the prefix for revocation keys (on a *redis.ClusterClient
// on every master, with ForEachMaster) and reads each record's value, which holds its absolute
// expiry. Messages published during the scan are queued on the subscription and applied after
// it. Only when the resync is complete does the replica answer.
//
// Staleness. The replica answers only while it is in sync and has heard from Redis (a message,
// or the reply to a ping it sends after WithReplicaPingInterval of silence, 1 s by default)
// within the last two ping intervals. Otherwise - before the first resync, while the
// subscription is down or being rebuilt, after a silence such as a network partition or a
// stalled server, after Close - Revoked asks Redis with its one-round-trip MGET, which fails
// when Redis is unreachable, so the Manager fails closed: beyond the propagation delay, the
// replica never answers from a copy that may have missed a revocation, except for the at most
// two ping intervals a dead connection takes to be noticed when it is not closed. A broken connection is noticed at once,
// a malformed message on the channel takes the replica out of sync too, and every failure is
// followed by a new subscription and resync (retried with a backoff of up to 1 s).
//
// Expiry and bound. Records expire from the replica by the application host's clock at the
// expiry Redis holds them until: an expired record is never reported, is dropped when a read
// finds it, and a sweep drops the others about every 30 s. The replica holds at most
// WithReplicaMaxEntries records (DefaultReplicaMaxEntries, one million). A record that does not
// fit drops the whole replica: Revoked uses MGET, and a resync is retried every minute until the
// live records fit again. The size is the number of revocations made within the lifetimes they
// guard (the access-token lifetime for logouts and denied tokens, the refresh lifetime for
// cut-offs), so size the bound from the revocation rate.
//
// Redis Cluster. A classic PUBLISH reaches subscribers on other nodes only over the cluster bus,
// fire-and-forget: a bus that drops one master's messages would leave a replica silently stale
// while it still believed itself in sync. So on Cluster the replica holds one sharded
// subscription per master, on that master's own connection, covering the shard channels of all
// the slots it serves (from CLUSTER SLOTS); announcements never cross the bus. The replica
// answers only while every one of these subscriptions has been heard (a message or a pong)
// within two ping intervals, and while the slot map it subscribed by is the cluster's: it reads
// CLUSTER SLOTS once per ping interval, and a failover or reshard ends the session. Any failure
// (a connection lost, a silence, a MOVED or sunsubscribe reply, a slot map change) takes the
// replica out of sync - Revoked then asks Redis and fails closed - and it subscribes again to
// the current masters and resyncs. Measured on a six-node loopback cluster (TestCluster6): a
// logout is refused by every other instance with the replica after p50 13 µs, p99 14 ms, max
// 15 ms; without it (MGET) p50 91 µs, p99 0.6 ms; with one master's bus messages to another
// node dropped, 0 of 10 revoked tokens were accepted and each was refused within 0.7 ms. Upgrade
// every instance before relying on the replica on Cluster: an older version PUBLISHes instead.
//
// Staleness bound. Beyond the propagation delay above, a replica answers from a copy that may
// lack a revocation only while a dead subscription has not been noticed yet: at most two ping
// intervals (2 s by default) for a connection that dies without being closed, and on Cluster one
// more ping interval for a slot map change to be seen. A closed connection is noticed at once.
//
// Costs and requirements. The store runs one goroutine (on Cluster one more per master) and holds
// one subscribed connection (on Cluster one per master, outside the client's pool) until Close,
// which stops them and never closes the client. A *redis.Ring is refused with the replica: its
// shards share no Pub/Sub. ReplicaStats reports whether the replica is in sync, for health
// checks and metrics.
//
// # Failover
//
// On a master's failure the cluster promotes its replica after cluster-node-timeout plus an
// election (about 4 s with cluster-node-timeout 2000). A *redis.ClusterClient learns of it only
// on a MOVED reply or at its periodic reload (ClusterStateReloadInterval, 60 s by default), and a
// dead master sends no MOVED. So whenever a call fails with a connection error, a timeout or a
// CLUSTERDOWN / TRYAGAIN / LOADING / READONLY / MASTERDOWN reply, the store asks the client to
// reload its slot map (ReloadState, in the background, at most once per 250 ms), and for 250 ms
// fails the calls for that master's subjects at once instead of letting each wait out its
// deadline in go-redis's retries. The other masters' subjects are served meanwhile, and the
// promoted replica is used within a reload of its election, whatever options the application
// chose. Measured with go-redis's default cluster options, eight workers on two instances
// (TestCluster6MasterKilled): replica promoted 4.0 s after the master was killed, its subjects
// served again 0.1 s later; the other subjects kept about 85% of their throughput meanwhile.
//
// Options that fit: ContextTimeoutEnabled: true (required; the Manager's store deadline,
// core.WithStoreTimeout, then bounds every call); DialTimeout, ReadTimeout and WriteTimeout
// below that deadline (for example 200 ms); MaxRetries 0 or 1, since the Manager fails closed
// and the client retries anyway; a ClusterStateReloadInterval of a few seconds if other code
// shares the client. The Manager's breaker (core.WithStoreBreaker) counts failures of the whole
// store: a dead master opens it only if its calls fail many times in a row.
//
// # Persistence and eviction
//
// A revocation record Redis forgets makes a revoked token valid again, so the store detects
// lost records and fails closed, and New refuses a Redis that may evict them.
//
// Loss markers. The store writes one marker per Cluster hash slot (one on other deployments) at
// New, without a TTL. Revoked reads the subject's marker in its MGET, and Rotate and
// CreateFamily in their scripts - the same round trip. A missing marker means the slot lost its
// data (a restart without persistence, a failover to a replica without it, eviction, FLUSHALL):
// the store records the loss at the server's time and from then on reports it as a cut-off for
// every subject of the slot (the local replica applies the latest loss of any slot to every
// subject), so every token issued at or before the loss (in whole seconds, as
// iat is) is refused - access tokens and refresh tokens alike - while sessions the store no
// longer knows are refused as always. Tokens issued before the loss expire within the longest
// token lifetime, so the cut-off refuses nothing else afterwards; logins in the second of the
// loss are refused too (they log in again). The store passes a core.EventStoreDataLoss (Err
// ErrDataLoss) to its event hook (WithEventHook) for each new loss time it sees, and rewrites all
// missing markers at once. A Redis with no markers at all (a new one) counts as a loss: New then
// waits until the server clock has left that second, so only tokens issued before New are
// refused - for example those of a memory store the application used before. On a *redis.Ring
// the markers cannot be addressed per shard and loss detection is off. Measured
// (TestRestartWithoutDataRevokedStayRefused): after a restart without data, 0 of 36 revoked
// tokens (logouts, denied tokens, cut-offs) accepted, with and without the replica.
//
// Persistence. Run Redis with AOF (appendonly yes; appendfsync everysec loses at most about a
// second of writes in a crash, appendfsync always none), and on Cluster with a replica per
// master. Replication is asynchronous: a failover can lose the last writes the old master
// acknowledged; the loss markers do not see that, since the promoted replica kept its markers.
// Without persistence every restart logs every user out (the loss cut-off), but never accepts a
// revoked token.
//
// Eviction. Every key the store writes has a TTL, so volatile-* policies may evict revocation
// records as readily as allkeys-* ones, and volatile-ttl evicts them first. New reads
// maxmemory-policy on every node (CONFIG GET) and refuses anything but noeviction with an error
// wrapping core.ErrInvalidConfig; a node that refuses CONFIG (some managed services) is not
// checked, so set the policy there yourself. Give Redis memory for the records (one per
// revocation within the token lifetimes, one per live session): under noeviction a full Redis
// refuses writes, and the Manager fails closed. WithEvictionRisk accepts an evicting policy and
// detects evictions instead: the scripts compare the node's evicted_keys counter (INFO stats)
// with the one the marker saw, and any change is a loss of the slot, as above. Measured
// (TestEvictionPolicies) with allkeys-lru, volatile-lru and volatile-ttl: 0 of 150 revoked tokens
// accepted after evictions.
//
// # Failures
//
// Every error returned is a failure of Redis or of the connection to it, never "not found"; the
// Manager then fails closed (core.ErrStoreUnavailable). The error names the operation and wraps
// go-redis's error.
//
// # Requirements
//
// Redis 6.2 or newer (SET ... PXAT), or a compatible server (Valkey); on Cluster Redis 7 or
// newer (sharded Pub/Sub). Scripts read the server clock (TIME) before writing, which needs
// script effects replication: the default since Redis 5 and the only mode since Redis 7.
//
// # Files
//
// keyspace.go builds every name Redis sees (keys, hash tags, channels, slots) and is the lowest
// layer; scripts.go holds every Lua script, each declared with the names of its KEYS and ARGV
// (its source starts with them and refuses a call with other counts); options.go every Option;
// store.go the core.Store methods, sessions.go the session index, lossguard.go loss detection,
// failover.go Cluster topology; replica.go the local replica's state and lookup,
// replica_sync.go and replica_cluster.go what keeps it current.
package redisstore
