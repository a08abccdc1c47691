package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// TokenPair is what a login or refresh hands to the client.
type TokenPair struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	ExpiresIn        int64 // access token lifetime in seconds, for expires_in (RFC 6749 §5.1)
	RefreshToken     string
	RefreshExpiresAt time.Time
	Subject          string
	SessionID        string
	// DPoPThumbprint is the JWK SHA-256 thumbprint (RFC 7638) of the DPoP key both tokens are
	// bound to (their cnf.jkt, RFC 9449 §6.1); empty for Bearer tokens.
	DPoPThumbprint string
}

// Issue starts a session for subject after the application has authenticated the user: it
// returns an access token and a refresh token. Every token carries iss, sub, aud, iat, exp, a
// random 128-bit jti and the session's sid, and auth_time, the time of this login, which every
// refresh of the session keeps (see RequireStepUp). custom, when not nil, must encode to a JSON
// object (a struct or map); its members are added to both tokens and carried over on every
// refresh (or replaced by the refresh hook's, see WithRefreshHook). Names the Manager writes
// itself are refused with ErrReservedClaim; scope, scp and acr of a type verification would refuse
// (see Claims.Scopes) with ErrClaims. A token that would be larger than the maximum token size
// is not issued: the error matches ErrTokenTooLarge.
//
// With WithDPoPKey the tokens are bound to that DPoP key (see WithDPoPKey); with
// WithDPoPRequired a session without one is refused (ErrDPoPProof), since its tokens would be.
//
// With rotation on, the session is recorded in the store (with the client description of
// WithClientDescription, if given), and when the subject already holds the maximum number of live
// sessions (WithMaxSessions) the least recently used one is ended in the same store call; a store
// failure returns ErrStoreUnavailable.
func (m *Manager) Issue(ctx context.Context, subject string, custom any, opts ...IssueOption) (*TokenPair, error) {
	if m.cfg.verificationOnly() {
		return nil, ErrVerificationOnly
	}
	if subject == "" {
		return nil, ErrSubjectEmpty
	}
	if err := m.ensureKeys(ctx); err != nil {
		return nil, err
	}
	members, err := encodeCustom(custom)
	if err != nil {
		return nil, err
	}
	var o issueOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.dpopKey == "" && m.cfg.dpop.mode == dpopRequired {
		return nil, errDPoPMissing // unbound tokens would be refused everywhere
	}
	if o.dpopKey != "" && !isThumbprint(o.dpopKey) {
		return nil, errDPoPKeyOption
	}
	now := m.cfg.now()
	iat := time.Unix(now.Unix(), 0)
	sid, refreshID := newID(), newID()
	sessionEnd := iat.Add(m.cfg.maxSessionAge)
	refreshExp := minTime(m.refreshExpiry(iat), sessionEnd)
	p, err := m.pair(subject, sid, refreshID, iat, iat, refreshExp, sessionEnd, iat, members, o.dpopKey)
	if err != nil {
		return nil, err
	}
	if m.cfg.rotation {
		if o.client == "" && o.describe {
			o.client = cleanClient(DescribeClient(o.userAgent, o.remoteAddr))
		}
		fam := Family{
			SessionID: sid, Subject: subject,
			Current: refreshID, CurrentIssuedAt: iat, CurrentExpires: refreshExp,
			Expires: sessionEnd, CreatedAt: now, LastUsed: now, Client: o.client, LoginKey: o.loginKey,
			DPoPThumbprint: o.dpopKey,
		}
		limit := SessionLimit{Max: m.cfg.maxSessions, RevokeUntil: m.sessionRevokeUntil(now),
			LoginRetryWindow: m.cfg.accessTTL, MaxEnded: m.cfg.sessionChurn}
		var ended []string
		err := m.call(ctx, StoreOpCreateFamily, "create session", subject, func(ctx context.Context) error {
			var err error
			ended, err = m.store.CreateFamily(ctx, fam, limit)
			return err
		})
		var rep *LoginRepeatedError
		if errors.As(err, &rep) {
			// A retry of a login the store recorded: that session's current refresh token again
			// (same jti, iat and exp) with a new access token, as a refresh inside the grace
			// window answers. No new session, no event. The tokens are bound to the session's
			// DPoP key, whatever key this retry proved.
			f := rep.Family
			return m.pair(subject, f.SessionID, f.Current, iat, f.CurrentIssuedAt, f.CurrentExpires, f.Expires,
				time.Unix(f.CreatedAt.Unix(), 0), members, f.DPoPThumbprint)
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ended {
			m.emit(ctx, Event{Kind: EventRevoked, Subject: subject, SessionID: e, Reason: "session limit"})
		}
	}
	m.emit(ctx, Event{Kind: EventIssued, Subject: subject, SessionID: sid})
	return p, nil
}

// pair mints a new access token (issued at now) and the refresh token refreshID (issued at
// refreshIAT, expiring at refreshExp) of session sid, both carrying authTime (when not zero) and,
// for a jkt, the confirmation claim binding them to that DPoP key. The access token never
// outlives the session.
func (m *Manager) pair(sub, sid, refreshID string, now, refreshIAT, refreshExp, sessionEnd, authTime time.Time, custom []byte, jkt string) (*TokenPair, error) {
	if jkt != "" {
		custom = appendCnf(jkt, custom)
	}
	accessExp := minTime(now.Add(m.cfg.accessTTL), sessionEnd)
	access, err := m.mint(m.access.signing(), false, sub, sid, newID(), now, accessExp, authTime, custom)
	if err != nil {
		return nil, err
	}
	p := &TokenPair{
		AccessToken: access, AccessExpiresAt: accessExp, ExpiresIn: expiresIn(accessExp.Sub(now)),
		Subject: sub, SessionID: sid, DPoPThumbprint: jkt,
	}
	if refreshID != "" {
		p.RefreshToken, err = m.mint(m.refresh.signing(), true, sub, sid, refreshID, refreshIAT, refreshExp, authTime, custom)
		if err != nil {
			return nil, err
		}
		p.RefreshExpiresAt = refreshExp
	}
	return p, nil
}

// mint builds and signs one token. Times are whole seconds (NumericDate, RFC 7519 §2). A token
// over the maximum token size is refused before signing.
func (m *Manager) mint(k *key, refresh bool, sub, sid, jti string, iat, exp, authTime time.Time, custom []byte) (string, error) {
	b := m.claimsJSON(sub, sid, jti, iat, exp, authTime, custom)
	hdr := k.header
	if refresh {
		hdr = k.refresh
	}
	enc := base64.RawURLEncoding
	if err := m.checkTokenSize(len(hdr) + 1 + enc.EncodedLen(len(b)) + 1 + k.signatureLen()); err != nil {
		return "", err
	}
	in := make([]byte, 0, len(hdr)+1+enc.EncodedLen(len(b)))
	in = append(in, hdr...)
	in = append(in, '.')
	in = enc.AppendEncode(in, b)
	sig, err := k.sign(unsafeString(in))
	if err != nil {
		return "", err
	}
	return string(in) + "." + sig, nil
}

// claimsJSON is the claims object of a token the Manager mints.
func (m *Manager) claimsJSON(sub, sid, jti string, iat, exp, authTime time.Time, custom []byte) []byte {
	b := make([]byte, 0, 208+len(sub)+len(custom))
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, m.cfg.issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, sub)
	if m.cfg.audience != "" {
		b = append(b, `,"aud":`...)
		b = appendJSONString(b, m.cfg.audience)
	}
	b = append(b, `,"exp":`...)
	b = appendJSONInt(b, exp.Unix())
	b = append(b, `,"iat":`...)
	b = appendJSONInt(b, iat.Unix())
	if !authTime.IsZero() {
		b = append(b, `,"auth_time":`...)
		b = appendJSONInt(b, authTime.Unix())
	}
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, jti)
	b = append(b, `,"sid":`...)
	b = appendJSONString(b, sid)
	if len(custom) > 0 {
		b = append(b, ',')
		b = append(b, custom...)
	}
	return append(b, '}')
}

// newID returns 128 random bits, base64url encoded (22 characters). crypto/rand never fails on
// supported platforms (Go 1.24+ crashes the program rather than return weak randomness).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// A token the Manager would refuse on every request (over WithMaxTokenSize) is never issued: the
// user would log in and then find that nothing works.

// checkTokenSize refuses a token of size bytes over the configured maximum.
func (m *Manager) checkTokenSize(size int) error {
	if size <= m.cfg.maxTokenSize {
		return nil
	}
	return fmt.Errorf("%w: %d bytes, the limit is %d: carry fewer custom claims or raise WithMaxTokenSize",
		ErrTokenTooLarge, size, m.cfg.maxTokenSize)
}

// signatureLen is the length of the base64url signature segment k produces (RFC 7518 §3).
func (k *key) signatureLen() int {
	n := k.macSize
	switch pub := k.verifyKey.(type) {
	case *rsa.PublicKey:
		n = pub.Size()
	case *ecdsa.PublicKey:
		n = 2 * ((pub.Curve.Params().BitSize + 7) / 8)
	case ed25519.PublicKey:
		n = ed25519.SignatureSize
	}
	return base64.RawURLEncoding.EncodedLen(n)
}

// checkPairSize reports, without signing anything, whether the access and refresh tokens of a
// refresh of c with the custom members custom would fit the maximum token size. Refresh calls it
// before rotating when a hook may have grown the claims, so a pair that cannot be minted never
// retires the presented refresh token.
func (m *Manager) checkPairSize(c *Claims, now time.Time, custom []byte) error {
	const id = "0123456789012345678901" // every jti is 22 characters (newID)
	if jkt := c.DPoPThumbprint(); jkt != "" {
		custom = appendCnf(jkt, custom)
	}
	b := m.claimsJSON(c.Subject, c.SessionID, id, now, now.Add(m.cfg.refreshTTL), c.AuthTime, custom)
	enc := base64.RawURLEncoding
	for _, k := range [2]struct {
		key *key
		hdr string
	}{{m.access.signing(), m.access.signing().header}, {m.refresh.signing(), m.refresh.signing().refresh}} {
		if err := m.checkTokenSize(len(k.hdr) + 1 + enc.EncodedLen(len(b)) + 1 + k.key.signatureLen()); err != nil {
			return err
		}
	}
	return nil
}
