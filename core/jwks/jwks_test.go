package jwks_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
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

const (
	issuer   = "https://idp.example/"
	audience = "api"
)

// idp is an issuer of access tokens with its key set, as another service would run it: a
// Manager signing with the active key and publishing the public keys.
type idp struct{ m *core.Manager }

func newIDP(t *testing.T, clock *testutil.Clock, active core.Key, older ...core.Key) idp {
	t.Helper()
	m, err := core.New(core.WithAccessKeys(active, older...), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer(issuer), core.WithAudience(audience), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return idp{m}
}

func (i idp) token(t *testing.T) string {
	t.Helper()
	p, err := i.m.Issue(context.Background(), "user-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.AccessToken
}

// jwksServer serves a JWK Set that the test replaces at will, and counts the fetches.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	doc  []byte
	hits atomic.Int64
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	s := &jwksServer{doc: doc}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		doc := s.doc
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(doc []byte) {
	s.mu.Lock()
	s.doc = doc
	s.mu.Unlock()
}

func (s *jwksServer) wantHits(t *testing.T, want int64, when string) {
	t.Helper()
	if got := s.hits.Load(); got != want {
		t.Fatalf("%s: the JWKS was fetched %d times, want %d", when, got, want)
	}
}

// keys of the test issuer: k1 (P-256), rotated to k2 (Ed25519); k3 (RSA) is never published.
type testKeys struct {
	k1 *ecdsa.PrivateKey
	k2 ed25519.PrivateKey
	k3 *rsa.PrivateKey
}

var keys = sync.OnceValue(func() testKeys {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	k3, _ := rsa.GenerateKey(rand.Reader, 2048)
	return testKeys{k1, k2, k3}
})

func newSource(t *testing.T, url string, opts ...jwks.Option) *jwks.Source {
	t.Helper()
	opts = append([]jwks.Option{jwks.WithUnknownKIDRefresh(time.Hour), jwks.WithRefreshInterval(time.Hour),
		jwks.WithRefreshErrorHandler(func(context.Context, error) {})}, opts...)
	src, err := jwks.New(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("jwks.New: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func resourceServer(t *testing.T, clock *testutil.Clock, src core.KeySource) *core.Manager {
	t.Helper()
	m, err := core.New(core.WithKeySource(src), core.WithIssuer(issuer), core.WithAudience(audience),
		core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func verify(t *testing.T, m *core.Manager, token string) error {
	t.Helper()
	_, err := m.Verify(context.Background(), token)
	return err
}

// TestRotatingKeys: the issuer rotates from k1 to k2; the resource server picks k2 up with one
// fetch, refuses a kid that is in no set without fetching again within the window (however many
// requests), and keeps verifying known keys when the issuer is down.
func TestRotatingKeys(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	before := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	after := newIDP(t, clock, core.Key{ID: "k2", Private: k.k2}, core.Key{ID: "k1", Public: k.k1.Public()})
	rogue := newIDP(t, clock, core.Key{ID: "k3", Private: k.k3})

	srv := newJWKSServer(t, before.m.JWKS())
	src := newSource(t, srv.URL)
	srv.wantHits(t, 1, "after New")
	rs := resourceServer(t, clock, src)

	old := before.token(t)
	if err := verify(t, rs, old); err != nil {
		t.Fatalf("k1 token: %v", err)
	}
	srv.wantHits(t, 1, "known kid")

	srv.serve(after.m.JWKS()) // the issuer publishes k2 and signs with it
	fresh := after.token(t)
	if err := verify(t, rs, fresh); err != nil {
		t.Fatalf("k2 token after the rotation: %v", err)
	}
	srv.wantHits(t, 2, "new kid")
	if err := verify(t, rs, fresh); err != nil {
		t.Fatalf("k2 token again: %v", err)
	}
	if err := verify(t, rs, old); err != nil {
		t.Fatalf("k1 token after the rotation: %v", err)
	}
	srv.wantHits(t, 2, "both kids known")

	// A kid in no set: refused, and no fetch within the window, even under a burst.
	stray := rogue.token(t)
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := rs.Verify(context.Background(), stray); err == nil {
				accepted.Add(1)
			} else if !errors.Is(err, core.ErrSignature) {
				t.Errorf("unknown kid: got %v, want ErrSignature", err)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 0 {
		t.Fatal("a token of an unpublished key was accepted")
	}
	srv.wantHits(t, 2, "unknown kids within the rate-limit window")

	// The issuer goes down: cached keys keep working, unknown kids fail closed.
	srv.Close()
	for name, tok := range map[string]string{"k1": old, "k2": fresh} {
		if err := verify(t, rs, tok); err != nil {
			t.Fatalf("%s token with the issuer down: %v", name, err)
		}
	}
	if err := verify(t, rs, stray); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("unknown kid with the issuer down: got %v, want ErrSignature", err)
	}

	// Expiry and leeway rules are the Manager's, whatever the source.
	clock.Advance(after.m.AccessTTL())
	if err := verify(t, rs, fresh); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("expired k2 token: got %v, want ErrTokenExpired", err)
	}
}

// TestUnknownKIDOneRefresh: an unknown kid triggers exactly one fetch; when the kid is still not
// there, the token is refused and the next unknown kid within the window fetches nothing.
func TestUnknownKIDOneRefresh(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	iss := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	rogue := newIDP(t, clock, core.Key{ID: "k3", Private: k.k3})
	srv := newJWKSServer(t, iss.m.JWKS())
	rs := resourceServer(t, clock, newSource(t, srv.URL))

	if err := verify(t, rs, rogue.token(t)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("unknown kid: got %v, want ErrSignature", err)
	}
	srv.wantHits(t, 2, "first unknown kid")
	for range 5 {
		if err := verify(t, rs, rogue.token(t)); !errors.Is(err, core.ErrSignature) {
			t.Fatalf("unknown kid again: got %v, want ErrSignature", err)
		}
	}
	srv.wantHits(t, 2, "more unknown kids in the same window")
	if err := verify(t, rs, iss.token(t)); err != nil {
		t.Fatalf("known kid: %v", err)
	}
}

// TestWithdrawnKey: a successful refresh replaces the set, so a key the issuer withdrew stops
// verifying.
func TestWithdrawnKey(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	both := newIDP(t, clock, core.Key{ID: "k2", Private: k.k2}, core.Key{ID: "k1", Public: k.k1.Public()})
	k1 := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	only2 := newIDP(t, clock, core.Key{ID: "k2", Private: k.k2})
	rogue := newIDP(t, clock, core.Key{ID: "k3", Private: k.k3})
	srv := newJWKSServer(t, both.m.JWKS())
	rs := resourceServer(t, clock, newSource(t, srv.URL))

	old := k1.token(t)
	if err := verify(t, rs, old); err != nil {
		t.Fatalf("k1 token: %v", err)
	}
	srv.serve(only2.m.JWKS())
	verify(t, rs, rogue.token(t)) // an unknown kid makes the one refresh of the window
	srv.wantHits(t, 2, "refresh")
	if err := verify(t, rs, old); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("k1 token after the issuer withdrew k1: got %v, want ErrSignature", err)
	}
	if err := verify(t, rs, only2.token(t)); err != nil {
		t.Fatalf("k2 token: %v", err)
	}
}

// TestIssuerDownRefreshFails: with the issuer down, the refresh an unknown kid triggers fails; the
// token is refused, the failure reported, and cached keys keep verifying.
func TestIssuerDownRefreshFails(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	iss := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	next := newIDP(t, clock, core.Key{ID: "k2", Private: k.k2})
	srv := newJWKSServer(t, iss.m.JWKS())
	var failures atomic.Int64
	rs := resourceServer(t, clock, newSource(t, srv.URL, jwks.WithRefreshErrorHandler(func(context.Context, error) { failures.Add(1) })))
	srv.Close()

	if err := verify(t, rs, next.token(t)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("unknown kid, issuer down: got %v, want ErrSignature", err)
	}
	if failures.Load() != 1 {
		t.Fatalf("got %d refresh failures reported, want 1", failures.Load())
	}
	if err := verify(t, rs, iss.token(t)); err != nil {
		t.Fatalf("cached key, issuer down: %v", err)
	}
}

// TestVerificationKeyFilters: only public signature keys of the supported types come out.
func TestVerificationKeyFilters(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	iss := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	set := strings.TrimSuffix(string(iss.m.JWKS()), "]}") +
		`,{"kty":"oct","kid":"secret","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}` +
		`,` + strings.Replace(strings.Replace(jwkOf(t, clock, k.k2), `"use":"sig"`, `"use":"enc"`, 1), `"kid":"x"`, `"kid":"enc"`, 1) + `]}`
	srv := newJWKSServer(t, []byte(set))
	src := newSource(t, srv.URL)
	ctx := context.Background()

	pub, alg, err := src.VerificationKey(ctx, "k1")
	if err != nil || alg != "ES256" || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.k1.Public()) {
		t.Fatalf("k1: got %v %q %v", pub, alg, err)
	}
	for _, kid := range []string{"secret", "enc", "missing"} {
		if _, _, err := src.VerificationKey(ctx, kid); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Errorf("%s: got %v, want ErrUnknownKey", kid, err)
		}
	}
}

// jwkOf returns the JWK (kid "x") a Manager publishes for priv.
func jwkOf(t *testing.T, clock *testutil.Clock, priv crypto.Signer) string {
	doc := string(newIDP(t, clock, core.Key{ID: "x", Private: priv}).m.JWKS())
	return strings.TrimSuffix(strings.TrimPrefix(doc, `{"keys":[`), `]}`)
}

func TestNewErrors(t *testing.T) {
	ctx := context.Background()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name, url string
		opts      []jwks.Option
		want      error
		text      string
	}{
		{"plain http off loopback", "http://idp.example/jwks.json", nil, core.ErrInvalidConfig, "use https"},
		{"other scheme", "ftp://idp.example/jwks.json", nil, core.ErrInvalidConfig, "scheme must be https"},
		{"relative", "/jwks.json", nil, core.ErrInvalidConfig, "not an absolute URL"},
		{"zero timeout", "https://idp.example/jwks.json", []jwks.Option{jwks.WithHTTPTimeout(0)}, core.ErrInvalidConfig, "positive"},
		{"unreachable", down.URL, nil, nil, "first HTTP request"},
		{"not found", "", nil, nil, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if url == "" {
				nf := httptest.NewServer(http.NotFoundHandler())
				defer nf.Close()
				url = nf.URL
			}
			src, err := jwks.New(ctx, url, append(tc.opts, jwks.WithRefreshErrorHandler(func(context.Context, error) {}))...)
			if err == nil {
				src.Close()
				t.Fatalf("got no error, want %q", tc.text)
			}
			if (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
	// http:// is accepted on loopback, and elsewhere only with WithInsecureHTTP.
	srv := newJWKSServer(t, []byte(`{"keys":[]}`))
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if src, err := jwks.New(ctx, u); err != nil {
		t.Fatalf("http on localhost: %v", err)
	} else {
		src.Close()
	}
	toSrv := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	if _, err := jwks.New(ctx, "http://idp.example/jwks.json", jwks.WithHTTPClient(toSrv)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("http off loopback: got %v, want ErrInvalidConfig", err)
	}
	src, err := jwks.New(ctx, "http://idp.example/jwks.json", jwks.WithHTTPClient(toSrv), jwks.WithInsecureHTTP())
	if err != nil {
		t.Fatalf("WithInsecureHTTP: %v", err)
	}
	src.Close()
	srv.wantHits(t, 2, "localhost and WithInsecureHTTP")
}

// TestEventHook: the first fetch reports success, a fetch while the issuer is down a failure (and
// the error handler still runs).
func TestEventHook(t *testing.T) {
	k := keys()
	clock := testutil.NewClockNow()
	iss := newIDP(t, clock, core.Key{ID: "k1", Private: k.k1})
	next := newIDP(t, clock, core.Key{ID: "k2", Private: k.k2})
	srv := newJWKSServer(t, iss.m.JWKS())
	var mu sync.Mutex
	var got []string
	hook := func(_ context.Context, e core.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind != core.EventKeysFetched || e.Time.IsZero() {
			got = append(got, "unexpected "+e.Kind.String())
			return
		}
		if e.Err != nil {
			got = append(got, "error")
		} else {
			got = append(got, "ok")
		}
	}
	var failures atomic.Int64
	rs := resourceServer(t, clock, newSource(t, srv.URL, jwks.WithEventHook(hook),
		jwks.WithRefreshErrorHandler(func(context.Context, error) { failures.Add(1) })))
	srv.Close()
	if err := verify(t, rs, next.token(t)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("unknown kid, issuer down: got %v, want ErrSignature", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != "ok error" || failures.Load() != 1 {
		t.Errorf("got events %v and %d handler calls, want [ok error] and 1", got, failures.Load())
	}
}
