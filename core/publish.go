package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// jwk is one JSON Web Key (RFC 7517 §4) with the public members of RFC 7518 §6.2.1 (EC),
// §6.3.1 (RSA) and RFC 8037 §2 (OKP). It never has a member for private or symmetric key
// material (d, p, q, dp, dq, qi, k).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// publicJWK returns the public members of pub.
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	enc := base64.RawURLEncoding
	switch p := pub.(type) {
	case *rsa.PublicKey:
		// RFC 7518 §6.3.1: n and e are unsigned big-endian integers in as few octets as possible.
		return jwk{Kty: "RSA", N: enc.EncodeToString(p.N.Bytes()), E: enc.EncodeToString(big.NewInt(int64(p.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		var crv string
		switch p.Curve {
		case elliptic.P256():
			crv = "P-256"
		case elliptic.P384():
			crv = "P-384"
		case elliptic.P521():
			crv = "P-521"
		default:
			return jwk{}, fmt.Errorf("jwtexp: unsupported ECDSA curve")
		}
		// Uncompressed point 0x04 || x || y with both coordinates at the full size of the curve,
		// as RFC 7518 §6.2.1.2 and §6.2.1.3 require.
		pt, err := p.Bytes()
		if err != nil {
			return jwk{}, fmt.Errorf("jwtexp: invalid ECDSA public key: %w", err)
		}
		size := (len(pt) - 1) / 2
		return jwk{Kty: "EC", Crv: crv, X: enc.EncodeToString(pt[1 : 1+size]), Y: enc.EncodeToString(pt[1+size:])}, nil
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return jwk{}, fmt.Errorf("jwtexp: invalid Ed25519 public key")
		}
		return jwk{Kty: "OKP", Crv: "Ed25519", X: enc.EncodeToString(p)}, nil
	}
	return jwk{}, fmt.Errorf("jwtexp: no JWK for key type %T", pub)
}

// buildJWKS returns the JWK Set document (RFC 7517 §5) of the public keys in ks: the active key
// first, then the older ones by kid. HMAC secrets are never published.
func buildJWKS(ks *keySet) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	if ks != nil && ks.remote == nil {
		keys := ks.all()
		sort.SliceStable(keys[1:], func(i, j int) bool { return keys[1+i].kid < keys[1+j].kid })
		for _, k := range keys {
			if k.secret != nil {
				continue
			}
			j, err := publicJWK(k.verifyKey)
			if err != nil { // cannot happen: newKey accepted the key
				continue
			}
			j.Use, j.Alg, j.Kid = "sig", k.alg, k.kid
			set.Keys = append(set.Keys, j)
		}
	}
	b, _ := json.Marshal(set)
	return b
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of the keys that verify this Manager's access
// tokens and are public keys: the active access key and the older ones kept for verification, each
// with kty, use "sig", alg, kid (when set) and the public members of RFC 7518 §6.2.1 (EC: crv, x,
// y), §6.3.1 (RSA: n, e) or RFC 8037 §2 (OKP: crv, x). HMAC secrets and refresh-token keys are never
// in it, nor any private member. With only HMAC keys, or in verification-only mode (WithKeySource),
// the set is empty: {"keys":[]}. The document is computed once in New; the returned slice is a
// copy the caller may keep. With WithKeyRotation it is the key ring's Next, Current and Previous
// keys, as this instance last read the ring, without the keys retired since.
func (m *Manager) JWKS() []byte {
	doc, _ := m.publishedJWKS()
	return append([]byte(nil), doc...)
}

// jwks returns the JWK Set of the ring's keys not retired by now.
func (r *ring) jwks(now time.Time) []byte {
	v := r.view.Load()
	if d := v.jwks.Load(); d != nil && (d.until.IsZero() || now.Before(d.until)) {
		return d.body
	}
	ks := &keySet{byKID: map[string]*key{}}
	var until time.Time
	for _, rk := range v.doc.Keys {
		t, retiring := v.retires[rk.ID]
		if retiring && !now.Before(t) {
			continue
		}
		if retiring && (until.IsZero() || t.Before(until)) {
			until = t
		}
		k := v.byKID[rk.ID]
		if ks.active == nil {
			ks.active = k
		}
		ks.byKID[rk.ID] = k
	}
	d := &jwksDoc{body: buildJWKS(ks), until: until}
	v.jwks.Store(d)
	return d.body
}

// publishedJWKS returns the Manager's JWK Set and the Cache-Control it is served with.
func (m *Manager) publishedJWKS() ([]byte, string) {
	if m.access != nil && m.access.ring != nil {
		return m.access.ring.jwks(m.cfg.now()), fmt.Sprintf("public, max-age=%d", int64(m.cfg.ring.maxAge/time.Second))
	}
	return m.jwks, JWKSCacheControl
}

// JWKSMaxAge is the max-age of the Cache-Control the JWK Set is served with: 5 minutes, or the
// WithJWKSMaxAge of a key ring.
func (m *Manager) JWKSMaxAge() time.Duration {
	if m.access != nil && m.access.ring != nil {
		return m.cfg.ring.maxAge
	}
	return 300 * time.Second
}

// KeyRingSync is the sync interval of the key ring (WithKeyRingSync), the bound on how long a
// rotation takes to reach every instance; 0 without WithKeyRotation.
func (m *Manager) KeyRingSync() time.Duration {
	if m.access != nil && m.access.ring != nil {
		return m.cfg.ring.sync
	}
	return 0
}
