// Package otelmetrics exports what a jwtexp core.Manager does through the OpenTelemetry metrics
// API, and marks each decision on the request's span. It is fed by the Manager's event hook and
// lives in a module of its own, so that only applications that use it depend on OpenTelemetry;
// core has no dependency on it.
//
//	metrics, err := otelmetrics.New() // otel.GetMeterProvider(); WithMeterProvider to choose
//	if err != nil { /* ... */ }
//	m, err := core.New(core.WithEventHook(metrics.Hook), /* keys, issuer, audience, ... */)
//
// To see the Redis store's local replica and a remote key set too, give the same hook to
// redisstore.WithEventHook and jwks.WithEventHook.
//
// # Metrics
//
// Names and attributes follow the OpenTelemetry semantic-convention style (dot-separated
// namespaces, units in UCUM). Attribute values are fixed sets: jwtexp.auth.reason holds
// core.ReasonCode values, never a token, a subject or an error text.
//
//	instrument                        kind             unit         attributes               what
//	jwtexp.auth.decisions             counter (async)  {decision}   jwtexp.auth.outcome,     accepted, or rejected with the reason
//	                                                                jwtexp.auth.reason       (expired, bad_signature, revoked, reused, ...);
//	                                                                                         refused refresh and logout tokens count too
//	jwtexp.sessions.issued            counter          {session}    -                        logins that issued a token pair
//	jwtexp.refreshes                  counter          {refresh}    jwtexp.refresh.result    ok, grace, reused (reuse detected: session revoked)
//	jwtexp.revocations                counter          {revocation} jwtexp.revocation.kind   token, session, subject
//	jwtexp.store.operation.duration   histogram        s            jwtexp.store.operation   store calls: revoked, rotate, ... (not the memory store's per-request revoked lookup)
//	jwtexp.store.failures             counter          {failure}    jwtexp.store.operation   requests refused because the store failed
//	jwtexp.replica.in_sync            gauge (async)    1            -                        1 while the Redis replica answers locally, else 0
//	jwtexp.replica.lag                gauge (async)    s            -                        time since the replica last heard from Redis in sync
//	jwtexp.jwks.fetches               counter          {fetch}      jwtexp.jwks.result       fetches of a remote key set: ok, error
//	jwtexp.jwks.age                   gauge (async)    s            -                        time since the last successful fetch
//	jwtexp.config.warnings            counter          {warning}    -                        settings that weaken a safeguard
//	jwtexp.store.data_loss            counter          {loss}       -                        the store lost records; older tokens refused
//
// The replica and key set gauges report after their first event.
//
// # Traces
//
// When the context of a decision carries a recording span (an OpenTelemetry HTTP middleware ran
// before the jwtexp one), Hook adds the span event "jwtexp.auth.decision" with
// jwtexp.auth.outcome and jwtexp.auth.reason for an accepted or refused token, and
// "jwtexp.refresh" with jwtexp.refresh.result for a refresh. The token, its ids and secrets are
// never recorded; the subject (enduser.id) only with WithSubject.
package otelmetrics
