// Package prommetrics exports what a jwtexp core.Manager does as Prometheus metrics: a
// prometheus.Collector fed by the Manager's event hook, for applications that are scraped
// directly. It lives in a module of its own so that only applications that use it depend on
// github.com/prometheus/client_golang; core has no dependency on it.
//
//	metrics := prommetrics.New()
//	prometheus.MustRegister(metrics)
//	m, err := core.New(core.WithEventHook(metrics.Hook), /* keys, issuer, audience, ... */)
//
// To see the Redis store's local replica and a remote key set too, give the same hook to
// redisstore.WithEventHook and jwks.WithEventHook.
//
// # Metrics
//
// Every name starts with jwtexp_. Label values are fixed sets: the reason label holds
// core.ReasonCode values, never a token, a subject or an error text.
//
//	metric                                  type       labels            what
//	jwtexp_auth_decisions_total             counter    outcome, reason   credentials accepted (outcome="accepted", reason="")
//	                                                                     or refused (outcome="rejected", reason=core.ReasonCode:
//	                                                                     expired, bad_signature, revoked, reused, missing, ...);
//	                                                                     refused refresh and logout tokens count too
//	jwtexp_sessions_issued_total            counter    -                 logins that issued a token pair
//	jwtexp_refreshes_total                  counter    result            refresh tokens exchanged: ok, grace (replay inside
//	                                                                     the grace window), reused (reuse detected: session revoked)
//	jwtexp_revocations_total                counter    kind              revocations: token, session, subject
//	jwtexp_store_call_duration_seconds      histogram  op                store calls by Store method: revoked, rotate,
//	                                                                     create_family, revoke_family, deny_token, cut_off,
//	                                                                     sessions, end_sessions (not the memory store's
//	                                                                     per-request revoked lookup)
//	jwtexp_store_failures_total             counter    op                requests refused because the store failed
//	jwtexp_replica_in_sync                  gauge      -                 1 while the Redis store's local replica answers
//	                                                                     without a network call, else 0
//	jwtexp_replica_lag_seconds              gauge      -                 time since the replica last heard from Redis while in sync
//	jwtexp_jwks_fetches_total               counter    result            fetches of a remote key set: ok, error
//	jwtexp_jwks_age_seconds                 gauge      -                 time since the key set was last fetched successfully
//	jwtexp_config_warnings_total            counter    -                 settings that weaken a safeguard (WithUnsafeLeeway, ...)
//	jwtexp_store_data_loss_total            counter    -                 the store lost records (restart without data, eviction)
//
// The replica and key set gauges appear after their first event. The hook costs a few tens of
// nanoseconds per request and allocates nothing (see BENCHMARKS.md at the repository root).
package prommetrics
