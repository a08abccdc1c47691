package storetest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// sessionStoreCases are Run's rows for the per-subject session index: listing, the bound
// on live sessions, ending others, the index's expiry, no lost update between a refresh and an
// "end this session", and "log out everywhere" through a Manager on the store under test.
var sessionStoreCases = []struct {
	name string
	run  func(e *storeEnv)
}{
	{"Sessions/lists the subject's live families", testSessionsList},
	{"Sessions/rotation updates LastUsed", testSessionsRotation},
	{"Sessions/leaves out ended families", testSessionsEnded},
	{"Sessions/index expires with the last family", testSessionsIndexExpiry},
	{"CreateFamily/limit ends the least recently used", testSessionsLimit},
	{"CreateFamily/limit counts only live families", testSessionsLimitExpired},
	{"EndSessions/ends all but the one kept", testEndSessions},
	{"CreateFamily/bounds the subject's ended sessions", testSessionChurn},
	{"CreateFamily/not under the subject's cut-off", testCreateUnderCutOff},
	{"concurrent Rotate and RevokeFamily/no lost update", testConcurrentRotateRevoke},
	{"concurrent Rotate and EndSessions/no lost update", testConcurrentRotateEnd},
	{"Manager/log out everywhere then log in within the same second", testManagerCutOffSameSecond},
	{"Manager/list, end one, end others", testManagerSessions},
}

// sessions lists the sessions of subject, sorted by sid.
func (e *storeEnv) sessions(subject string) []core.Family {
	e.t.Helper()
	fams, err := e.s.Sessions(e.ctx, subject)
	if err != nil {
		e.t.Fatalf("Sessions(%q): got error %v, want nil", subject, err)
	}
	slices.SortFunc(fams, func(a, b core.Family) int {
		switch {
		case a.SessionID < b.SessionID:
			return -1
		case a.SessionID > b.SessionID:
			return 1
		}
		return 0
	})
	return fams
}

// expectSessions checks that subject's sessions are exactly want (any order).
func (e *storeEnv) expectSessions(subject string, want ...core.Family) {
	e.t.Helper()
	got := e.sessions(subject)
	slices.SortFunc(want, func(a, b core.Family) int {
		switch {
		case a.SessionID < b.SessionID:
			return -1
		case a.SessionID > b.SessionID:
			return 1
		}
		return 0
	})
	if len(got) != len(want) {
		e.t.Fatalf("Sessions(%q): got %d %v, want %d %v", subject, len(got), sids(got), len(want), sids(want))
	}
	for i := range got {
		expectFamily(e.t, "listed session "+want[i].SessionID, got[i], want[i])
	}
}

func sids(fams []core.Family) []string {
	out := make([]string, len(fams))
	for i, f := range fams {
		out[i] = f.SessionID
	}
	return out
}

func (e *storeEnv) endSessions(subject, keep string, until time.Time) []string {
	e.t.Helper()
	ended, err := e.s.EndSessions(e.ctx, subject, keep, until)
	if err != nil {
		e.t.Fatalf("EndSessions(%q, %q): got error %v, want nil", subject, keep, err)
	}
	slices.Sort(ended)
	return ended
}

func testSessionsList(e *storeEnv) {
	if got := e.sessions("alice"); len(got) != 0 {
		e.t.Fatalf("Sessions of a subject without any: got %v, want none", sids(got))
	}
	a := e.create("alice", "sid-a", "jti-a")
	e.clock.Advance(time.Second)
	b := e.create("alice", "sid-b", "jti-b")
	b2 := b
	b2.SessionID, b2.Client = "sid-b2", "" // no client recorded
	e.createFamily(b2)
	bob := e.create("bob", "sid-bob", "jti-bob")
	e.expectSessions("alice", a, b, b2)
	e.expectSessions("bob", bob)
	e.expectSessions("{alice}")
	e.expectTTL(RecordSessionIndex, "alice", "", a.CurrentExpires.Add(time.Second))
}

func testSessionsRotation(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.clock.Advance(time.Minute)
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	e.rotate(req, core.RotateOK)
	f = rotated(f, req)
	e.expectSessions("alice", f)
	// A grace replay changes nothing, LastUsed included.
	e.clock.Advance(time.Second)
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-x", suiteGrace), core.RotateGrace)
	e.expectSessions("alice", f)
	// The index lives as long as the rotated family.
	e.expectTTL(RecordSessionIndex, "alice", "", req.NextExpires)
}

func testSessionsEnded(e *storeEnv) {
	a := e.create("alice", "sid-a", "jti-a")
	e.create("alice", "sid-b", "jti-b")
	c := e.create("alice", "sid-c", "jti-c")
	e.revokeFamily("alice", "sid-b", e.clock.Now().Add(suiteAccessTTL))
	e.rotate(e.request("alice", "sid-c", "jti-wrong", c.CurrentIssuedAt, "jti-c2", 0), core.RotateReused)
	e.expectSessions("alice", a)
	e.revokeFamily("alice", "sid-a", e.clock.Now().Add(suiteAccessTTL))
	e.expectSessions("alice")
}

func testSessionsIndexExpiry(e *storeEnv) {
	now := e.clock.Now()
	short := core.Family{SessionID: "sid-short", Subject: "alice", Current: "jti-s", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Hour), Expires: now.Add(suiteSessionAge), CreatedAt: now, LastUsed: now}
	long := short
	long.SessionID, long.Current, long.CurrentExpires = "sid-long", "jti-l", now.Add(2*time.Hour)
	e.createFamily(long)
	e.createFamily(short) // a shorter family never shortens the index
	e.expectTTL(RecordSessionIndex, "alice", "", long.CurrentExpires)
	if e.opts.RealTime {
		return
	}
	e.clock.Set(short.CurrentExpires)
	e.expectSessions("alice", long)
	e.clock.Set(long.CurrentExpires)
	e.expectSessions("alice")
}

func testSessionsLimit(e *storeEnv) {
	limit := core.SessionLimit{Max: 3, RevokeUntil: e.clock.Now().Add(suiteAccessTTL)}
	a := e.create("alice", "sid-a", "jti-a")
	e.clock.Advance(time.Second)
	b := e.create("alice", "sid-b", "jti-b")
	e.clock.Advance(time.Second)
	c := e.create("alice", "sid-c", "jti-c")
	e.create("bob", "sid-bob", "jti-bob") // another subject's sessions never count
	e.clock.Advance(time.Second)
	// a, the oldest, was refreshed last: b is now the least recently used.
	req := e.request("alice", "sid-a", "jti-a", a.CurrentIssuedAt, "jti-a2", 0)
	e.rotate(req, core.RotateOK)
	a = rotated(a, req)
	e.clock.Advance(time.Second)
	now := e.clock.Now()
	d := core.Family{SessionID: "sid-d", Subject: "alice", Current: "jti-d", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge), CreatedAt: now, LastUsed: now}
	if ended := e.createLimited(d, limit); !slices.Equal(ended, []string{"sid-b"}) {
		e.t.Fatalf("CreateFamily beyond the limit: got ended %v, want [sid-b]", ended)
	}
	e.expectSessions("alice", a, c, d)
	e.rotate(e.request("alice", "sid-b", "jti-b", b.CurrentIssuedAt, "jti-b2", 0), core.RotateUnknown)
	if r := e.revoked("alice", "", "sid-b"); !r.SessionRevoked {
		e.t.Errorf("Revoked(sid-b) after it was ended for the limit: got SessionRevoked false, want true")
	}
	e.expectTTL(RecordRevokedSession, "alice", "sid-b", limit.RevokeUntil)
	// Within the limit nothing ends; a limit of one keeps only the newest.
	e.createLimited(core.Family{SessionID: "sid-bob2", Subject: "bob", Current: "j", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Hour), Expires: now.Add(time.Hour), CreatedAt: now, LastUsed: now}, limit)
	e.clock.Advance(time.Second)
	now = e.clock.Now()
	f := core.Family{SessionID: "sid-e", Subject: "alice", Current: "jti-e", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge), CreatedAt: now, LastUsed: now}
	ended := e.createLimited(f, core.SessionLimit{Max: 1, RevokeUntil: limit.RevokeUntil})
	slices.Sort(ended)
	if !slices.Equal(ended, []string{"sid-a", "sid-c", "sid-d"}) {
		e.t.Fatalf("CreateFamily with limit 1: got ended %v, want [sid-a sid-c sid-d]", ended)
	}
	e.expectSessions("alice", f)
	if got := e.sessions("bob"); len(got) != 2 {
		e.t.Errorf("Sessions(bob): got %v, want 2 (another subject's limit never touches them)", sids(got))
	}
}

func testSessionsLimitExpired(e *storeEnv) {
	if e.opts.RealTime {
		// Expiry by the wall clock cannot be shown without waiting; the fake-clock store shows
		// the rule and the real-time store's families expire with their keys.
		return
	}
	now := e.clock.Now()
	old := core.Family{SessionID: "sid-old", Subject: "alice", Current: "jti-o", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Minute), Expires: now.Add(time.Hour), CreatedAt: now, LastUsed: now}
	e.createFamily(old)
	a := e.create("alice", "sid-a", "jti-a")
	e.clock.Set(old.CurrentExpires)
	now = e.clock.Now()
	b := core.Family{SessionID: "sid-b", Subject: "alice", Current: "jti-b", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Hour), Expires: now.Add(time.Hour), CreatedAt: now, LastUsed: now}
	if ended := e.createLimited(b, core.SessionLimit{Max: 2, RevokeUntil: now.Add(suiteAccessTTL)}); len(ended) != 0 {
		e.t.Fatalf("CreateFamily with an expired family in the way: got ended %v, want none", ended)
	}
	e.expectSessions("alice", a, b)
}

func testEndSessions(e *storeEnv) {
	until := e.clock.Now().Add(suiteAccessTTL)
	if ended := e.endSessions("alice", "", until); len(ended) != 0 {
		e.t.Fatalf("EndSessions without sessions: got %v, want none", ended)
	}
	a := e.create("alice", "sid-a", "jti-a")
	b := e.create("alice", "sid-b", "jti-b")
	e.create("alice", "sid-c", "jti-c")
	bob := e.create("bob", "sid-bob", "jti-bob")
	if ended := e.endSessions("alice", "sid-b", until); !slices.Equal(ended, []string{"sid-a", "sid-c"}) {
		e.t.Fatalf("EndSessions keeping sid-b: got ended %v, want [sid-a sid-c]", ended)
	}
	e.expectSessions("alice", b)
	e.expectSessions("bob", bob)
	for _, sid := range []string{"sid-a", "sid-c"} {
		if r := e.revoked("alice", "", sid); !r.SessionRevoked {
			e.t.Errorf("Revoked(%s) after EndSessions: got SessionRevoked false, want true", sid)
		}
		e.expectTTL(RecordRevokedSession, "alice", sid, until)
	}
	if r := e.revoked("alice", "", "sid-b"); r.SessionRevoked {
		e.t.Errorf("Revoked(sid-b), the one kept: got SessionRevoked true, want false")
	}
	e.rotate(e.request("alice", "sid-a", "jti-a", a.CurrentIssuedAt, "jti-a2", 0), core.RotateUnknown)
	req := e.request("alice", "sid-b", "jti-b", b.CurrentIssuedAt, "jti-b2", 0)
	e.rotate(req, core.RotateOK)
	// A kept id of another subject keeps nothing of this one.
	if ended := e.endSessions("alice", "sid-bob", until); !slices.Equal(ended, []string{"sid-b"}) {
		e.t.Fatalf("EndSessions keeping another subject's sid: got ended %v, want [sid-b]", ended)
	}
	e.expectSessions("alice")
	e.expectSessions("bob", bob)
	e.expectNoRecord(RecordSessionIndex, "alice", "")
}

// testConcurrentRotateRevoke races a refresh against "end this session" many times. Whatever the
// order, the session ends: the rotated family never survives the revocation (a lost update would
// leave a live family with the new jti).
func testConcurrentRotateRevoke(e *storeEnv) {
	e.raceRotate(func(subject, sid string, until time.Time) error {
		return e.s.RevokeFamily(e.ctx, subject, sid, until)
	})
}

// testConcurrentRotateEnd is testConcurrentRotateRevoke with EndSessions.
func testConcurrentRotateEnd(e *storeEnv) {
	e.raceRotate(func(subject, sid string, until time.Time) error {
		_, err := e.s.EndSessions(e.ctx, subject, "", until)
		return err
	})
}

func (e *storeEnv) raceRotate(end func(subject, sid string, until time.Time) error) {
	const rounds = 50
	until := e.clock.Now().Add(suiteAccessTTL)
	for i := range rounds {
		sid := fmt.Sprintf("sid-%d", i)
		f := e.create("alice", sid, "jti-0")
		req := e.request("alice", sid, "jti-0", f.CurrentIssuedAt, "jti-1", 0)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var rotErr, endErr error
		var res core.RotateResult
		wg.Go(func() { <-start; _, res, rotErr = e.s.Rotate(e.ctx, req) })
		wg.Go(func() { <-start; endErr = end("alice", sid, until) })
		close(start)
		wg.Wait()
		if rotErr != nil || endErr != nil {
			e.t.Fatalf("round %d: Rotate error %v, end error %v; want nil", i, rotErr, endErr)
		}
		if res != core.RotateOK && res != core.RotateUnknown {
			e.t.Fatalf("round %d: Rotate racing the end: got %v, want ok or unknown", i, res)
		}
		for _, jti := range []string{"jti-0", "jti-1"} {
			next := e.request("alice", sid, jti, f.CurrentIssuedAt, "jti-2", 0)
			if _, got, err := e.s.Rotate(e.ctx, next); err != nil || got != core.RotateUnknown {
				e.t.Fatalf("round %d: Rotate(%s) after the race: got (%v, %v), want unknown", i, jti, got, err)
			}
		}
		if r := e.revoked("alice", "", sid); !r.SessionRevoked {
			e.t.Fatalf("round %d: Revoked after the race: got SessionRevoked false, want true", i)
		}
	}
	e.expectSessions("alice")
}

// bearer is a request carrying token as its Bearer credential.
func bearer(token string) core.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return core.HTTPRequest(r)
}

// The Manager the suite builds on the store under test signs and checks with these.
var (
	suiteAccessSecret  = []byte("test-access-secret-0123456789abcdef")
	suiteRefreshSecret = []byte("test-refresh-secret-0123456789abcdef")
)

const (
	suiteIssuer   = "jwtexp-test"
	suiteAudience = "jwtexp-api"
)

// suiteManager builds a Manager on the store under test, reading the suite's clock.
func (e *storeEnv) suiteManager(opts ...core.Option) *core.Manager {
	e.t.Helper()
	base := []core.Option{
		core.WithHMAC(suiteAccessSecret, suiteRefreshSecret), core.WithIssuer(suiteIssuer), core.WithAudience(suiteAudience),
		core.WithAccessTTL(suiteAccessTTL), core.WithRefreshTTL(suiteRefreshTTL),
		core.WithMaxSessionAge(suiteSessionAge), core.WithStore(e.s), core.WithClock(e.clock.Now),
		core.WithLogger(nil),
	}
	m, err := core.New(append(base, opts...)...)
	if err != nil {
		e.t.Fatalf("core.New: %v", err)
	}
	return m
}

// testManagerCutOffSameSecond: "log out everywhere" and a new login within the same second. The
// old tokens (issued earlier in that second) are refused, the new ones work.
func testManagerCutOffSameSecond(e *storeEnv) {
	m := e.suiteManager()
	e.clock.Set(time.Unix(e.clock.Now().Unix(), 0).Add(100 * time.Millisecond))
	earlier, err := m.Issue(e.ctx, "alice", nil) // a second session, from an earlier second
	if err != nil {
		e.t.Fatalf("Issue: %v", err)
	}
	e.clock.Advance(time.Second)
	old, err := m.Issue(e.ctx, "alice", nil)
	if err != nil {
		e.t.Fatalf("Issue: %v", err)
	}
	bob, err := m.Issue(e.ctx, "bob", nil)
	if err != nil {
		e.t.Fatalf("Issue: %v", err)
	}
	e.clock.Advance(100 * time.Millisecond)
	if err := m.RevokeSubject(e.ctx, "alice"); err != nil {
		e.t.Fatalf("RevokeSubject: %v", err)
	}
	e.clock.Advance(100 * time.Millisecond)
	fresh, err := m.Issue(e.ctx, "alice", nil)
	if err != nil {
		e.t.Fatalf("Issue after RevokeSubject: %v", err)
	}
	if fresh.AccessExpiresAt.Add(-suiteAccessTTL).Unix() != e.clock.Now().Add(-100*time.Millisecond).Unix() {
		e.t.Fatalf("test setup: the new login is not in the cut-off's second")
	}
	for name, p := range map[string]*core.TokenPair{"same second": old, "earlier second": earlier} {
		if _, err := m.Authenticate(e.ctx, bearer(p.AccessToken)); !errors.Is(err, core.ErrTokenRevoked) {
			e.t.Errorf("old access token (%s): got %v, want ErrTokenRevoked", name, err)
		}
		if _, err := m.Refresh(e.ctx, p.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
			e.t.Errorf("old refresh token (%s): got %v, want ErrInvalidGrant", name, err)
		}
	}
	if _, err := m.Authenticate(e.ctx, bearer(fresh.AccessToken)); err != nil {
		e.t.Errorf("new access token in the cut-off's second: got %v, want accepted", err)
	}
	if _, err := m.Refresh(e.ctx, fresh.RefreshToken); err != nil {
		e.t.Errorf("new refresh token in the cut-off's second: got %v, want a new pair", err)
	}
	if _, err := m.Authenticate(e.ctx, bearer(bob.AccessToken)); err != nil {
		e.t.Errorf("another subject's token: got %v, want accepted", err)
	}
}

func testManagerSessions(e *storeEnv) {
	m := e.suiteManager(core.WithMaxSessions(3))
	var pairs []*core.TokenPair
	for i := range 4 {
		p, err := m.Issue(e.ctx, "alice", nil, core.WithClientDescription(fmt.Sprintf("device %d", i)))
		if err != nil {
			e.t.Fatalf("Issue: %v", err)
		}
		pairs = append(pairs, p)
		e.clock.Advance(time.Second)
	}
	list, err := m.Sessions(e.ctx, "alice", pairs[3].SessionID)
	if err != nil {
		e.t.Fatalf("Sessions: %v", err)
	}
	// The first login was the least recently used when the fourth came: it ended.
	if len(list) != 3 || list[0].ID != pairs[3].SessionID || !list[0].Current || list[0].Client != "device 3" ||
		list[2].ID != pairs[1].SessionID || list[1].Current {
		e.t.Fatalf("Sessions: got %+v, want sessions 3, 2, 1 with 3 current", list)
	}
	if _, err := m.Authenticate(e.ctx, bearer(pairs[0].AccessToken)); !errors.Is(err, core.ErrTokenRevoked) {
		e.t.Errorf("access token of the session ended for the limit: got %v, want ErrTokenRevoked", err)
	}
	if err := m.EndSession(e.ctx, "bob", pairs[1].SessionID); !errors.Is(err, core.ErrSessionNotFound) {
		e.t.Errorf("EndSession of another subject's session: got %v, want ErrSessionNotFound", err)
	}
	if err := m.EndSession(e.ctx, "alice", pairs[1].SessionID); err != nil {
		e.t.Fatalf("EndSession: %v", err)
	}
	if err := m.EndSession(e.ctx, "alice", pairs[1].SessionID); !errors.Is(err, core.ErrSessionNotFound) {
		e.t.Errorf("EndSession twice: got %v, want ErrSessionNotFound", err)
	}
	if _, err := m.Authenticate(e.ctx, bearer(pairs[1].AccessToken)); !errors.Is(err, core.ErrTokenRevoked) {
		e.t.Errorf("access token of the ended session: got %v, want ErrTokenRevoked", err)
	}
	if n, err := m.EndOtherSessions(e.ctx, "alice", pairs[3].SessionID); err != nil || n != 1 {
		e.t.Fatalf("EndOtherSessions: got (%d, %v), want (1, nil)", n, err)
	}
	if _, err := m.Refresh(e.ctx, pairs[2].RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		e.t.Errorf("refresh of another device after EndOtherSessions: got %v, want ErrInvalidGrant", err)
	}
	if _, err := m.Refresh(e.ctx, pairs[3].RefreshToken); err != nil {
		e.t.Errorf("refresh of the kept session: got %v, want a new pair", err)
	}
	if list, err := m.Sessions(e.ctx, "alice", ""); err != nil || len(list) != 1 || list[0].Current {
		e.t.Errorf("Sessions at the end: got (%+v, %v), want the kept one, not marked current", list, err)
	}
}

// testSessionChurn: every sid mark the store writes for a subject counts towards its ended
// sessions - an eviction by the session limit, RevokeFamily, EndSessions, a reuse in Rotate - but
// not a mark that was already there, nor a denied jti. When the count reaches limit.MaxEnded,
// CreateFamily writes nothing and answers *core.SessionChurnError, RetryAt being the expiry of
// the window's first mark; a repeated login is still answered, and other subjects log in as
// usual. Once the window is over (fake-clock stores), logins work again.
func testSessionChurn(e *storeEnv) {
	now := e.clock.Now()
	first := now.Add(suiteAccessTTL)
	limit := core.SessionLimit{Max: 2, RevokeUntil: first, MaxEnded: 4, LoginRetryWindow: time.Minute}
	fam := func(subject, sid, key string, used time.Time) core.Family {
		return core.Family{SessionID: sid, Subject: subject, Current: "jti-" + sid, CurrentIssuedAt: now,
			CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge),
			CreatedAt: now, LastUsed: used, LoginKey: key}
	}
	recent := now.Add(10 * time.Second) // sid-a stays: it is never the least recently used
	e.createLimited(fam("alice", "sid-a", "key-a", recent), limit)
	e.createLimited(fam("alice", "sid-b", "", now), limit)
	if ended := e.createLimited(fam("alice", "sid-c", "", now), limit); !slices.Equal(ended, []string{"sid-b"}) {
		e.t.Fatalf("the third family under a limit of two: got ended %v, want [sid-b]", ended) // 1
	}
	e.revokeFamily("alice", "sid-c", first)                   // 2
	e.revokeFamily("alice", "sid-c", first.Add(-time.Second)) // no mark written: still 2
	e.deny("alice", "jti-x", first)                           // a jti, not a session: still 2
	e.createLimited(fam("alice", "sid-d", "", now), limit)    // live: sid-a, sid-d
	if ended := e.endSessions("alice", "sid-a", first); !slices.Equal(ended, []string{"sid-d"}) {
		e.t.Fatalf("EndSessions: got ended %v, want [sid-d]", ended) // 3
	}
	e.createLimited(fam("alice", "sid-e", "", now), limit)                                    // 3 < 4: still allowed
	e.rotate(e.request("alice", "sid-e", "jti-other", now, "jti-next", 0), core.RotateReused) // 4

	_, err := e.s.CreateFamily(e.ctx, fam("alice", "sid-f", "", now), limit)
	var churn *core.SessionChurnError
	if !errors.As(err, &churn) || !errors.Is(err, core.ErrSessionChurn) {
		e.t.Fatalf("a login after 4 ended sessions with MaxEnded 4: got %v, want a *core.SessionChurnError", err)
	}
	if d := churn.RetryAt.Sub(first); d < -2*time.Second || d > 2*time.Second || (!e.opts.RealTime && d != 0) {
		e.t.Errorf("RetryAt: got %v, want %v (the first mark's expiry)", churn.RetryAt, first)
	}
	e.expectSessions("alice", fam("alice", "sid-a", "key-a", recent)) // sid-f not written
	_, err = e.s.CreateFamily(e.ctx, fam("alice", "sid-g", "key-a", now), limit)
	var rep *core.LoginRepeatedError
	if !errors.As(err, &rep) || rep.Family.SessionID != "sid-a" {
		e.t.Errorf("a repeated login under the churn bound: got %v, want the *core.LoginRepeatedError of sid-a", err)
	}
	e.createLimited(fam("bob", "sid-bob", "", now), limit)
	if _, err := e.s.CreateFamily(e.ctx, fam("alice", "sid-h", "", now), core.SessionLimit{Max: 2, RevokeUntil: first}); err != nil {
		e.t.Errorf("a login without MaxEnded: got %v, want nil", err)
	}
	if e.opts.RealTime {
		return
	}
	e.clock.Set(first)
	now = first
	if _, err := e.s.CreateFamily(e.ctx, fam("alice", "sid-i", "", now), limit); err != nil {
		e.t.Errorf("a login once the window is over: got %v, want nil", err)
	}
}

// testCreateUnderCutOff: a family whose tokens a cut-off of the subject already covers (a "log
// out everywhere" that came between the minting of the tokens and CreateFamily) is not written;
// the store answers an error matching core.ErrIssuedUnderCutOff. Tokens of a later second, an
// expired cut-off and another subject's cut-off do not matter.
func testCreateUnderCutOff(e *storeEnv) {
	now := e.clock.Now()
	iat := time.Unix(now.Unix()-1, 0)
	fam := func(subject, sid string, iat time.Time) core.Family {
		return core.Family{SessionID: sid, Subject: subject, Current: "jti-" + sid, CurrentIssuedAt: iat,
			CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge), CreatedAt: now, LastUsed: now}
	}
	e.cutOff("alice", iat, now.Add(suiteAccessTTL))
	_, err := e.s.CreateFamily(e.ctx, fam("alice", "sid-1", iat), core.SessionLimit{})
	if !errors.Is(err, core.ErrIssuedUnderCutOff) {
		e.t.Fatalf("a family issued in the cut-off's second: got %v, want an error matching ErrIssuedUnderCutOff", err)
	}
	e.expectSessions("alice")
	e.createLimited(fam("alice", "sid-2", iat.Add(time.Second)), core.SessionLimit{})
	e.createLimited(fam("bob", "sid-3", iat), core.SessionLimit{})
}
