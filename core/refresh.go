package core

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

var (
	errSessionEnded = newTokenError(ErrTokenRevoked, "session ended", nil)
	errNoRefresh    = newTokenError(ErrTokenMissing, "missing refresh token", nil)
	errRefreshBody  = newTokenError(ErrInvalidRequest, "malformed refresh request", nil)
)

// Refresh exchanges a refresh token for new tokens. Every refusal matches ErrInvalidGrant (the
// cause stays in the chain: ErrTokenExpired, ErrRefreshReused, ErrTokenRevoked, ...); a store
// failure returns ErrStoreUnavailable instead.
//
// With rotation (the default) the presented token must be the session's current one: it is
// retired and a new pair returned, atomically in the store, so that of many concurrent refreshes
// with one token exactly one wins. Presenting a retired token is reuse: the session is revoked and
// the error matches ErrRefreshReused (RFC 9700 §4.14.2) - unless the token was retired less than
// the grace window ago, in which case the answer carries the session's current refresh token
// again (never a second branch of the session). Rotation never extends a session past its
// maximum age.
//
// Without rotation the refresh token is checked against the revocation records and only a new
// access token is returned (TokenPair.RefreshToken is empty).
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	if m.cfg.verificationOnly() {
		return nil, ErrVerificationOnly
	}
	now := m.cfg.now()
	c, err := m.parse(refreshToken, kindRefresh, now, 0)
	if err != nil {
		m.rejected(ctx, err)
		return nil, grantError(err)
	}
	custom, err := customMembers(unsafeBytes(c.payload), false)
	if err != nil { // cannot happen for a token that parsed
		return nil, grantError(errPayload)
	}
	iat := time.Unix(now.Unix(), 0)
	if !m.cfg.rotation {
		if err := m.checkRevoked(ctx, c); err != nil {
			m.rejected(ctx, err)
			return nil, grantError(err)
		}
		p, err := m.pair(c.Subject, c.SessionID, "", iat, time.Time{}, time.Time{}, iat.Add(m.cfg.accessTTL), custom)
		if err != nil {
			return nil, err
		}
		m.emit(ctx, Event{Kind: EventRefreshed, Subject: c.Subject, SessionID: c.SessionID})
		return p, nil
	}

	next := newID()
	fam, res, err := m.store.Rotate(ctx, RotateRequest{
		Subject: c.Subject, SessionID: c.SessionID,
		Presented: c.TokenID, PresentedIssuedAt: c.IssuedAt,
		Next: next, NextIssuedAt: iat, NextExpires: m.refreshExpiry(iat),
		Now:         now,
		GraceUntil:  now.Add(m.cfg.grace),
		RevokeUntil: m.sessionRevokeUntil(now),
	})
	if err != nil {
		err = storeError("rotate refresh token", err)
		m.storeFailed(ctx, err)
		return nil, err
	}
	var p *TokenPair
	switch res {
	case RotateOK:
		p, err = m.pair(c.Subject, c.SessionID, next, iat, iat, fam.CurrentExpires, fam.Expires, custom)
		m.emit(ctx, Event{Kind: EventRefreshed, Subject: c.Subject, SessionID: c.SessionID})
	case RotateGrace:
		// Re-issue the family's current refresh token (same jti, iat and exp), not a new branch.
		p, err = m.pair(c.Subject, c.SessionID, fam.Current, iat, fam.CurrentIssuedAt, fam.CurrentExpires, fam.Expires, custom)
		m.emit(ctx, Event{Kind: EventRefreshGrace, Subject: c.Subject, SessionID: c.SessionID})
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

// ServeRefresh answers a refresh request . The refresh token comes from a JSON body
// {"refresh_token": "..."} (or a form body with grant_type=refresh_token, RFC 6749 §6), and
// without a body from the refresh cookie; the answer uses the same transport. Every refusal is 401
// invalid_grant; a store failure is 503.
func (m *Manager) ServeRefresh(ctx context.Context, r Request) Response {
	if m.cfg.verificationOnly() {
		return verifyOnlyProblem()
	}
	token, cookie, err := m.refreshCredential(r)
	if err != nil {
		return m.Problem(grantError(err))
	}
	p, err := m.Refresh(ctx, token)
	if err != nil {
		resp := m.Problem(err)
		if cookie && !errors.Is(err, ErrStoreUnavailable) {
			resp.SetCookie = []string{m.refreshCookie("", time.Time{})}
		}
		return resp
	}
	return m.TokenResponse(p, cookie)
}

// refreshCredential reads the refresh token of a refresh or logout request: from the body when it
// carries one, else from the refresh cookie. cookie reports which.
func (m *Manager) refreshCredential(r Request) (token string, cookie bool, err error) {
	body, err := r.Body(MaxBodySize)
	if err != nil {
		return "", false, errRefreshBody
	}
	if body = bytes.TrimSpace(body); len(body) > 0 {
		ct, _ := r.Header("Content-Type")
		if strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			q, err := url.ParseQuery(string(body))
			if err != nil || (q.Has("grant_type") && q.Get("grant_type") != "refresh_token") || len(q["refresh_token"]) != 1 {
				return "", false, errRefreshBody
			}
			token = q.Get("refresh_token")
		} else {
			var req struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				return "", false, errRefreshBody
			}
			token = req.RefreshToken
		}
		if token != "" {
			return token, false, nil
		}
		// A body without a refresh token ("{}" from a generic client): use the cookie if any.
	}
	v, n := r.Cookie(m.cfg.cookie.name)
	switch {
	case n > 1:
		return "", true, errTwoCredentials
	case v == "":
		return "", false, errNoRefresh
	}
	return strings.Clone(v), true, nil
}
