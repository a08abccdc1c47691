package redisstore

import (
	"sync"

	"github.com/jwtexp/jwtexp/core"
)

// The replica's announcements (core.RevocationNotifier): whoever listens hears of each
// revocation record the replica applies - a message of the subscription, so a revocation
// written by any instance, or a write of this store - and of every resync, after which the
// records of any subject may differ. The Manager ends the connections bound to revoked tokens
// with them (core.Manager.Bind).

// listeners holds the functions of NotifyRevocations.
type listeners struct {
	mu  sync.Mutex
	fns map[uint64]func(core.RevocationNotice)
	seq uint64
}

func (l *listeners) add(fn func(core.RevocationNotice)) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = make(map[uint64]func(core.RevocationNotice))
	}
	l.seq++
	id := l.seq
	l.fns[id] = fn
	return func() {
		l.mu.Lock()
		delete(l.fns, id)
		l.mu.Unlock()
	}
}

func (l *listeners) announce(n core.RevocationNotice) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fn := range l.fns {
		fn(n)
	}
}

// NotifyRevocations implements core.RevocationNotifier through the local replica
// (WithLocalReplica): fn hears of every revocation record the replica applies, whichever
// instance wrote it, as soon as the Pub/Sub message arrives, and of every resync (with All set).
// While the replica is out of sync (Redis unreachable, the replica over its bound) nothing is
// announced; the resync that brings it back is. Without the replica ok is false: the Manager
// then asks the store every core.WithConnectionCheckInterval.
func (s *Store) NotifyRevocations(fn func(core.RevocationNotice)) (stop func(), ok bool) {
	if s.replica == nil {
		return func() {}, false
	}
	return s.replica.listen.add(fn), true
}

var _ core.RevocationNotifier = (*Store)(nil)
