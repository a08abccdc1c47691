package core_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/storetest"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestMemoryStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *testutil.Clock) core.Store {
		return core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	}, storetest.Options{})
}

var memEpoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// newMemoryStore returns a store on a fake clock without a background sweeper, closed at the end
// of the test.
func newMemoryStore(t *testing.T) (*core.MemoryStore, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock(memEpoch)
	s := core.NewMemoryStore(core.WithMemoryClock(clock.Now), core.WithSweepInterval(0))
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

func mustOK(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got error %v, want nil", op, err)
	}
}

func expectLen(t *testing.T, s *core.MemoryStore, want int) {
	t.Helper()
	if got := s.Len(); got != want {
		t.Fatalf("Len: got %d, want %d", got, want)
	}
}

// fill writes one record of every kind for subject "alice", expiring after 1, 2, 3 and 4 minutes.
func fill(t *testing.T, s *core.MemoryStore, now time.Time) {
	t.Helper()
	ctx := context.Background()
	mustOK(t, "DenyToken", s.DenyToken(ctx, "alice", "jti-1", now.Add(time.Minute)))
	mustOK(t, "RevokeFamily", s.RevokeFamily(ctx, "alice", "sid-1", now.Add(2*time.Minute)))
	_, err := s.CreateFamily(ctx, core.Family{
		SessionID: "sid-2", Subject: "alice", Current: "jti-r", CurrentIssuedAt: now,
		CurrentExpires: now.Add(4 * time.Minute), Expires: now.Add(time.Hour),
	}, core.SessionLimit{})
	mustOK(t, "CreateFamily", err)
	mustOK(t, "CutOff", s.CutOff(ctx, "alice", now, now.Add(3*time.Minute)))
}

func TestMemoryStoreSweep(t *testing.T) {
	t.Parallel()
	s, clock := newMemoryStore(t)
	fill(t, s, clock.Now())
	expectLen(t, s, 4)

	for i, want := range []int{3, 2, 1, 0} {
		clock.Advance(time.Minute - time.Millisecond)
		s.Sweep()
		expectLen(t, s, 4-i) // nothing is due yet
		clock.Advance(time.Millisecond)
		// Expired records are never reported, swept or not.
		r, err := s.Revoked(context.Background(), "alice", "jti-1", "sid-1")
		mustOK(t, "Revoked", err)
		if r.TokenDenied {
			t.Errorf("after %d min: got TokenDenied true, want false", i+1)
		}
		expectLen(t, s, 4-i) // lazy expiry does not drop them...
		s.Sweep()
		expectLen(t, s, want) // ...Sweep does
	}
}

func TestMemoryStoreSweeperRuns(t *testing.T) {
	// synctest gives the bubble a fake clock that advances only when every goroutine in it is
	// blocked: the sleeps below cost no real time, and synctest.Wait makes sure the sweeper has
	// finished its pass before the test looks.
	synctest.Test(t, func(t *testing.T) {
		s := core.NewMemoryStore(core.WithSweepInterval(time.Minute))
		defer s.Close()
		now := time.Now()
		ctx := context.Background()
		mustOK(t, "DenyToken", s.DenyToken(ctx, "alice", "jti-1", now.Add(30*time.Second)))
		mustOK(t, "DenyToken", s.DenyToken(ctx, "alice", "jti-2", now.Add(90*time.Second)))
		expectLen(t, s, 2)

		time.Sleep(time.Minute) // fake time: the sweeper's first tick
		synctest.Wait()
		expectLen(t, s, 1)

		time.Sleep(time.Minute)
		synctest.Wait()
		expectLen(t, s, 0)
	})
}

func TestMemoryStoreCloseStopsSweeper(t *testing.T) {
	// synctest.Test fails the test if a goroutine started in the bubble is still running when
	// the function returns, so this passes only if Close stops the sweeper.
	synctest.Test(t, func(t *testing.T) {
		s := core.NewMemoryStore(core.WithSweepInterval(time.Second))
		for i := 1; i <= 2; i++ {
			if err := s.Close(); err != nil {
				t.Fatalf("Close #%d: got error %v, want nil", i, err)
			}
		}
	})
}

func TestMemoryStoreConcurrentClose(t *testing.T) {
	t.Parallel()
	s := core.NewMemoryStore(core.WithSweepInterval(time.Millisecond))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d: got error %v, want nil", i, err)
		}
	}
}

func TestMemoryStoreWorksAfterClose(t *testing.T) {
	t.Parallel()
	s, clock := newMemoryStore(t)
	mustOK(t, "Close", s.Close())
	ctx := context.Background()
	mustOK(t, "DenyToken", s.DenyToken(ctx, "alice", "jti-1", clock.Now().Add(time.Minute)))
	r, err := s.Revoked(ctx, "alice", "jti-1", "")
	mustOK(t, "Revoked", err)
	if !r.TokenDenied {
		t.Fatal("Revoked after Close: got TokenDenied false, want true")
	}
}

// A context that ended is no reason for an in-memory store to fail: a client that went away
// must not show up as a store failure.
func TestMemoryStoreCanceledContext(t *testing.T) {
	t.Parallel()
	s, clock := newMemoryStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := clock.Now()
	_, err := s.CreateFamily(ctx, core.Family{SessionID: "sid-1", Subject: "alice",
		Current: "r-1", CurrentIssuedAt: now, CurrentExpires: now.Add(time.Hour), Expires: now.Add(time.Hour)}, core.SessionLimit{})
	mustOK(t, "CreateFamily", err)
	_, res, err := s.Rotate(ctx, core.RotateRequest{Subject: "alice", SessionID: "sid-1", Presented: "r-1",
		PresentedIssuedAt: now, Next: "r-2", NextIssuedAt: now, NextExpires: now.Add(time.Hour), Now: now,
		RevokeUntil: now.Add(time.Hour)})
	mustOK(t, "Rotate", err)
	if res != core.RotateOK {
		t.Fatalf("Rotate with canceled context: got %v, want ok", res)
	}
	mustOK(t, "DenyToken", s.DenyToken(ctx, "alice", "jti-1", now.Add(time.Hour)))
	r, err := s.Revoked(ctx, "alice", "jti-1", "sid-1")
	mustOK(t, "Revoked", err)
	if !r.TokenDenied || r.SessionRevoked {
		t.Fatalf("Revoked with canceled context: got %+v, want the jti denied and the session live", r)
	}
	mustOK(t, "RevokeFamily", s.RevokeFamily(ctx, "alice", "sid-1", now.Add(time.Hour)))
	mustOK(t, "CutOff", s.CutOff(ctx, "alice", now, now.Add(time.Hour)))
}

func TestMemoryStoreRevokedAllocs(t *testing.T) {
	s, clock := newMemoryStore(t)
	fill(t, s, clock.Now())
	var store core.Store = s // as the Manager calls it
	ctx := context.Background()
	cases := []struct {
		name                string
		subject, jti, sid   string
		wantDenied, wantSID bool
	}{
		{"hit", "alice", "jti-1", "sid-1", true, true},
		{"miss in known subject", "alice", "jti-x", "sid-x", false, false},
		{"unknown subject", "bob", "jti-1", "sid-1", false, false},
		{"empty ids", "alice", "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r core.Revocation
			var err error
			allocs := testing.AllocsPerRun(1000, func() {
				r, err = store.Revoked(ctx, tc.subject, tc.jti, tc.sid)
			})
			mustOK(t, "Revoked", err)
			if r.TokenDenied != tc.wantDenied || r.SessionRevoked != tc.wantSID {
				t.Errorf("Revoked: got denied %v revoked %v, want %v %v", r.TokenDenied, r.SessionRevoked, tc.wantDenied, tc.wantSID)
			}
			if allocs != 0 {
				t.Errorf("Revoked: got %v allocations per call, want 0", allocs)
			}
		})
	}
}

// TestMemoryStoreConcurrentUse runs reads, writes and sweeps at once, for the race detector.
func TestMemoryStoreConcurrentUse(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(memEpoch)
	s := core.NewMemoryStore(core.WithMemoryClock(clock.Now), core.WithSweepInterval(time.Millisecond))
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				now := clock.Now()
				jti := string(rune('a' + (g+i)%26))
				_ = s.DenyToken(ctx, "alice", jti, now.Add(time.Second))
				_ = s.RevokeFamily(ctx, "alice", jti, now.Add(time.Second))
				_ = s.CutOff(ctx, "alice", now, now.Add(time.Second))
				if _, err := s.Revoked(ctx, "alice", jti, jti); err != nil {
					t.Errorf("Revoked: got error %v, want nil", err)
					return
				}
				clock.Advance(10 * time.Millisecond)
				s.Sweep()
				_ = s.Len()
			}
		})
	}
	wg.Wait()
	clock.Advance(time.Minute)
	s.Sweep()
	expectLen(t, s, 0)
}

// TestMemoryStoreRevokedWhileWriting: Revoked takes no store-wide lock, yet a revocation is seen
// by every Revoked call that starts after the write returned, while other goroutines read the
// same subject without pause (run with -race).
func TestMemoryStoreRevokedWhileWriting(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(memEpoch)
	s := core.NewMemoryStore(core.WithMemoryClock(clock.Now), core.WithSweepInterval(0))
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	stop := make(chan struct{})
	var current atomic.Int64 // the subject being written: readers read it while it goes unlisted -> listed
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := current.Load()
				if _, err := s.Revoked(ctx, fmt.Sprintf("user-%d", i), fmt.Sprintf("jti-%d", i), fmt.Sprintf("sid-%d", i)); err != nil {
					t.Errorf("Revoked: %v", err)
					return
				}
			}
		})
	}
	until := memEpoch.Add(time.Hour)
	for i := range 300 {
		// A fresh subject each time: every write takes it from unlisted to listed.
		current.Store(int64(i))
		sub, sid, jti := fmt.Sprintf("user-%d", i), fmt.Sprintf("sid-%d", i), fmt.Sprintf("jti-%d", i)
		switch i % 4 {
		case 0:
			mustOK(t, "RevokeFamily", s.RevokeFamily(ctx, sub, sid, until))
		case 1:
			mustOK(t, "DenyToken", s.DenyToken(ctx, sub, jti, until))
		case 2:
			f := core.Family{Subject: sub, SessionID: sid, Current: "r", CurrentExpires: until, Expires: until}
			_, err := s.CreateFamily(ctx, f, core.SessionLimit{})
			mustOK(t, "CreateFamily", err)
			mustOK(t, "EndSessions", errOf(s.EndSessions(ctx, sub, "", until)))
		default:
			mustOK(t, "CutOff", s.CutOff(ctx, sub, memEpoch, until))
		}
		r, err := s.Revoked(ctx, sub, jti, sid)
		mustOK(t, "Revoked", err)
		if !r.SessionRevoked && !r.TokenDenied && !r.CutOff.Equal(memEpoch) {
			t.Fatalf("write %d: Revoked right after it returned sees nothing: %+v", i, r)
		}
	}
	close(stop)
	readers.Wait()
}

func errOf[T any](_ T, err error) error { return err }

func BenchmarkMemoryStoreRevoked(b *testing.B) {
	now := time.Now()
	s := core.NewMemoryStore()
	defer s.Close()
	ctx := context.Background()
	for _, sub := range []string{"alice", "bob", "carol"} {
		if err := s.DenyToken(ctx, sub, "jti-1", now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, sub, "sid-1", now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	var store core.Store = s
	b.ReportAllocs()
	for b.Loop() {
		// The common case: a subject with records, none of which match this token.
		if _, err := store.Revoked(ctx, "alice", "jti-2", "sid-2"); err != nil {
			b.Fatal(err)
		}
	}
}
