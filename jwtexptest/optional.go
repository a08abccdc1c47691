package jwtexptest

import (
	"context"
	"errors"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// ErrUnsupported is the error of a FaultyStore's optional-interface method (MarkDPoPProof,
// LoadKeyRing, SwapKeyRing) when the store it wraps does not implement that interface: the
// Manager then fails closed (503) where the feature needs the store.
var ErrUnsupported = errors.New("jwtexptest: the store under the FaultyStore does not implement this optional interface")

// The optional store interfaces a FaultyStore passes through to the store it wraps. Faults
// (Fail, Stall) apply to their calls as to every other; Shard and NotifyRevocations make no
// store call and are never failed.
var (
	_ core.DPoPReplayStore    = (*FaultyStore)(nil)
	_ core.KeyRingStore       = (*FaultyStore)(nil)
	_ core.RevocationNotifier = (*FaultyStore)(nil)
	_ core.ShardedStore       = (*FaultyStore)(nil)
)

// MarkDPoPProof implements core.DPoPReplayStore through the wrapped store (ErrUnsupported if it
// does not keep DPoP proofs).
func (s *FaultyStore) MarkDPoPProof(ctx context.Context, id string, until, now time.Time) (bool, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return false, err
	}
	rs, ok := in.(core.DPoPReplayStore)
	if !ok {
		return false, ErrUnsupported
	}
	return rs.MarkDPoPProof(ctx, id, until, now)
}

// LoadKeyRing implements core.KeyRingStore through the wrapped store (ErrUnsupported if it
// keeps no key rings).
func (s *FaultyStore) LoadKeyRing(ctx context.Context, name string, now time.Time) (core.KeyRingState, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return core.KeyRingState{}, err
	}
	ks, ok := in.(core.KeyRingStore)
	if !ok {
		return core.KeyRingState{}, ErrUnsupported
	}
	return ks.LoadKeyRing(ctx, name, now)
}

// SwapKeyRing implements core.KeyRingStore through the wrapped store (ErrUnsupported if it
// keeps no key rings).
func (s *FaultyStore) SwapKeyRing(ctx context.Context, name string, next core.KeyRingState, force bool, now time.Time) (core.KeyRingState, bool, error) {
	in, err := s.enter(ctx)
	if err != nil {
		return core.KeyRingState{}, false, err
	}
	ks, ok := in.(core.KeyRingStore)
	if !ok {
		return core.KeyRingState{}, false, ErrUnsupported
	}
	return ks.SwapKeyRing(ctx, name, next, force, now)
}

// Shard implements core.ShardedStore through the wrapped store: "" (one breaker for the whole
// store) when it cannot tell shards apart.
func (s *FaultyStore) Shard(subject string) string {
	if ss, ok := s.Inner().(core.ShardedStore); ok {
		return ss.Shard(subject)
	}
	return ""
}

// NotifyRevocations implements core.RevocationNotifier: fn hears the revocations of the
// wrapped store, and of the empty one that replaces it at Lose, which also announces that every
// subject's records may have changed (All). ok is false when the wrapped store cannot notify.
func (s *FaultyStore) NotifyRevocations(fn func(core.RevocationNotice)) (stop func(), ok bool) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if _, can := s.Inner().(core.RevocationNotifier); !can {
		return func() {}, false
	}
	if s.forward == nil {
		s.forward = s.listen(s.Inner())
	}
	s.nextListener++
	id := s.nextListener
	s.setListeners(func(old []listener) []listener { return append(old, listener{id, fn}) })
	return func() {
		s.lmu.Lock()
		defer s.lmu.Unlock()
		s.setListeners(func(old []listener) []listener {
			var kept []listener
			for _, l := range old {
				if l.id != id {
					kept = append(kept, l)
				}
			}
			return kept
		})
	}, true
}

// setListeners replaces the listener list by change(a copy of it). Called with s.lmu held.
func (s *FaultyStore) setListeners(change func([]listener) []listener) {
	var old []listener
	if p := s.listeners.Load(); p != nil {
		old = append(old, *p...)
	}
	next := change(old)
	s.listeners.Store(&next)
}

// listen registers the FaultyStore's forwarder with in and returns its stop (a no-op when in
// cannot notify). Called with s.lmu held.
func (s *FaultyStore) listen(in core.Store) (stop func()) {
	n, ok := in.(core.RevocationNotifier)
	if !ok {
		return func() {}
	}
	stop, _ = n.NotifyRevocations(s.announce)
	return stop
}

// announce passes a notice to every listener, without a lock: the wrapped store may call it
// holding its own.
func (s *FaultyStore) announce(n core.RevocationNotice) {
	if p := s.listeners.Load(); p != nil {
		for _, l := range *p {
			l.fn(n)
		}
	}
}
