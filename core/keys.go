package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one signing or verification key. Set exactly one of Secret (HMAC), Private (RSA, ECDSA or
// Ed25519 private key: signs and verifies) or Public (verification only).
//
// The algorithm belongs to the key, never to a token: a token is verified only with the algorithm of
// the key its kid selects (RFC 8725 §3.1), so an HMAC secret can never be confused with a public
// key. Algorithm may be left empty: HMAC keys default to HS256, RSA keys to RS256, ECDSA keys follow
// their curve (P-256: ES256, P-384: ES384) and Ed25519 keys use EdDSA. Set it for HS384, HS512 or
// PS256.
type Key struct {
	// ID is the kid header written into tokens signed with this key and used to select it when
	// verifying. Optional for a key set of one key; required for every key of a set with older keys.
	ID string
	// Algorithm is the JWS alg (RFC 7518 §3.1): HS256, HS384, HS512, RS256, PS256, ES256, ES384 or
	// EdDSA. Empty: derived from the key as described on Key.
	Algorithm string
	// Secret is an HMAC secret, at least as long as the hash output (32, 48 or 64 bytes for
	// HS256, HS384, HS512; RFC 7518 §3.2).
	Secret []byte
	// Private is an *rsa.PrivateKey (at least 2048 bits), *ecdsa.PrivateKey or ed25519.PrivateKey.
	Private crypto.Signer
	// Public is an *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey, for a key that only
	// verifies.
	Public crypto.PublicKey
}

// b64 decodes base64url without padding and refuses non-canonical encodings (stray trailing bits),
// so one token has exactly one spelling (RFC 7515 §2, RFC 4648 §3.5).
var b64 = base64.RawURLEncoding.Strict()

// key is a validated Key, ready for use on the hot path.
type key struct {
	kid       string
	alg       string
	method    jwt.SigningMethod
	signKey   any // nil for verification-only keys
	verifyKey any
	header    string     // base64url of the JOSE header for tokens this key signs, per token type
	refresh   string     // same for refresh tokens
	macs      *sync.Pool // *macState, HMAC keys only
	macSize   int
	secret    []byte
	external  bool // signKey is a crypto.Signer of WithKeySigners: signExternal signs
}

// macState is a reusable HMAC computation: the keyed hash plus room for its output and for the
// decoded signature, so verifying a token allocates nothing for the MAC.
type macState struct {
	h   hash.Hash
	sum [sha512.Size]byte
	sig [sha512.Size]byte
}

// keyName names a key in a configuration error: by its ID, or, without one, by the setting it
// came from ("access secret (WithHMAC) or active access key (WithAccessKeys)"), never as an
// empty quoted name.
func keyName(role, id string) string {
	if id != "" {
		return fmt.Sprintf("%s key %q", role, id)
	}
	switch role {
	case "access":
		return "access secret (WithHMAC) or active access key (WithAccessKeys)"
	case "refresh":
		return "refresh secret (WithHMAC) or active refresh key (WithRefreshKeys)"
	}
	return role + " key without an ID"
}

func newKey(k Key, role string) (*key, error) {
	set := 0
	if k.Secret != nil {
		set++
	}
	if k.Private != nil {
		set++
	}
	if k.Public != nil {
		set++
	}
	if set != 1 {
		return nil, configError("%s: set exactly one of Secret, Private or Public", keyName(role, k.ID))
	}
	out := &key{kid: k.ID}
	switch {
	case k.Secret != nil:
		alg := k.Algorithm
		if alg == "" {
			alg = "HS256"
		}
		var newHash func() hash.Hash
		switch alg {
		case "HS256":
			newHash, out.macSize = sha256.New, sha256.Size
		case "HS384":
			newHash, out.macSize = sha512.New384, sha512.Size384
		case "HS512":
			newHash, out.macSize = sha512.New, sha512.Size
		default:
			return nil, configError("%s: algorithm %q does not fit an HMAC secret (use HS256, HS384 or HS512)", keyName(role, k.ID), alg)
		}
		// RFC 7518 §3.2: a key of the same size as the hash output or larger MUST be used.
		if len(k.Secret) < out.macSize {
			return nil, configError("%s: %s secret is %d bytes, needs at least %d (RFC 7518 §3.2)", keyName(role, k.ID), alg, len(k.Secret), out.macSize)
		}
		secret := append([]byte(nil), k.Secret...)
		out.alg, out.secret = alg, secret
		out.signKey, out.verifyKey = secret, secret
		out.macs = &sync.Pool{New: func() any { return &macState{h: hmac.New(newHash, secret)} }}
	default:
		pub := k.Public
		if k.Private != nil {
			pub = k.Private.Public()
			out.signKey = k.Private
		}
		alg, err := asymmetricAlg(pub, k.Algorithm)
		if err != nil {
			return nil, configError("%s: %v", keyName(role, k.ID), err)
		}
		out.alg, out.verifyKey = alg, pub
	}
	out.method = jwt.GetSigningMethod(out.alg)
	if out.method == nil {
		return nil, configError("%s: unknown algorithm %q", keyName(role, k.ID), out.alg)
	}
	out.header = encodeHeader(out.alg, "JWT", out.kid)
	out.refresh = encodeHeader(out.alg, refreshType, out.kid)
	return out, nil
}

// asymmetricAlg checks a public key and returns the algorithm it is used with.
func asymmetricAlg(pub crypto.PublicKey, want string) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key is %d bits, needs at least 2048 (RFC 7518 §3.3)", p.N.BitLen())
		}
		switch want {
		case "":
			return "RS256", nil
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return want, nil
		}
		return "", fmt.Errorf("algorithm %q does not fit an RSA key (use RS256 or PS256)", want)
	case *ecdsa.PublicKey:
		var alg string
		switch p.Curve {
		case elliptic.P256():
			alg = "ES256"
		case elliptic.P384():
			alg = "ES384"
		case elliptic.P521():
			alg = "ES512"
		default:
			return "", fmt.Errorf("unsupported ECDSA curve (use P-256 or P-384)")
		}
		if want != "" && want != alg {
			return "", fmt.Errorf("algorithm %q does not fit an ECDSA %s key (use %s)", want, p.Curve.Params().Name, alg)
		}
		return alg, nil
	case ed25519.PublicKey:
		if want != "" && want != "EdDSA" {
			return "", fmt.Errorf("algorithm %q does not fit an Ed25519 key (use EdDSA)", want)
		}
		return "EdDSA", nil
	case nil:
		return "", fmt.Errorf("key is nil")
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

// encodeHeader returns the base64url JOSE header written into tokens.
func encodeHeader(alg, typ, kid string) string {
	b := []byte(`{"alg":`)
	b = appendJSONString(b, alg)
	b = append(b, `,"typ":`...)
	b = appendJSONString(b, typ)
	if kid != "" {
		b = append(b, `,"kid":`...)
		b = appendJSONString(b, kid)
	}
	b = append(b, '}')
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameSecret reports whether two keys share key material, which would let a token of one kind be
// accepted as the other.
func sameSecret(a, b *key) bool {
	if a.secret != nil && b.secret != nil {
		return subtle.ConstantTimeCompare(a.secret, b.secret) == 1
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.verifyKey.(equaler); ok && a.secret == nil && b.secret == nil {
		return e.Equal(b.verifyKey)
	}
	return false
}

// keySet is one active signing key plus older keys kept for verification, selected by kid.
type keySet struct {
	active *key
	byKID  map[string]*key
	remote *remoteKeys // set in verification-only mode (WithKeySource): keys come from there
	ring   *ring       // set with WithKeyRotation: keys come from the key ring (keyring.go)
}

func newKeySet(role string, active Key, older []Key) (*keySet, error) {
	a, err := newKey(active, role)
	if err != nil {
		return nil, err
	}
	ks := &keySet{active: a, byKID: map[string]*key{}}
	if len(older) > 0 && a.kid == "" {
		return nil, configError("%s keys: the active key needs an ID (kid) when older keys are kept", role)
	}
	if a.kid != "" {
		ks.byKID[a.kid] = a
	}
	for _, o := range older {
		k, err := newKey(o, role)
		if err != nil {
			return nil, err
		}
		if k.kid == "" {
			return nil, configError("%s keys: every older key needs an ID (kid)", role)
		}
		if _, dup := ks.byKID[k.kid]; dup {
			return nil, configError("%s keys: key ID %q used twice", role, k.kid)
		}
		ks.byKID[k.kid] = k
	}
	return ks, nil
}

// lookup selects the key for a token: by kid when the token names one, else the active key. A kid
// only ever selects among configured keys (RFC 8725 §3.10: it is never a path, URL or query).
func (ks *keySet) lookup(kid string, hasKID bool) *key {
	if ks.remote != nil {
		// The kid may point into a stack buffer of the caller; the remote key source may keep it.
		return ks.remote.lookup(strings.Clone(kid), hasKID)
	}
	if !hasKID {
		return ks.active
	}
	if k, ok := ks.byKID[kid]; ok {
		return k
	}
	if ks.active.kid == "" && len(ks.byKID) == 0 {
		// A single key without an ID accepts tokens whatever kid another issuer put in them;
		// the signature still has to verify with this key and its algorithm.
		return ks.active
	}
	return nil
}

func (ks *keySet) all() []*key {
	if ks.remote != nil || ks.ring != nil { // keys of a KeySource or a ring are not configured here
		return nil
	}
	out := []*key{ks.active}
	for _, k := range ks.byKID {
		if k != ks.active {
			out = append(out, k)
		}
	}
	return out
}

// verifySignature checks the JWS signature over signingInput (RFC 7515 §5.2). HMAC keys reuse a
// pooled hash state and compare in constant time; the asymmetric algorithms use golang-jwt's
// signing methods.
func (k *key) verifySignature(signingInput, sig string) bool {
	if k.macs != nil {
		if base64.RawURLEncoding.DecodedLen(len(sig)) != k.macSize {
			return false
		}
		st := k.macs.Get().(*macState)
		n, _, decoded := decodeB64(st.sig[:], sig)
		ok := false
		if decoded && n == k.macSize {
			st.h.Reset()
			st.h.Write(unsafeBytes(signingInput))
			ok = equalMAC(st.h.Sum(st.sum[:0]), st.sig[:n])
		}
		k.macs.Put(st)
		return ok
	}
	if lastOutside(sig) >= 0 { // b64 would skip line breaks
		return false
	}
	raw, err := b64.DecodeString(sig)
	if err != nil {
		return false
	}
	return k.method.Verify(signingInput, raw, k.verifyKey) == nil
}

// equalMAC reports whether the MACs a and b, of one length and a multiple of eight bytes (32,
// 48 or 64), are equal, in time that depends only on their length: eight bytes a step, their
// differences ORed together and tested once at the end, as hmac.Equal does a byte at a time.
func equalMAC(a, b []byte) bool {
	if len(a) != len(b) || len(a)%8 != 0 {
		return false
	}
	var d uint64
	for i := 0; i+8 <= len(a); i += 8 {
		d |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return d == 0
}

// sign returns the signature segment for signingInput.
func (k *key) sign(signingInput string) (string, error) {
	if k.signKey == nil {
		return "", fmt.Errorf("jwtexp: key %q can only verify", k.kid)
	}
	if k.external {
		return k.signExternal(signingInput)
	}
	sig, err := k.method.Sign(signingInput, k.signKey)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// KeyRetirable tells when an older key (access or refresh, named by its kid) may be removed from
// the configuration, given the time it stopped signing: the moment the last instance started
// signing with the new active key. It returns whether that is already the case on the Manager's
// clock, and the time from which it is:
//
//	drop after = stoppedSigning + longest lifetime of a token the key signed + leeway
//
// where the lifetime is the access TTL (or WithMaxTokenLifetime, if longer) for access keys and the
// refresh TTL for refresh keys. Every token the key signed has expired by then, even with the
// leeway (RFC 7519 §4.1.4), so removing the key refuses nothing that would still be accepted;
// before then, removing it would log users out early. After removal, a token naming the kid is
// refused with ErrSignature ("unknown key id"). The Manager does not decide this by itself because
// it cannot know when other instances stopped signing with the key.
//
// The active keys are never retirable (false, zero time); a kid this Manager does not know is
// (true, zero time): there is nothing to keep.
//
// A rotation of an access key that others verify through the JWKS (RFC 7517 §5) takes three
// configuration changes:
//
//  1. publish: add the new key as an older, verification-only key (Key.Public) so it is in the
//     JWKS; wait at least the JWKS cache lifetime (JWKSCacheControl, 5 minutes);
//  2. switch: make the new key active and keep the old one as an older key; note the time;
//  3. retire: once KeyRetirable(oldKID, switchTime) reports true, remove the old key.
//
// WithKeyRotation does all three by itself, for every instance sharing the store; for a Manager
// built with it, KeyRetirable ignores stoppedSigning and answers from the ring: whether the key
// is retired, and when it retires (zero while it is Next or Current).
func (m *Manager) KeyRetirable(kid string, stoppedSigning time.Time) (bool, time.Time) {
	var lifetime time.Duration
	if m.access.ring != nil {
		return m.ringRetirable(kid)
	}
	switch {
	case m.isActive(m.access, kid) || m.isActive(m.refresh, kid):
		return false, time.Time{}
	case m.holds(m.access, kid):
		lifetime = max(m.cfg.accessTTL, m.maxLifetime)
	case m.holds(m.refresh, kid):
		lifetime = m.cfg.refreshTTL
	default:
		return true, time.Time{}
	}
	at := stoppedSigning.Add(lifetime + m.cfg.leeway)
	return !m.cfg.now().Before(at), at
}

func (m *Manager) isActive(ks *keySet, kid string) bool {
	return ks != nil && ks.active != nil && ks.active.kid == kid
}

func (m *Manager) holds(ks *keySet, kid string) bool {
	if ks == nil || ks.byKID == nil {
		return false
	}
	_, ok := ks.byKID[kid]
	return ok
}
