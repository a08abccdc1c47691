package core

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"sync"
)

// KeySource supplies the public keys of another issuer, usually its JWK Set (RFC 7517 §5) fetched
// from a URL; package core/jwks implements it with github.com/MicahParks/keyfunc/v3. A Manager
// built WithKeySource verifies access tokens with these keys only (verification-only mode).
type KeySource interface {
	// VerificationKey returns the public key whose key ID is kid (RFC 7517 §4.5) and the JWS
	// algorithm the key set declares for it (the JWK alg member, RFC 7517 §4.4), or "" when it
	// declares none. It returns an error when no such key is known, after whatever (rate-limited)
	// refresh the source does for unknown key IDs. The key must be an *rsa.PublicKey,
	// *ecdsa.PublicKey or ed25519.PublicKey; anything else (an "oct" secret in particular) is
	// refused by the Manager. It is called on the request path, concurrently, with a context that
	// carries no deadline: the source bounds its own network time.
	VerificationKey(ctx context.Context, kid string) (pub crypto.PublicKey, alg string, err error)
}

// VerificationOnly reports whether the Manager only verifies tokens another service issues (built
// WithKeySource, or with a public active access key and no refresh keys): Issue and Refresh fail
// with ErrVerificationOnly.
func (m *Manager) VerificationOnly() bool { return m.cfg.verificationOnly() }

// verificationOnly reports whether the configuration has nothing to sign with: a key source, or a
// public active access key without refresh keys.
func (c *config) verificationOnly() bool {
	if c.keySource != nil || c.trustedIssuers() {
		return true
	}
	a := c.accessKey
	return a != nil && a.Secret == nil && a.Private == nil && a.Public != nil && c.refreshKey == nil
}

// verifyOnlyKeySets checks a verification-only configuration and returns its key sets: access
// keys from the source or the configured public keys, and a refresh key set that selects nothing.
func verifyOnlyKeySets(c *config) (access, refresh *keySet, err error) {
	refresh = &keySet{remote: &remoteKeys{}}
	if c.trustedIssuers() { // each issuer has its keys (issuers.go); none here
		return &keySet{remote: &remoteKeys{}}, refresh, nil
	}
	if c.keySource == nil {
		access, err = newKeySet("access", *c.accessKey, c.accessOlder)
		return access, refresh, err
	}
	if c.accessKey != nil || c.refreshKey != nil {
		return nil, nil, configError("WithKeySource verifies tokens of another issuer: drop WithHMAC, WithAccessKeys and WithRefreshKeys")
	}
	if c.noAudience {
		return nil, nil, configError("WithKeySource needs an audience: a key set usually serves many services, so tokens are checked for this one (WithAudience, RFC 8725 §3.9)")
	}
	return &keySet{remote: &remoteKeys{src: c.keySource}}, refresh, nil
}

// remoteKeys selects keys from a KeySource and keeps the validated key per kid, so that a known
// key costs a map lookup and an Equal, not a new key, on every request.
type remoteKeys struct {
	src   KeySource // nil: selects nothing
	mu    sync.RWMutex
	cache map[string]remoteKey
}

type remoteKey struct {
	k   *key
	alg string // the alg the source declared, "" if none
}

// maxRemoteKeys bounds the cache; a source's key set is a handful of keys, so reaching it means
// many rotations, and the cache simply starts over.
const maxRemoteKeys = 64

// unavailable is asked only after lookup found no key: it returns the source's error when that
// error matches ErrKeysUnavailable (the source cannot answer at all, as a jwks.KeySet whose
// provider has been down longer than it keeps the last keys), so the token is answered 503
// rather than refused as signed by an unknown key; nil otherwise.
func (r *remoteKeys) unavailable(kid string, hasKID bool) error {
	if r.src == nil || !hasKID || kid == "" {
		return nil
	}
	if _, _, err := r.src.VerificationKey(context.Background(), strings.Clone(kid)); errors.Is(err, ErrKeysUnavailable) {
		return err
	}
	return nil
}

// lookup returns the key named kid, or nil: no kid, a kid the source does not know (after its
// rate-limited refresh), or a key the Manager refuses (not a public key, RSA under 2048 bits, an
// alg that does not fit the key).
func (r *remoteKeys) lookup(kid string, hasKID bool) *key {
	if r.src == nil || !hasKID || kid == "" {
		return nil
	}
	pub, alg, err := r.src.VerificationKey(context.Background(), kid)
	if err != nil || pub == nil {
		return nil
	}
	r.mu.RLock()
	c, ok := r.cache[kid]
	r.mu.RUnlock()
	if ok && c.alg == alg && samePublic(c.k.verifyKey, pub) {
		return c.k
	}
	k, err := newKey(Key{ID: kid, Algorithm: alg, Public: pub}, "remote")
	if err != nil {
		return nil
	}
	r.mu.Lock()
	if r.cache == nil || len(r.cache) >= maxRemoteKeys {
		r.cache = map[string]remoteKey{}
	}
	r.cache[kid] = remoteKey{k: k, alg: alg}
	r.mu.Unlock()
	return k
}

func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
