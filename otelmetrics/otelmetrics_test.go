package otelmetrics_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/otelmetrics"
)

// reader is an in-memory metric reader with lookups.
type reader struct {
	t *testing.T
	r *sdkmetric.ManualReader
}

func newMetrics(t *testing.T, opts ...otelmetrics.Option) (*otelmetrics.Metrics, reader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := otelmetrics.New(append([]otelmetrics.Option{otelmetrics.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reader{t, r}
}

func (r reader) metric(name string) (metricdata.Metrics, bool) {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.r.Collect(context.Background(), &rm); err != nil {
		r.t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sum returns the value of counter name for the data point whose attributes include kvs.
func (r reader) sum(name string, kvs ...attribute.KeyValue) int64 {
	r.t.Helper()
	m, ok := r.metric(name)
	if !ok {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if has(dp.Attributes, kvs) {
			total += dp.Value
		}
	}
	return total
}

func (r reader) histogramCount(name string, kvs ...attribute.KeyValue) uint64 {
	r.t.Helper()
	m, ok := r.metric(name)
	if !ok {
		return 0
	}
	var n uint64
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		if has(dp.Attributes, kvs) {
			n += dp.Count
		}
	}
	return n
}

// gauge returns the gauge's single value, or -1 when it reported nothing.
func (r reader) gauge(name string) float64 {
	r.t.Helper()
	m, ok := r.metric(name)
	if !ok {
		return -1
	}
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		if len(d.DataPoints) == 1 {
			return float64(d.DataPoints[0].Value)
		}
	case metricdata.Gauge[float64]:
		if len(d.DataPoints) == 1 {
			return d.DataPoints[0].Value
		}
	}
	return -1
}

func has(set attribute.Set, kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

var (
	outcome = attribute.Key("jwtexp.auth.outcome")
	reason  = attribute.Key("jwtexp.auth.reason")
)

func TestManagerEvents(t *testing.T) {
	t.Parallel()
	metrics, r := newMetrics(t)
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := testutil.SuiteManager(t, clock, append(testutil.EventScenarioOptions(), core.WithEventHook(metrics.Hook))...)
	testutil.DriveEvents(t, m, clock)

	for _, c := range []struct {
		name string
		kvs  []attribute.KeyValue
		want int64
	}{
		{"jwtexp.auth.decisions", []attribute.KeyValue{outcome.String("accepted")}, 2},
		{"jwtexp.auth.decisions", []attribute.KeyValue{outcome.String("rejected")}, 4},
		{"jwtexp.auth.decisions", []attribute.KeyValue{reason.String("bad_signature")}, 1},
		{"jwtexp.auth.decisions", []attribute.KeyValue{reason.String("expired")}, 1},
		{"jwtexp.auth.decisions", []attribute.KeyValue{reason.String("missing")}, 1},
		{"jwtexp.auth.decisions", []attribute.KeyValue{reason.String("revoked")}, 1},
		{"jwtexp.sessions.issued", nil, 4},
		{"jwtexp.refreshes", []attribute.KeyValue{attribute.String("jwtexp.refresh.result", "ok")}, 1},
		{"jwtexp.refreshes", []attribute.KeyValue{attribute.String("jwtexp.refresh.result", "grace")}, 1},
		{"jwtexp.refreshes", []attribute.KeyValue{attribute.String("jwtexp.refresh.result", "reused")}, 1},
		{"jwtexp.revocations", []attribute.KeyValue{attribute.String("jwtexp.revocation.kind", "token")}, 1},
		{"jwtexp.revocations", []attribute.KeyValue{attribute.String("jwtexp.revocation.kind", "session")}, 2}, // a logout, and u-2's live session ended by RevokeSubject
		{"jwtexp.revocations", []attribute.KeyValue{attribute.String("jwtexp.revocation.kind", "subject")}, 1},
		{"jwtexp.config.warnings", nil, 1},
	} {
		if got := r.sum(c.name, c.kvs...); got != c.want {
			t.Errorf("%s %v: got %d, want %d", c.name, c.kvs, got, c.want)
		}
	}
	for op, n := range map[string]uint64{core.StoreOpCreateFamily: 4, core.StoreOpRevoked: 0 /* the memory store's per-request lookup is not timed */, core.StoreOpRotate: 3,
		core.StoreOpDenyToken: 1, core.StoreOpCutOff: 1, core.StoreOpRevokeFamily: 1} {
		if got := r.histogramCount("jwtexp.store.operation.duration", attribute.String("jwtexp.store.operation", op)); got != n {
			t.Errorf("store calls %s: got %d, want %d", op, got, n)
		}
	}
	if g := r.gauge("jwtexp.replica.in_sync"); g != -1 {
		t.Errorf("replica gauge without a replica: got %v", g)
	}
}

// A decision on a request that carries a recording span becomes a span event, without the
// subject unless WithSubject.
func TestSpanEvents(t *testing.T) {
	t.Parallel()
	for _, withSub := range []bool{false, true} {
		var opts []otelmetrics.Option
		if withSub {
			opts = append(opts, otelmetrics.WithSubject())
		}
		metrics, _ := newMetrics(t, opts...)
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		m := testutil.SuiteManager(t, clock, core.WithEventHook(metrics.Hook))
		p, err := m.Issue(context.Background(), "u-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, span := tp.Tracer("test").Start(context.Background(), "GET /api/me")
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(ctx, testutil.Tamper(p.AccessToken)); err == nil {
			t.Fatal("tampered token accepted")
		}
		span.End()
		ended := rec.Ended()
		if len(ended) != 1 || len(ended[0].Events()) != 2 {
			t.Fatalf("got %d spans with events %v, want one span with 2 events", len(ended), ended)
		}
		ev := ended[0].Events()
		set0, set1 := attribute.NewSet(ev[0].Attributes...), attribute.NewSet(ev[1].Attributes...)
		if ev[0].Name != "jwtexp.auth.decision" || !has(set0, []attribute.KeyValue{outcome.String("accepted")}) ||
			!has(set1, []attribute.KeyValue{outcome.String("rejected"), reason.String("bad_signature")}) {
			t.Errorf("events %+v", ev)
		}
		if _, ok := set0.Value("enduser.id"); ok != withSub {
			t.Errorf("WithSubject=%v: enduser.id present = %v", withSub, ok)
		}
		for _, e := range ev {
			for _, kv := range e.Attributes {
				if v := kv.Value.Emit(); v == p.AccessToken || (v == "u-1" && !withSub) {
					t.Errorf("span event carries %s=%s", kv.Key, v)
				}
			}
		}
		_ = tp.Shutdown(context.Background())
	}
}

// The replica's state, store failures and store latency of a Redis store.
func TestRedisStore(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	metrics, r := newMetrics(t)
	st, err := redisstore.New(client, redisstore.WithLocalReplica(), redisstore.WithEventHook(metrics.Hook),
		redisstore.WithReplicaPingInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// A new Redis has none of the store's loss markers: New reports it as a data loss.
	waitFor(t, "data loss counted", func() bool { return r.sum("jwtexp.store.data_loss") == 1 })
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithEventHook(metrics.Hook))
	waitFor(t, "replica in sync", func() bool { return r.gauge("jwtexp.replica.in_sync") == 1 })
	if lag := r.gauge("jwtexp.replica.lag"); lag < 0 || lag > 60 {
		t.Errorf("replica lag %vs", lag)
	}
	p, err := m.Issue(context.Background(), "u-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.histogramCount("jwtexp.store.operation.duration", attribute.String("jwtexp.store.operation", core.StoreOpCreateFamily)) != 1 {
		t.Error("the Redis call was not timed")
	}
	srv.Stop()
	waitFor(t, "replica out of sync", func() bool { return r.gauge("jwtexp.replica.in_sync") == 0 })
	if _, err := m.Verify(context.Background(), p.AccessToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("got %v, want ErrStoreUnavailable", err)
	}
	if v := r.sum("jwtexp.store.failures", attribute.String("jwtexp.store.operation", core.StoreOpRevoked)); v != 1 {
		t.Errorf("store failures: got %v, want 1", v)
	}
	if v := r.sum("jwtexp.auth.decisions", reason.String("store_unavailable")); v != 1 {
		t.Errorf("store_unavailable refusals: got %v, want 1", v)
	}
}

// Fetches of a remote key set and the age of the cached keys.
func TestKeySet(t *testing.T) {
	t.Parallel()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	idp := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithAccessKeys(core.Key{ID: "k1", Private: priv}))
	var up atomic.Bool
	up.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(idp.JWKS())
	}))
	t.Cleanup(srv.Close)
	metrics, r := newMetrics(t)
	src, err := jwks.New(context.Background(), srv.URL, jwks.WithEventHook(metrics.Hook),
		jwks.WithRefreshErrorHandler(func(context.Context, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if age := r.gauge("jwtexp.jwks.age"); age < 0 || age > 60 {
		t.Errorf("key set age %vs", age)
	}
	up.Store(false)
	if _, _, err := src.VerificationKey(context.Background(), "unknown"); err == nil {
		t.Fatal("unknown kid found")
	}
	res := attribute.Key("jwtexp.jwks.result")
	if ok, bad := r.sum("jwtexp.jwks.fetches", res.String("ok")), r.sum("jwtexp.jwks.fetches", res.String("error")); ok != 1 || bad != 1 {
		t.Errorf("fetches: got ok %v, error %v, want 1 and 1", ok, bad)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// Store operations are a closed set: an Op that is not one of core.StoreOps is counted as
// "other", so no event can add attribute sets (series) without bound.
func TestStoreOpOther(t *testing.T) {
	m, r := newMetrics(t)
	op := attribute.Key("jwtexp.store.operation")
	for i := range 5 {
		name := fmt.Sprintf("op-%d", i)
		m.Hook(context.Background(), core.Event{Kind: core.EventStoreFailure, Op: name})
		m.Hook(context.Background(), core.Event{Kind: core.EventStoreCall, Op: name, Duration: time.Millisecond})
	}
	m.Hook(context.Background(), core.Event{Kind: core.EventStoreFailure, Op: core.StoreOps()[0]})
	if got := r.sum("jwtexp.store.failures", op.String("other")); got != 5 {
		t.Errorf("failures of unknown ops counted as other: got %d, want 5", got)
	}
	if got := r.sum("jwtexp.store.failures", op.String(core.StoreOps()[0])); got != 1 {
		t.Errorf("failures of %s: got %d, want 1", core.StoreOps()[0], got)
	}
	if got := r.histogramCount("jwtexp.store.operation.duration", op.String("other")); got != 5 {
		t.Errorf("durations of unknown ops counted as other: got %d, want 5", got)
	}
	fm, _ := r.metric("jwtexp.store.failures")
	for _, dp := range fm.Data.(metricdata.Sum[int64]).DataPoints {
		if v, _ := dp.Attributes.Value(op); strings.HasPrefix(v.AsString(), "op-") {
			t.Errorf("an unknown op got a series of its own: %v", v.AsString())
		}
	}
}

// Bound connections that end are counted by the reason the client is told.
func TestConnectionsEnded(t *testing.T) {
	t.Parallel()
	metrics, r := newMetrics(t)
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := testutil.SuiteManager(t, clock, core.WithEventHook(metrics.Hook))
	ctx := context.Background()
	p, _ := m.Issue(ctx, "alice", nil)
	c, _ := m.Verify(ctx, p.AccessToken)
	expired, _ := m.Bind(ctx, c)
	closed, _ := m.Bind(ctx, c)
	closed.Close()
	clock.Advance(time.Hour)
	<-expired.Context().Done()
	key := attribute.Key("jwtexp.connection.end_reason")
	for reason, want := range map[string]int64{core.EndTokenExpired: 1, core.EndClosed: 1, core.EndTokenRevoked: 0} {
		if got := r.sum("jwtexp.connections.ended", key.String(reason)); got != want {
			t.Errorf("jwtexp.connections.ended{%s}: got %d, want %d", reason, got, want)
		}
	}
}
