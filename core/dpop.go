package core

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DPoP, Demonstrating Proof of Possession (RFC 9449): a client holds a key pair and signs a
// short-lived proof JWT for each request. At login and refresh the Manager binds the tokens to
// the proof's key (cnf.jkt, RFC 9449 §6.1); a bound access token is accepted only with
// "Authorization: DPoP <token>" and a fresh proof by that key for the same method and URL,
// naming the token (ath), never seen before (jti, checked through the store's replay records, so
// that a proof replayed to another instance is refused too).
//
// This file holds the proof check (verifyProof), the key thumbprint, the stateless server
// nonces and the Manager's decisions; http_dpop.go reads proofs from requests; the options are in
// options_dpop.go, the sentinels in errors.go.

// dpopAlgs lists the proof algorithms accepted, as the algs parameter of the DPoP challenge
// (RFC 9449 §7.1): asymmetric only (an HMAC proof proves nothing to a server that does not hold
// the secret, and "none" proves nothing at all). Ed25519 is the fully-specified name of EdDSA
// with Ed25519 (RFC 9864), which clients such as panva's dpop send.
const dpopAlgs = "ES256 EdDSA Ed25519 RS256 PS256"

const (
	dpopHeaderName = "Dpop" // "DPoP" in the canonical form of net/http's header map
	maxDPoPJTI     = 256
	maxRSABits     = 4096
)

// DPoPReplayStore is an optional interface of a Store: a store that keeps the ids of the DPoP
// proofs it has seen, so that no proof is accepted twice by any instance sharing it (RFC 9449
// §11.1). MemoryStore (bounded, see WithMaxDPoPProofs) and redisstore.Store (one SET NX with an
// expiry per proof) implement it.
//
// With a store that does not implement it, DPoP is off for the Manager, as with WithoutDPoP:
// proofs are ignored at login and refresh, bound tokens are refused (fail closed), and
// WithDPoPRequired makes New fail.
type DPoPReplayStore interface {
	// MarkDPoPProof records the proof id (a fixed-length string derived from the proof's key
	// and jti) until `until`, and reports whether it was new. A second call with the same id
	// before `until` returns false; after it, the id may be forgotten. now is the Manager's
	// clock, for a store without a clock of its own. It is one atomic step: of concurrent
	// calls with one id, exactly one gets true. An error means the store failed; the proof is
	// then refused (503).
	MarkDPoPProof(ctx context.Context, id string, until, now time.Time) (first bool, err error)
}

// dpopState is what New prepares for DPoP; nil on a Manager without DPoP.
type dpopState struct {
	replay   DPoPReplayStore
	nonceKey []byte // nil: no nonces
	step     int64  // nonce step in seconds
	required bool
}

// initDPoP prepares DPoP after the keys are loaded. DPoP stays off (m.dpop nil) with WithoutDPoP,
// or when the store keeps no replay records (then WithDPoPRequired is an error).
func (m *Manager) initDPoP() error {
	d := &m.cfg.dpop
	if d.mode == dpopOff {
		return nil
	}
	rs, ok := m.store.(DPoPReplayStore)
	if !ok {
		if d.mode == dpopRequired || d.nonces || d.publicURL != "" {
			return configError("DPoP options need a store that keeps DPoP replay records (DPoPReplayStore): %v", errDPoPNoReplayStore)
		}
		return nil
	}
	s := &dpopState{replay: rs, required: d.mode == dpopRequired, step: int64(d.nonceStep / time.Second)}
	if d.nonces {
		key := d.nonceKey
		if key == nil {
			material, err := m.nonceMaterial()
			if err != nil {
				return err
			}
			mac := hmac.New(sha256.New, material)
			mac.Write([]byte("jwtexp DPoP nonce key v1"))
			key = mac.Sum(nil)
		}
		s.nonceKey = key
	}
	m.dpop = s
	return nil
}

// nonceMaterial is the secret the nonce key is derived from: the refresh signing key's.
func (m *Manager) nonceMaterial() ([]byte, error) {
	k := m.refresh.signing()
	if k.secret != nil {
		return k.secret, nil
	}
	if !k.external {
		if der, err := x509.MarshalPKCS8PrivateKey(k.signKey); err == nil {
			return der, nil
		}
	}
	return nil, configError("WithDPoPNonce: the refresh signing key's material cannot be read to derive the nonce key: use WithDPoPNonceKey")
}

// DPoPEnabled reports whether the Manager checks DPoP proofs and binds tokens to DPoP keys: not
// with WithoutDPoP, nor with a store that keeps no replay records (DPoPReplayStore).
func (m *Manager) DPoPEnabled() bool { return m.dpop != nil }

// dpopNonce is the current server nonce, "" when nonces are off.
func (m *Manager) dpopNonce() string {
	if m.dpop == nil || m.dpop.nonceKey == nil {
		return ""
	}
	return m.dpop.nonceAt(m.cfg.now().Unix() / m.dpop.step)
}

// withDPoPNonce adds the current nonce to an answer with a DPoP challenge.
func (m *Manager) withDPoPNonce(r Response, row *errorRow) Response {
	if row.challenge == dpopChallenge || row.kind == errTokenEndpointNonce || row.kind == errTokenEndpointDPoP {
		r.DPoPNonce = m.dpopNonce()
	}
	return r
}

// nonceAt is the nonce of time step n: base64url of n (8 bytes, big endian) and the first 16
// bytes of HMAC-SHA256(key, n).
func (s *dpopState) nonceAt(n int64) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n))
	mac := hmac.New(sha256.New, s.nonceKey)
	mac.Write(b[:8])
	copy(b[8:], mac.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nonceValid reports whether nonce is the nonce of the current step or of the one before.
func (s *dpopState) nonceValid(nonce string, now time.Time) bool {
	if len(nonce) != 32 {
		return false
	}
	var b [24]byte
	if n, err := b64.Decode(b[:], []byte(nonce)); err != nil || n != 24 {
		return false
	}
	step := int64(binary.BigEndian.Uint64(b[:8]))
	cur := now.Unix() / s.step
	if step != cur && step != cur-1 {
		return false
	}
	return hmac.Equal([]byte(nonce), []byte(s.nonceAt(step)))
}

// proofTarget is the method and URL a proof must name.
type proofTarget struct {
	method, scheme, host, path string
}

// dpopProof is a parsed proof whose form, header and key were checked; its signature is checked
// by verify.
type dpopProof struct {
	jkt    string
	claims dpopClaims
	alg    string
	pub    any
	input  string // the signing input: header and claims segments
	sig    []byte
}

// verify checks the proof's signature with its embedded key.
func (p *dpopProof) verify() bool { return verifyProofSignature(p.alg, p.pub, p.input, p.sig) }

type dpopHeader struct {
	Typ  string         `json:"typ"`
	Alg  string         `json:"alg"`
	JWK  jsontext.Value `json:"jwk"`
	Crit jsontext.Value `json:"crit"`
}

type dpopJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	// Private members (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): a proof that carries any is
	// refused, the client is leaking its key.
	D   jsontext.Value `json:"d"`
	P   jsontext.Value `json:"p"`
	Q   jsontext.Value `json:"q"`
	DP  jsontext.Value `json:"dp"`
	DQ  jsontext.Value `json:"dq"`
	QI  jsontext.Value `json:"qi"`
	Oth jsontext.Value `json:"oth"`
	K   jsontext.Value `json:"k"`
}

type dpopClaims struct {
	JTI   string  `json:"jti"`
	HTM   string  `json:"htm"`
	HTU   string  `json:"htu"`
	IAT   float64 `json:"iat"`
	ATH   *string `json:"ath"`
	Nonce *string `json:"nonce"`
}

var b64strict = base64.RawURLEncoding.Strict()

// parseProof checks a proof's form, header and key (RFC 9449 §4.3, items 1-5 and 7), and reads
// its claims, without looking at their values; the signature is left to verify, so that a proof
// refused for its claims costs no public-key operation.
func parseProof(proof string) (*dpopProof, error) {
	if len(proof) > MaxDPoPProofSize {
		return nil, errDPoPTooLarge
	}
	d1 := strings.IndexByte(proof, '.')
	if d1 <= 0 {
		return nil, errDPoPMalformed
	}
	d2 := strings.IndexByte(proof[d1+1:], '.')
	if d2 <= 0 {
		return nil, errDPoPMalformed
	}
	d2 += d1 + 1
	if d2 == len(proof)-1 {
		return nil, errDPoPMalformed
	}
	for i := 0; i < len(proof); i++ {
		if c := proof[i]; !b64url[c] && i != d1 && i != d2 {
			return nil, errDPoPMalformed
		}
	}
	hb, err := b64strict.DecodeString(proof[:d1])
	if err != nil || !utf8.Valid(hb) {
		return nil, errDPoPMalformed
	}
	var h dpopHeader
	if json.Unmarshal(hb, &h) != nil {
		return nil, errDPoPMalformed
	}
	if !strings.EqualFold(h.Typ, "dpop+jwt") {
		return nil, errDPoPType
	}
	if len(h.Crit) > 0 {
		return nil, errDPoPCrit
	}
	if !strings.Contains(" "+dpopAlgs+" ", " "+h.Alg+" ") || h.Alg == "" {
		return nil, errDPoPAlg
	}
	if len(h.JWK) == 0 {
		return nil, errDPoPKey
	}
	var jwk dpopJWK
	if json.Unmarshal(h.JWK, &jwk) != nil {
		return nil, errDPoPKey
	}
	if len(jwk.D)+len(jwk.P)+len(jwk.Q)+len(jwk.DP)+len(jwk.DQ)+len(jwk.QI)+len(jwk.Oth)+len(jwk.K) > 0 {
		return nil, errDPoPPrivate
	}
	pub, thumbInput, err := proofKey(h.Alg, &jwk)
	if err != nil {
		return nil, err
	}
	sig, err := b64strict.DecodeString(proof[d2+1:])
	if err != nil {
		return nil, errDPoPMalformed
	}
	pb, err := b64strict.DecodeString(proof[d1+1 : d2])
	if err != nil || !utf8.Valid(pb) {
		return nil, errDPoPMalformed
	}
	p := &dpopProof{alg: h.Alg, pub: pub, input: proof[:d2], sig: sig}
	if json.Unmarshal(pb, &p.claims) != nil {
		return nil, errDPoPClaims
	}
	sum := sha256.Sum256(thumbInput)
	p.jkt = base64.RawURLEncoding.EncodeToString(sum[:])
	return p, nil
}

// proofKey builds the public key of a proof's jwk for alg, and the input of its RFC 7638
// thumbprint: the required members in lexicographic order, no whitespace. Each member is a
// canonical base64url string (the strict decoder refuses non-zero padding bits), so one key has
// one thumbprint.
func proofKey(alg string, jwk *dpopJWK) (any, []byte, error) {
	switch alg {
	case "ES256":
		if jwk.Kty != "EC" || jwk.Crv != "P-256" {
			return nil, nil, errDPoPKey
		}
		x, errX := b64strict.DecodeString(jwk.X)
		y, errY := b64strict.DecodeString(jwk.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, nil, errDPoPKey
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, nil, errDPoPKey
		}
		return pub, []byte(`{"crv":"P-256","kty":"EC","x":"` + jwk.X + `","y":"` + jwk.Y + `"}`), nil
	case "EdDSA", "Ed25519":
		if jwk.Kty != "OKP" || jwk.Crv != "Ed25519" {
			return nil, nil, errDPoPKey
		}
		x, err := b64strict.DecodeString(jwk.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, nil, errDPoPKey
		}
		return ed25519.PublicKey(x), []byte(`{"crv":"Ed25519","kty":"OKP","x":"` + jwk.X + `"}`), nil
	default: // RS256, PS256
		if jwk.Kty != "RSA" || len(jwk.N) > base64.RawURLEncoding.EncodedLen(maxRSABits/8) || len(jwk.E) > 8 {
			return nil, nil, errDPoPKey
		}
		n, errN := b64strict.DecodeString(jwk.N)
		e, errE := b64strict.DecodeString(jwk.E)
		if errN != nil || errE != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 || len(e) > 4 {
			return nil, nil, errDPoPKey
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
		for _, b := range e {
			pub.E = pub.E<<8 | int(b)
		}
		if pub.N.BitLen() < 2048 || pub.E < 3 || pub.E&1 == 0 {
			return nil, nil, errDPoPKey
		}
		return pub, []byte(`{"e":"` + jwk.E + `","kty":"RSA","n":"` + jwk.N + `"}`), nil
	}
}

func verifyProofSignature(alg string, pub any, input string, sig []byte) bool {
	switch alg {
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256([]byte(input))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), h[:], r, s)
	case "EdDSA", "Ed25519":
		return ed25519.Verify(pub.(ed25519.PublicKey), []byte(input), sig)
	case "RS256":
		h := sha256.Sum256([]byte(input))
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	case "PS256":
		h := sha256.Sum256([]byte(input))
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig,
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}) == nil
	}
	return false
}

// checkProof verifies a DPoP proof for the request target t (RFC 9449 §4.3): form, header and
// key, then jti, htm, htu, iat in the window, ath (when accessToken is not empty: the proof must
// name it), the key (when wantJKT is not empty: it must be the key the token is bound to), the
// signature, the nonce (when nonces are on), and last, once everything else holds, the replay
// record. It returns the proof key's thumbprint.
func (m *Manager) checkProof(ctx context.Context, proof string, t *proofTarget, accessToken, wantJKT string) (string, error) {
	p, err := parseProof(proof)
	if err != nil {
		return "", err
	}
	c := &p.claims
	if c.JTI == "" || len(c.JTI) > maxDPoPJTI || c.HTM == "" || c.HTU == "" || c.IAT <= 0 || c.IAT > maxNumericDate {
		return "", errDPoPClaims
	}
	if t == nil {
		return "", errDPoPNoTarget
	}
	if c.HTM != t.method {
		return "", errDPoPMethod
	}
	if !htuMatches(c.HTU, t) {
		return "", errDPoPURL
	}
	now := m.cfg.now()
	iat := time.Unix(int64(math.Floor(c.IAT)), 0)
	leeway, window := m.cfg.leeway, m.cfg.dpop.window
	if iat.After(now.Add(DPoPFutureSkew + leeway)) {
		return "", errDPoPFuture
	}
	until := iat.Add(window + leeway + time.Second) // the proof is refused from then on
	if !now.Before(until) {
		return "", errDPoPOld
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH == nil || *c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return "", errDPoPAth
		}
	}
	if wantJKT != "" && p.jkt != wantJKT {
		return "", errDPoPWrongKey
	}
	if !p.verify() {
		return "", errDPoPSignature
	}
	if m.dpop.nonceKey != nil {
		if c.Nonce == nil {
			return "", errDPoPNonceMissing
		}
		if !m.dpop.nonceValid(*c.Nonce, now) {
			return "", errDPoPNonceStale
		}
	}
	// The replay record's id: a hash of the key and the jti (a jti is unique per key, RFC 9449
	// §11.1), 128 bits, so records have one small size whatever jti a client chooses.
	h := sha256.New()
	h.Write([]byte(p.jkt))
	h.Write([]byte{0})
	h.Write([]byte(c.JTI))
	id := base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
	var first bool
	err = m.call(ctx, StoreOpDPoPProof, "record DPoP proof", "", func(ctx context.Context) error {
		var err error
		// A leeway longer than the window: an instance whose clock is behind accepts the
		// proof that much longer.
		first, err = m.dpop.replay.MarkDPoPProof(ctx, id, until.Add(leeway), now)
		return err
	})
	if err != nil {
		return "", err
	}
	if !first {
		return "", errDPoPReplay
	}
	return p.jkt, nil
}

// htuMatches compares a proof's htu with the request's URL: scheme and host case-insensitively
// with default ports dropped, the path after percent-decoding; query and fragment are ignored
// (RFC 9449 §4.3, RFC 3986 §6.2.2, §6.2.3).
func htuMatches(htu string, t *proofTarget) bool {
	u, err := url.Parse(htu)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != t.scheme || normalHost(scheme, u.Host) != t.host {
		return false
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return path == t.path
}

// target is the method and URL of r as a proof must name them: the scheme and host of
// WithDPoPPublicURL when set, else those of the connection; nil when r cannot tell (it does not
// implement RequestTarget, or names no scheme and host while WithDPoPPublicURL is unset).
func (m *Manager) target(r Request) *proofTarget {
	rt, ok := r.(RequestTarget)
	if !ok {
		return nil
	}
	scheme, host, rawPath := rt.URL()
	if m.cfg.dpop.scheme != "" {
		scheme, host = m.cfg.dpop.scheme, m.cfg.dpop.host
	} else {
		host = normalHost(scheme, host)
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil || host == "" || (scheme != "http" && scheme != "https") {
		return nil
	}
	if path == "" {
		path = "/"
	}
	return &proofTarget{method: rt.Method(), scheme: scheme, host: host, path: path}
}

// requestProof returns the DPoP header of r: "" and no error when there is none, an error when
// there are several.
func requestProof(r Request) (string, error) {
	v, n := r.Header(dpopHeaderName)
	switch {
	case n > 1:
		return "", errDPoPTwo
	case n == 1 && v == "":
		return "", errDPoPMalformed
	}
	return v, nil
}

// TokenEndpointProof checks the DPoP proof (RFC 9449 §4.3) that a login or refresh request
// carries, for a login or refresh service of another protocol than HTTP's (the gRPC and Connect
// AuthService): r gives its DPoP header and, through RequestTarget, the method and URL the proof
// must name. It returns the thumbprint of the proof's key, for WithDPoPKey (login) or
// WithRefreshDPoPKey (refresh), or "" when r carries no proof and none is required (or DPoP is
// off). A proof is checked as at the HTTP token endpoints - fresh, never seen before (it is
// recorded in the store's replay records), with the server nonce when nonces are on - and
// refused with an error matching ErrDPoPProof or ErrDPoPNonce whose answer is the token
// endpoint's: HTTP 400 invalid_dpop_proof or use_dpop_nonce (HTTP.Problem carries the fresh
// nonce), RPC InvalidArgument. With WithDPoPRequired a request without a proof is refused the
// same way. A proof r cannot tell the URL of (no RequestTarget, or no scheme and host without
// WithDPoPPublicURL) is ignored where DPoP is allowed ("": Bearer tokens) and refused where it
// is required. A store failure is ErrStoreUnavailable.
func (m *Manager) TokenEndpointProof(ctx context.Context, r Request) (thumbprint string, err error) {
	return m.tokenEndpointProof(ctx, r)
}

// tokenEndpointProof checks the DPoP proof of a login or refresh request and returns its key's
// thumbprint ("" for a request without a proof where none is required). Its error is already
// the token endpoint's answer (400 invalid_dpop_proof or use_dpop_nonce, RFC 9449 §5, §8).
func (m *Manager) tokenEndpointProof(ctx context.Context, r Request) (string, error) {
	if m.dpop == nil {
		return "", nil
	}
	proof, err := requestProof(r)
	if err == nil && proof == "" {
		if !m.dpop.required {
			return "", nil
		}
		err = errDPoPMissing
	}
	var jkt string
	if err == nil {
		t := m.target(r)
		if t == nil && !m.dpop.required {
			// A proof that cannot be checked, because r does not tell the URL it names (a
			// Request without RequestTarget; Connect without WithDPoPPublicURL), is ignored
			// where DPoP is only allowed, as a server without DPoP would: the tokens are
			// Bearer, and their token_type says so (RFC 9449 §5).
			return "", nil
		}
		jkt, err = m.checkProof(ctx, proof, t, "", "")
	}
	if err != nil {
		m.rejected(ctx, err)
		return "", tokenEndpointError(err)
	}
	return jkt, nil
}

// tokenEndpointError makes a refused proof the token endpoint's answer; a store failure stays
// one (503).
func tokenEndpointError(err error) error {
	switch {
	case errors.Is(err, ErrDPoPNonce):
		return &classErr{class: errTokenEndpointNonce, err: err}
	case errors.Is(err, ErrDPoPProof):
		return &classErr{class: errTokenEndpointDPoP, err: err}
	}
	return err
}

// classErr puts err under an answer of the error table (class) that wins over err's own.
type classErr struct{ class, err error }

func (e *classErr) Error() string   { return e.class.Error() + ": " + e.err.Error() }
func (e *classErr) Unwrap() []error { return []error{e.class, e.err} }

// refreshBinding decides whether refresh token c may be used by a request that proved
// possession of the key jkt ("" when it proved none).
func (m *Manager) refreshBinding(c *Claims, jkt string) error {
	bound := c.DPoPThumbprint()
	switch {
	case bound != "" && m.dpop == nil:
		return errDPoPUnchecked
	case bound != "" && bound != jkt:
		return errDPoPRefreshKey
	case bound == "" && m.dpop != nil && m.dpop.required:
		return errDPoPRequired
	}
	return nil
}

// authenticateDPoP is Authenticate for a request whose Authorization header uses the DPoP
// scheme.
func (m *Manager) authenticateDPoP(ctx context.Context, r Request) (*Claims, error) {
	token, err := m.extractDPoP(r)
	if err != nil {
		m.rejected(ctx, err)
		return nil, dpopRefusal(err)
	}
	c, err := m.verifyInto(ctx, token, nil, &claimsDst{req: r, dpop: true})
	if err != nil {
		return nil, dpopRefusal(err)
	}
	return c, nil
}

// dpopSchemeError is the refusal of a request that authenticated with the DPoP scheme (or with
// a DPoP-bound token): Problem answers it with a DPoP challenge whatever the reason - an expired
// token, a revoked one, a missing scope - as RFC 9449 §7.1 has a resource server answer a DPoP
// request; a Bearer challenge would tell the client to use a scheme it did not. It wraps the
// refusal, which errors.Is and errors.As see as before.
type dpopSchemeError struct{ err error }

func (e *dpopSchemeError) Error() string { return e.err.Error() }
func (e *dpopSchemeError) Unwrap() error { return e.err }

// dpopRefusal marks err, the refusal of a DPoP request, for a DPoP challenge (dpopSchemeError).
func dpopRefusal(err error) error {
	if _, done := err.(*dpopSchemeError); done || err == nil {
		return err
	}
	return &dpopSchemeError{err}
}

// verifyDPoP is the DPoP part of accepting access token c, which dst says how it came (nil: by
// Verify, without a request). verifyInto calls it only for bound tokens, requests with the DPoP
// scheme, or with WithDPoPRequired: the Bearer path pays one test of c.
func (m *Manager) verifyDPoP(ctx context.Context, token string, c *Claims, dst *claimsDst) error {
	var r Request
	scheme := false
	if dst != nil {
		r, scheme = dst.req, dst.dpop
	}
	bound := c.DPoPThumbprint()
	switch {
	case m.dpop == nil:
		return errDPoPUnchecked
	case !scheme && bound != "":
		return errDPoPAsBearer
	case !scheme: // WithDPoPRequired
		return errDPoPRequired
	case bound == "":
		return errDPoPUnbound
	}
	proof, err := requestProof(r)
	if err == nil && proof == "" {
		err = errDPoPMissing
	}
	if err != nil {
		return err
	}
	_, err = m.checkProof(ctx, proof, m.target(r), token, bound)
	return err
}

// isThumbprint reports whether s has the form of a SHA-256 thumbprint: 43 base64url characters.
func isThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !b64url[s[i]] {
			return false
		}
	}
	return true
}

// appendCnf returns the custom members of a token bound to jkt: the confirmation claim
// (RFC 9449 §6.1) first, then custom.
func appendCnf(jkt string, custom []byte) []byte {
	b := make([]byte, 0, 18+len(jkt)+len(custom))
	b = append(b, `"cnf":{"jkt":`...)
	b = appendJSONString(b, jkt)
	b = append(b, '}')
	if len(custom) > 0 {
		b = append(b, ',')
		b = append(b, custom...)
	}
	return b
}

// DPoPThumbprint returns the JWK SHA-256 thumbprint (RFC 7638) of the public key in a DPoP proof
// after checking the proof's form, typ, algorithm, key and signature - not its claims, its age
// or replay: use it to tell which key a proof was made with, never to accept one.
func DPoPThumbprint(proof string) (string, error) {
	p, err := parseProof(proof)
	if err != nil {
		return "", err
	}
	if !p.verify() {
		return "", errDPoPSignature
	}
	return p.jkt, nil
}
