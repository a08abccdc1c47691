package jwtexptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
)

// Paths an IdentityProvider serves under its URL.
const (
	JWKSPath      = "/.well-known/jwks.json"            // the JWK Set (RFC 7517 §5)
	DiscoveryPath = "/.well-known/openid-configuration" // OpenID Connect Discovery 1.0 §4
)

// IdentityProvider is an httptest server standing in for an identity provider that an
// application trusts: it publishes a JWK Set and an OpenID Connect discovery document, signs
// tokens with its active key (Token), and rotates keys on demand. Its issuer is its URL.
type IdentityProvider struct {
	// URL is the base URL and the issuer (iss) of its tokens.
	URL string
	// Audience is the aud of its tokens unless told otherwise. Default: Audience.
	Audience string

	alg   string
	clock func() time.Time
	ttl   time.Duration
	n     int
	fetch atomic.Int64

	mu    sync.Mutex
	keys  []core.Key // active first
	wrong core.Key   // never published
	jwks  []byte
}

// NewIdentityProvider starts an identity provider whose keys use alg: "ES256" (P-256), "RS256"
// (RSA 2048), or "EdDSA" (Ed25519). clock is the time its tokens are issued at (nil: time.Now);
// tokens live for ttl unless told otherwise. The server stops when the test ends.
func NewIdentityProvider(t testing.TB, alg string, clock func() time.Time, ttl time.Duration) *IdentityProvider {
	t.Helper()
	if clock == nil {
		clock = time.Now
	}
	if ttl <= 0 {
		t.Fatalf("jwtexptest: NewIdentityProvider: ttl %v is not positive", ttl)
	}
	p := &IdentityProvider{Audience: Audience, alg: alg, clock: clock, ttl: ttl}
	var err error
	if p.wrong, err = p.newKey("unpublished"); err != nil {
		t.Fatalf("jwtexptest: NewIdentityProvider: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, r *http.Request) {
		p.fetch.Add(1)
		p.mu.Lock()
		body := p.jwks
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	mux.HandleFunc("GET "+DiscoveryPath, func(w http.ResponseWriter, r *http.Request) {
		// The members OpenID Connect Discovery 1.0 §3 requires, of which a resource server
		// only reads issuer and jwks_uri.
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.URL,
			"jwks_uri":                              p.URL + JWKSPath,
			"authorization_endpoint":                p.URL + "/authorize",
			"token_endpoint":                        p.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{alg},
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	p.Rotate(t)
	return p
}

// JWKSURL is the URL of the JWK Set.
func (p *IdentityProvider) JWKSURL() string { return p.URL + JWKSPath }

// Fetches is how many times the JWK Set was fetched.
func (p *IdentityProvider) Fetches() int64 { return p.fetch.Load() }

// Rotate makes a new key the signing key and returns its kid; the keys before it stay published
// (verifiers may still meet tokens they signed) until Retire.
func (p *IdentityProvider) Rotate(t testing.TB) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	k, err := p.newKey(fmt.Sprintf("key-%d", p.n))
	if err != nil {
		t.Fatalf("jwtexptest: Rotate: %v", err)
	}
	p.keys = append([]core.Key{k}, p.keys...)
	p.publish(t)
	return k.ID
}

// Retire stops publishing every key but the signing key: tokens signed by the older ones no
// longer verify once a verifier has fetched the set again.
func (p *IdentityProvider) Retire(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = p.keys[:1]
	p.publish(t)
}

// publish rebuilds the JWK Set document with core's encoder; p.mu is held.
func (p *IdentityProvider) publish(t testing.TB) {
	pub := make([]core.Key, len(p.keys))
	for i, k := range p.keys {
		pub[i] = core.Key{ID: k.ID, Algorithm: k.Algorithm, Public: k.Private.Public()}
	}
	m, err := core.New(core.WithAccessKeys(pub[0], pub[1:]...), core.WithIssuer(p.URL), core.WithAudience(p.Audience), core.WithLogger(nil))
	if err != nil {
		t.Fatalf("jwtexptest: JWK Set: %v", err)
	}
	p.jwks = m.JWKS()
	m.Close()
}

func (p *IdentityProvider) newKey(kid string) (core.Key, error) {
	var priv crypto.Signer
	var err error
	switch p.alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return core.Key{}, fmt.Errorf("algorithm %q: want ES256, RS256 or EdDSA", p.alg)
	}
	return core.Key{ID: kid, Algorithm: p.alg, Private: priv}, err
}

// Token returns an access token of this provider signed with its current key (kid in the
// header): iss the provider's URL, aud Audience, sub Subject, valid from now for the provider's
// ttl, shaped by opts like Kit.Token (WrongKey signs with an unpublished key under the current
// kid; AsRefreshToken only changes typ, as a provider has no refresh key of jwtexp's kind).
func (p *IdentityProvider) Token(t testing.TB, opts ...TokenOption) string {
	t.Helper()
	p.mu.Lock()
	active := p.keys[0]
	p.mu.Unlock()
	method := jwt.GetSigningMethod(p.alg)
	key := signer{method: method, key: active.Private, kid: active.ID}
	return mint(t, keyring{access: key, refresh: key, wrong: signer{method: method, key: p.wrong.Private, kid: active.ID}},
		defaults{iss: p.URL, aud: p.Audience, now: p.clock(), ttl: p.ttl}, opts)
}
