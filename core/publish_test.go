package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// publicMembers are the only members a published JWK may have (RFC 7517 §4, RFC 7518 §6.2.1,
// §6.3.1, RFC 8037 §2); d, p, q, dp, dq, qi, oth and k would leak private or secret material.
var publicMembers = map[string]bool{"kty": true, "use": true, "alg": true, "kid": true,
	"crv": true, "x": true, "y": true, "n": true, "e": true}

// jwkPublicKey rebuilds the public key a JWK describes, independently of core's encoder.
func jwkPublicKey(t testing.TB, j map[string]string) crypto.PublicKey {
	t.Helper()
	switch j["kty"] {
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, j["n"])), E: int(new(big.Int).SetBytes(mustB64(t, j["e"])).Int64())}
	case "EC":
		curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384()}
		x, y := mustB64(t, j["x"]), mustB64(t, j["y"])
		size := (curves[j["crv"]].Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			t.Fatalf("EC coordinates of %d and %d bytes, want %d each (RFC 7518 §6.2.1.2)", len(x), len(y), size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curves[j["crv"]], append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatal(err)
		}
		return pub
	case "OKP":
		if j["crv"] != "Ed25519" {
			t.Fatalf("crv %q", j["crv"])
		}
		return ed25519.PublicKey(mustB64(t, j["x"]))
	}
	t.Fatalf("unexpected kty %q", j["kty"])
	return nil
}

func parseJWKS(t testing.TB, doc []byte) []map[string]string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil || set.Keys == nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	out := make([]map[string]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		m := map[string]string{}
		for name, v := range k {
			if !publicMembers[name] {
				t.Fatalf("JWK member %q must not be published: %s", name, doc)
			}
			s, ok := v.(string)
			if !ok {
				t.Fatalf("JWK member %q is not a string", name)
			}
			m[name] = s
		}
		out = append(out, m)
	}
	return out
}

// smallXKey returns a P-256 key whose x coordinate starts with a zero byte, so that an encoder
// that drops leading zeros (big.Int.Bytes) would publish a 31-byte x.
func smallXKey(t testing.TB) *ecdsa.PrivateKey {
	for range 100000 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := k.PublicKey.Bytes(); b[1] == 0 {
			return k
		}
	}
	t.Fatal("no key with a short x found")
	return nil
}

func TestJWKSPublish(t *testing.T) {
	t.Parallel()
	k := testKeys()
	short := smallXKey(t)
	clock := testutil.NewClock(t0)
	m := asymManager(t, clock, core.Key{ID: "k3", Private: k.rsa},
		core.Key{ID: "k1", Private: short},
		core.Key{ID: "k2", Public: k.ed.Public()},
		core.Key{ID: "k0", Public: k.p384.Public()},
		core.Key{ID: "hmac", Secret: []byte("an-old-hmac-access-secret-0123456789")},
	)
	doc := m.JWKS()
	keys := parseJWKS(t, doc)
	want := []struct {
		kid, kty, alg string
		pub           crypto.PublicKey
	}{
		{"k3", "RSA", "RS256", k.rsa.Public()}, // the active key first, then by kid
		{"k0", "EC", "ES384", k.p384.Public()},
		{"k1", "EC", "ES256", short.Public()},
		{"k2", "OKP", "EdDSA", k.ed.Public()},
	}
	if len(keys) != len(want) {
		t.Fatalf("got %d keys, want %d (no HMAC, no refresh key): %s", len(keys), len(want), doc)
	}
	for i, w := range want {
		j := keys[i]
		if j["kid"] != w.kid || j["kty"] != w.kty || j["alg"] != w.alg || j["use"] != "sig" {
			t.Errorf("key %d: got %v, want kid %s kty %s alg %s use sig", i, j, w.kid, w.kty, w.alg)
			continue
		}
		if !jwkPublicKey(t, j).(interface{ Equal(crypto.PublicKey) bool }).Equal(w.pub) {
			t.Errorf("key %s: the published key is not the configured one", w.kid)
		}
	}

	// A token of the active key verifies with golang-jwt and the key as published.
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.Parse(p.AccessToken, func(tok *jwt.Token) (any, error) {
		for _, j := range keys {
			if j["kid"] == tok.Header["kid"] {
				return jwkPublicKey(t, j), nil
			}
		}
		return nil, fmt.Errorf("kid %v not published", tok.Header["kid"])
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(clock.Now))
	if err != nil {
		t.Fatalf("verify with the published key: %v", err)
	}

	// JWKS returns a copy: the document stays immutable.
	doc[0] = 'X'
	if again := m.JWKS(); again[0] != '{' {
		t.Fatal("JWKS handed out its own buffer")
	}

	r := m.HTTP().ServeJWKS()
	rec := httptest.NewRecorder()
	r.Write(rec)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=300" ||
		rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != string(m.JWKS()) {
		t.Fatalf("ServeJWKS: got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

func TestJWKSEmpty(t *testing.T) {
	t.Parallel()
	m := newManager(t, testutil.NewClock(t0)) // HMAC only
	if got := string(m.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("HMAC manager: got %s, want an empty set", got)
	}
}
