package jwtexptest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// ErrInjected is the error a FaultyStore returns after Fail(nil).
var ErrInjected = errors.New("jwtexptest: store failure injected by the test")

// FaultyStore is a core.Store that passes every call to a real store until told to misbehave:
// Fail makes every call return an error, Stall makes every call hang until its context ends
// (the Manager's store timeout, core.WithStoreTimeout), Lose throws all data away, Heal ends
// Fail and Stall. Use it to test what an application answers when its store is down: the
// Manager fails closed with core.ErrStoreUnavailable, which the adapters answer with 503.
//
// A Manager counts store failures: after core.DefaultBreakerFailures in a row its circuit
// breaker opens and it answers 503 without calling the store until core.DefaultBreakerCooldown
// has passed on its clock (core.WithStoreBreaker). After Heal, advance a fake clock by the
// cooldown before expecting success.
//
// It passes the optional store interfaces through to the store it wraps, so a Manager over it
// keeps the features that need them: DPoP replay records (core.DPoPReplayStore), key rings
// (core.KeyRingStore), revocation notices for bound connections (core.RevocationNotifier) and
// per-shard breakers (core.ShardedStore). Faults apply to their store calls too. Over a store
// without one of them, its methods return ErrUnsupported (the Manager then fails closed) or
// report that they cannot (NotifyRevocations, Shard).
type FaultyStore struct {
	newStore func() core.Store
	calls    atomic.Int64

	mu      sync.Mutex
	inner   core.Store
	fail    error
	stalled chan struct{} // non-nil while stalled; closed by Heal

	// Revocation listeners (NotifyRevocations), heard through one forwarder registered with
	// the wrapped store. announce reads the list without a lock (the wrapped store may call it
	// holding its own); lmu orders the changes, and is held while registering with the store.
	lmu          sync.Mutex
	listeners    atomic.Pointer[[]listener]
	nextListener int
	forward      func() // stops the forwarder on the wrapped store; nil until the first listener
}

// listener is one NotifyRevocations registration.
type listener struct {
	id int
	fn func(core.RevocationNotice)
}

// NewFaultyStore returns a FaultyStore over the store newStore returns; Lose calls newStore
// again for an empty one. newStore must not be nil.
func NewFaultyStore(newStore func() core.Store) *FaultyStore {
	return &FaultyStore{newStore: newStore, inner: newStore()}
}

// Fail makes every call from now on return err (ErrInjected when err is nil) until Heal.
func (s *FaultyStore) Fail(err error) {
	if err == nil {
		err = ErrInjected
	}
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Stall makes every call from now on block until its context ends or Heal is called; the call
// then returns the context's error (or, after Heal, goes through).
func (s *FaultyStore) Stall() {
	s.mu.Lock()
	if s.stalled == nil {
		s.stalled = make(chan struct{})
	}
	s.mu.Unlock()
}

// Heal ends Fail and Stall: calls blocked by Stall go through, and so do new ones.
func (s *FaultyStore) Heal() {
	s.mu.Lock()
	s.fail = nil
	if s.stalled != nil {
		close(s.stalled)
		s.stalled = nil
	}
	s.mu.Unlock()
}

// Lose replaces the store with an empty one, as a store restarted without its data would be:
// every session, denylist entry and cut-off is gone. Revocation listeners move to the new store
// and hear that every subject's records may have changed.
func (s *FaultyStore) Lose() {
	fresh := s.newStore()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.mu.Lock()
	old := s.inner
	s.inner = fresh
	s.mu.Unlock()
	if s.forward != nil {
		s.forward()
		s.forward = s.listen(fresh)
	}
	old.Close()
	if s.forward != nil {
		s.announce(core.RevocationNotice{All: true})
	}
}

// Calls is the number of calls the store has received, failed and stalled ones included.
func (s *FaultyStore) Calls() int64 { return s.calls.Load() }

// Inner returns the store calls currently go to.
func (s *FaultyStore) Inner() core.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner
}

// enter applies the fault in force and returns the store to call.
func (s *FaultyStore) enter(ctx context.Context) (core.Store, error) {
	s.calls.Add(1)
	s.mu.Lock()
	inner, fail, stalled := s.inner, s.fail, s.stalled
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	if stalled != nil {
		select {
		case <-stalled:
			return s.Inner(), nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return inner, nil
}

// CreateFamily implements core.Store.
func (s *FaultyStore) CreateFamily(ctx context.Context, f core.Family, limit core.SessionLimit) ([]string, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	return in.CreateFamily(ctx, f, limit)
}

// Rotate implements core.Store.
func (s *FaultyStore) Rotate(ctx context.Context, req core.RotateRequest) (core.Family, core.RotateResult, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return core.Family{}, 0, err
	}
	return in.Rotate(ctx, req)
}

// RevokeFamily implements core.Store.
func (s *FaultyStore) RevokeFamily(ctx context.Context, subject, sid string, until time.Time) error {
	in, err := s.enter(ctx)
	if err != nil {
		return err
	}
	return in.RevokeFamily(ctx, subject, sid, until)
}

// DenyToken implements core.Store.
func (s *FaultyStore) DenyToken(ctx context.Context, subject, jti string, until time.Time) error {
	in, err := s.enter(ctx)
	if err != nil {
		return err
	}
	return in.DenyToken(ctx, subject, jti, until)
}

// CutOff implements core.Store.
func (s *FaultyStore) CutOff(ctx context.Context, subject string, at, until time.Time) error {
	in, err := s.enter(ctx)
	if err != nil {
		return err
	}
	return in.CutOff(ctx, subject, at, until)
}

// Sessions implements core.Store.
func (s *FaultyStore) Sessions(ctx context.Context, subject string) ([]core.Family, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	return in.Sessions(ctx, subject)
}

// EndSessions implements core.Store.
func (s *FaultyStore) EndSessions(ctx context.Context, subject, keep string, until time.Time) ([]string, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	return in.EndSessions(ctx, subject, keep, until)
}

// Revoked implements core.Store.
func (s *FaultyStore) Revoked(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return core.Revocation{}, err
	}
	return in.Revoked(ctx, subject, jti, sid)
}

// Close closes the store calls currently go to; it is safe to call more than once.
func (s *FaultyStore) Close() error { return s.Inner().Close() }

var _ core.Store = (*FaultyStore)(nil)
