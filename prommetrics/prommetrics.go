package prommetrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtexp/jwtexp/core"
)

// DefaultStoreBuckets are the bounds, in seconds, of jwtexp_store_call_duration_seconds: from
// 50µs (an in-memory store, a local replica) to 1s (a struggling Redis).
var DefaultStoreBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Option configures New.
type Option func(*options)

type options struct {
	buckets     []float64
	constLabels prometheus.Labels
}

// WithStoreBuckets sets the histogram bounds of jwtexp_store_call_duration_seconds, in seconds.
// Default: DefaultStoreBuckets.
func WithStoreBuckets(b []float64) Option { return func(o *options) { o.buckets = b } }

// WithConstLabels adds labels with fixed values to every metric, for example to tell two Managers
// of one process apart. Default: none.
func WithConstLabels(l prometheus.Labels) Option { return func(o *options) { o.constLabels = l } }

// Metrics is a prometheus.Collector of a Manager's events. Register it, and pass Hook to
// core.WithEventHook (and, for the replica and key set figures, to redisstore.WithEventHook and
// jwks.WithEventHook). It is safe for concurrent use.
type Metrics struct {
	decisions   *prometheus.CounterVec
	issued      prometheus.Counter
	refreshes   *prometheus.CounterVec
	revocations *prometheus.CounterVec
	storeCalls  *prometheus.HistogramVec
	storeFails  *prometheus.CounterVec
	fetches     *prometheus.CounterVec
	warnings    prometheus.Counter
	dataLoss    prometheus.Counter
	connEnded   *prometheus.CounterVec
	rotations   *prometheus.CounterVec // key ring rotations, by ring and reason
	keySigned   *prometheus.HistogramVec
	retiredKeys *prometheus.CounterVec // tokens naming a retired ring key, by ring

	// Resolved once, so the request path does no label lookup.
	accepted                       prometheus.Counter
	rejected                       map[string]prometheus.Counter // by core.ReasonCode
	refreshOK, refreshGrace, reuse prometheus.Counter
	revToken, revSession, revSubj  prometheus.Counter
	storeObs                       map[string]prometheus.Observer // by core.StoreOps, and "other"
	storeFail                      map[string]prometheus.Counter  // likewise
	fetchOK, fetchErr              prometheus.Counter
	ended                          map[string]prometheus.Counter // by core.EndReason

	replicaSeen  atomic.Bool
	replicaIn    atomic.Bool
	replicaHeard atomic.Int64 // Unix ns of the last InSync event
	keysSeen     atomic.Bool
	keysFetched  atomic.Int64 // Unix ns of the last successful fetch; 0: none yet

	inSyncDesc, lagDesc, ageDesc *prometheus.Desc
	now                          func() time.Time
}

// New returns the metrics, all at zero. Register them with a prometheus.Registerer.
func New(opts ...Option) *Metrics {
	o := options{buckets: DefaultStoreBuckets}
	for _, opt := range opts {
		opt(&o)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jwtexp", Name: name, Help: help, ConstLabels: o.constLabels}, labels)
	}
	m := &Metrics{
		decisions:   counter("auth_decisions_total", "Credentials accepted or refused, by outcome and refusal reason.", "outcome", "reason"),
		refreshes:   counter("refreshes_total", "Refresh tokens exchanged, by result: ok, grace, reused (reuse detected, session revoked).", "result"),
		revocations: counter("revocations_total", "Revocations, by kind: token, session, subject.", "kind"),
		storeFails:  counter("store_failures_total", "Requests refused because the store failed, by store call.", "op"),
		fetches:     counter("jwks_fetches_total", "Fetches of the remote key set, by result: ok, error.", "result"),
		connEnded:   counter("connections_ended_total", "Connections bound to a token (SSE, WebSocket) that ended, by reason: token_expired, token_revoked, unavailable, closed.", "reason"),
		rotations:   counter("key_rotations_total", "Key ring rotations this instance made (core.WithKeyRotation), by ring (access, refresh) and reason (created, scheduled, emergency).", "ring", "reason"),
		retiredKeys: counter("retired_keys_presented_total", "Tokens refused because they name a retired key of a key ring, by ring.", "ring"),
		keySigned: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jwtexp", Name: "key_signing_age_seconds",
			Help: "How long a ring key signed before a rotation retired it from signing, by ring.", ConstLabels: o.constLabels,
			Buckets: prometheus.ExponentialBuckets(1, 4, 12)}, []string{"ring"}),
		storeCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jwtexp", Name: "store_call_duration_seconds",
			Help: "Duration of store calls, by Store method.", Buckets: o.buckets, ConstLabels: o.constLabels}, []string{"op"}),
		inSyncDesc: prometheus.NewDesc("jwtexp_replica_in_sync", "1 while the Redis store's local replica answers without a network call, else 0.", nil, o.constLabels),
		lagDesc:    prometheus.NewDesc("jwtexp_replica_lag_seconds", "Time since the local replica last heard from Redis while in sync.", nil, o.constLabels),
		ageDesc:    prometheus.NewDesc("jwtexp_jwks_age_seconds", "Time since the remote key set was last fetched successfully.", nil, o.constLabels),
		now:        time.Now,
	}
	m.issued = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jwtexp", Name: "sessions_issued_total",
		Help: "Logins that issued a token pair.", ConstLabels: o.constLabels})
	m.warnings = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jwtexp", Name: "config_warnings_total",
		Help: "Settings that weaken a safeguard, reported by core.New.", ConstLabels: o.constLabels})
	m.dataLoss = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jwtexp", Name: "store_data_loss_total",
		Help: "Times the store found it had lost records (restart without data, eviction); older tokens are refused.", ConstLabels: o.constLabels})
	m.accepted = m.decisions.WithLabelValues("accepted", "")
	m.rejected = make(map[string]prometheus.Counter)
	for _, code := range core.ReasonCodes() {
		m.rejected[code] = m.decisions.WithLabelValues("rejected", code)
	}
	m.refreshOK, m.refreshGrace, m.reuse = m.refreshes.WithLabelValues("ok"), m.refreshes.WithLabelValues("grace"), m.refreshes.WithLabelValues("reused")
	m.revToken, m.revSession, m.revSubj = m.revocations.WithLabelValues("token"), m.revocations.WithLabelValues("session"), m.revocations.WithLabelValues("subject")
	m.storeObs, m.storeFail = make(map[string]prometheus.Observer), make(map[string]prometheus.Counter)
	for _, op := range append(core.StoreOps(), "other") { // every series from the start
		m.storeObs[op] = m.storeCalls.WithLabelValues(op)
		m.storeFail[op] = m.storeFails.WithLabelValues(op)
	}
	m.fetchOK, m.fetchErr = m.fetches.WithLabelValues("ok"), m.fetches.WithLabelValues("error")
	m.ended = make(map[string]prometheus.Counter)
	for _, r := range []string{core.EndTokenExpired, core.EndTokenRevoked, core.EndUnavailable, core.EndClosed} {
		m.ended[r] = m.connEnded.WithLabelValues(r)
	}
	return m
}

// Hook records one event. Pass it to core.WithEventHook, redisstore.WithEventHook and
// jwks.WithEventHook. It reads neither the subject nor any id of the event.
func (m *Metrics) Hook(_ context.Context, e core.Event) {
	switch e.Kind {
	case core.EventAuthenticated:
		m.accepted.Inc()
	case core.EventRejected:
		code := core.ReasonCode(e.Err)
		if c, ok := m.rejected[code]; ok {
			c.Inc()
		} else {
			m.decisions.WithLabelValues("rejected", code).Inc()
		}
	case core.EventStoreCall:
		o, ok := m.storeObs[e.Op]
		if !ok { // an Op outside core.StoreOps: one series, not one per string
			o = m.storeObs["other"]
		}
		o.Observe(e.Duration.Seconds())
	case core.EventIssued:
		m.issued.Inc()
	case core.EventRefreshed:
		m.refreshOK.Inc()
	case core.EventRefreshGrace:
		m.refreshGrace.Inc()
	case core.EventReuseDetected:
		m.reuse.Inc()
	case core.EventRevoked:
		switch {
		case e.TokenID != "":
			m.revToken.Inc()
		case e.SessionID != "":
			m.revSession.Inc()
		default:
			m.revSubj.Inc()
		}
	case core.EventStoreFailure:
		c, ok := m.storeFail[e.Op]
		if !ok {
			c = m.storeFail["other"]
		}
		c.Inc()
	case core.EventReplicaSync:
		m.replicaIn.Store(e.InSync)
		if e.InSync {
			m.replicaHeard.Store(e.Time.UnixNano())
		}
		m.replicaSeen.Store(true)
	case core.EventKeysFetched:
		if e.Err != nil {
			m.fetchErr.Inc()
		} else {
			m.fetchOK.Inc()
			m.keysFetched.Store(e.Time.UnixNano())
		}
		m.keysSeen.Store(true)
	case core.EventConfigWarning:
		m.warnings.Inc()
	case core.EventStoreDataLoss:
		m.dataLoss.Inc()
	case core.EventConnectionEnded:
		m.ended[core.EndReason(e.Err)].Inc() // EndReason returns one of the four keys
	case core.EventKeyRotated:
		if ring := ringLabel(e.Op); ring != "" && (e.Reason == "created" || e.Reason == "scheduled" || e.Reason == "emergency") {
			m.rotations.WithLabelValues(ring, e.Reason).Inc()
			if e.Duration > 0 {
				m.keySigned.WithLabelValues(ring).Observe(e.Duration.Seconds())
			}
		}
	case core.EventKeyRetiredPresented:
		if ring := ringLabel(e.Op); ring != "" {
			m.retiredKeys.WithLabelValues(ring).Inc()
		}
	}
}

// ringLabel bounds the ring label to the two rings core has.
func ringLabel(op string) string {
	switch core.KeyRole(op) {
	case core.KeyRoleAccess, core.KeyRoleRefresh:
		return op
	}
	return ""
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	ch <- m.inSyncDesc
	ch <- m.lagDesc
	ch <- m.ageDesc
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	now := m.now()
	if m.replicaSeen.Load() {
		in := 0.0
		if m.replicaIn.Load() {
			in = 1
		}
		ch <- prometheus.MustNewConstMetric(m.inSyncDesc, prometheus.GaugeValue, in)
		if heard := m.replicaHeard.Load(); heard != 0 {
			ch <- prometheus.MustNewConstMetric(m.lagDesc, prometheus.GaugeValue, max(0, now.Sub(time.Unix(0, heard)).Seconds()))
		}
	}
	if fetched := m.keysFetched.Load(); m.keysSeen.Load() && fetched != 0 {
		ch <- prometheus.MustNewConstMetric(m.ageDesc, prometheus.GaugeValue, max(0, now.Sub(time.Unix(0, fetched)).Seconds()))
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.decisions, m.issued, m.refreshes, m.revocations, m.storeCalls, m.storeFails, m.fetches, m.warnings, m.dataLoss,
		m.rotations, m.keySigned, m.retiredKeys, m.connEnded}
}

var _ prometheus.Collector = (*Metrics)(nil)
