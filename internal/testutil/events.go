package testutil

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// EventScenarioOptions are the options DriveEvents expects of its Manager, besides the event
// hook: a 5s refresh grace and an insecure refresh cookie (one configuration warning).
func EventScenarioOptions() []core.Option {
	return []core.Option{core.WithRefreshGrace(5 * time.Second), core.WithInsecureCookie()}
}

// DriveEvents makes m (built with SuiteManager, clock and EventScenarioOptions) emit every kind
// of event a Manager emits, for the metrics modules' tests. Afterwards the figures are:
//
//	decisions: accepted 2; rejected missing 1, bad_signature 1, revoked 1, expired 1
//	sessions issued 4; refreshes ok 1, grace 1, reused 1
//	revocations token 1, session 1, subject 1; config warnings 1 (from New)
//	store calls: create_family 4, revoked 3, rotate 3, deny_token 1, cut_off 1, revoke_family 1
func DriveEvents(t testing.TB, m *core.Manager, clock *Clock) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(err, sentinel error) {
		t.Helper()
		if !errors.Is(err, sentinel) {
			t.Fatalf("got %v, want %v", err, sentinel)
		}
	}
	p, err := m.Issue(ctx, "u-1", nil)
	must(err)
	_, err = m.Verify(ctx, p.AccessToken)
	must(err)
	_, err = m.Authenticate(ctx, core.HTTPRequest(httptest.NewRequest("GET", "/", nil)))
	want(err, core.ErrTokenMissing)
	_, err = m.Verify(ctx, Tamper(p.AccessToken))
	want(err, core.ErrSignature)
	_, err = m.Refresh(ctx, p.RefreshToken)
	must(err)
	_, err = m.Refresh(ctx, p.RefreshToken) // inside the grace window
	must(err)
	clock.Advance(6 * time.Second)
	_, err = m.Refresh(ctx, p.RefreshToken) // reuse: the session is revoked
	want(err, core.ErrRefreshReused)

	p2, err := m.Issue(ctx, "u-2", nil)
	must(err)
	c2, err := m.Verify(ctx, p2.AccessToken)
	must(err)
	must(m.RevokeToken(ctx, c2))
	_, err = m.Verify(ctx, p2.AccessToken)
	want(err, core.ErrTokenRevoked)
	must(m.RevokeSubject(ctx, "u-2")) // also ends u-2's live session: a second session revocation

	p3, err := m.Issue(ctx, "u-3", nil)
	must(err)
	must(m.Logout(ctx, "", p3.RefreshToken))

	p4, err := m.Issue(ctx, "u-4", nil)
	must(err)
	clock.Advance(m.AccessTTL() + m.Leeway() + time.Second)
	_, err = m.Verify(ctx, p4.AccessToken)
	want(err, core.ErrTokenExpired)
}
