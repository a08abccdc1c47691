package testutil

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/jwtexp/jwtexp/core"
)

// JWKSPath is where the adapters' tests and the examples mount JWKSHandler.
const JWKSPath = "/.well-known/jwks.json"

// RunJWKSSuite checks an adapter's JWKSHandler (RFC 7517 §5): build mounts JWKSHandler(m) at GET
// JWKSPath and returns a Doer for the router. The answer must be exactly core.HTTP.ServeJWKS:
// 200, Cache-Control public, max-age=300, JSON, the public key with its kid and no private member;
// an HMAC-only Manager publishes an empty set; a key ring (core.WithKeyRotation) publishes its Next
// and Current keys with its own max-age.
func RunJWKSSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := NewClockNow()
	for name, m := range map[string]*core.Manager{
		"ed25519": SuiteManager(t, clock, core.WithAccessKeys(core.Key{ID: "suite-key", Private: priv})),
		"hmac":    SuiteManager(t, clock),
	} {
		t.Run(name, func(t *testing.T) {
			resp := build(t, m)(httptest.NewRequest("GET", JWKSPath, nil))
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != core.JWKSCacheControl ||
				resp.Header.Get("Content-Type") != "application/json" || string(body) != string(m.JWKS()) {
				t.Fatalf("got %d %v %s, want 200, %q, application/json and %s", resp.StatusCode, resp.Header, body, core.JWKSCacheControl, m.JWKS())
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatal(err)
			}
			switch {
			case name == "hmac" && len(set.Keys) != 0:
				t.Fatalf("an HMAC secret was published: %s", body)
			case name == "ed25519" && (len(set.Keys) != 1 || set.Keys[0]["kid"] != "suite-key" || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["d"] != nil):
				t.Fatalf("got %s, want the public Ed25519 key with kid suite-key", body)
			}
		})
	}
	t.Run("key ring", func(t *testing.T) {
		store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
		t.Cleanup(func() { store.Close() })
		m, err := core.New(KeyRingOptions(clock, store, func(context.Context, core.Event) {})...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		resp := build(t, m)(httptest.NewRequest("GET", JWKSPath, nil))
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=8" ||
			string(body) != string(m.JWKS()) || len(JWKSKIDs(t, body)) != 2 {
			t.Fatalf("got %d %v %s, want 200, public, max-age=8 and the ring's Next and Current keys", resp.StatusCode, resp.Header, body)
		}
	})
}
