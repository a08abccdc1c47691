package core

import (
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// b64url marks the bytes allowed in a base64url segment without padding (RFC 4648 §5). Go's
// decoder silently skips '\r' and '\n', so the token's characters are checked before decoding.
var b64url = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'] = true, true
	return t
}()

const (
	maxHeaderSize = 4 << 10
	headerBufSize = 512
)

var headerBufs = sync.Pool{New: func() any { return new([headerBufSize]byte) }}

// parse checks a compact JWS (RFC 7515 §7.1) of the given kind against the configuration and the
// time now, in this order: size and format, header (alg none, crit, type, kid, alg of the key),
// claims (syntax, exp, nbf, iat, iss, aud, lifetime), signature. The cheap checks come first so
// that expired or malformed tokens cost no cryptography. expiredOK lets a token past its exp be
// accepted for that much longer (logout only).
func (m *Manager) parse(token string, kind tokenKind, now time.Time, expiredOK time.Duration) (*Claims, error) {
	c, _, err := m.parseKey(token, kind, now, expiredOK, nil)
	return c, err
}

// parseKey is parse that also returns the key that verified the token, and writes the claims
// where dst says.
func (m *Manager) parseKey(token string, kind tokenKind, now time.Time, expiredOK time.Duration, dst *claimsDst) (*Claims, *key, error) {
	if len(token) > m.cfg.maxTokenSize {
		return nil, nil, errTooLarge
	}
	// The first dot by a vectorised search over the short header segment, the last by lastDot
	// from the end, eight bytes a step. The header and claims segments are checked by decodeB64,
	// which refuses every byte outside the base64url alphabet (a line break in them is
	// errFormat, as before decoding: see segmentsBroken), the signature segment by decodeB64 too
	// (HMAC) or by lastOutside before it is decoded (verifySignature). A token of more than three
	// segments, or with a byte outside the alphabet in its signature, is errFormat whatever else
	// is wrong with it, as if the dots had been counted and the signature checked first; only a
	// refusal needs to look (a token accepted passed the checks above).
	d1 := strings.IndexByte(token, '.')
	if d1 <= 0 {
		return nil, nil, errFormat
	}
	d2 := lastDot(token)
	if d2 <= d1+1 || d2 == len(token)-1 {
		return nil, nil, errFormat // one dot, or an empty segment
	}
	c, k, err := m.parseSegments(token, d1, d2, kind, now, expiredOK, dst)
	if err != nil && (strings.IndexByte(token[d1+1:d2], '.') >= 0 || lastOutside(token[d2+1:]) >= 0) {
		return nil, nil, errFormat
	}
	return c, k, err
}

// lastDot returns the index of the last '.' in s, -1 if there is none, reading s from its end
// eight bytes at a time: a byte equal to '.' is a zero byte of x ^ '.'…, found without borrows
// between bytes as in b64Outside.
func lastDot(s string) int {
	const lo, low7, hi = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	i := len(s)
	for i >= 8 {
		x := binary.LittleEndian.Uint64(unsafeBytes(s[i-8:i])) ^ '.'*lo
		if m := ^((x&low7 + low7) | x) & hi; m != 0 {
			return i - 1 - bits.LeadingZeros64(m)>>3
		}
		i -= 8
	}
	return strings.LastIndexByte(s[:i], '.')
}

// parseSegments is parseKey's work once the dots are found: d1 ends the header segment, d2 the
// claims segment.
func (m *Manager) parseSegments(token string, d1, d2 int, kind tokenKind, now time.Time, expiredOK time.Duration, dst *claimsDst) (*Claims, *key, error) {
	var h header
	if err := m.readHeader(token[:d1], token[:d2], kind, &h); err != nil {
		return nil, nil, err
	}
	if algNone(h.alg) {
		return nil, nil, errAlgNone
	}
	if h.crit {
		return nil, nil, errCrit
	}
	switch got := h.kind; {
	case got == kind:
	case kind == kindAccess && got == kindRefresh:
		return nil, nil, errTypeRefresh
	case kind == kindAccess:
		return nil, nil, errTypeUnknown
	default:
		return nil, nil, errTypeAccess
	}
	ks := m.access
	if kind == kindRefresh {
		ks = m.refresh
	}
	var k *key
	if ks.ring != nil {
		k = ks.ring.lookup(h.kid, h.hasKID, now)
	} else {
		k = ks.lookup(h.kid, h.hasKID)
	}
	if k == nil {
		if ks.remote != nil {
			if err := ks.remote.unavailable(h.kid, h.hasKID); err != nil {
				return nil, nil, keysUnavailable(err) // the source is down, not the token bad: 503
			}
		}
		return nil, nil, errUnknownKid
	}
	if h.alg != k.alg {
		return nil, nil, errAlgMismatch
	}

	// Claims: decoded into the one buffer the returned Claims keep.
	pb := make([]byte, b64.DecodedLen(d2-d1-1))
	n, ascii, ok := decodeB64(pb, token[d1+1:d2])
	if !ok || !ascii && !utf8.Valid(pb[:n]) {
		return nil, nil, segmentsBroken(token[:d2], errPayload)
	}
	pb = pb[:n]
	c := Claims{payload: unsafeString(pb)} // parseClaims records spans of it
	var cs claimSet
	if err := m.own.parseClaims(pb, m.cfg.audience, &c, &cs); err != nil {
		return nil, nil, err
	}
	if err := m.checkClaims(&c, &cs, kind, now, expiredOK); err != nil {
		return nil, nil, err
	}

	if !k.verifySignature(token[:d2], token[d2+1:]) {
		return nil, nil, errBadSignature
	}
	c.ExpiresAt, c.IssuedAt, c.NotBefore = cs.exp, cs.iat, cs.nbf
	out := dst.claims()
	*out = c
	return out, k, nil
}

// lastOutside returns the index of the last byte of s outside the base64url alphabet (RFC 4648
// §5), -1 if there is none. It reads s from its end eight bytes at a time (b64Outside), so that
// the signature segment of a token is checked and the dot before it found in a few steps.
func lastOutside(s string) int {
	i := len(s)
	for i >= 8 {
		if m := b64Outside(binary.LittleEndian.Uint64(unsafeBytes(s[i-8 : i]))); m != 0 {
			return i - 1 - bits.LeadingZeros64(m)>>3
		}
		i -= 8
	}
	for i--; i >= 0; i-- {
		if !b64url[s[i]] {
			break
		}
	}
	return i
}

// b64Outside marks the bytes of x (eight, little-endian) outside the base64url alphabet with
// their high bit: zero when all eight are in it. A byte of 0x80 or more is outside; the others
// are tested as seven-bit values v for four ranges at once: v + (0x80 - lo) has its high bit set
// when v >= lo, and v + (0x7f - hi) when v > hi, neither carrying into the next byte, so
// (v + 0x80 - lo) &^ (v + 0x7f - hi) marks lo <= v <= hi. Letters are one range once the case
// bit 0x20 is set (which moves no other byte into 'a'..'z'). TestB64Outside checks all 256
// byte values in every position against b64url.
func b64Outside(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	v := x &^ hi
	l := v | 0x20*lo
	ok := (l+(0x80-'a')*lo)&^(l+(0x7f-'z')*lo) | (v+(0x80-'0')*lo)&^(v+(0x7f-'9')*lo) |
		(v+(0x80-'-')*lo)&^(v+(0x7f-'-')*lo) | (v+(0x80-'_')*lo)&^(v+(0x7f-'_')*lo)
	return (^ok | x) & hi
}

// algNone reports whether alg is "none" in any case (RFC 7518 §3.6), as strings.EqualFold does.
// Only the ASCII letters fold to 'n', 'o' and 'e' (Unicode's other folds onto ASCII reach 'k'
// and 's'), so a string of any other length than four never matches, and most algorithm names
// ("HS256", "EdDSA") are told apart by their length alone (TestAlgNone).
func algNone(alg string) bool { return len(alg) == 4 && strings.EqualFold(alg, "none") }

// headerEntry is a header segment as the token carried it and what parseHeader read from it,
// its strings owned by the entry.
type headerEntry struct {
	segment string
	h       header
}

// readHeader reads the header segment seg of a token of the given kind into h (segments is the
// header and claims segments, for segmentsBroken). The tokens of one key carry the same header,
// byte for byte, so the Manager keeps, per kind, the last segment it read successfully with what
// it read: a token with that segment skips decoding and parsing it, and gets the same header,
// whose checks (alg, crit, typ, kid) parseKey applies as to any other. A segment that differs is
// read and replaces the entry (two allocations).
func (m *Manager) readHeader(seg, segments string, kind tokenKind, h *header) error {
	last := &m.lastHeader[0]
	if kind == kindRefresh {
		last = &m.lastHeader[1]
	}
	if e := last.Load(); e != nil && e.segment == seg {
		*h = e.h
		return nil
	}
	// Decoded into a pooled buffer; nothing read from it outlives this call but the copy the
	// entry keeps.
	var hb []byte
	if n := b64.DecodedLen(len(seg)); n > headerBufSize {
		if n > maxHeaderSize {
			return errHeader
		}
		hb = make([]byte, n)
	} else {
		bp := headerBufs.Get().(*[headerBufSize]byte)
		defer headerBufs.Put(bp)
		hb = bp[:]
	}
	n, ascii, ok := decodeB64(hb, seg)
	if !ok || !ascii && !utf8.Valid(hb[:n]) {
		return segmentsBroken(segments, errHeader)
	}
	if err := parseHeader(hb[:n], h); err != nil {
		return err
	}
	// One string holds the segment and the three values, which point into hb until copied.
	all := seg + h.alg + h.typ + h.kid
	e := &headerEntry{segment: all[:len(seg)], h: *h}
	rest := all[len(seg):]
	e.h.alg, rest = rest[:len(h.alg)], rest[len(h.alg):]
	e.h.typ, e.h.kid = rest[:len(h.typ)], rest[len(h.typ):]
	last.Store(e)
	*h = e.h
	return nil
}

// segmentsBroken is the error for header and claims segments (both, with the dot between them)
// that did not decode: errFormat when they hold a line break, which Go's base64 decoder would
// skip (the token's format is wrong before any decoding), else err.
func segmentsBroken(segments string, err error) error {
	if strings.ContainsAny(segments, "\r\n") {
		return errFormat
	}
	return err
}

// checkClaims applies the registered-claim rules of RFC 7519 §4.1 with the configured leeway.
// Times are compared as whole seconds and nanoseconds since the epoch (instant), which is exact
// for every NumericDate and cheaper than time.Time's arithmetic.
func (m *Manager) checkClaims(c *Claims, cs *claimSet, kind tokenKind, now time.Time, expiredOK time.Duration) error {
	leeway := m.cfg.leeway
	if !cs.hasExp {
		return errExpMissing
	}
	at, exp := instantAt(now), instantAt(cs.exp)
	// RFC 7519 §4.1.4: the token must not be accepted on or after exp.
	if !at.before(exp.plus(leeway + expiredOK)) {
		return errExpired
	}
	// RFC 7519 §4.1.5: nor before nbf.
	if cs.hasNbf && at.before(instantAt(cs.nbf).plus(-leeway)) {
		return errNotYetValid
	}
	start := at
	if cs.hasIat {
		start = instantAt(cs.iat)
		if at.plus(leeway).before(start) {
			return errIssuedInFuture
		}
	}
	if c.Issuer != m.cfg.issuer {
		return errIssuer
	}
	if !cs.audOK && !m.cfg.noAudience {
		return errAudience
	}
	limit := m.maxLifetime
	if kind == kindRefresh {
		limit = m.cfg.refreshTTL
	}
	if start.plus(limit + leeway).before(exp) { // exp - start > limit + leeway
		return errLifetime
	}
	if kind == kindRefresh && (c.Subject == "" || c.TokenID == "" || c.SessionID == "" || !cs.hasIat) {
		return errRefreshClaims
	}
	return nil
}

// instant is a time as seconds since the epoch and nanoseconds (0 to 999,999,999) within the
// second. Any time.Time plus any Duration fits without overflow.
type instant struct{ sec, nsec int64 }

// instantAt is t as an instant.
func instantAt(t time.Time) instant { return instant{t.Unix(), int64(t.Nanosecond())} }

// plus is a + d.
func (a instant) plus(d time.Duration) instant {
	if d == 0 {
		return a
	}
	return a.add(d)
}

func (a instant) add(d time.Duration) instant {
	sec := a.sec + int64(d/time.Second)
	nsec := a.nsec + int64(d%time.Second)
	switch {
	case nsec >= int64(time.Second):
		sec, nsec = sec+1, nsec-int64(time.Second)
	case nsec < 0:
		sec, nsec = sec-1, nsec+int64(time.Second)
	}
	return instant{sec, nsec}
}

// before reports whether a is earlier than b.
func (a instant) before(b instant) bool { return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec }

// Verify checks an access token: format, algorithm and key, signature, exp/nbf/iat with the
// leeway, issuer, audience, lifetime cap, type, and (unless WithoutRevocationCheck()) the
// revocation records in one store round trip. The error matches one sentinel of errors.go.
func (m *Manager) Verify(ctx context.Context, token string) (*Claims, error) {
	return m.verify(ctx, token, nil)
}

// verify is Verify of a token whose verified-token cache entry, if any, the caller may already
// have looked up (hit, or nil: look it up here).
func (m *Manager) verify(ctx context.Context, token string, hit *cacheEntry) (*Claims, error) {
	return m.verifyInto(ctx, token, hit, nil)
}

// verifyInto is verify writing the claims where dst says, and returning where it wrote them.
func (m *Manager) verifyInto(ctx context.Context, token string, hit *cacheEntry, dst *claimsDst) (*Claims, error) {
	var c *Claims
	var err error
	e := hit // the cache entry the claims come from, if any
	switch now := m.cfg.now(); {
	case hit != nil:
		c, err = m.fromCache(hit, now, dst)
	case m.issuers != nil: // several issuers (issuers.go)
		c, err = m.parseTrusted(ctx, token, now, dst)
	case m.cache != nil:
		c, e, err = m.verifyCached(token, now, dst)
	default:
		c, _, err = m.parseKey(token, kindAccess, now, 0, dst)
	}
	if err == nil && (c.jkt.n != 0 || m.cfg.dpop.mode == dpopRequired || (dst != nil && dst.dpop)) {
		err = m.verifyDPoP(ctx, token, c, dst) // a bound token, or a DPoP request: dpop.go
	}
	if err == nil && m.cfg.revocationCheck {
		err = m.checkRevokedEntry(ctx, e, c)
	}
	if err != nil {
		if dst != nil && dst.unchecked && badTokenChars(token) {
			err = errBadAuthHeader // see extractProbe
		}
		m.rejected(ctx, err)
		return nil, err
	}
	m.accepted(ctx, c)
	return c, nil
}

// Authenticate extracts the access token from r (Authorization Bearer header, plus
// the cookie, header or query sources configured) and verifies it. A request without a credential
// fails with ErrTokenMissing.
//
// Authenticate and AuthenticateOptional keep no string r returned once they return (the
// verified-token cache stores a copy of the token; the claims live in memory of their own), so an
// adapter may hand them views of buffers its server reuses for the next request.
func (m *Manager) Authenticate(ctx context.Context, r Request) (*Claims, error) {
	token, hit, unchecked, err := m.extractProbe(r, true)
	if err == errDPoPScheme {
		return m.authenticateDPoP(ctx, r)
	}
	if err != nil {
		m.rejected(ctx, err)
		return nil, err
	}
	return m.verifyInto(ctx, token, hit, &claimsDst{req: r, unchecked: unchecked})
}

// AuthenticateOptional is Authenticate for routes that also serve anonymous users: a request
// without any credential returns (nil, nil); a request with a bad credential still fails.
func (m *Manager) AuthenticateOptional(ctx context.Context, r Request) (*Claims, error) {
	token, hit, unchecked, err := m.extractProbe(r, true)
	if err == errMissing {
		return nil, nil
	}
	if err == errDPoPScheme {
		return m.authenticateDPoP(ctx, r)
	}
	if err != nil {
		m.rejected(ctx, err)
		return nil, err
	}
	return m.verifyInto(ctx, token, hit, &claimsDst{req: r, unchecked: unchecked})
}

// checkRevoked asks the store, in one round trip, whether the token's jti, its session or its
// subject was revoked. A store failure refuses the token (fail closed).
func (m *Manager) checkRevoked(ctx context.Context, c *Claims) error {
	r, err := m.revocation(ctx, c.Subject, c.TokenID, c.SessionID)
	if err != nil {
		if m.cfg.guard.failOpen && errors.Is(err, ErrStoreUnavailable) {
			m.emit(ctx, Event{Kind: EventRevocationSkipped, Subject: c.Subject, TokenID: c.TokenID, SessionID: c.SessionID, Reason: Reason(err), Err: err})
			return nil
		}
		return err
	}
	return m.revokedBy(r, c)
}

// checkRevokedEntry is checkRevoked for claims c answered from the cache entry e (nil: not
// from the cache). With the memory store, a lookup that found nothing revoking the token at the
// store's revocation generation g stays true while the generation is g (MemoryStore.revGen), so
// a hit then skips the lookup: the answer is the one a lookup would give, at the cost of one
// atomic load instead of a map lookup. The generation is read before the lookup, so a record
// written during it moves the generation past what the entry keeps, and the next hit looks again.
func (m *Manager) checkRevokedEntry(ctx context.Context, e *cacheEntry, c *Claims) error {
	if e == nil || m.mem == nil {
		return m.checkRevoked(ctx, c)
	}
	g := m.mem.revGen.Load() + 1
	if e.notRevoked.Load() == g {
		return nil
	}
	if err := m.checkRevoked(ctx, c); err != nil {
		return err
	}
	e.notRevoked.Store(g)
	return nil
}

// revocation reads the revocation records of one token from the store.
func (m *Manager) revocation(ctx context.Context, subject, jti, sid string) (Revocation, error) {
	if m.mem != nil {
		// The per-request path of the default store: a map lookup that cannot fail or stall,
		// so it is called directly, untimed (no EventStoreCall: a hundred nanoseconds are not
		// worth a histogram observation on every request; the store's writes are timed).
		r, _ := m.mem.Revoked(ctx, subject, jti, sid)
		return r, nil
	}
	var r Revocation
	err := m.call(ctx, StoreOpRevoked, "check revocation", subject, func(ctx context.Context) error {
		var err error
		r, err = m.store.Revoked(ctx, subject, jti, sid)
		return err
	})
	return r, err
}

// revokedBy is the error for a token c that the records r revoke, nil if they do not.
func (m *Manager) revokedBy(r Revocation, c *Claims) error {
	switch {
	case r.TokenDenied:
		return errRevoked
	case r.SessionRevoked:
		return errSessionRevoked
	case !r.CutOff.IsZero():
		iat := c.IssuedAt
		if iat.IsZero() { // no iat: assume the longest lifetime allowed
			iat = c.ExpiresAt.Add(-m.maxLifetime)
		}
		if r.RevokesIssuedAt(iat) {
			return errCutOff
		}
	}
	return nil
}

// fromCache answers a token from its cache entry e: a copy of the claims (where dst says), or
// ErrTokenExpired (and the entry dropped) once exp plus the leeway has passed.
func (m *Manager) fromCache(e *cacheEntry, now time.Time, dst *claimsDst) (*Claims, error) {
	if !now.Before(e.until) {
		m.cache.drop(e.token)
		return nil, errExpired
	}
	out := dst.claims()
	*out = e.claims
	return out, nil
}

// verifyCached is Verify's path for managers with a cache; the claims go where dst says. e is
// the cache entry they were answered from, nil when the token was verified here.
func (m *Manager) verifyCached(token string, now time.Time, dst *claimsDst) (c *Claims, e *cacheEntry, err error) {
	if e = m.cache.get(token); e != nil {
		c, err = m.fromCache(e, now, dst)
		return c, e, err
	}
	c, _, err = m.parseKey(token, kindAccess, now, 0, dst)
	if err == nil {
		m.cache.put(token, c, c.ExpiresAt.Add(m.cfg.leeway))
	}
	return c, nil, err
}
