package core

import (
	"context"
	"errors"
	"time"
)

// Every revocation record lives exactly as long as the tokens it guards could still be accepted,
// so stores never grow without bound.

// RevokeToken puts one access token on the denylist until its exp plus the leeway, after which
// it would be refused anyway.
func (m *Manager) RevokeToken(ctx context.Context, c *Claims) error {
	if c == nil || c.TokenID == "" {
		return errors.New("jwtexp: revoke token: token has no jti")
	}
	until := c.ExpiresAt.Add(m.cfg.leeway)
	if err := m.call(ctx, StoreOpDenyToken, "revoke token", c.Subject, func(ctx context.Context) error {
		return m.store.DenyToken(ctx, c.Subject, c.TokenID, until)
	}); err != nil {
		return err
	}
	m.emit(ctx, Event{Kind: EventRevoked, Subject: c.Subject, TokenID: c.TokenID})
	return nil
}

// RevokeSession logs out one session: its refresh-token family is deleted (no more refreshes) and
// every access token carrying its sid is refused until the last of them has expired.
func (m *Manager) RevokeSession(ctx context.Context, subject, sid string) error {
	if subject == "" || sid == "" {
		return errors.New("jwtexp: revoke session: subject and session ID are required")
	}
	return m.revokeSession(ctx, subject, sid)
}

// revokeSession is RevokeSession without the argument check: logout also ends the session of a
// verified token that carries a sid but no sub (other issuers' tokens may lack sub; the store
// keys that case under the empty subject, which Revoked reads the same way).
func (m *Manager) revokeSession(ctx context.Context, subject, sid string) error {
	until := m.sessionMarkUntil(m.cfg.now())
	if err := m.call(ctx, StoreOpRevokeFamily, "revoke session", subject, func(ctx context.Context) error {
		return m.store.RevokeFamily(ctx, subject, sid, until)
	}); err != nil {
		return err
	}
	m.emit(ctx, Event{Kind: EventRevoked, Subject: subject, SessionID: sid})
	return nil
}

// RevokeSubject logs subject out everywhere: every token issued to it before the call is refused,
// access and refresh alike, and tokens issued after it are not affected, even within the same
// second.
//
// iat has whole seconds, so a cut-off by time alone cannot tell a token issued just before the
// call from one issued just after it in the same second (a login right after "log out
// everywhere" would be locked out for the rest of that second). So with rotation (the default)
// RevokeSubject first ends every live session of subject by id in the store's per-subject index
// (each sid is refused from then on, as after a logout), and then records a cut-off for tokens
// issued before the current second. Every token issued in the current second before the call
// belongs to one of those sessions; every later one to a session the call did not see. Without
// rotation the store records no sessions, so the cut-off also covers the current second, and a
// new login within that second is refused too.
func (m *Manager) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return ErrSubjectEmpty
	}
	now := m.cfg.now()
	at := now
	if m.cfg.rotation {
		var ended []string
		until := m.sessionRevokeUntil(now)
		if err := m.call(ctx, StoreOpEndSessions, "revoke subject", subject, func(ctx context.Context) error {
			var err error
			ended, err = m.store.EndSessions(ctx, subject, "", until)
			return err
		}); err != nil {
			return err
		}
		for _, sid := range ended {
			m.emit(ctx, Event{Kind: EventRevoked, Subject: subject, SessionID: sid})
		}
		at = time.Unix(now.Unix()-1, 0)
	}
	until := now.Add(max(m.maxLifetime, m.cfg.refreshTTL) + m.cfg.leeway)
	if err := m.call(ctx, StoreOpCutOff, "revoke subject", subject, func(ctx context.Context) error {
		return m.store.CutOff(ctx, subject, at, until)
	}); err != nil {
		return err
	}
	m.emit(ctx, Event{Kind: EventRevoked, Subject: subject})
	return nil
}

// sessionMarkUntil is how long the mark of a session revoked at now must live. With rotation the
// deleted family already stops refresh tokens; the sid mark only has to outlive access tokens.
// Without rotation refresh tokens are checked against the mark too.
func (m *Manager) sessionMarkUntil(now time.Time) time.Time {
	lifetime := m.maxLifetime
	if !m.cfg.rotation {
		lifetime = max(lifetime, m.cfg.refreshTTL)
	}
	return now.Add(lifetime + m.cfg.leeway)
}

// Logout ends the session named by an access token and/or a refresh token; either may be empty.
// An access token that expired less than the refresh TTL ago is still accepted here (its
// signature, issuer and audience must verify): logging out must not fail because a token ran out
// a second ago. A revoked or unknown session is not an error (logout is idempotent). An access
// token that does not verify is an error; a refresh token that does not verify is ignored, since
// it cannot be used anyway.
func (m *Manager) Logout(ctx context.Context, accessToken, refreshToken string) error {
	now := m.cfg.now()
	if accessToken != "" {
		c, err := m.parse(accessToken, kindAccess, now, m.cfg.refreshTTL)
		if err != nil {
			m.rejected(ctx, err)
			return err
		}
		if c.SessionID != "" {
			err = m.revokeSession(ctx, c.Subject, c.SessionID)
		} else if c.TokenID != "" {
			err = m.RevokeToken(ctx, c)
		}
		if err != nil {
			return err
		}
	}
	if refreshToken != "" {
		c, err := m.parse(refreshToken, kindRefresh, now, m.cfg.refreshTTL)
		if err == nil {
			if err := m.revokeSession(ctx, c.Subject, c.SessionID); err != nil {
				return err
			}
		}
	}
	return nil
}
