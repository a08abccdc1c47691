package core

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// TrustedIssuer is an identity provider whose access tokens a Manager built WithTrustedIssuers or
// WithIssuerResolver accepts: its exact issuer identifier, where its public keys come from and
// what its tokens must satisfy. Package core/jwks builds one from the issuer URL alone (OpenID
// Connect Discovery).
type TrustedIssuer struct {
	// Issuer is the iss the tokens carry, compared byte for byte (RFC 7519 §4.1.1). Required.
	Issuer string
	// Keys supplies the issuer's public keys, selected by the token's kid. Required.
	Keys KeySource
	// Algorithms lists the JWS algorithms accepted from this issuer (RS256, PS256, ES256, EdDSA,
	// ...). Empty: the algorithm of the key (its JWK alg, or the one its type implies), which is
	// always checked against the token's header in any case (RFC 8725 §3.1).
	Algorithms []string
	// Audiences: the token's aud must contain at least one of them (RFC 7519 §4.1.3), for
	// example the resource URI of RFC 8707. Empty: the Manager's WithAudience.
	Audiences []string
	// Leeway is the clock-skew tolerance for this issuer's tokens, at most MaxLeeway. 0: the
	// Manager's WithLeeway.
	Leeway time.Duration
	// MaxTokenLifetime caps exp - iat of this issuer's tokens. 0: the Manager's
	// WithMaxTokenLifetime, else its access TTL.
	MaxTokenLifetime time.Duration
	// RequireATJWT accepts only tokens whose header says typ "at+jwt" (RFC 9068 §2.1, §4), so
	// that an ID token of the same issuer is never taken for an access token. Off: typ "JWT",
	// "at+jwt" or none.
	RequireATJWT bool
}

// IssuerResolver finds the TrustedIssuer of an iss the static list does not hold, for example a
// tenant per issuer. It is called with the token's iss before anything of the token is verified,
// so it must decide from the string alone whether the issuer is trusted (a pattern, a table) and
// refuse an unknown one without any network call: an attacker chooses that string. It returns
// an error matching ErrIssuer for an issuer it does not trust, and an error matching
// ErrKeysUnavailable when a trusted issuer's keys cannot be fetched (503). The Manager keeps at
// most MaxResolvedIssuers resolved issuers and asks again for one it dropped; it is called
// concurrently. core/jwks.Resolver implements it with OpenID Connect Discovery.
type IssuerResolver interface {
	ResolveIssuer(ctx context.Context, iss string) (TrustedIssuer, error)
}

// MaxResolvedIssuers bounds the issuers an IssuerResolver gave that a Manager keeps. Past it one
// of them is dropped and resolved again when its next token comes.
const MaxResolvedIssuers = 1000

// issuerSet selects the verifier of a token by its unverified iss (trusted-issuer mode).
type issuerSet struct {
	static   map[string]*issuerVerifier
	resolver IssuerResolver
	base     *config

	mu       sync.RWMutex
	resolved map[string]*issuerVerifier // bounded by MaxResolvedIssuers
}

// issuerVerifier verifies the tokens of one issuer: a Manager of its own that only parses, with
// the issuer's keys, issuer, audience, leeway and lifetime cap.
type issuerVerifier struct {
	m         *Manager
	keys      KeySource
	algs      []string // nil: any the key allows
	audiences []string // more than one: checked after parsing (m then checks none)
	atJWT     bool
}

// newIssuerVerifier checks t against the Manager's configuration c and builds its verifier.
func newIssuerVerifier(t TrustedIssuer, c *config) (*issuerVerifier, error) {
	switch {
	case t.Issuer == "":
		return nil, configError("TrustedIssuer: Issuer is empty")
	case t.Keys == nil:
		return nil, configError("TrustedIssuer %q: Keys is nil", t.Issuer)
	case t.Leeway < 0 || (t.Leeway > MaxLeeway && !c.unsafeLeeway):
		return nil, configError("TrustedIssuer %q: leeway %v must be between 0 and %v", t.Issuer, t.Leeway, MaxLeeway)
	case t.MaxTokenLifetime < 0:
		return nil, configError("TrustedIssuer %q: MaxTokenLifetime %v is negative", t.Issuer, t.MaxTokenLifetime)
	}
	for _, a := range t.Algorithms {
		if !publicKeyAlg(a) {
			return nil, configError("TrustedIssuer %q: algorithm %q is not a public-key JWS algorithm (RS256..512, PS256..512, ES256/384/512, EdDSA)", t.Issuer, a)
		}
	}
	auds := t.Audiences
	if len(auds) == 0 && c.audience != "" {
		auds = []string{c.audience}
	}
	if len(auds) == 0 {
		return nil, configError("TrustedIssuer %q: no audience: set Audiences or WithAudience (RFC 8725 §3.9)", t.Issuer)
	}
	for _, a := range auds {
		if a == "" {
			return nil, configError("TrustedIssuer %q: an audience is empty", t.Issuer)
		}
	}
	sc := *c
	sc.issuer, sc.keySource = t.Issuer, t.Keys
	sc.audience, sc.noAudience = auds[0], len(auds) > 1
	if t.Leeway > 0 {
		sc.leeway = t.Leeway
	}
	life := c.accessTTL
	if c.maxLifetime > 0 {
		life = c.maxLifetime
	}
	if t.MaxTokenLifetime > 0 {
		life = t.MaxTokenLifetime
	}
	m := &Manager{cfg: sc, access: &keySet{remote: &remoteKeys{src: t.Keys}},
		refresh: &keySet{remote: &remoteKeys{}}, maxLifetime: life}
	v := &issuerVerifier{m: m, keys: t.Keys, algs: slices.Clone(t.Algorithms), atJWT: t.RequireATJWT}
	if len(auds) > 1 {
		v.audiences = slices.Clone(auds)
	}
	return v, nil
}

func publicKeyAlg(a string) bool {
	switch a {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

// newIssuerSet builds the verifiers of the static list and keeps the resolver.
func newIssuerSet(c *config) (*issuerSet, error) {
	s := &issuerSet{static: map[string]*issuerVerifier{}, resolver: c.resolver, base: c}
	for _, t := range c.trusted {
		if _, dup := s.static[t.Issuer]; dup {
			return nil, configError("WithTrustedIssuers: issuer %q is listed twice", t.Issuer)
		}
		v, err := newIssuerVerifier(t, c)
		if err != nil {
			return nil, err
		}
		s.static[t.Issuer] = v
	}
	return s, nil
}

// verifier returns the verifier of iss: the static list first, then the resolved issuers, then
// the resolver. Nothing here trusts iss: it only picks whose keys and rules the token must pass.
func (s *issuerSet) verifier(ctx context.Context, iss string) (*issuerVerifier, error) {
	if v, ok := s.static[iss]; ok {
		return v, nil
	}
	if s.resolver == nil || iss == "" {
		return nil, errUntrustedIssuer
	}
	s.mu.RLock()
	v, ok := s.resolved[iss]
	s.mu.RUnlock()
	if ok {
		return v, nil
	}
	t, err := s.resolver.ResolveIssuer(ctx, iss)
	if err != nil {
		if errors.Is(err, ErrKeysUnavailable) {
			return nil, keysUnavailable(err)
		}
		return nil, errUntrustedIssuer
	}
	if t.Issuer != iss { // a resolver answering for another issuer must not widen the trust
		return nil, errUntrustedIssuer
	}
	v, err = newIssuerVerifier(t, s.base)
	if err != nil {
		return nil, (&tokenError{kind: ErrIssuer, reason: "untrusted issuer", cause: err}).withChain()
	}
	s.mu.Lock()
	if s.resolved == nil {
		s.resolved = map[string]*issuerVerifier{}
	}
	if len(s.resolved) >= MaxResolvedIssuers {
		for k := range s.resolved { // drop one (map order: an arbitrary one)
			delete(s.resolved, k)
			break
		}
	}
	s.resolved[strings.Clone(iss)] = v
	s.mu.Unlock()
	return v, nil
}

// keysUnavailable is the refusal of a token whose issuer's keys cannot be had: fail closed, 503.
func keysUnavailable(cause error) error {
	return (&tokenError{kind: ErrKeysUnavailable, reason: "service temporarily unavailable", cause: cause}).withChain()
}

// parseTrusted verifies an access token in trusted-issuer mode: the unverified iss and header
// pick the issuer's verifier, which then checks everything as parseKey does for one issuer.
func (m *Manager) parseTrusted(ctx context.Context, token string, now time.Time, dst *claimsDst) (*Claims, error) {
	if len(token) > m.cfg.maxTokenSize {
		return nil, errTooLarge
	}
	d1 := strings.IndexByte(token, '.')
	if d1 <= 0 {
		return nil, errFormat
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 <= 0 {
		return nil, errFormat
	}
	d2 += d1 + 1
	if b64.DecodedLen(d1) > maxHeaderSize {
		return nil, errHeader
	}
	hb := make([]byte, b64.DecodedLen(d1))
	n, err := b64.Decode(hb, []byte(token[:d1]))
	if err != nil || !utf8.Valid(hb[:n]) {
		return nil, errHeader
	}
	var h header
	if err := parseHeader(hb[:n], &h); err != nil {
		return nil, err
	}
	pb := make([]byte, b64.DecodedLen(d2-d1-1))
	n, err = b64.Decode(pb, []byte(token[d1+1:d2]))
	if err != nil || !utf8.Valid(pb[:n]) {
		return nil, errPayload
	}
	// The claims are read once here only for iss (parseClaims refuses duplicate members, so the
	// iss picked here is the iss the issuer's verifier checks).
	peek := Claims{payload: string(pb[:n])}
	var cs claimSet
	if err := parseClaims(pb[:n], "", &peek, &cs); err != nil {
		return nil, err
	}
	v, err := m.issuers.verifier(ctx, peek.Issuer)
	if err != nil {
		return nil, err
	}
	if v.atJWT && !isATJWT(h.typ) {
		return nil, errNotATJWT
	}
	// A key source that cannot answer (its provider down past the time it keeps the last keys)
	// is a 503, not a bad token; parseKey's own lookup then finds the key in the source's cache.
	if h.hasKID && h.kid != "" {
		if _, _, err := v.keys.VerificationKey(ctx, h.kid); err != nil && errors.Is(err, ErrKeysUnavailable) {
			return nil, keysUnavailable(err)
		}
	}
	c, k, err := v.m.parseKey(token, kindAccess, now, 0, dst)
	if err != nil {
		return nil, err
	}
	if v.algs != nil && !slices.Contains(v.algs, k.alg) {
		return nil, errAlgMismatch
	}
	if v.audiences != nil && !slices.ContainsFunc(c.Audience(), func(a string) bool { return slices.Contains(v.audiences, a) }) {
		return nil, errAudience
	}
	return c, nil
}

// isATJWT reports whether typ is at+jwt (RFC 9068 §2.1), with or without "application/".
func isATJWT(typ string) bool {
	typ, _ = strings.CutPrefix(strings.ToLower(typ), "application/")
	return typ == "at+jwt"
}
