package otelmetrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/jwtexp/jwtexp/core"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/jwtexp/jwtexp/otelmetrics"

// DefaultStoreBuckets are the explicit bucket boundaries, in seconds, advised for
// jwtexp.store.operation.duration: from 50µs (an in-memory store, a local replica) to 1s.
var DefaultStoreBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Option configures New.
type Option func(*options)

type options struct {
	provider metric.MeterProvider
	subject  bool
	noSpans  bool
}

// WithMeterProvider sets where the instruments are created. Default: otel.GetMeterProvider().
func WithMeterProvider(p metric.MeterProvider) Option { return func(o *options) { o.provider = p } }

// WithSubject adds the subject of an accepted token to its span event as enduser.id. The subject
// is a user id: record it only if your traces may hold personal data. Default: off.
func WithSubject() Option { return func(o *options) { o.subject = true } }

// WithoutSpanEvents stops Hook from adding span events. Default: span events on.
func WithoutSpanEvents() Option { return func(o *options) { o.noSpans = true } }

// Metrics holds the instruments fed by Hook. It is safe for concurrent use.
type Metrics struct {
	opts options

	issued, refreshes, revocations, storeFails, fetches, warnings, dataLoss, connEnded metric.Int64Counter
	rotations, retiredKeys                                                             metric.Int64Counter // key rings (core.WithKeyRotation)
	storeDur                                                                           metric.Float64Histogram

	// Decisions happen on every request: they are counted here, with one atomic add, and
	// reported by the collection callback (an observable counter), not through the SDK's
	// synchronous path, which costs a few hundred nanoseconds per measurement.
	acceptedN atomic.Int64
	rejectedN []atomic.Int64         // by reasonIdx
	reasonIdx map[string]int         // core.ReasonCode -> index
	decAttrs  []metric.ObserveOption // accepted, then each reason

	// Attribute sets, resolved once, so the request path builds no attributes.
	refresh   [3][]metric.AddOption         // ok, grace, reused
	revoke    [3][]metric.AddOption         // token, session, subject
	fetch     [2][]metric.AddOption         // ok, error
	ended     map[string][]metric.AddOption // by core.EndReason
	storeOps  map[string][]metric.RecordOption
	failOps   map[string][]metric.AddOption
	spanAttrs map[string]trace.EventOption // by reason code; "" for accepted

	replicaSeen  atomic.Bool
	replicaIn    atomic.Bool
	replicaHeard atomic.Int64 // Unix ns of the last InSync event
	keysFetched  atomic.Int64 // Unix ns of the last successful fetch; 0: none yet
	now          func() time.Time
}

// New creates the instruments. It fails only when the meter provider refuses one.
func New(opts ...Option) (*Metrics, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.provider == nil {
		o.provider = otel.GetMeterProvider()
	}
	meter := o.provider.Meter(ScopeName)
	m := &Metrics{opts: o, now: time.Now}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	decisions, err := meter.Int64ObservableCounter("jwtexp.auth.decisions", metric.WithUnit("{decision}"),
		metric.WithDescription("Credentials accepted or refused, by outcome and refusal reason."))
	errs = append(errs, err)
	m.issued = counter("jwtexp.sessions.issued", "{session}", "Logins that issued a token pair.")
	m.refreshes = counter("jwtexp.refreshes", "{refresh}", "Refresh tokens exchanged, by result: ok, grace, reused.")
	m.revocations = counter("jwtexp.revocations", "{revocation}", "Revocations, by kind: token, session, subject.")
	m.storeFails = counter("jwtexp.store.failures", "{failure}", "Requests refused because the store failed, by store operation.")
	m.fetches = counter("jwtexp.jwks.fetches", "{fetch}", "Fetches of the remote key set, by result: ok, error.")
	m.warnings = counter("jwtexp.config.warnings", "{warning}", "Settings that weaken a safeguard, reported by core.New.")
	m.connEnded = counter("jwtexp.connections.ended", "{connection}", "Connections bound to a token (SSE, WebSocket) that ended, by reason: token_expired, token_revoked, unavailable, closed.")
	m.dataLoss = counter("jwtexp.store.data_loss", "{loss}", "Times the store found it had lost records (restart without data, eviction); older tokens are refused.")
	m.rotations = counter("jwtexp.key.rotations", "{rotation}", "Key ring rotations this instance made, by ring (access, refresh) and reason (created, scheduled, emergency).")
	m.retiredKeys = counter("jwtexp.key.retired_presented", "{token}", "Tokens refused because they name a retired key of a key ring, by ring.")
	m.storeDur, err = meter.Float64Histogram("jwtexp.store.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of store calls, by store operation."), metric.WithExplicitBucketBoundaries(DefaultStoreBuckets...))
	errs = append(errs, err)
	inSync, err := meter.Int64ObservableGauge("jwtexp.replica.in_sync", metric.WithUnit("1"),
		metric.WithDescription("1 while the Redis store's local replica answers without a network call, else 0."))
	errs = append(errs, err)
	lag, err := meter.Float64ObservableGauge("jwtexp.replica.lag", metric.WithUnit("s"),
		metric.WithDescription("Time since the local replica last heard from Redis while in sync."))
	errs = append(errs, err)
	age, err := meter.Float64ObservableGauge("jwtexp.jwks.age", metric.WithUnit("s"),
		metric.WithDescription("Time since the remote key set was last fetched successfully."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if _, err := meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		now := m.now()
		if m.replicaSeen.Load() {
			v := int64(0)
			if m.replicaIn.Load() {
				v = 1
			}
			obs.ObserveInt64(inSync, v)
			if heard := m.replicaHeard.Load(); heard != 0 {
				obs.ObserveFloat64(lag, max(0, now.Sub(time.Unix(0, heard)).Seconds()))
			}
		}
		if fetched := m.keysFetched.Load(); fetched != 0 {
			obs.ObserveFloat64(age, max(0, now.Sub(time.Unix(0, fetched)).Seconds()))
		}
		obs.ObserveInt64(decisions, m.acceptedN.Load(), m.decAttrs[0])
		for i := range m.rejectedN {
			obs.ObserveInt64(decisions, m.rejectedN[i].Load(), m.decAttrs[i+1])
		}
		return nil
	}, inSync, lag, age, decisions); err != nil {
		return nil, err
	}

	add := func(kvs ...attribute.KeyValue) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}
	outcome, reason := attribute.Key("jwtexp.auth.outcome"), attribute.Key("jwtexp.auth.reason")
	m.decAttrs = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(outcome.String("accepted")))}
	m.spanAttrs = map[string]trace.EventOption{"": trace.WithAttributes(outcome.String("accepted"))}
	codes := core.ReasonCodes()
	m.rejectedN, m.reasonIdx = make([]atomic.Int64, len(codes)), make(map[string]int, len(codes))
	for i, code := range codes {
		m.reasonIdx[code] = i
		m.decAttrs = append(m.decAttrs, metric.WithAttributeSet(attribute.NewSet(outcome.String("rejected"), reason.String(code))))
		m.spanAttrs[code] = trace.WithAttributes(outcome.String("rejected"), reason.String(code))
	}
	result := attribute.Key("jwtexp.refresh.result")
	m.refresh = [3][]metric.AddOption{add(result.String("ok")), add(result.String("grace")), add(result.String("reused"))}
	kind := attribute.Key("jwtexp.revocation.kind")
	m.revoke = [3][]metric.AddOption{add(kind.String("token")), add(kind.String("session")), add(kind.String("subject"))}
	fr := attribute.Key("jwtexp.jwks.result")
	m.fetch = [2][]metric.AddOption{add(fr.String("ok")), add(fr.String("error"))}
	er := attribute.Key("jwtexp.connection.end_reason")
	m.ended = make(map[string][]metric.AddOption)
	for _, r := range []string{core.EndTokenExpired, core.EndTokenRevoked, core.EndUnavailable, core.EndClosed} {
		m.ended[r] = add(er.String(r))
	}
	m.storeOps, m.failOps = map[string][]metric.RecordOption{}, map[string][]metric.AddOption{}
	for _, op := range append(core.StoreOps(), "other") {
		set := attribute.NewSet(attribute.String("jwtexp.store.operation", op))
		m.storeOps[op] = []metric.RecordOption{metric.WithAttributeSet(set)}
		m.failOps[op] = []metric.AddOption{metric.WithAttributeSet(set)}
	}
	return m, nil
}

// Hook records one event. Pass it to core.WithEventHook, redisstore.WithEventHook and
// jwks.WithEventHook.
func (m *Metrics) Hook(ctx context.Context, e core.Event) {
	switch e.Kind {
	case core.EventAuthenticated:
		m.acceptedN.Add(1)
		m.span(ctx, "jwtexp.auth.decision", "", e.Subject)
	case core.EventRejected:
		code := core.ReasonCode(e.Err)
		if i, ok := m.reasonIdx[code]; ok {
			m.rejectedN[i].Add(1)
		} else {
			m.rejectedN[m.reasonIdx["other"]].Add(1)
		}
		m.span(ctx, "jwtexp.auth.decision", code, "")
	case core.EventStoreCall:
		opts, ok := m.storeOps[e.Op]
		if !ok { // an Op outside core.StoreOps: one series, not one per string
			opts = m.storeOps["other"]
		}
		m.storeDur.Record(ctx, e.Duration.Seconds(), opts...)
	case core.EventIssued:
		m.issued.Add(ctx, 1)
	case core.EventRefreshed:
		m.refreshes.Add(ctx, 1, m.refresh[0]...)
		m.refreshSpan(ctx, "ok")
	case core.EventRefreshGrace:
		m.refreshes.Add(ctx, 1, m.refresh[1]...)
		m.refreshSpan(ctx, "grace")
	case core.EventReuseDetected:
		m.refreshes.Add(ctx, 1, m.refresh[2]...)
		m.refreshSpan(ctx, "reused")
	case core.EventRevoked:
		switch {
		case e.TokenID != "":
			m.revocations.Add(ctx, 1, m.revoke[0]...)
		case e.SessionID != "":
			m.revocations.Add(ctx, 1, m.revoke[1]...)
		default:
			m.revocations.Add(ctx, 1, m.revoke[2]...)
		}
	case core.EventStoreFailure:
		opts, ok := m.failOps[e.Op]
		if !ok {
			opts = m.failOps["other"]
		}
		m.storeFails.Add(ctx, 1, opts...)
	case core.EventReplicaSync:
		m.replicaIn.Store(e.InSync)
		if e.InSync {
			m.replicaHeard.Store(e.Time.UnixNano())
		}
		m.replicaSeen.Store(true)
	case core.EventKeysFetched:
		if e.Err != nil {
			m.fetches.Add(ctx, 1, m.fetch[1]...)
		} else {
			m.fetches.Add(ctx, 1, m.fetch[0]...)
			m.keysFetched.Store(e.Time.UnixNano())
		}
	case core.EventConfigWarning:
		m.warnings.Add(ctx, 1)
	case core.EventStoreDataLoss:
		m.dataLoss.Add(ctx, 1)
	case core.EventConnectionEnded:
		m.connEnded.Add(ctx, 1, m.ended[core.EndReason(e.Err)]...)
	case core.EventKeyRotated:
		if r := core.KeyRole(e.Op); (r == core.KeyRoleAccess || r == core.KeyRoleRefresh) && (e.Reason == "created" || e.Reason == "scheduled" || e.Reason == "emergency") {
			m.rotations.Add(ctx, 1, metric.WithAttributes(attribute.String("jwtexp.key.ring", e.Op), attribute.String("jwtexp.key.reason", e.Reason)))
		}
	case core.EventKeyRetiredPresented:
		if r := core.KeyRole(e.Op); r == core.KeyRoleAccess || r == core.KeyRoleRefresh {
			m.retiredKeys.Add(ctx, 1, metric.WithAttributes(attribute.String("jwtexp.key.ring", e.Op)))
		}
	}
}

// span adds a decision event to the recording span of ctx, if any.
func (m *Metrics) span(ctx context.Context, name, code, subject string) {
	if m.opts.noSpans {
		return
	}
	s := trace.SpanFromContext(ctx)
	if !s.IsRecording() {
		return
	}
	attrs, ok := m.spanAttrs[code]
	if !ok { // cannot happen: ReasonCode returns one of ReasonCodes
		attrs = trace.WithAttributes(attribute.String("jwtexp.auth.outcome", "rejected"), attribute.String("jwtexp.auth.reason", code))
	}
	if m.opts.subject && subject != "" {
		s.AddEvent(name, attrs, trace.WithAttributes(attribute.String("enduser.id", subject)))
		return
	}
	s.AddEvent(name, attrs)
}

func (m *Metrics) refreshSpan(ctx context.Context, result string) {
	if m.opts.noSpans {
		return
	}
	if s := trace.SpanFromContext(ctx); s.IsRecording() {
		s.AddEvent("jwtexp.refresh", trace.WithAttributes(attribute.String("jwtexp.refresh.result", result)))
	}
}
