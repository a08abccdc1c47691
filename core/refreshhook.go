package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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
		if err := m.call(ctx, StoreOpRevokeFamily, "revoke session refused by the refresh hook", func(ctx context.Context) error {
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
