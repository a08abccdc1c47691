package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
)

// refreshHook is WithRefreshHook's function with the types erased: it gets the refresh token's
// claims object and returns the custom members of the new tokens, or the hook's refusal, or an
// error of its own (claims that do not encode).
type refreshHook func(ctx context.Context, subject string, claims []byte) (members []byte, refused, err error)

// WithRefreshHook calls hook on every refresh, before the refresh token is rotated, with the
// session's subject and the custom claims of the presented refresh token decoded into the
// application's type T (as CustomClaims does). What it returns becomes the custom claims of the
// new tokens, so a role or a scope the application changed is in the very next access token
// instead of staying until the session ends (up to WithMaxSessionAge). Names the Manager writes
// itself are refused as in Issue.
//
// A non-nil error ends the session: the refresh is refused with 400 invalid_grant "session
// revoked", the session is revoked (its refresh tokens and its access tokens, at once) and an
// EventRevoked carries the error (Reason "refresh refused"). Return one for a user who was
// disabled or deleted. The error is in the chain of the one Refresh returns (errors.Is). An error
// matching ErrStoreUnavailable is the exception: the application's user store failed, so the
// refresh is answered 503 and the session left as it is; the client may try again with the same
// refresh token.
//
// Claims of the presented token that do not decode into T end the session too (the application
// changed T incompatibly; the user logs in again). The hook runs on the refresh path: keep it as
// fast as one lookup in the user store. Without a hook the refresh token's custom claims are
// copied, at no extra cost. A nil hook is a configuration error.
func WithRefreshHook[T any](hook func(ctx context.Context, subject string, current T) (T, error)) Option {
	return func(c *config) error {
		if hook == nil {
			return configError("WithRefreshHook: hook is nil")
		}
		c.refreshHook = func(ctx context.Context, subject string, claims []byte) ([]byte, error, error) {
			var current T
			if err := json.Unmarshal(claims, &current); err != nil {
				return nil, fmt.Errorf("jwtexp: decode custom claims for the refresh hook: %w", err), nil
			}
			next, err := hook(ctx, subject, current)
			if err != nil {
				return nil, err, nil
			}
			members, err := encodeCustom(next)
			return members, nil, err
		}
		return nil
	}
}

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
