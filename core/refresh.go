package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Refresh exchanges a refresh token for new tokens. Every refusal matches ErrInvalidGrant (the
// cause stays in the chain: ErrTokenExpired, ErrRefreshReused, ErrTokenRevoked, ...); a store
// failure returns ErrStoreUnavailable instead.
//
// With rotation (the default) the presented token must be the session's current one: it is
// retired and a new pair returned, atomically in the store, so that of many concurrent refreshes
// with one token exactly one wins. For the grace window after that rotation (WithRefreshGrace)
// the session rotates no more: a refresh presenting the new token or the one it replaced gets the
// session's current refresh token again with a new access token (never a second branch of the
// session), so a burst of refreshes from one client ends with one token however its answers are
// ordered. Presenting a retired token outside that window is reuse: the session is revoked and
// the error matches ErrRefreshReused (RFC 9700 §4.14.2). Rotation never extends a session past
// its maximum age.
//
// Retries are safe: a client library re-sending the same rotation after a lost reply gets the
// same answer, and a client that retries its request with the same WithRetryKey (the
// Idempotency-Key header, in ServeRefresh) gets the session's current refresh token again
// instead of a reuse verdict, for one access-token lifetime after the rotation it repeats (see
// WithRetryKey). Without a retry key, a client that lost the answer to a refresh
// and sends the old token again is indistinguishable from a thief and ends its session.
//
// Without rotation the refresh token is checked against the revocation records and only a new
// access token is returned (TokenPair.RefreshToken is empty).
//
// The new tokens keep the session's auth_time (the login time, RFC 9470 §4) and carry the
// custom claims of the presented token, or those the refresh hook returns (WithRefreshHook); a
// hook refusal ends the session. A pair over the maximum token size is not minted
// (ErrTokenTooLarge).
//
// A refresh token bound to a DPoP key (a session started with a DPoP proof) is refused, before
// the store is asked, unless WithRefreshDPoPKey names that key's thumbprint: the error matches
// ErrInvalidGrant and ErrDPoPBinding, and the session is untouched (a thief holding only the
// token cannot end it either). The new tokens are bound to the same key. With
// WithDPoPRequired an unbound refresh token is refused the same way.
func (m *Manager) Refresh(ctx context.Context, refreshToken string, opts ...RefreshOption) (*TokenPair, error) {
	if m.cfg.verificationOnly() {
		return nil, ErrVerificationOnly
	}
	if err := m.ensureKeys(ctx); err != nil {
		return nil, err
	}
	var ro refreshOptions
	for _, o := range opts {
		if o != nil {
			o(&ro)
		}
	}
	now := m.cfg.now()
	c, err := m.parse(refreshToken, kindRefresh, now, 0)
	if err == nil {
		err = m.refreshBinding(c, ro.dpopKey)
	}
	if err != nil {
		m.rejected(ctx, err)
		return nil, grantError(err)
	}
	jkt := c.DPoPThumbprint()
	var custom []byte
	if m.cfg.refreshHook != nil {
		if custom, err = m.runRefreshHook(ctx, c, now); err != nil {
			return nil, err
		}
	} else if custom, err = customMembers(unsafeBytes(c.payload), false); err != nil {
		return nil, grantError(errPayload) // cannot happen for a token that parsed
	}
	iat := time.Unix(now.Unix(), 0)
	if !m.cfg.rotation {
		if err := m.checkRevoked(ctx, c); err != nil {
			m.rejected(ctx, err)
			return nil, grantError(err)
		}
		p, err := m.pair(c.Subject, c.SessionID, "", iat, time.Time{}, time.Time{}, iat.Add(m.cfg.accessTTL), c.AuthTime, custom, jkt)
		if err != nil {
			return nil, err
		}
		m.emit(ctx, Event{Kind: EventRefreshed, Subject: c.Subject, SessionID: c.SessionID})
		return p, nil
	}

	next := newID()
	req := RotateRequest{
		Subject: c.Subject, SessionID: c.SessionID,
		Presented: c.TokenID, PresentedIssuedAt: c.IssuedAt,
		Next: next, NextIssuedAt: iat, NextExpires: m.refreshExpiry(iat),
		Now:         now,
		Grace:       m.cfg.grace,
		RevokeUntil: m.sessionRevokeUntil(now),
		RetryKey:    ro.retryKey,
		RetryWindow: m.cfg.accessTTL,
	}
	var fam Family
	var res RotateResult
	err = m.call(ctx, StoreOpRotate, "rotate refresh token", c.Subject, func(ctx context.Context) error {
		var err error
		fam, res, err = m.store.Rotate(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if fam.DPoPThumbprint != "" && fam.DPoPThumbprint != jkt && res != RotateReused {
		// The session's key and the token's disagree: a token of another session's key cannot
		// be signed by us, so this is a store that lost the binding's integrity. Fail closed.
		m.rejected(ctx, errDPoPRefreshKey)
		return nil, grantError(errDPoPRefreshKey)
	}
	var p *TokenPair
	switch res {
	case RotateOK:
		p, err = m.pair(c.Subject, c.SessionID, next, iat, iat, fam.CurrentExpires, fam.Expires, c.AuthTime, custom, jkt)
		m.emit(ctx, Event{Kind: EventRefreshed, Subject: c.Subject, SessionID: c.SessionID})
	case RotateGrace, RotateRetry:
		// Re-issue the family's current refresh token (same jti, iat and exp), not a new branch.
		// A retry is the same client asking again: no event, it changed nothing.
		p, err = m.pair(c.Subject, c.SessionID, fam.Current, iat, fam.CurrentIssuedAt, fam.CurrentExpires, fam.Expires, c.AuthTime, custom, jkt)
		if res == RotateGrace {
			m.emit(ctx, Event{Kind: EventRefreshGrace, Subject: c.Subject, SessionID: c.SessionID})
		}
	case RotateReused:
		m.emit(ctx, Event{Kind: EventReuseDetected, Subject: c.Subject, SessionID: c.SessionID, Reason: errReused.reason, Err: errReused})
		return nil, grantError(errReused)
	case RotateCutOff:
		m.rejected(ctx, errCutOff)
		return nil, grantError(errCutOff)
	default:
		m.rejected(ctx, errSessionEnded)
		return nil, grantError(errSessionEnded)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// refreshHook is WithRefreshHook's function with the types erased: it gets the refresh token's
// claims object and returns the custom members of the new tokens, or the hook's refusal, or an
// error of its own (claims that do not encode).
type refreshHook func(ctx context.Context, subject string, claims []byte) (members []byte, refused, err error)

// runRefreshHook asks the refresh hook for the custom claims of the tokens replacing c, checks
// that they fit the maximum token size, and ends the session when the hook refuses.
func (m *Manager) runRefreshHook(ctx context.Context, c *Claims, now time.Time) ([]byte, error) {
	members, refused, err := m.cfg.refreshHook(ctx, c.Subject, unsafeBytes(c.payload))
	switch {
	case err != nil:
		return nil, fmt.Errorf("jwtexp: refresh hook: %w", err)
	case refused != nil && errors.Is(refused, ErrStoreUnavailable):
		// The application's own store (its user directory) failed: 503, the session is kept.
		err := storeError("refresh hook", refused)
		m.storeFailed(ctx, StoreOpRefreshHook, err)
		return nil, err
	case refused != nil:
		until := m.sessionMarkUntil(now)
		if err := m.call(ctx, StoreOpRevokeFamily, "revoke session refused by the refresh hook", c.Subject, func(ctx context.Context) error {
			return m.store.RevokeFamily(ctx, c.Subject, c.SessionID, until)
		}); err != nil {
			return nil, err
		}
		m.emit(ctx, Event{Kind: EventRevoked, Subject: c.Subject, SessionID: c.SessionID, Reason: "refresh refused", Err: refused})
		return nil, grantError((&tokenError{kind: ErrTokenRevoked, reason: "session revoked", cause: refused}).withChain())
	}
	if err := m.checkPairSize(c, now, members); err != nil {
		return nil, err
	}
	return members, nil
}
