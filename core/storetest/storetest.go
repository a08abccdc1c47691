// Package storetest is the conformance suite of core.Store: the rules every store must keep
// (atomic rotation with exactly one winner, the grace and retry windows, reuse detection, revocation
// records that never shorten, cut-offs, the session index and its bound, expiry of every record,
// isolation of subjects, the announcements of a core.RevocationNotifier), run as subtests against a fresh store each. The memory store and the
// Redis store run it; so should any other (Postgres, DynamoDB, ...):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) core.Store {
//			return mystore.New(db, mystore.WithClock(clock.Now)) // empty, for this subtest only
//		})
//	}
//
// A store that expires records by the wall clock of its server rather than by a clock it is given
// passes Options{RealTime: true, TTL: ...}, TTL reporting a record's remaining lifetime.
//
// The package imports only the standard library and the root module, so a store's tests pull in
// nothing else.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// RecordKind names one kind of record a core.Store keeps, for Options.TTL.
type RecordKind int

const (
	// RecordFamily is a token family; its id is the sid.
	RecordFamily RecordKind = iota + 1
	// RecordDenied is a denylist entry; its id is the jti.
	RecordDenied
	// RecordRevokedSession is a revoked-sid mark; its id is the sid.
	RecordRevokedSession
	// RecordCutOff is the subject's cut-off; it has no id.
	RecordCutOff
	// RecordSessionIndex is the subject's index of live sessions; it has no id.
	RecordSessionIndex
)

// String returns the kind's name, for test messages.
func (k RecordKind) String() string {
	switch k {
	case RecordFamily:
		return "family"
	case RecordDenied:
		return "denied jti"
	case RecordRevokedSession:
		return "revoked sid"
	case RecordCutOff:
		return "cut-off"
	case RecordSessionIndex:
		return "session index"
	case RecordDPoPProof:
		return "DPoP proof"
	}
	return fmt.Sprintf("RecordKind(%d)", int(k))
}

// Options adapts Run to a store whose records cannot expire on a fake clock.
type Options struct {
	// RealTime says the store expires records by the wall clock (Redis does, on the server), not
	// by the clock given to newStore. The suite then starts every clock at NewClockNow and checks
	// each record's expiry with TTL instead of advancing the clock past it. Rotation rules are
	// checked in both modes by moving the clock, because Rotate decides by RotateRequest.Now.
	RealTime bool

	// TTL reports the remaining lifetime of one record of store s, and whether the record exists.
	// A record without an expiry must be reported with a negative duration. Required when
	// RealTime is set; unused otherwise.
	TTL func(t *testing.T, s core.Store, kind RecordKind, subject, id string) (ttl time.Duration, exists bool)
}

// Lifetimes the suite issues tokens with. They are long enough that a real-time store never sees
// a record expire by the wall clock while a subtest runs.
const (
	suiteAccessTTL  = 15 * time.Minute
	suiteRefreshTTL = 2 * time.Hour
	suiteSessionAge = 6 * time.Hour
	suiteGrace      = 10 * time.Second

	// suiteTTLTolerance is how far a real-time store's TTL may differ from the expected
	// remaining lifetime: NewClockNow is up to one second behind the wall clock, plus slack for a
	// slow machine running with -race.
	suiteTTLTolerance = 2 * time.Second

	// suiteConcurrency is how many goroutines race to rotate one refresh token.
	suiteConcurrency = 100
)

// suiteEpoch is where the fake clock starts in non-real-time mode.
var suiteEpoch = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// Run runs the conformance suite every core.Store must pass, one subtest per rule, in parallel.
// newStore returns a new, empty store for one subtest; a store that expires records by an injected
// clock must use clock.Now. The suite closes each store when its subtest ends (and checks that
// Close returns nil). opts, at most one, adapts the suite to a store that expires records by the
// wall clock (Options.RealTime).
//
// A store that implements the optional core.KeyRingStore also runs the KeyRing cases (compare-and-
// swap by generation, the due time, concurrent proposals); see keyring.go. One that implements
// core.DPoPReplayStore runs the DPoP replay cases; every store keeps Family.DPoPThumbprint (see
// dpop.go).
//
// Times are compared at millisecond precision (the Redis store keeps milliseconds); the cut-off
// and the presented iat are compared in whole seconds, as iat is.
func Run(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store, options ...Options) {
	t.Helper()
	var opts Options
	switch len(options) {
	case 0:
	case 1:
		opts = options[0]
	default:
		t.Fatal("storetest.Run: at most one Options")
	}
	if opts.RealTime && opts.TTL == nil {
		t.Fatal("storetest.Run: RealTime needs Options.TTL")
	}
	for _, tc := range slices.Concat(storeCases, sessionStoreCases, keyRingStoreCases, notifyCases, dpopStoreCases) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(suiteEpoch)
			if opts.RealTime {
				clock = NewClockNow()
			}
			s := newStore(t, clock)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: got error %v, want nil", err)
				}
			})
			tc.run(&storeEnv{t: t, s: s, clock: clock, opts: opts, ctx: context.Background()})
		})
	}
}

var storeCases = []struct {
	name string
	run  func(e *storeEnv)
}{
	{"CreateFamily/then Rotate returns the rotated family", testRotateOK},
	{"CreateFamily/without session id fails", testCreateNoSID},
	{"CreateFamily/caps CurrentExpires at Expires", testCreateCapped},
	{"CreateFamily/a repeated login gets the first attempt's family", testLoginRepeated},
	{"Rotate/chain of rotations", testRotateChain},
	{"Rotate/CurrentExpires capped at Expires", testRotateCapped},
	{"Rotate/grace within window returns current family", testGraceWithin},
	{"Rotate/grace at window end is reuse", testGraceAtEnd},
	{"Rotate/grace after window is reuse", testGraceAfter},
	{"Rotate/reuse without grace deletes family and revokes sid", testReuse},
	{"Rotate/the same request twice gets the same answer", testSameRequestTwice},
	{"Rotate/a retry with the rotation's key is not reuse", testRetryKey},
	{"Rotate/a retry past the retry window is reuse", testRetryWindow},
	{"Rotate/without grace no replay window at all", testNoGraceNoWindow},
	{"Rotate/unrelated jti of live family is reuse", testReuseUnrelated},
	{"Rotate/unknown sid", testUnknownSID},
	{"Rotate/subject mismatch", testUnknownSubject},
	{"Rotate/at CurrentExpires", testUnknownCurrentExpires},
	{"Rotate/at Expires", testUnknownExpires},
	{"Rotate/after RevokeFamily", testUnknownRevoked},
	{"Rotate/cut-off at or after presented iat", testRotateCutOff},
	{"Rotate/expired cut-off is ignored", testRotateCutOffExpired},
	{"CutOff/later replaces earlier", testCutOffLater},
	{"CutOff/earlier never replaces later", testCutOffEarlier},
	{"CutOff/expires at until", testCutOffExpiry},
	{"DenyToken/denies jti until until", testDeny},
	{"DenyToken/never shortened", testDenyNotShortened},
	{"RevokeFamily/revokes sid until until", testRevokeFamily},
	{"RevokeFamily/unknown sid still writes mark", testRevokeUnknownSID},
	{"RevokeFamily/never shortened", testRevokeNotShortened},
	{"until in the past writes nothing", testPastUntil},
	{"RevokeFamily with past until still deletes family", testRevokePastDeletes},
	{"empty jti and sid are not revoked", testEmptyIDs},
	{"subjects are isolated", testSubjectsIsolated},
	{"Close twice", testCloseTwice},
	{"concurrent Rotate/without grace", func(e *storeEnv) { testConcurrentRotate(e, 0) }},
	{"concurrent Rotate/with grace", func(e *storeEnv) { testConcurrentRotate(e, suiteGrace) }},
}

// storeEnv is one subtest's store, clock and helpers.
type storeEnv struct {
	t     *testing.T
	s     core.Store
	clock *Clock
	opts  Options
	ctx   context.Context
}

// create stores a fresh family for subject and sid whose current jti is jti, issued now.
func (e *storeEnv) create(subject, sid, jti string) core.Family {
	e.t.Helper()
	now := e.clock.Now()
	f := core.Family{
		SessionID:       sid,
		Subject:         subject,
		Current:         jti,
		CurrentIssuedAt: now,
		CurrentExpires:  now.Add(suiteRefreshTTL),
		Expires:         now.Add(suiteSessionAge),
		CreatedAt:       now,
		LastUsed:        now,
		Client:          "client of " + sid,
	}
	e.createFamily(f)
	return f
}

func (e *storeEnv) createFamily(f core.Family) {
	e.t.Helper()
	if ended := e.createLimited(f, core.SessionLimit{}); len(ended) != 0 {
		e.t.Fatalf("CreateFamily(%s) without a limit: got ended %v, want none", f.SessionID, ended)
	}
}

// createLimited stores f under limit and returns the sids the store ended to make room.
func (e *storeEnv) createLimited(f core.Family, limit core.SessionLimit) []string {
	e.t.Helper()
	ended, err := e.s.CreateFamily(e.ctx, f, limit)
	if err != nil {
		e.t.Fatalf("CreateFamily(%s): got error %v, want nil", f.SessionID, err)
	}
	return ended
}

// request builds the RotateRequest the Manager would send now: presented (issued at iat) is
// replaced by next, with the given grace window.
func (e *storeEnv) request(subject, sid, presented string, iat time.Time, next string, grace time.Duration) core.RotateRequest {
	now := e.clock.Now()
	return core.RotateRequest{
		Subject:           subject,
		SessionID:         sid,
		Presented:         presented,
		PresentedIssuedAt: iat,
		Next:              next,
		NextIssuedAt:      now,
		NextExpires:       now.Add(suiteRefreshTTL),
		Now:               now,
		Grace:             grace,
		RevokeUntil:       now.Add(suiteAccessTTL),
	}
}

// graceUntil is when the token req retires stops being replayable; zero without grace.
func graceUntil(req core.RotateRequest) time.Time {
	if req.Grace <= 0 {
		return time.Time{}
	}
	return req.Now.Add(req.Grace)
}

// rotate runs req and checks its result.
func (e *storeEnv) rotate(req core.RotateRequest, want core.RotateResult) core.Family {
	e.t.Helper()
	f, got, err := e.s.Rotate(e.ctx, req)
	if err != nil {
		e.t.Fatalf("Rotate(presented %q): got error %v, want nil", req.Presented, err)
	}
	if got != want {
		e.t.Fatalf("Rotate(presented %q): got %v, want %v", req.Presented, got, want)
	}
	return f
}

func (e *storeEnv) revoked(subject, jti, sid string) core.Revocation {
	e.t.Helper()
	r, err := e.s.Revoked(e.ctx, subject, jti, sid)
	if err != nil {
		e.t.Fatalf("Revoked(%q, %q, %q): got error %v, want nil", subject, jti, sid, err)
	}
	return r
}

func (e *storeEnv) deny(subject, jti string, until time.Time) {
	e.t.Helper()
	if err := e.s.DenyToken(e.ctx, subject, jti, until); err != nil {
		e.t.Fatalf("DenyToken(%q, %q): got error %v, want nil", subject, jti, err)
	}
}

func (e *storeEnv) revokeFamily(subject, sid string, until time.Time) {
	e.t.Helper()
	if err := e.s.RevokeFamily(e.ctx, subject, sid, until); err != nil {
		e.t.Fatalf("RevokeFamily(%q, %q): got error %v, want nil", subject, sid, err)
	}
}

func (e *storeEnv) cutOff(subject string, at, until time.Time) {
	e.t.Helper()
	if err := e.s.CutOff(e.ctx, subject, at, until); err != nil {
		e.t.Fatalf("CutOff(%q): got error %v, want nil", subject, err)
	}
}

// expectTTL checks, in real-time mode, that the record exists and expires at `at`. In fake-clock
// mode it does nothing: expiry is checked there by moving the clock (expectLiveUntil).
func (e *storeEnv) expectTTL(kind RecordKind, subject, id string, at time.Time) {
	e.t.Helper()
	if !e.opts.RealTime {
		return
	}
	ttl, ok := e.opts.TTL(e.t, e.s, kind, subject, id)
	want := time.Until(at)
	if !ok {
		e.t.Fatalf("%v %q of %q: got no record, want one expiring in %v", kind, id, subject, want)
	}
	if ttl < want-suiteTTLTolerance || ttl > want+suiteTTLTolerance {
		e.t.Fatalf("%v %q of %q: got TTL %v, want %v ± %v", kind, id, subject, ttl, want, suiteTTLTolerance)
	}
}

// expectNoRecord checks, in real-time mode, that the record does not exist.
func (e *storeEnv) expectNoRecord(kind RecordKind, subject, id string) {
	e.t.Helper()
	if !e.opts.RealTime {
		return
	}
	if ttl, ok := e.opts.TTL(e.t, e.s, kind, subject, id); ok {
		e.t.Fatalf("%v %q of %q: got a record with TTL %v, want none", kind, id, subject, ttl)
	}
}

// expectLiveUntil checks that a revocation record, observed by live, is in force now and expires
// exactly at `at`. With a fake clock it moves the clock to just before `at` and then to `at`, so
// call it last in a subtest; in real-time mode it checks the TTL.
func (e *storeEnv) expectLiveUntil(kind RecordKind, subject, id string, at time.Time, live func() bool) {
	e.t.Helper()
	if !live() {
		e.t.Fatalf("%v %q of %q: got not in force, want in force until %v", kind, id, subject, at)
	}
	if e.opts.RealTime {
		e.expectTTL(kind, subject, id, at)
		return
	}
	e.clock.Set(at.Add(-time.Millisecond))
	if !live() {
		e.t.Fatalf("%v %q of %q: 1ms before expiry: got not in force, want in force", kind, id, subject)
	}
	e.clock.Set(at)
	if live() {
		e.t.Fatalf("%v %q of %q: at expiry: got in force, want expired", kind, id, subject)
	}
}

// sameInstant reports whether a and b are the same instant at millisecond precision.
func sameInstant(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return a.UnixMilli() == b.UnixMilli()
}

// expectFamily compares two families field by field, times at millisecond precision.
func expectFamily(t *testing.T, what string, got, want core.Family) {
	t.Helper()
	if got.SessionID != want.SessionID {
		t.Errorf("%s: SessionID: got %q, want %q", what, got.SessionID, want.SessionID)
	}
	if got.Subject != want.Subject {
		t.Errorf("%s: Subject: got %q, want %q", what, got.Subject, want.Subject)
	}
	if got.Current != want.Current {
		t.Errorf("%s: Current: got %q, want %q", what, got.Current, want.Current)
	}
	if got.Previous != want.Previous {
		t.Errorf("%s: Previous: got %q, want %q", what, got.Previous, want.Previous)
	}
	if got.Client != want.Client {
		t.Errorf("%s: Client: got %q, want %q", what, got.Client, want.Client)
	}
	times := []struct {
		name      string
		got, want time.Time
	}{
		{"CurrentIssuedAt", got.CurrentIssuedAt, want.CurrentIssuedAt},
		{"CurrentExpires", got.CurrentExpires, want.CurrentExpires},
		{"PreviousUntil", got.PreviousUntil, want.PreviousUntil},
		{"Expires", got.Expires, want.Expires},
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"LastUsed", got.LastUsed, want.LastUsed},
	}
	for _, tm := range times {
		if !sameInstant(tm.got, tm.want) {
			t.Errorf("%s: %s: got %v, want %v", what, tm.name, tm.got, tm.want)
		}
	}
}

// rotated is the family f after a successful rotation by req.
func rotated(f core.Family, req core.RotateRequest) core.Family {
	f.Previous, f.PreviousUntil, f.RetryKey = f.Current, graceUntil(req), req.RetryKey
	f.Current, f.CurrentIssuedAt, f.CurrentExpires = req.Next, req.NextIssuedAt, req.NextExpires
	f.LastUsed = req.Now
	if f.CurrentExpires.After(f.Expires) {
		f.CurrentExpires = f.Expires
	}
	return f
}

func testRotateOK(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.expectTTL(RecordFamily, "alice", "sid-1", f.CurrentExpires)
	e.clock.Advance(time.Minute)
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	got := e.rotate(req, core.RotateOK)
	want := core.Family{
		SessionID:       "sid-1",
		Subject:         "alice",
		Current:         "jti-2",
		CurrentIssuedAt: req.NextIssuedAt,
		CurrentExpires:  req.NextExpires,
		Previous:        "jti-1",
		PreviousUntil:   graceUntil(req),
		Expires:         f.Expires,
		CreatedAt:       f.CreatedAt,
		LastUsed:        req.Now,
		Client:          f.Client,
	}
	expectFamily(e.t, "rotated family", got, want)
	// The record now lives as long as the new current token.
	e.expectTTL(RecordFamily, "alice", "sid-1", req.NextExpires)
	if r := e.revoked("alice", "jti-1", "sid-1"); r != (core.Revocation{}) {
		e.t.Errorf("Revoked after rotation: got %+v, want nothing revoked", r)
	}
}

func testCreateNoSID(e *storeEnv) {
	now := e.clock.Now()
	_, err := e.s.CreateFamily(e.ctx, core.Family{Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge)}, core.SessionLimit{Max: 1})
	if err == nil {
		e.t.Fatal("CreateFamily without SessionID: got nil error, want an error")
	}
}

func testCreateCapped(e *storeEnv) {
	now := e.clock.Now()
	f := core.Family{SessionID: "sid-1", Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteSessionAge), Expires: now.Add(suiteRefreshTTL)}
	e.createFamily(f)
	e.expectTTL(RecordFamily, "alice", "sid-1", f.Expires)
	e.clock.Set(f.Expires)
	e.rotate(e.request("alice", "sid-1", "jti-1", now, "jti-2", 0), core.RotateUnknown)
}

func testRotateChain(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	iat := f.CurrentIssuedAt
	for i := 2; i <= 4; i++ {
		e.clock.Advance(time.Minute)
		presented, next := fmt.Sprintf("jti-%d", i-1), fmt.Sprintf("jti-%d", i)
		req := e.request("alice", "sid-1", presented, iat, next, suiteGrace)
		got := e.rotate(req, core.RotateOK)
		f = rotated(f, req)
		expectFamily(e.t, "rotation to "+next, got, f)
		iat = req.NextIssuedAt
	}
	// Two tokens back is never replayable, whatever the grace window.
	got := e.rotate(e.request("alice", "sid-1", "jti-2", iat, "jti-x", suiteGrace), core.RotateReused)
	expectFamily(e.t, "family deleted on reuse", got, f)
}

func testRotateCapped(e *storeEnv) {
	now := e.clock.Now()
	f := core.Family{SessionID: "sid-1", Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(2 * time.Hour), Expires: now.Add(3 * time.Hour)}
	e.createFamily(f)
	e.clock.Advance(90 * time.Minute) // the next token would live until 3h30m: past Expires
	req := e.request("alice", "sid-1", "jti-1", now, "jti-2", 0)
	got := e.rotate(req, core.RotateOK)
	if !sameInstant(got.CurrentExpires, f.Expires) {
		e.t.Fatalf("CurrentExpires: got %v, want Expires %v", got.CurrentExpires, f.Expires)
	}
	e.expectTTL(RecordFamily, "alice", "sid-1", f.Expires)

	// Still rotatable just before the absolute end, never at it.
	e.clock.Set(f.Expires.Add(-time.Millisecond))
	req = e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-3", 0)
	got = e.rotate(req, core.RotateOK)
	if !sameInstant(got.CurrentExpires, f.Expires) {
		e.t.Fatalf("CurrentExpires after second rotation: got %v, want Expires %v", got.CurrentExpires, f.Expires)
	}
	e.clock.Set(f.Expires)
	e.rotate(e.request("alice", "sid-1", "jti-3", req.NextIssuedAt, "jti-4", 0), core.RotateUnknown)
}

func testGraceWithin(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.clock.Advance(time.Minute)
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	e.rotate(req, core.RotateOK)
	want := rotated(f, req)

	for _, after := range []time.Duration{0, suiteGrace / 2, suiteGrace - time.Millisecond} {
		e.clock.Set(req.Now.Add(after))
		got := e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-fork", suiteGrace), core.RotateGrace)
		expectFamily(e.t, fmt.Sprintf("grace replay %v after rotation", after), got, want)
		// The current token inside the window: the same answer, no second rotation.
		got = e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-fork2", suiteGrace), core.RotateGrace)
		expectFamily(e.t, fmt.Sprintf("current token %v after rotation", after), got, want)
	}
	// The replays changed nothing: at the window's end the current token rotates normally.
	e.clock.Set(graceUntil(req))
	req2 := e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-3", suiteGrace)
	got := e.rotate(req2, core.RotateOK)
	expectFamily(e.t, "rotation after grace replays", got, rotated(want, req2))
	// The new rotation opens a new window: the token it replaced is replayable, the one before
	// it (replaced a window ago) is reuse.
	e.clock.Advance(suiteGrace / 2)
	got = e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-fork3", suiteGrace), core.RotateGrace)
	expectFamily(e.t, "previous token in the second window", got, rotated(want, req2))
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-fork4", suiteGrace), core.RotateReused)
}

func testGraceAtEnd(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	e.rotate(req, core.RotateOK)
	e.clock.Set(graceUntil(req))
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-3", suiteGrace), core.RotateReused)
}

func testGraceAfter(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	e.rotate(req, core.RotateOK)
	e.clock.Set(graceUntil(req).Add(time.Second))
	reuse := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-3", suiteGrace)
	got := e.rotate(reuse, core.RotateReused)
	expectFamily(e.t, "family deleted on reuse", got, rotated(f, req))
	if r := e.revoked("alice", "", "sid-1"); !r.SessionRevoked {
		e.t.Errorf("Revoked after reuse: got SessionRevoked false, want true")
	}
	// The thief's token is dead, and so is the legitimate user's.
	e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-4", suiteGrace), core.RotateUnknown)
}

// testSameRequestTwice: a rotation whose reply was lost and that a client library sends again
// (same presented and next jti) gets the same answer, not a reuse verdict.
func testSameRequestTwice(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.clock.Advance(time.Minute)
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0)
	first := e.rotate(req, core.RotateOK)
	e.clock.Advance(2 * time.Second)
	again := e.rotate(req, core.RotateOK)
	expectFamily(e.t, "the same rotation again", again, first)
	if r := e.revoked("alice", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked after a repeated rotation: got SessionRevoked true, want false")
	}
	e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-3", 0), core.RotateOK)
}

// testRetryKey: the client that rotated jti-1 retries with the same key after losing the answer
// (a new next, since it is a new request): RotateRetry and the current token while the retry
// comes within RetryWindow of the rotation; another key, or none, is reuse.
func testRetryKey(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0)
	req.RetryKey, req.RetryWindow = "key-1", time.Minute
	want := e.rotate(req, core.RotateOK)
	if want.RetryKey != "key-1" {
		e.t.Errorf("RetryKey after rotation: got %q, want %q", want.RetryKey, "key-1")
	}
	e.clock.Advance(5 * time.Second)
	retry := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-other", 0)
	retry.RetryKey, retry.RetryWindow = "key-1", time.Minute
	expectFamily(e.t, "retried rotation", e.rotate(retry, core.RotateRetry), want)
	thief := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-thief", 0)
	thief.RetryKey, thief.RetryWindow = "key-2", time.Minute
	e.rotate(thief, core.RotateReused)
}

// testRetryWindow: a retry with the rotation's own key is one until RetryWindow has passed since
// the rotation (checked a millisecond before), and stops being one then (a leaked token and key
// must not keep yielding the current token): it is reuse then, and so is any retry when the
// window is zero.
func testRetryWindow(e *storeEnv) {
	for _, tc := range []struct {
		sid    string
		window time.Duration
		after  time.Duration
	}{
		{"sid-late", time.Minute, time.Minute}, // at the window's end: no longer before it
		{"sid-none", 0, 0},
		{"sid-in-time", time.Minute, time.Minute - time.Millisecond}, // just before: still a retry
	} {
		f := e.create("alice", tc.sid, "jti-1")
		req := e.request("alice", tc.sid, "jti-1", f.CurrentIssuedAt, "jti-2", 0)
		req.RetryKey, req.RetryWindow = "key-1", tc.window
		e.rotate(req, core.RotateOK)
		e.clock.Advance(tc.after)
		retry := e.request("alice", tc.sid, "jti-1", f.CurrentIssuedAt, "jti-3", 0)
		retry.RetryKey, retry.RetryWindow = "key-1", tc.window
		if tc.after < tc.window {
			e.rotate(retry, core.RotateRetry)
			continue
		}
		e.rotate(retry, core.RotateReused)
		if r := e.revoked("alice", "", tc.sid); !r.SessionRevoked {
			e.t.Errorf("%s: a retry past its window did not revoke the session", tc.sid)
		}
	}
}

// testNoGraceNoWindow: with grace 0 even a replay at the very instant of the rotation is reuse:
// there is no window, whatever the clocks.
func testNoGraceNoWindow(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0)
	e.rotate(req, core.RotateOK)
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-3", 0), core.RotateReused)
}

func testReuse(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.clock.Advance(time.Minute)
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0)
	e.rotate(req, core.RotateOK)
	e.clock.Advance(time.Second)
	reuse := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-3", 0)
	got := e.rotate(reuse, core.RotateReused)
	expectFamily(e.t, "family deleted on reuse", got, rotated(f, req))
	e.expectNoRecord(RecordFamily, "alice", "sid-1")
	e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-4", 0), core.RotateUnknown)
	if r := e.revoked("bob", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked for another subject: got SessionRevoked true, want false")
	}
	e.expectLiveUntil(RecordRevokedSession, "alice", "sid-1", reuse.RevokeUntil, func() bool {
		return e.revoked("alice", "", "sid-1").SessionRevoked
	})
}

func testReuseUnrelated(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	got := e.rotate(e.request("alice", "sid-1", "jti-other", f.CurrentIssuedAt, "jti-2", suiteGrace), core.RotateReused)
	expectFamily(e.t, "family deleted on reuse", got, f)
	if r := e.revoked("alice", "", "sid-1"); !r.SessionRevoked {
		e.t.Errorf("Revoked after reuse: got SessionRevoked false, want true")
	}
}

func testUnknownSID(e *storeEnv) {
	now := e.clock.Now()
	got := e.rotate(e.request("alice", "sid-none", "jti-1", now, "jti-2", suiteGrace), core.RotateUnknown)
	if got != (core.Family{}) {
		e.t.Errorf("family for unknown sid: got %+v, want zero Family", got)
	}
	if r := e.revoked("alice", "jti-1", "sid-none"); r != (core.Revocation{}) {
		e.t.Errorf("Revoked after unknown rotation: got %+v, want nothing revoked", r)
	}
	e.expectNoRecord(RecordRevokedSession, "alice", "sid-none")
}

func testUnknownSubject(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.rotate(e.request("mallory", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-evil", suiteGrace), core.RotateUnknown)
	if r := e.revoked("alice", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked after subject mismatch: got SessionRevoked true, want false")
	}
	// Nothing changed for the real owner.
	req := e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace)
	got := e.rotate(req, core.RotateOK)
	expectFamily(e.t, "owner's rotation after mismatch", got, rotated(f, req))
}

func testUnknownCurrentExpires(e *storeEnv) {
	a := e.create("alice", "sid-a", "jti-a")
	b := e.create("alice", "sid-b", "jti-b")
	e.expectTTL(RecordFamily, "alice", "sid-b", b.CurrentExpires)
	e.clock.Set(a.CurrentExpires.Add(-time.Millisecond))
	e.rotate(e.request("alice", "sid-a", "jti-a", a.CurrentIssuedAt, "jti-a2", 0), core.RotateOK)
	e.clock.Set(b.CurrentExpires)
	e.rotate(e.request("alice", "sid-b", "jti-b", b.CurrentIssuedAt, "jti-b2", 0), core.RotateUnknown)
	if r := e.revoked("alice", "", "sid-b"); r.SessionRevoked {
		e.t.Errorf("Revoked after expired family: got SessionRevoked true, want false")
	}
}

func testUnknownExpires(e *storeEnv) {
	now := e.clock.Now()
	// Rotate until CurrentExpires reaches the absolute end, then try at it.
	f := core.Family{SessionID: "sid-1", Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Hour), Expires: now.Add(90 * time.Minute)}
	e.createFamily(f)
	e.clock.Advance(45 * time.Minute)
	req := e.request("alice", "sid-1", "jti-1", now, "jti-2", 0)
	e.rotate(req, core.RotateOK)
	e.clock.Set(f.Expires)
	e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-3", 0), core.RotateUnknown)
	e.clock.Set(f.Expires.Add(time.Hour))
	e.rotate(e.request("alice", "sid-1", "jti-2", req.NextIssuedAt, "jti-3", 0), core.RotateUnknown)
}

func testUnknownRevoked(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	until := e.clock.Now().Add(suiteAccessTTL)
	e.revokeFamily("alice", "sid-1", until)
	e.expectNoRecord(RecordFamily, "alice", "sid-1")
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace), core.RotateUnknown)
}

func testRotateCutOff(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	iat := f.CurrentIssuedAt
	e.clock.Advance(time.Minute)
	now := e.clock.Now()

	// A cut-off one second before iat does not touch the token.
	e.cutOff("alice", iat.Add(-time.Second), now.Add(time.Hour))
	req := e.request("alice", "sid-1", "jti-1", iat, "jti-2", 0)
	e.rotate(req, core.RotateOK)
	f = rotated(f, req)
	iat = req.NextIssuedAt

	// A cut-off within the same second as iat does (whole seconds, like iat).
	e.cutOff("alice", iat.Add(999*time.Millisecond), now.Add(time.Hour))
	got := e.rotate(e.request("alice", "sid-1", "jti-2", iat, "jti-3", 0), core.RotateCutOff)
	expectFamily(e.t, "family on cut-off", got, f)
	if r := e.revoked("alice", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked after cut-off: got SessionRevoked true, want false")
	}
	// Nothing changed: a token issued after the cut-off (here the same jti, to show the family is
	// intact) still rotates.
	req = e.request("alice", "sid-1", "jti-2", iat.Add(time.Second), "jti-3", 0)
	got = e.rotate(req, core.RotateOK)
	expectFamily(e.t, "rotation after cut-off", got, rotated(f, req))
}

func testRotateCutOffExpired(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	until := e.clock.Now().Add(time.Hour)
	e.cutOff("alice", f.CurrentIssuedAt, until)
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0), core.RotateCutOff)
	e.clock.Set(until)
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0), core.RotateOK)
}

func testCutOffLater(e *storeEnv) {
	now := e.clock.Now()
	e.cutOff("alice", now, now.Add(2*time.Hour))
	e.cutOff("alice", now.Add(time.Minute), now.Add(time.Hour))
	got := e.revoked("alice", "", "").CutOff
	if !sameInstant(got, now.Add(time.Minute)) {
		e.t.Fatalf("CutOff: got %v, want %v", got, now.Add(time.Minute))
	}
	// The replacing record keeps the later expiry: tokens the earlier cut-off revoked stay revoked.
	e.expectLiveUntil(RecordCutOff, "alice", "", now.Add(2*time.Hour), func() bool {
		return !e.revoked("alice", "", "").CutOff.IsZero()
	})
}

func testCutOffEarlier(e *storeEnv) {
	now := e.clock.Now()
	later := now.Add(time.Minute)
	e.cutOff("alice", later, now.Add(time.Hour))
	e.cutOff("alice", now, now.Add(2*time.Hour))
	r := e.revoked("alice", "", "")
	if !sameInstant(r.CutOff, later) {
		e.t.Fatalf("CutOff: got %v, want %v", r.CutOff, later)
	}
	if !r.RevokesIssuedAt(later) || r.RevokesIssuedAt(later.Add(time.Second)) {
		e.t.Errorf("RevokesIssuedAt around cut-off %v: got (%v, %v), want (true, false)",
			later, r.RevokesIssuedAt(later), r.RevokesIssuedAt(later.Add(time.Second)))
	}
	e.expectLiveUntil(RecordCutOff, "alice", "", now.Add(time.Hour), func() bool {
		return !e.revoked("alice", "", "").CutOff.IsZero()
	})
}

func testCutOffExpiry(e *storeEnv) {
	now := e.clock.Now()
	until := now.Add(suiteRefreshTTL)
	e.cutOff("alice", now, until)
	if got := e.revoked("bob", "", "").CutOff; !got.IsZero() {
		e.t.Errorf("CutOff of another subject: got %v, want zero", got)
	}
	e.expectLiveUntil(RecordCutOff, "alice", "", until, func() bool {
		return sameInstant(e.revoked("alice", "", "").CutOff, now)
	})
}

func testDeny(e *storeEnv) {
	until := e.clock.Now().Add(suiteAccessTTL)
	e.deny("alice", "jti-1", until)
	if r := e.revoked("alice", "jti-2", "sid-1"); r.TokenDenied {
		e.t.Errorf("Revoked(jti-2): got TokenDenied true, want false")
	}
	if r := e.revoked("bob", "jti-1", ""); r.TokenDenied {
		e.t.Errorf("Revoked(bob, jti-1): got TokenDenied true, want false")
	}
	if r := e.revoked("alice", "jti-1", "sid-1"); r.SessionRevoked || !r.CutOff.IsZero() {
		e.t.Errorf("Revoked(alice, jti-1): got %+v, want only TokenDenied", r)
	}
	e.expectLiveUntil(RecordDenied, "alice", "jti-1", until, func() bool {
		return e.revoked("alice", "jti-1", "").TokenDenied
	})
}

func testDenyNotShortened(e *storeEnv) {
	now := e.clock.Now()
	e.deny("alice", "jti-1", now.Add(time.Hour))
	e.deny("alice", "jti-1", now.Add(time.Minute))
	e.expectLiveUntil(RecordDenied, "alice", "jti-1", now.Add(time.Hour), func() bool {
		return e.revoked("alice", "jti-1", "").TokenDenied
	})
}

func testRevokeFamily(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	until := e.clock.Now().Add(suiteAccessTTL)
	e.revokeFamily("alice", "sid-1", until)
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", suiteGrace), core.RotateUnknown)
	if r := e.revoked("bob", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked(bob, sid-1): got SessionRevoked true, want false")
	}
	if r := e.revoked("alice", "", "sid-2"); r.SessionRevoked {
		e.t.Errorf("Revoked(alice, sid-2): got SessionRevoked true, want false")
	}
	e.expectLiveUntil(RecordRevokedSession, "alice", "sid-1", until, func() bool {
		return e.revoked("alice", "", "sid-1").SessionRevoked
	})
}

func testRevokeUnknownSID(e *storeEnv) {
	until := e.clock.Now().Add(suiteAccessTTL)
	e.revokeFamily("alice", "sid-never", until)
	e.expectLiveUntil(RecordRevokedSession, "alice", "sid-never", until, func() bool {
		return e.revoked("alice", "", "sid-never").SessionRevoked
	})
}

func testRevokeNotShortened(e *storeEnv) {
	now := e.clock.Now()
	e.revokeFamily("alice", "sid-1", now.Add(time.Hour))
	e.revokeFamily("alice", "sid-1", now.Add(time.Minute))
	e.expectLiveUntil(RecordRevokedSession, "alice", "sid-1", now.Add(time.Hour), func() bool {
		return e.revoked("alice", "", "sid-1").SessionRevoked
	})
}

func testPastUntil(e *storeEnv) {
	now := e.clock.Now()
	for _, until := range []time.Time{now.Add(-time.Hour), now.Add(-time.Second), now} {
		e.deny("alice", "jti-1", until)
		e.revokeFamily("alice", "sid-1", until)
		e.cutOff("alice", now, until)
		if r := e.revoked("alice", "jti-1", "sid-1"); r != (core.Revocation{}) {
			e.t.Errorf("Revoked after writes until %v (now %v): got %+v, want nothing revoked", until, now, r)
		}
		e.expectNoRecord(RecordDenied, "alice", "jti-1")
		e.expectNoRecord(RecordRevokedSession, "alice", "sid-1")
		e.expectNoRecord(RecordCutOff, "alice", "")
	}
	// A past expiry written after a live one does not delete or shorten it either.
	e.deny("alice", "jti-2", now.Add(time.Hour))
	e.deny("alice", "jti-2", now.Add(-time.Hour))
	e.revokeFamily("alice", "sid-2", now.Add(time.Hour))
	e.revokeFamily("alice", "sid-2", now.Add(-time.Hour))
	e.cutOff("alice", now, now.Add(time.Hour))
	e.cutOff("alice", now.Add(time.Minute), now.Add(-time.Hour))
	r := e.revoked("alice", "jti-2", "sid-2")
	if !r.TokenDenied || !r.SessionRevoked || !sameInstant(r.CutOff, now) {
		e.t.Errorf("Revoked after past writes over live records: got %+v, want denied, revoked, cut-off %v", r, now)
	}
}

func testRevokePastDeletes(e *storeEnv) {
	f := e.create("alice", "sid-1", "jti-1")
	e.revokeFamily("alice", "sid-1", e.clock.Now().Add(-time.Second))
	e.rotate(e.request("alice", "sid-1", "jti-1", f.CurrentIssuedAt, "jti-2", 0), core.RotateUnknown)
	if r := e.revoked("alice", "", "sid-1"); r.SessionRevoked {
		e.t.Errorf("Revoked after RevokeFamily with past until: got SessionRevoked true, want false")
	}
	e.expectNoRecord(RecordRevokedSession, "alice", "sid-1")
}

func testEmptyIDs(e *storeEnv) {
	until := e.clock.Now().Add(suiteAccessTTL)
	e.deny("alice", "", until)
	e.revokeFamily("alice", "", until)
	if r := e.revoked("alice", "", ""); r.TokenDenied || r.SessionRevoked {
		e.t.Errorf("Revoked(alice, \"\", \"\"): got %+v, want not denied and not revoked", r)
	}
	// Empty ids also match nothing recorded under real ids.
	e.deny("alice", "jti-1", until)
	e.revokeFamily("alice", "sid-1", until)
	if r := e.revoked("alice", "", ""); r.TokenDenied || r.SessionRevoked {
		e.t.Errorf("Revoked(alice, \"\", \"\") with other records: got %+v, want not denied and not revoked", r)
	}
}

func testSubjectsIsolated(e *storeEnv) {
	// Subjects that would collide or break a Redis hash tag if they were used in keys verbatim.
	subjects := []string{"alice", "{alice}", "alice}:deny:jti-0", "a:b", "{", "}", "", "ünïcødé"}
	until := e.clock.Now().Add(suiteAccessTTL)
	cut := e.clock.Now()
	for i, sub := range subjects {
		e.deny(sub, fmt.Sprintf("jti-%d", i), until)
		e.revokeFamily(sub, fmt.Sprintf("sid-%d", i), until)
	}
	e.cutOff(subjects[1], cut, until)
	for i, sub := range subjects {
		for j := range subjects {
			r := e.revoked(sub, fmt.Sprintf("jti-%d", j), fmt.Sprintf("sid-%d", j))
			if r.TokenDenied != (i == j) || r.SessionRevoked != (i == j) {
				e.t.Errorf("Revoked(%q, jti-%d, sid-%d): got denied %v revoked %v, want %v",
					sub, j, j, r.TokenDenied, r.SessionRevoked, i == j)
			}
		}
		if got := e.revoked(sub, "", "").CutOff; sameInstant(got, cut) != (i == 1) {
			e.t.Errorf("CutOff of %q: got %v, want set: %v", sub, got, i == 1)
		}
	}
	// Families too: a family of one subject is unknown to every other. (A second later: the
	// cut-off above covers this second of subjects[1].)
	e.clock.Advance(time.Second)
	f := e.create(subjects[1], "sid-fam", "jti-fam")
	for _, sub := range subjects[2:] {
		e.rotate(e.request(sub, "sid-fam", "jti-fam", f.CurrentIssuedAt, "jti-next", 0), core.RotateUnknown)
	}
	e.rotate(e.request(subjects[1], "sid-fam", "jti-fam", f.CurrentIssuedAt.Add(time.Second), "jti-next", 0), core.RotateOK)
}

func testCloseTwice(e *storeEnv) {
	for i := 1; i <= 2; i++ {
		if err := e.s.Close(); err != nil {
			e.t.Fatalf("Close #%d: got error %v, want nil", i, err)
		}
	}
}

// testConcurrentRotate races suiteConcurrency rotations of the same current token. Whatever the
// interleaving, the store serialises them: the first wins (RotateOK). Without grace the second
// presents what is now the previous token outside any window, which is reuse: it deletes the family
// (RotateReused) and every later one finds no family (RotateUnknown). With grace every loser
// replays the previous token inside the window and gets RotateGrace naming the winner's jti.
func testConcurrentRotate(e *storeEnv, grace time.Duration) {
	f := e.create("alice", "sid-1", "jti-0")
	e.clock.Advance(time.Second)

	type outcome struct {
		fam core.Family
		res core.RotateResult
		err error
	}
	outcomes := make([]outcome, suiteConcurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range suiteConcurrency {
		req := e.request("alice", "sid-1", "jti-0", f.CurrentIssuedAt, fmt.Sprintf("jti-next-%d", i), grace)
		wg.Go(func() {
			<-start
			fam, res, err := e.s.Rotate(e.ctx, req)
			outcomes[i] = outcome{fam, res, err}
		})
	}
	close(start)
	wg.Wait()

	counts := map[core.RotateResult]int{}
	winner := ""
	for i, o := range outcomes {
		if o.err != nil {
			e.t.Fatalf("Rotate #%d: got error %v, want nil", i, o.err)
		}
		counts[o.res]++
		if o.res == core.RotateOK {
			winner = o.fam.Current
			if want := fmt.Sprintf("jti-next-%d", i); winner != want {
				e.t.Errorf("winner #%d: Current got %q, want its own Next %q", i, winner, want)
			}
		}
	}
	want := map[core.RotateResult]int{core.RotateOK: 1, core.RotateGrace: suiteConcurrency - 1}
	if grace == 0 {
		want = map[core.RotateResult]int{core.RotateOK: 1, core.RotateReused: 1, core.RotateUnknown: suiteConcurrency - 2}
	}
	for _, res := range []core.RotateResult{core.RotateOK, core.RotateGrace, core.RotateReused, core.RotateUnknown, core.RotateCutOff} {
		if counts[res] != want[res] {
			e.t.Errorf("%d concurrent rotations: got %d %v, want %d", suiteConcurrency, counts[res], res, want[res])
		}
	}
	if winner == "" {
		e.t.Fatal("no rotation won")
	}
	sessionRevoked := e.revoked("alice", "", "sid-1").SessionRevoked
	next := e.request("alice", "sid-1", winner, e.clock.Now(), "jti-after", grace)
	if grace == 0 {
		if !sessionRevoked {
			e.t.Errorf("after concurrent reuse: got SessionRevoked false, want true")
		}
		e.rotate(next, core.RotateUnknown)
		return
	}
	for i, o := range outcomes {
		if o.res == core.RotateGrace && (o.fam.Current != winner || o.fam.Previous != "jti-0") {
			e.t.Errorf("grace answer #%d: got Current %q Previous %q, want Current %q Previous %q",
				i, o.fam.Current, o.fam.Previous, winner, "jti-0")
		}
	}
	if sessionRevoked {
		e.t.Errorf("after concurrent grace replays: got SessionRevoked true, want false")
	}
	// One rotation per window: the winner's token rotates again only once the window is over.
	e.rotate(next, core.RotateGrace)
	e.clock.Advance(grace) // the rotations ran at the clock's current instant
	next.Now = e.clock.Now()
	e.rotate(next, core.RotateOK)
}

// testLoginRepeated: a family whose LoginKey names a live family of the subject created less
// than the login retry window ago is not written; the store answers *core.LoginRepeatedError
// naming that family. Another key, no window, or a first attempt older than the window: a new
// family as usual.
func testLoginRepeated(e *storeEnv) {
	now := e.clock.Now()
	const window = time.Minute
	fam := func(sid, key string, created time.Time) core.Family {
		return core.Family{SessionID: sid, Subject: "alice", Current: "jti-" + sid, CurrentIssuedAt: now,
			CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge),
			CreatedAt: created, LastUsed: created, LoginKey: key}
	}
	limit := core.SessionLimit{LoginRetryWindow: window}
	create := func(f core.Family, limit core.SessionLimit) error {
		_, err := e.s.CreateFamily(e.ctx, f, limit)
		return err
	}
	if err := create(fam("sid-1", "key-1", now), limit); err != nil {
		e.t.Fatalf("first login: %v", err)
	}
	err := create(fam("sid-2", "key-1", now), limit)
	var rep *core.LoginRepeatedError
	if !errors.As(err, &rep) {
		e.t.Fatalf("the login repeated with its key: got %v, want a *core.LoginRepeatedError", err)
	}
	if rep.Family.SessionID != "sid-1" || rep.Family.Current != "jti-sid-1" || !sameInstant(rep.Family.CurrentExpires, now.Add(suiteRefreshTTL)) {
		e.t.Errorf("repeated login: got family %s (current %s, expires %v), want sid-1's", rep.Family.SessionID, rep.Family.Current, rep.Family.CurrentExpires)
	}
	list, err := e.s.Sessions(e.ctx, "alice")
	if err != nil || len(list) != 1 || list[0].SessionID != "sid-1" {
		e.t.Fatalf("sessions after the repeat: got %d (%v), want sid-1 alone", len(list), err)
	}
	for _, tc := range []struct {
		name string
		f    core.Family
		l    core.SessionLimit
	}{
		{"another key", fam("sid-3", "key-2", now), limit},
		{"no retry window", fam("sid-4", "key-1", now), core.SessionLimit{}},
		{"a first attempt older than the window", fam("sid-5", "key-old", now.Add(-window-time.Second)), limit},
		{"its retry", fam("sid-6", "key-old", now), limit},
	} {
		if err := create(tc.f, tc.l); err != nil {
			e.t.Errorf("%s: got %v, want a new family", tc.name, err)
		}
	}
}
