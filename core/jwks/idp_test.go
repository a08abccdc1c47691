package jwks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
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
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// header returns the decoded JOSE header of a token.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var h map[string]any
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

// Two real identity providers (Ory Hydra, client-credentials grant, JWT access tokens) trusted
// by one API: both accepted on one route, forged and cross-signed tokens refused, a key
// rotation picked up through its unknown kid, a provider killed by PID served from its last
// keys for the stale time and then refused with 503, and discovery naming another issuer
// refused at start.
func TestHydraTrustedIssuers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := testutil.StartHydra(t, testutil.HydraOptions{})
	b := testutil.StartHydra(t, testutil.HydraOptions{})
	// A provider that states A's issuer: its discovery must be refused, its tokens (A's claims
	// signed with its own key) must never pass as A's.
	rogue := testutil.StartHydra(t, testutil.HydraOptions{Issuer: a.Issuer})

	// Hydra stamps its tokens with the wall clock; the test's clock starts a minute ahead and
	// the leeway is a minute, so tokens minted while the test runs are neither in the future nor
	// expired as the clock is advanced (Hydra's tokens here live 10m).
	clock := testutil.NewClock(time.Now().Add(time.Minute))
	var fetchOK, fetchFailed atomic.Int64
	hook := func(_ context.Context, e core.Event) {
		if e.Kind == core.EventKeysFetched {
			if e.Err == nil {
				fetchOK.Add(1)
			} else {
				fetchFailed.Add(1)
			}
		}
	}
	opts := []jwks.Option{jwks.WithClock(clock.Now), jwks.WithStaleFor(3 * time.Minute),
		jwks.WithUnknownKIDRefresh(time.Minute), jwks.WithHTTPTimeout(5 * time.Second), jwks.WithEventHook(hook)}
	if _, err := jwks.Discover(ctx, a.Issuer, opts...); err != nil {
		t.Fatalf("Discover A: %v", err)
	}
	// The rogue's URL differs from the issuer its document states: discovery is refused.
	if _, err := jwks.Discover(ctx, rogue.Issuer, opts...); !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "names issuer") {
		t.Fatalf("discovery stating another issuer: %v; want refused at start", err)
	}

	pa, err := jwks.Discover(ctx, a.Issuer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := jwks.Discover(ctx, b.Issuer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ta, tb := pa.TrustedIssuer(), pb.TrustedIssuer()
	ta.MaxTokenLifetime, tb.MaxTokenLifetime = time.Hour, time.Hour
	tb.Algorithms = []string{"ES256"}
	m, err := core.New(core.WithTrustedIssuers(ta, tb), core.WithAudience("api"),
		core.WithClock(clock.Now), core.WithLeeway(time.Minute), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(nethttpjwt.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		w.Write([]byte(c.Issuer))
	})))
	defer srv.Close()
	get := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	want := func(when, token string, status int, body string) {
		t.Helper()
		got, gotBody := get(token)
		if got != status || (body != "" && gotBody != body) {
			t.Fatalf("%s: %d %q; want %d %q", when, got, gotBody, status, body)
		}
	}

	tokA, tokB := a.Token("read", "api"), b.Token("read admin", "api")
	want("token of A", tokA, 200, a.Issuer)
	want("token of B", tokB, 200, b.Issuer)
	want("token of A for another audience", a.Token("read", "https://api.example/"), 401, "")
	want("A's claims signed by the rogue with its own key", rogue.Token("read", "api"), 401, "")
	// A's header and claims with B's signature.
	pA, pB := strings.Split(tokA, "."), strings.Split(tokB, ".")
	want("A's token with B's signature", pA[0]+"."+pA[1]+"."+pB[2], 401, "")
	want("A's claims under B's header and signature", pB[0]+"."+pA[1]+"."+pB[2], 401, "")

	// RFC 9068 mode: Hydra's JWT access tokens say typ "JWT", so an issuer that must send
	// at+jwt has them refused.
	strict := ta
	strict.RequireATJWT = true
	m9068, err := core.New(core.WithTrustedIssuers(strict), core.WithAudience("api"), core.WithClock(clock.Now),
		core.WithLeeway(time.Minute), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m9068.Close()
	if typ := header(t, tokA)["typ"]; typ != "JWT" {
		t.Fatalf("Hydra's typ is %v; the RFC 9068 check below assumes JWT", typ)
	}
	if _, err := m9068.Verify(ctx, tokA); !errors.Is(err, core.ErrTokenType) {
		t.Fatalf("typ JWT in RFC 9068 mode: %v; want ErrTokenType", err)
	}

	// Key rotation at A: its next tokens name a kid the cached set does not hold; once the
	// unknown-kid window since the last fetch has passed, one fetch picks it up.
	a.RotateKey("rotated-1")
	rotated := a.Token("read", "api")
	if kid := header(t, rotated)["kid"]; kid != "rotated-1" {
		t.Fatalf("Hydra signed with kid %v after the rotation, want rotated-1", kid)
	}
	okBefore := fetchOK.Load()
	clock.Advance(time.Minute)
	want("token of the rotated key", rotated, 200, a.Issuer)
	if n := fetchOK.Load() - okBefore; n != 1 {
		t.Fatalf("%d fetches to pick up the rotated key, want 1", n)
	}
	want("token of A's previous key", tokA, 200, a.Issuer)

	// A killed by PID. Hydra sends Cache-Control no-store: the set lives the minimum, 1m, then
	// the last good keys serve for the stale time (3m), then A's tokens get 503 while B's pass.
	a.Stop()
	clock.Advance(2 * time.Minute) // expired 1m ago, within the stale time
	want("A down, within the stale time", rotated, 200, a.Issuer)
	want("B meanwhile", tokB, 200, b.Issuer)
	clock.Advance(3 * time.Minute) // 4m past expiry
	if got, _ := get(rotated); got != http.StatusServiceUnavailable {
		t.Fatalf("A down past the stale time: %d; want 503", got)
	}
	if fetchFailed.Load() == 0 {
		t.Fatal("no failed fetch reported while A is down")
	}
	want("B still", tokB, 200, b.Issuer)
}

// The unknown-kid flood against a real provider: the fetches it causes, counted at a loopback
// proxy in front of Hydra's key set.
func TestHydraUnknownKIDFlood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := testutil.StartHydra(t, testutil.HydraOptions{})
	var fetches atomic.Int64
	var mu sync.Mutex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		resp, err := http.Get(h.Issuer + ".well-known/jwks.json")
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Cache-Control", resp.Header.Get("Cache-Control"))
		b, _ := io.ReadAll(resp.Body)
		w.Write(b)
	}))
	defer proxy.Close()
	clock := testutil.NewClock(time.Now().Add(time.Minute)) // see TestHydraTrustedIssuers
	ks, err := jwks.NewKeySet(ctx, proxy.URL, jwks.WithClock(clock.Now), jwks.WithUnknownKIDRefresh(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: h.Issuer, Keys: ks, MaxTokenLifetime: time.Hour}),
		core.WithAudience("api"), core.WithClock(clock.Now), core.WithLeeway(time.Minute), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok := h.Token("read", "api")
	parts := strings.Split(tok, ".")
	hdr := header(t, tok)
	const flood = 10_000
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < flood; i += 4 {
				hdr2 := map[string]any{"alg": hdr["alg"], "typ": "JWT", "kid": "made-up-" + string(rune('a'+i%26)) + strings.Repeat("x", i%7)}
				hb, _ := json.Marshal(hdr2)
				if _, err := m.Verify(ctx, base64.RawURLEncoding.EncodeToString(hb)+"."+parts[1]+"."+parts[2]); !errors.Is(err, core.ErrSignature) {
					t.Errorf("made-up kid: %v; want ErrSignature", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Fatalf("the real token after the flood: %v", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d tokens with unknown kids within one window caused %d fetches in all; want 1 (the first)", flood, n)
	}
	t.Logf("%d tokens with made-up kids against Hydra: %d fetch(es) of its key set", flood, fetches.Load())
}
