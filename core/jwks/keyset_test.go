package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// provider is a loopback OpenID provider: discovery document, JWK Set (with the Cache-Control
// the test sets) and a switch that makes it answer 503, counting every request.
type provider struct {
	*httptest.Server
	issuer       string // stated in the discovery document; "" : its own URL
	mu           sync.Mutex
	jwks         []byte
	cacheControl string
	ageHeader    string
	down         bool
	oidcMissing  bool // 404 on openid-configuration: RFC 8414 only
	hits         atomic.Int64
	jwksHits     atomic.Int64
}

func newProvider(t *testing.T, jwksDoc []byte) *provider {
	p := &provider{jwks: jwksDoc, cacheControl: "max-age=300"}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss := p.issuer
		if iss == "" {
			iss = p.URL + "/"
		}
		doc, _ := json.Marshal(map[string]string{"issuer": iss, "jwks_uri": p.URL + "/keys"})
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			if p.oidcMissing {
				http.NotFound(w, r)
				return
			}
			w.Write(doc)
		case "/.well-known/oauth-authorization-server":
			w.Write(doc)
		case "/keys":
			p.jwksHits.Add(1)
			if p.cacheControl != "" {
				w.Header().Set("Cache-Control", p.cacheControl)
			}
			if p.ageHeader != "" {
				w.Header().Set("Age", p.ageHeader)
			}
			w.Write(p.jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) set(f func(p *provider)) {
	p.mu.Lock()
	f(p)
	p.mu.Unlock()
}

// issuerOf is the provider's issuer identifier.
func (p *provider) issuerOf() string { return p.URL + "/" }

// signer mints access tokens of a provider: a Manager with the provider's issuer and keys.
func signer(t *testing.T, clock *testutil.Clock, iss string, active core.Key, older ...core.Key) *core.Manager {
	t.Helper()
	m, err := core.New(core.WithAccessKeys(active, older...), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer(iss), core.WithAudience(audience), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func issue(t *testing.T, m *core.Manager) string {
	t.Helper()
	p, err := m.Issue(context.Background(), "user-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.AccessToken
}

func TestKeySetLifetimeFollowsCacheControl(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := signer(t, clock, "x", core.Key{ID: "k1", Private: keys().k1})
	p := newProvider(t, m.JWKS())
	for _, tc := range []struct {
		cc, age string
		want    time.Duration
	}{
		{"public, max-age=600", "", 10 * time.Minute},
		{"max-age=600", "100", 500 * time.Second},
		{"max-age=5", "", time.Minute},           // raised to the minimum
		{"max-age=99999999", "", 24 * time.Hour}, // cut to the maximum
		{"", "", time.Hour},                      // no max-age: the default
		{"no-store", "", time.Minute},            // no caching asked: the minimum
		{"max-age=junk", "", time.Hour},          // unreadable: the default
		{"private, max-age=120", "", 2 * time.Minute},
	} {
		p.set(func(p *provider) { p.cacheControl, p.ageHeader = tc.cc, tc.age })
		ks, err := jwks.NewKeySet(context.Background(), p.URL+"/keys", jwks.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		if got := ks.Expires().Sub(clock.Now()); got != tc.want {
			t.Errorf("Cache-Control %q: lifetime %v, want %v", tc.cc, got, tc.want)
		}
	}
	if _, err := jwks.NewKeySet(context.Background(), p.URL+"/keys", jwks.WithKeySetAge(time.Hour, time.Minute, time.Hour)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("min over max: %v; want ErrInvalidConfig", err)
	}
}

// A key set past three quarters of its lifetime is fetched again in the background; one past
// its expiry keeps verifying for the stale time while the provider is down, then fails closed
// with 503, and recovers when the provider does.
func TestKeySetStaleThenFailClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	var mu sync.Mutex
	var events []core.Event
	hook := func(_ context.Context, e core.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	p, m, prov := staleProvider(t, clock, jwks.WithEventHook(hook))
	var err error
	ti := prov.TrustedIssuer()
	ti.MaxTokenLifetime = time.Hour
	rs, err := core.New(core.WithTrustedIssuers(ti), core.WithAudience(audience), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	verify := func(when string, want error) {
		t.Helper()
		_, err := rs.Verify(ctx, issue(t, m))
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: %v; want %v", when, err, want)
		}
	}
	verify("fresh", nil)
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}

	// Three quarters of 10 minutes: refreshed in the background, ahead of expiry.
	clock.Advance(8 * time.Minute)
	verify("ahead of expiry", nil)
	waitFor(t, func() bool { return p.jwksHits.Load() == 2 }, "the background refresh ahead of expiry")

	p.set(func(p *provider) { p.down = true })
	clock.Advance(11 * time.Minute) // past the expiry of the set fetched at 8m
	verify("expired, provider down, within the stale time", nil)
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		e := events[len(events)-1]
		return e.Err != nil && strings.Contains(e.Reason, "keeping the last good keys")
	}, "the failed fetch's event")

	clock.Advance(5 * time.Minute) // 24m: past 18m + 5m
	_, err = rs.Verify(ctx, issue(t, m))
	if !errors.Is(err, core.ErrKeysUnavailable) {
		t.Fatalf("past the stale time: %v; want ErrKeysUnavailable", err)
	}
	if r := rs.HTTP().Problem(err); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("answer %d, want 503", r.Status)
	}
	// Within the window after the failed fetch, no further request reaches the provider.
	before := p.hits.Load()
	for range 100 {
		if _, err := rs.Verify(ctx, issue(t, m)); !errors.Is(err, core.ErrKeysUnavailable) {
			t.Fatalf("still down: %v", err)
		}
	}
	if n := p.hits.Load() - before; n != 0 {
		t.Fatalf("%d requests to a provider that is down within one window; want 0", n)
	}

	p.set(func(p *provider) { p.down = false })
	clock.Advance(time.Minute)
	verify("provider back", nil)
}

// staleProvider starts a provider whose key set (one key, k1, of the returned signer) lives
// 10 minutes, and discovers it with a stale time of 5 minutes and a 1-minute unknown-kid window.
func staleProvider(t *testing.T, clock *testutil.Clock, opts ...jwks.Option) (*provider, *core.Manager, *jwks.Provider) {
	t.Helper()
	p := newProvider(t, nil)
	m := signer(t, clock, p.issuerOf(), core.Key{ID: "k1", Private: keys().k1})
	p.set(func(p *provider) { p.jwks = m.JWKS(); p.cacheControl = "max-age=600" })
	prov, err := jwks.Discover(context.Background(), p.issuerOf(), append([]jwks.Option{jwks.WithClock(clock.Now),
		jwks.WithStaleFor(5 * time.Minute), jwks.WithUnknownKIDRefresh(time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p, m, prov
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // generous wall-time bound on a goroutine's HTTP round trip
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A flood of tokens naming unknown kids costs the provider one fetch per window.
func TestKeySetUnknownKIDFlood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	p := newProvider(t, nil)
	m := signer(t, clock, p.issuerOf(), core.Key{ID: "k1", Private: keys().k1})
	p.set(func(p *provider) { p.jwks = m.JWKS() })
	ks, err := jwks.NewKeySet(ctx, p.URL+"/keys", jwks.WithClock(clock.Now), jwks.WithUnknownKIDRefresh(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	const flood = 10_000
	run := func() {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < flood; i += 8 {
					if _, _, err := ks.VerificationKey(ctx, fmt.Sprintf("made-up-%d", i)); !errors.Is(err, jwks.ErrUnknownKey) {
						t.Errorf("kid %d: %v; want ErrUnknownKey", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run()
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d unknown kids within the window after the first fetch: %d fetches, want 1 (the first)", flood, n)
	}
	clock.Advance(time.Minute)
	run()
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("%d unknown kids in the next window: %d fetches in all, want 2", flood, n)
	}
	t.Logf("%d unknown-kid lookups in each of 2 windows: %d fetches", flood, p.jwksHits.Load())
	if _, _, err := ks.VerificationKey(ctx, "k1"); err != nil {
		t.Fatalf("the known key after the flood: %v", err)
	}
}

func rsaJWK(kid string, bits int) map[string]string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(1)) // a number of the size; never used to verify anything
	return map[string]string{"kty": "RSA", "kid": kid, "n": base64.RawURLEncoding.EncodeToString(n.Bytes()), "e": "AQAB"}
}

func TestKeySetBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	real, _ := rsa.GenerateKey(rand.Reader, 2048)
	realJWK := rsaJWK("real", 2048)
	realJWK["n"] = base64.RawURLEncoding.EncodeToString(real.N.Bytes())
	set := func(ks ...map[string]string) []byte {
		b, _ := json.Marshal(map[string]any{"keys": ks})
		return b
	}
	many := []map[string]string{realJWK}
	for i := range 500 {
		many = append(many, rsaJWK(fmt.Sprintf("k%d", i), 2048))
	}
	p := newProvider(t, set(many...))
	if _, err := jwks.NewKeySet(ctx, p.URL+"/keys"); err == nil || !strings.Contains(err.Error(), "501 keys") {
		t.Fatalf("a set of 501 keys: %v; want refused", err)
	}
	if _, err := jwks.NewKeySet(ctx, p.URL+"/keys", jwks.WithMaxKeys(600)); err != nil {
		t.Fatalf("WithMaxKeys(600): %v", err)
	}
	huge := rsaJWK("huge", 16384)
	small := rsaJWK("small", 1024)
	p.set(func(p *provider) {
		p.jwks = set(realJWK, huge, small, map[string]string{"kty": "oct", "kid": "oct", "k": "c2VjcmV0"},
			map[string]string{"kty": "EC", "kid": "bad-ec", "crv": "P-256", "x": "AA", "y": "AA"},
			map[string]string{"kty": "RSA", "kid": "enc", "use": "enc", "n": realJWK["n"], "e": "AQAB"})
	})
	ks, err := jwks.NewKeySet(ctx, p.URL+"/keys")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.VerificationKey(ctx, "real"); err != nil {
		t.Fatalf("the usable key: %v", err)
	}
	for _, kid := range []string{"huge", "small", "oct", "bad-ec", "enc"} {
		if _, _, err := ks.VerificationKey(ctx, kid); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Errorf("key %q: %v; want skipped", kid, err)
		}
	}
	p.set(func(p *provider) { p.jwks = []byte(`{"keys":[` + strings.Repeat(`{"kty":"x"},`, 60_000) + `{}]}`) })
	if _, err := jwks.NewKeySet(ctx, p.URL+"/keys"); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("a document over the size limit: %v; want refused", err)
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	m := signer(t, clock, "x", core.Key{ID: "k1", Private: keys().k1})
	p := newProvider(t, m.JWKS())
	prov, err := jwks.Discover(ctx, p.issuerOf())
	if err != nil || prov.Metadata.JWKSURI != p.URL+"/keys" || prov.TrustedIssuer().Issuer != p.issuerOf() {
		t.Fatalf("Discover: %+v, %v", prov, err)
	}
	// RFC 8414 when the OpenID document is missing.
	p.set(func(p *provider) { p.oidcMissing = true })
	if _, err := jwks.Discover(ctx, p.issuerOf()); err != nil {
		t.Fatalf("RFC 8414 fallback: %v", err)
	}
	// The document's issuer must be exactly the configured one.
	for _, stated := range []string{p.URL, "https://evil.example/", p.URL + "/x/"} {
		p.set(func(p *provider) { p.issuer = stated })
		if _, err := jwks.Discover(ctx, p.issuerOf()); !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "names issuer") {
			t.Fatalf("document naming %q: %v; want refused at start", stated, err)
		}
	}
	p.set(func(p *provider) { p.issuer = ""; p.down = true })
	if _, err := jwks.Discover(ctx, p.issuerOf(), jwks.WithHTTPTimeout(2*time.Second)); !errors.Is(err, core.ErrKeysUnavailable) {
		t.Fatalf("provider down at start: %v; want ErrKeysUnavailable", err)
	}
	for _, bad := range []string{"http://idp.example/", "ftp://idp.example/", "idp.example", "https://idp.example/?tenant=1"} {
		if _, err := jwks.Discover(ctx, bad); !errors.Is(err, core.ErrInvalidConfig) {
			t.Fatalf("issuer %q: %v; want ErrInvalidConfig", bad, err)
		}
	}
}

// countingListener counts the connections a server that must never be contacted receives.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	t.Cleanup(s.Close)
	return s, &n
}

func TestResolver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	p := newProvider(t, nil)
	m := signer(t, clock, p.issuerOf(), core.Key{ID: "k1", Private: keys().k1})
	p.set(func(p *provider) { p.jwks = m.JWKS() })
	untrusted, contacted := countingServer(t)
	evil := signer(t, clock, untrusted.URL+"/", core.Key{ID: "k1", Private: keys().k1})

	r, err := jwks.NewResolver(func(iss string) bool { return iss == p.issuerOf() },
		core.TrustedIssuer{MaxTokenLifetime: time.Hour}, jwks.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := core.New(core.WithIssuerResolver(r), core.WithAudience(audience), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if p.hits.Load() != 0 {
		t.Fatal("the resolver discovers lazily: no request before the first token")
	}
	for range 3 {
		if _, err := rs.Verify(ctx, issue(t, m)); err != nil {
			t.Fatalf("allowed issuer: %v", err)
		}
	}
	if n := p.hits.Load(); n != 2 {
		t.Fatalf("%d requests for three tokens of one issuer; want 2 (discovery, key set)", n)
	}
	// An issuer allow refuses: refused, and nobody is asked - not even the URL it names.
	for range 100 {
		if _, err := rs.Verify(ctx, issue(t, evil)); !errors.Is(err, core.ErrIssuer) {
			t.Fatalf("untrusted issuer: %v; want ErrIssuer", err)
		}
	}
	if n := contacted.Load(); n != 0 {
		t.Fatalf("the untrusted issuer's URL got %d requests; want 0", n)
	}
	if _, err := jwks.NewResolver(nil, core.TrustedIssuer{}); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("nil allow: %v", err)
	}
}

// The static list: a token naming an untrusted issuer URL causes no request to it.
func TestUntrustedIssuerNoRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	p := newProvider(t, nil)
	m := signer(t, clock, p.issuerOf(), core.Key{ID: "k1", Private: keys().k1})
	p.set(func(p *provider) { p.jwks = m.JWKS() })
	prov, err := jwks.Discover(ctx, p.issuerOf(), jwks.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ti := prov.TrustedIssuer()
	ti.MaxTokenLifetime = time.Hour
	rs, err := core.New(core.WithTrustedIssuers(ti), core.WithAudience(audience), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	untrusted, contacted := countingServer(t)
	evil := signer(t, clock, untrusted.URL+"/", core.Key{ID: "k2", Private: keys().k1})
	before := p.hits.Load()
	for range 100 {
		if _, err := rs.Verify(ctx, issue(t, evil)); !errors.Is(err, core.ErrIssuer) {
			t.Fatalf("untrusted issuer: %v; want ErrIssuer", err)
		}
	}
	if n, m := contacted.Load(), p.hits.Load()-before; n != 0 || m != 0 {
		t.Fatalf("requests: %d to the untrusted URL, %d to the trusted provider; want none", n, m)
	}
}

// The Resolver keeps at most WithMaxIssuers providers: one dropped is discovered again.
func TestResolverBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	var ps []*provider
	for range 3 {
		p := newProvider(t, nil)
		m := signer(t, clock, p.issuerOf(), core.Key{ID: "k1", Private: keys().k1})
		p.set(func(p *provider) { p.jwks = m.JWKS() })
		ps = append(ps, p)
	}
	r, err := jwks.NewResolver(func(string) bool { return true }, core.TrustedIssuer{}, jwks.WithMaxIssuers(2), jwks.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if _, err := r.ResolveIssuer(ctx, p.issuerOf()); err != nil {
			t.Fatal(err)
		}
	}
	total := func() (n int64) {
		for _, p := range ps {
			n += p.hits.Load()
		}
		return n
	}
	if n := total(); n != 6 {
		t.Fatalf("%d requests for three issuers; want 6 (discovery and key set each)", n)
	}
	// The last one resolved is kept; with room for two, one of the first two was dropped.
	if _, err := r.ResolveIssuer(ctx, ps[2].issuerOf()); err != nil || total() != 6 {
		t.Fatalf("the latest issuer again: %v, %d requests; want it kept (6)", err, total())
	}
	for _, p := range ps[:2] {
		if _, err := r.ResolveIssuer(ctx, p.issuerOf()); err != nil {
			t.Fatal(err)
		}
	}
	if n := total(); n < 8 {
		t.Fatalf("%d requests after asking for the first two again with room for two; want at least 8 (one was dropped and discovered again)", n)
	}
	if _, err := jwks.NewResolver(func(string) bool { return true }, core.TrustedIssuer{}, jwks.WithMaxIssuers(-1)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("WithMaxIssuers(-1): %v", err)
	}
}

// One issuer through core.WithKeySource answers like a trusted issuer when its KeySet can no
// longer answer: 503 ErrKeysUnavailable past the stale time, not 401 "unknown key".
func TestKeySetWithKeySourceFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	p, m, prov := staleProvider(t, clock)
	rs, err := core.New(core.WithKeySource(prov.Keys), core.WithIssuer(p.issuerOf()), core.WithAudience(audience),
		core.WithMaxTokenLifetime(time.Hour), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if _, err := rs.Verify(ctx, issue(t, m)); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	p.set(func(p *provider) { p.down = true })
	clock.Advance(10*time.Minute + 5*time.Minute + time.Minute) // past expiry and the stale time
	_, err = rs.Verify(ctx, issue(t, m))
	if !errors.Is(err, core.ErrKeysUnavailable) {
		t.Fatalf("past the stale time: %v; want ErrKeysUnavailable", err)
	}
	if r := rs.HTTP().Problem(err); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("answer %d, want 503", r.Status)
	}
	p.set(func(p *provider) { p.down = false })
	clock.Advance(time.Minute)
	if _, err := rs.Verify(ctx, issue(t, m)); err != nil {
		t.Fatalf("provider back: %v", err)
	}
}
