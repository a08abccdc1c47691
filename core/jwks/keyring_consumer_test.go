package jwks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtexp/jwtexp/core"
)

// TestKeyRingKeyfuncConsumer: a JWKS consumer nobody here wrote (keyfunc v3 over jwkset) follows
// a key ring through five rotations in real time. It refreshes exactly at the max-age the
// Cache-Control names and never on an unknown kid, so a key published too late would fail a
// token; two load-balanced instances rotate every 2 s and sign a token every 25 ms: zero
// unknown-kid failures.
func TestKeyRingKeyfuncConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five 2 s rotations in real time")
	}
	store := core.NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	var ms []*core.Manager
	for range 2 {
		m, err := core.New(core.WithKeyRotation("EdDSA", 2*time.Second), core.WithStore(store),
			core.WithIssuer("ring-issuer"), core.WithAudience("ring-api"),
			core.WithAccessTTL(5*time.Second), core.WithRefreshTTL(time.Minute), core.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms[served.Add(1)%2].HTTP().ServeJWKS().Write(w) // round robin, as behind a load balancer
	}))
	t.Cleanup(srv.Close)

	// The consumer's refresh interval is the max-age of the answer's Cache-Control.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cc := resp.Header.Get("Cache-Control")
	age, err := strconv.Atoi(strings.TrimPrefix(cc, "public, max-age="))
	if err != nil || age != 1 {
		t.Fatalf("Cache-Control %q: want public, max-age=1", cc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	storage, err := jwkset.NewStorageFromHTTP(srv.URL, jwkset.HTTPClientStorageOptions{
		Ctx: ctx, RefreshInterval: time.Duration(age) * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage})
	if err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	var tokens, unknown, failed int
	end := time.Now().Add(5*2*time.Second + 500*time.Millisecond)
	pace := time.NewTicker(25 * time.Millisecond)
	defer pace.Stop()
	for i := 0; time.Now().Before(end); i++ {
		<-pace.C
		p, err := ms[i%2].Issue(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Parse(p.AccessToken, kf.Keyfunc, jwt.WithValidMethods([]string{"EdDSA"}),
			jwt.WithAudience("ring-api"), jwt.WithIssuer("ring-issuer"))
		switch {
		case err != nil && strings.Contains(err.Error(), "not found"):
			unknown++
			t.Errorf("token %d: kid unknown to the consumer: %v", i, err)
		case err != nil:
			failed++
			t.Errorf("token %d: %v", i, err)
		default:
			kids[tok.Header["kid"].(string)] = true
		}
		tokens++
	}
	if len(kids) < 6 {
		t.Errorf("%d signing keys seen, want at least 6 (five rotations)", len(kids))
	}
	t.Logf("keyfunc: %d tokens, %d signing keys, %d JWKS fetches, %d unknown-kid failures, %d other failures",
		tokens, len(kids), served.Load()-1, unknown, failed)
}
