// Package redisstore is a core.Store on Redis, for deployments where several instances must see
// the same sessions and revocations: a logout on one instance is refused by all of them, and
// exactly one of N concurrent refreshes with the same token wins across all of them.
//
// # Usage
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // or NewClusterClient, NewFailoverClient
//	store, err := redisstore.New(client)
//	if err != nil { ... }
//	defer store.Close() // does not close client: the caller owns it
//
// New takes a client the application built (any redis.UniversalClient: single node, Sentinel or
// Cluster) and never dials anything itself.
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
//
// The prefix defaults to "jwtexp:" (WithPrefix). The subject is written base64url-encoded (and
// an empty subject as "="), so a subject containing '{', '}' or ':' can neither break the hash
// tag nor collide with another subject's keys. Times are stored as Unix milliseconds.
//
// Only token ids (jti) and session ids (sid) are stored, never tokens.
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
// concurrent rotations of the same token succeeds. Revoked, on the path of every authenticated
// request, is one MGET. Each other write is one script.
//
// # Failures
//
// Every error returned is a failure of Redis or of the connection to it, never "not found"; the
// Manager then fails closed (core.ErrStoreUnavailable). The error names the operation and wraps
// go-redis's error.
//
// # Requirements
//
// Redis 6.2 or newer (SET ... PXAT), or a compatible server (Valkey). Scripts read the server
// clock (TIME) before writing, which needs script effects replication: the default since Redis 5
// and the only mode since Redis 7.
package redisstore
