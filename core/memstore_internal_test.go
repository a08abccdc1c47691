package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkListing fails unless s.revs lists exactly the records of s.subjects that hold a
// revocation, each under its own subject: Revoked reads only s.revs, so a record missing there
// is a revocation the request path does not see, and one left there after its record went is a
// leak.
func checkListing(t *testing.T, s *MemoryStore, step string) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	listed := 0
	s.revs.Range(func(k, v any) bool {
		listed++
		if r := s.subjects[k.(string)]; r != v.(*memSubject) || !r.revokes() {
			t.Errorf("%s: %q is listed, but its record is %p (revokes %v), not the listed %p", step, k, r, r != nil && r.revokes(), v)
		}
		return true
	})
	want := 0
	for _, r := range s.subjects {
		if r.revokes() {
			want++
		}
	}
	if listed != want {
		t.Errorf("%s: %d subjects listed for Revoked, %d hold a revocation", step, listed, want)
	}
}

// Every write keeps the lock-free index Revoked reads in step with the records: a random
// sequence of every kind of write, expiry and sweep, checked after each step.
func TestMemoryStoreRevocationListing(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	s := NewMemoryStore(WithMemoryClock(func() time.Time { return now }), WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	subjects := []string{"alice", "bob", "carol"}
	for step := range 3000 {
		sub := subjects[rng.IntN(len(subjects))]
		id := fmt.Sprintf("id-%d", rng.IntN(8))
		until := now.Add(time.Duration(rng.IntN(40)-5) * time.Second) // sometimes already past
		var op string
		switch rng.IntN(9) {
		case 0:
			op = "CreateFamily"
			f := Family{Subject: sub, SessionID: id, Current: "r", CurrentExpires: until, Expires: until.Add(time.Minute), LastUsed: now}
			_, _ = s.CreateFamily(ctx, f, SessionLimit{Max: 2, RevokeUntil: until})
		case 1:
			op = "EndSessions"
			_, _ = s.EndSessions(ctx, sub, id, until)
		case 2:
			op = "Rotate"
			_, _, _ = s.Rotate(ctx, RotateRequest{Subject: sub, SessionID: id, Presented: "stale", Next: "n", RevokeUntil: until})
		case 3:
			op = "RevokeFamily"
			_ = s.RevokeFamily(ctx, sub, id, until)
		case 4:
			op = "DenyToken"
			_ = s.DenyToken(ctx, sub, id, until)
		case 5:
			op = "CutOff"
			_ = s.CutOff(ctx, sub, now, until)
		case 6:
			op = "Sweep"
			s.Sweep()
		default:
			op = "clock"
			now = now.Add(time.Duration(rng.IntN(10)) * time.Second)
		}
		checkListing(t, s, fmt.Sprintf("step %d (%s %s)", step, op, sub))
		if t.Failed() {
			return
		}
	}
	now = now.Add(time.Hour)
	s.Sweep()
	checkListing(t, s, "after everything expired")
	if n := s.Len(); n != 0 {
		t.Errorf("after everything expired and a sweep: %d records left", n)
	}
}
