package prommetrics_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ptu "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/prommetrics"
)

func TestManagerEvents(t *testing.T) {
	t.Parallel()
	metrics := prommetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := testutil.SuiteManager(t, clock, append(testutil.EventScenarioOptions(), core.WithEventHook(metrics.Hook))...)
	testutil.DriveEvents(t, m, clock)

	want := `
# HELP jwtexp_config_warnings_total Settings that weaken a safeguard, reported by core.New.
# TYPE jwtexp_config_warnings_total counter
jwtexp_config_warnings_total 1
# HELP jwtexp_refreshes_total Refresh tokens exchanged, by result: ok, grace, reused (reuse detected, session revoked).
# TYPE jwtexp_refreshes_total counter
jwtexp_refreshes_total{result="grace"} 1
jwtexp_refreshes_total{result="ok"} 1
jwtexp_refreshes_total{result="reused"} 1
# HELP jwtexp_revocations_total Revocations, by kind: token, session, subject.
# TYPE jwtexp_revocations_total counter
jwtexp_revocations_total{kind="session"} 2
jwtexp_revocations_total{kind="subject"} 1
jwtexp_revocations_total{kind="token"} 1
# HELP jwtexp_sessions_issued_total Logins that issued a token pair.
# TYPE jwtexp_sessions_issued_total counter
jwtexp_sessions_issued_total 4
`
	got := strings.NewReader(want)
	if err := ptu.GatherAndCompare(reg, got, "jwtexp_config_warnings_total",
		"jwtexp_refreshes_total", "jwtexp_revocations_total", "jwtexp_sessions_issued_total"); err != nil {
		t.Error(err)
	}
	// Every reason has a series from the start (at zero), so rate() sees the first refusal.
	for reason, n := range map[string]float64{"": 2, "bad_signature": 1, "expired": 1, "missing": 1, "revoked": 1, "reused": 0, "malformed": 0} {
		if v := counterValue(t, reg, "jwtexp_auth_decisions_total", "reason", reason); v != n {
			t.Errorf("decisions with reason %q: got %v, want %v", reason, v, n)
		}
	}
	for op, n := range map[string]uint64{core.StoreOpCreateFamily: 4, core.StoreOpRevoked: 0 /* the memory store's per-request lookup is not timed */, core.StoreOpRotate: 3,
		core.StoreOpDenyToken: 1, core.StoreOpCutOff: 1, core.StoreOpRevokeFamily: 1} {
		if got := histogramCount(t, reg, "jwtexp_store_call_duration_seconds", op); got != n {
			t.Errorf("store calls %s: got %d, want %d", op, got, n)
		}
	}
	if n := ptu.CollectAndCount(metrics, "jwtexp_replica_in_sync", "jwtexp_jwks_age_seconds"); n != 0 {
		t.Errorf("replica and key set gauges without their events: got %d series, want 0", n)
	}
}

// The replica's state, store failures and store latency of a Redis store.
func TestRedisStore(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	metrics := prommetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	st, err := redisstore.New(client, redisstore.WithLocalReplica(), redisstore.WithEventHook(metrics.Hook),
		redisstore.WithReplicaPingInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// A Redis without the store's loss markers (here: a new one) cannot be told from one that
	// lost its data: New reports it, and the counter shows it.
	waitFor(t, "data loss counted", func() bool { return counterValue(t, reg, "jwtexp_store_data_loss_total", "", "") == 1 })
	m := testutil.SuiteManager(t, testutil.NewClockNow(), core.WithStore(st), core.WithEventHook(metrics.Hook))
	waitFor(t, "replica in sync", func() bool { return gaugeValue(t, reg, "jwtexp_replica_in_sync") == 1 })
	if lag := gaugeValue(t, reg, "jwtexp_replica_lag_seconds"); lag < 0 || lag > 60 {
		t.Errorf("replica lag %vs", lag)
	}
	p, err := m.Issue(context.Background(), "u-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if histogramCount(t, reg, "jwtexp_store_call_duration_seconds", core.StoreOpCreateFamily) != 1 {
		t.Error("the Redis call was not timed")
	}

	srv.Stop()
	waitFor(t, "replica out of sync", func() bool { return gaugeValue(t, reg, "jwtexp_replica_in_sync") == 0 })
	if _, err := m.Verify(context.Background(), p.AccessToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("got %v, want ErrStoreUnavailable", err)
	}
	if v := counterValue(t, reg, "jwtexp_store_failures_total", "op", core.StoreOpRevoked); v != 1 {
		t.Errorf("store failures: got %v, want 1", v)
	}
	if v := counterValue(t, reg, "jwtexp_auth_decisions_total", "reason", "store_unavailable"); v != 1 {
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
	metrics := prommetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	src, err := jwks.New(context.Background(), srv.URL, jwks.WithEventHook(metrics.Hook),
		jwks.WithRefreshErrorHandler(func(context.Context, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if age := gaugeValue(t, reg, "jwtexp_jwks_age_seconds"); age < 0 || age > 60 {
		t.Errorf("key set age %vs", age)
	}
	up.Store(false)
	if _, _, err := src.VerificationKey(context.Background(), "unknown"); err == nil {
		t.Fatal("unknown kid found")
	}
	if ok, bad := counterValue(t, reg, "jwtexp_jwks_fetches_total", "result", "ok"), counterValue(t, reg, "jwtexp_jwks_fetches_total", "result", "error"); ok != 1 || bad != 1 {
		t.Errorf("fetches: got ok %v, error %v, want 1 and 1", ok, bad)
	}
}

// An identity provider's expiring key set: a provider that is down shows as failed fetches and a
// growing age while the last good keys serve, then as refusals with reason keys_unavailable.
func TestTrustedIssuerKeysUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var up atomic.Bool
	up.Store(true)
	var jwksDoc atomic.Pointer[[]byte]
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss := srv.URL + "/"
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !up.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		case r.URL.Path == "/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + iss + `","jwks_uri":"` + srv.URL + `/jwks"}`))
		default:
			w.Header().Set("Cache-Control", "max-age=60")
			w.Write(*jwksDoc.Load())
		}
	})
	clock := testutil.NewClockNow()
	signer, err := core.New(core.WithAccessKeys(core.Key{ID: "k1", Private: priv}), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer(iss), core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { signer.Close() })
	doc := signer.JWKS()
	jwksDoc.Store(&doc)

	metrics := prommetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	p, err := jwks.Discover(ctx, iss, jwks.WithClock(clock.Now), jwks.WithStaleFor(time.Minute),
		jwks.WithEventHook(metrics.Hook), jwks.WithRefreshErrorHandler(func(context.Context, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.New(core.WithTrustedIssuers(p.TrustedIssuer()), core.WithAudience("api"), core.WithClock(clock.Now),
		core.WithEventHook(metrics.Hook), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	token := func() string {
		pair, err := signer.Issue(ctx, "user-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return pair.AccessToken
	}
	up.Store(false)
	clock.Advance(90 * time.Second) // expired 30s ago: within the stale minute
	if _, err := m.Verify(ctx, token()); err != nil {
		t.Fatalf("within the stale time: %v", err)
	}
	waitFor(t, "the failed background fetch", func() bool {
		return counterValue(t, reg, "jwtexp_jwks_fetches_total", "result", "error") == 1
	})
	clock.Advance(time.Minute) // past the stale time
	if _, err := m.Verify(ctx, token()); !errors.Is(err, core.ErrKeysUnavailable) {
		t.Fatalf("past the stale time: %v; want ErrKeysUnavailable", err)
	}
	if v := counterValue(t, reg, "jwtexp_auth_decisions_total", "reason", "keys_unavailable"); v != 1 {
		t.Errorf("keys_unavailable refusals: got %v, want 1", v)
	}
	if ok, bad := counterValue(t, reg, "jwtexp_jwks_fetches_total", "result", "ok"), counterValue(t, reg, "jwtexp_jwks_fetches_total", "result", "error"); ok != 1 || bad != 2 {
		t.Errorf("fetches: got ok %v, error %v, want 1 and 2", ok, bad)
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

func family(t *testing.T, reg prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

func find(t *testing.T, reg prometheus.Gatherer, name, label, value string) *dto.Metric {
	t.Helper()
	mf := family(t, reg, name)
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if label == "" {
			return m
		}
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				return m
			}
		}
	}
	return nil
}

func counterValue(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	m := find(t, reg, name, label, value)
	if m == nil {
		t.Fatalf("no %s{%s=%q}", name, label, value)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	m := find(t, reg, name, "", "")
	if m == nil {
		return -1
	}
	return m.GetGauge().GetValue()
}

func histogramCount(t *testing.T, reg prometheus.Gatherer, name, op string) uint64 {
	t.Helper()
	m := find(t, reg, name, "op", op)
	if m == nil {
		t.Fatalf("no %s{op=%q}", name, op)
	}
	return m.GetHistogram().GetSampleCount()
}

// Store operations are a fixed set of series: every core.StoreOps value from the start, and an
// Op outside it (an application's own event fed to Hook) counted under "other", never as a new
// series per string.
func TestStoreOpSeries(t *testing.T) {
	metrics := prommetrics.New()
	want := len(core.StoreOps()) + 1
	if n := ptu.CollectAndCount(metrics, "jwtexp_store_failures_total"); n != want {
		t.Fatalf("store_failures_total has %d series before any event, want %d", n, want)
	}
	for i := range 5 {
		metrics.Hook(context.Background(), core.Event{Kind: core.EventStoreFailure, Op: "op-" + strings.Repeat("x", i)})
		metrics.Hook(context.Background(), core.Event{Kind: core.EventStoreCall, Op: "op-" + strings.Repeat("x", i), Duration: time.Millisecond})
	}
	if n := ptu.CollectAndCount(metrics, "jwtexp_store_failures_total"); n != want {
		t.Errorf("store_failures_total: %d series after unknown ops, want %d", n, want)
	}
	if n := ptu.CollectAndCount(metrics, "jwtexp_store_call_duration_seconds"); n != want {
		t.Errorf("store_call_duration_seconds: %d series after unknown ops, want %d", n, want)
	}
}

// Bound connections that end are counted by the reason the client is told.
func TestConnectionsEnded(t *testing.T) {
	t.Parallel()
	metrics := prommetrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := testutil.SuiteManager(t, clock, core.WithEventHook(metrics.Hook))
	ctx := context.Background()
	p, _ := m.Issue(ctx, "alice", nil)
	c, _ := m.Verify(ctx, p.AccessToken)
	expired, _ := m.Bind(ctx, c)
	revoked, _ := m.Bind(ctx, c)
	closed, _ := m.Bind(ctx, c)
	closed.Close()
	if err := m.RevokeToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	<-revoked.Context().Done()
	clock.Advance(time.Hour)
	<-expired.Context().Done() // revoked too: by the token's revocation, which came first
	want := `
# HELP jwtexp_connections_ended_total Connections bound to a token (SSE, WebSocket) that ended, by reason: token_expired, token_revoked, unavailable, closed.
# TYPE jwtexp_connections_ended_total counter
jwtexp_connections_ended_total{reason="closed"} 1
jwtexp_connections_ended_total{reason="token_expired"} 0
jwtexp_connections_ended_total{reason="token_revoked"} 2
jwtexp_connections_ended_total{reason="unavailable"} 0
`
	if err := ptu.GatherAndCompare(reg, strings.NewReader(want), "jwtexp_connections_ended_total"); err != nil {
		t.Error(err)
	}
}
