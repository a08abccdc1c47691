package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

// DPoPKey is a DPoP client key (RFC 9449) whose proofs are assembled here by hand - JSON, base64url
// and the standard library's signatures - without any of core's code, so that the tests check
// the library against an independent reading of the RFC.
type DPoPKey struct {
	Alg string // ES256, EdDSA, RS256 or PS256
	// JWK is the public key as the proof header carries it; Thumbprint its RFC 7638 SHA-256
	// thumbprint, base64url.
	JWK        map[string]any
	Thumbprint string
	signer     crypto.Signer
}

// NewDPoPKey makes a fresh ES256 (P-256) key.
func NewDPoPKey(tb testing.TB) *DPoPKey { return NewDPoPKeyAlg(tb, "ES256") }

// NewDPoPKeyAlg makes a fresh key for alg: ES256, EdDSA or Ed25519 (RFC 9864), RS256 or PS256
// (RSA 2048).
func NewDPoPKeyAlg(tb testing.TB, alg string) *DPoPKey {
	tb.Helper()
	k := &DPoPKey{Alg: alg}
	var thumb string
	switch alg {
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		x, y := B64Bytes(pad32(priv.X)), B64Bytes(pad32(priv.Y))
		k.signer, k.JWK = priv, map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}
		thumb = `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case "EdDSA", "Ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		x := B64Bytes(pub)
		k.signer, k.JWK = priv, map[string]any{"kty": "OKP", "crv": "Ed25519", "x": x}
		thumb = `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	case "RS256", "PS256":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		n, e := B64Bytes(priv.N.Bytes()), B64Bytes(big.NewInt(int64(priv.E)).Bytes())
		k.signer, k.JWK = priv, map[string]any{"kty": "RSA", "n": n, "e": e}
		thumb = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	default:
		tb.Fatalf("NewDPoPKeyAlg: unknown alg %q", alg)
	}
	sum := sha256.Sum256([]byte(thumb))
	k.Thumbprint = B64Bytes(sum[:])
	return k
}

// B64Bytes is base64url without padding.
func B64Bytes(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func pad32(n *big.Int) []byte {
	b := make([]byte, 32)
	return n.FillBytes(b)
}

// ATH is the ath claim for an access token: base64url(SHA-256(token)) (RFC 9449 §4.2).
func ATH(token string) string {
	sum := sha256.Sum256([]byte(token))
	return B64Bytes(sum[:])
}

// Proof is a proof for method and url at iat with a random jti; token, when not empty, is
// named by ath; nonce, when not empty, is carried.
func (k *DPoPKey) Proof(tb testing.TB, method, url, token, nonce string, iat time.Time) string {
	tb.Helper()
	claims := map[string]any{"jti": RandomID(), "htm": method, "htu": url, "iat": iat.Unix()}
	if token != "" {
		claims["ath"] = ATH(token)
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return k.Sign(tb, k.Header(), claims)
}

// Header is the proof header: typ dpop+jwt, the key's alg and its public jwk.
func (k *DPoPKey) Header() map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": k.Alg, "jwk": k.JWK}
}

// Sign assembles and signs a JWS of the given header and claims with the key (whatever alg the
// header says), for adversarial proofs.
func (k *DPoPKey) Sign(tb testing.TB, header, claims any) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return k.SignRaw(tb, string(h), string(c))
}

// SignRaw signs the JSON texts headerJSON and claimsJSON as they are.
func (k *DPoPKey) SignRaw(tb testing.TB, headerJSON, claimsJSON string) string {
	tb.Helper()
	input := B64(headerJSON) + "." + B64(claimsJSON)
	h := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch priv := k.signer.(type) {
	case *ecdsa.PrivateKey:
		r, s, e := ecdsa.Sign(rand.Reader, priv, h[:])
		sig, err = append(pad32(r), pad32(s)...), e
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, []byte(input))
	case *rsa.PrivateKey:
		if k.Alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, priv, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, h[:])
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + B64Bytes(sig)
}

// PrivateJWK is the key's jwk with its private members, for a proof that leaks them.
func (k *DPoPKey) PrivateJWK() map[string]any {
	out := map[string]any{}
	for n, v := range k.JWK {
		out[n] = v
	}
	switch priv := k.signer.(type) {
	case *ecdsa.PrivateKey:
		out["d"] = B64Bytes(pad32(priv.D))
	case ed25519.PrivateKey:
		out["d"] = B64Bytes(priv.Seed())
	case *rsa.PrivateKey:
		out["d"] = B64Bytes(priv.D.Bytes())
	}
	return out
}

// RandomID is 128 random bits, base64url.
func RandomID() string {
	var b [16]byte
	rand.Read(b[:])
	return B64Bytes(b[:])
}
