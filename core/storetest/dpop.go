package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// RecordDPoPProof is a DPoP proof's replay record (core.DPoPReplayStore); its id is the proof
// id, the subject is empty.
const RecordDPoPProof RecordKind = 100

// dpopStoreCases: the DPoP key of a session (core.Family.DPoPThumbprint) is kept by every
// operation that returns a family; a store implementing core.DPoPReplayStore records each proof
// id exactly once until its expiry.
var dpopStoreCases = []struct {
	name string
	run  func(e *storeEnv)
}{
	{"DPoP/the session's key thumbprint is kept by Rotate, Sessions and a repeated login", testDPoPFamily},
	{"DPoP/a proof id is new once until its expiry", testDPoPReplay},
	{"DPoP/concurrent marks of one proof id: exactly one is new", testDPoPReplayConcurrent},
}

const suiteJKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

func testDPoPFamily(e *storeEnv) {
	now := e.clock.Now()
	f := core.Family{SessionID: "sid-1", Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge),
		CreatedAt: now, LastUsed: now, LoginKey: "login-1", DPoPThumbprint: suiteJKT}
	limit := core.SessionLimit{LoginRetryWindow: time.Minute}
	if _, err := e.s.CreateFamily(e.ctx, f, limit); err != nil {
		e.t.Fatalf("CreateFamily: %v", err)
	}
	g := f
	g.SessionID, g.Current = "sid-2", "jti-2"
	_, err := e.s.CreateFamily(e.ctx, g, limit)
	var rep *core.LoginRepeatedError
	if !errors.As(err, &rep) || rep.Family.DPoPThumbprint != suiteJKT {
		e.t.Fatalf("repeated login: got %v, want the family with DPoPThumbprint %q", err, suiteJKT)
	}
	list := e.sessions("alice")
	if len(list) != 1 || list[0].DPoPThumbprint != suiteJKT {
		e.t.Fatalf("Sessions: got %+v, want one family with DPoPThumbprint %q", list, suiteJKT)
	}
	got := e.rotate(e.request("alice", "sid-1", "jti-1", now, "jti-1b", suiteGrace), core.RotateOK)
	if got.DPoPThumbprint != suiteJKT {
		e.t.Fatalf("Rotate OK: DPoPThumbprint %q, want %q", got.DPoPThumbprint, suiteJKT)
	}
	got = e.rotate(e.request("alice", "sid-1", "jti-1", now, "jti-1c", suiteGrace), core.RotateGrace)
	if got.DPoPThumbprint != suiteJKT {
		e.t.Fatalf("Rotate grace: DPoPThumbprint %q, want %q", got.DPoPThumbprint, suiteJKT)
	}
	// A Bearer session has none.
	e.create("alice", "sid-3", "jti-3")
	for _, f := range e.sessions("alice") {
		if want := map[bool]string{true: "", false: suiteJKT}[f.SessionID == "sid-3"]; f.DPoPThumbprint != want {
			e.t.Errorf("Sessions: %s has DPoPThumbprint %q, want %q", f.SessionID, f.DPoPThumbprint, want)
		}
	}
}

// replay returns the store as a DPoPReplayStore, skipping the case when it is none.
func (e *storeEnv) replay() core.DPoPReplayStore {
	e.t.Helper()
	rs, ok := e.s.(core.DPoPReplayStore)
	if !ok {
		e.t.Skip("the store does not implement core.DPoPReplayStore")
	}
	return rs
}

func (e *storeEnv) mark(rs core.DPoPReplayStore, id string, until time.Time) bool {
	e.t.Helper()
	first, err := rs.MarkDPoPProof(e.ctx, id, until, e.clock.Now())
	if err != nil {
		e.t.Fatalf("MarkDPoPProof(%q): %v", id, err)
	}
	return first
}

func testDPoPReplay(e *storeEnv) {
	rs := e.replay()
	until := e.clock.Now().Add(time.Minute)
	const a, b = "AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB"
	if !e.mark(rs, a, until) {
		e.t.Fatal("first mark: not new")
	}
	if e.mark(rs, a, until) {
		e.t.Fatal("second mark before its expiry: new")
	}
	if !e.mark(rs, b, until) {
		e.t.Fatal("another id: not new")
	}
	if e.opts.RealTime {
		e.expectTTL(RecordDPoPProof, "", a, until)
		return
	}
	e.clock.Advance(time.Minute - time.Millisecond)
	if e.mark(rs, a, until) {
		e.t.Fatal("a millisecond before its expiry: new")
	}
	e.clock.Advance(time.Millisecond)
	if !e.mark(rs, a, e.clock.Now().Add(time.Minute)) {
		e.t.Fatal("at its expiry: not new")
	}
}

func testDPoPReplayConcurrent(e *storeEnv) {
	rs := e.replay()
	until := e.clock.Now().Add(time.Minute)
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, suiteConcurrency)
	for i := 0; i < suiteConcurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := rs.MarkDPoPProof(e.ctx, "CCCCCCCCCCCCCCCCCCCCCC", until, e.clock.Now())
			if err != nil {
				errs <- err
				return
			}
			if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatal(fmt.Errorf("MarkDPoPProof: %w", err))
	}
	if n := wins.Load(); n != 1 {
		e.t.Fatalf("%d of %d concurrent marks were new, want exactly 1", n, suiteConcurrency)
	}
}
