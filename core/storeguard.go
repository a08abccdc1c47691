package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

type storeGuardConfig struct {
	timeout  time.Duration
	failures int
	cooldown time.Duration
	failOpen bool // revocation check only: accept stateless-valid tokens while the store fails
}

func defaultStoreGuard() storeGuardConfig {
	return storeGuardConfig{timeout: DefaultStoreTimeout, failures: DefaultBreakerFailures, cooldown: DefaultBreakerCooldown}
}

// breaker counts consecutive store failures and opens for a cooldown after too many.
type breaker struct {
	mu        sync.Mutex
	failures  int       // consecutive failures
	openUntil time.Time // zero: closed
	probing   bool      // half-open: one probe call is out
}

// allow reports whether a store call may go out now; probe is true when the call is the one
// probe of a half-open breaker (its outcome decides the breaker's state).
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true, false
	case now.Before(b.openUntil) || b.probing:
		return false, false
	default:
		b.probing = true
		return true, true
	}
}

// done records the outcome of a call; it returns true when this call opened the breaker.
func (b *breaker) done(ok, probe bool, now time.Time, g *storeGuardConfig) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	if ok {
		b.failures, b.openUntil = 0, time.Time{}
		return false
	}
	b.failures++
	if probe || (b.openUntil.IsZero() && b.failures >= g.failures) {
		b.openUntil = now.Add(g.cooldown)
		return !probe
	}
	return false
}

// release forgets a probe whose outcome says nothing about the store (the caller went away).
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// retryAfter is the Retry-After value of a 503 (RFC 9110 §10.2.3): the breaker's cooldown in
// whole seconds, at least 1.
func (g storeGuardConfig) retryAfter() string {
	return strconv.Itoa(max(1, int((g.cooldown+time.Second-1)/time.Second)))
}

// call runs one store operation under the guard: the breaker decides whether it goes out at
// all, and it gets the Manager's deadline on top of ctx. op is the StoreOp* name (for events),
// what the operation in words (for the error). A failure is returned as ErrStoreUnavailable
// (and reported as EventStoreFailure); a caller that went away gets ErrRequestCanceled and is
// not counted against the store. A call the breaker refuses is reported as a failure too, but
// not timed: it never reached the store.
func (m *Manager) call(ctx context.Context, op, what, subject string, f func(ctx context.Context) error) error {
	if m.mem != nil {
		// The memory store cannot stall or fail for want of a network: no deadline (its timer
		// would cost more than the lookup) and no breaker. (Its per-request revocation lookup
		// does not come here at all: checkRevoked calls it directly, untimed.)
		start := m.storeStart()
		err := f(ctx)
		m.storeDone(ctx, op, start, err)
		if err != nil && !notAFailure(err) {
			err = storeError(what, err)
			m.storeFailed(ctx, op, err)
		}
		return err
	}
	now := m.cfg.now()
	b := m.breakerFor(subject)
	ok, probe := b.allow(now)
	if !ok {
		err := storeError(what, errBreakerOpen)
		m.storeFailed(ctx, op, err)
		return err
	}
	sctx, cancel := context.WithTimeoutCause(ctx, m.cfg.guard.timeout, errStoreDeadline)
	if probe {
		// A probe that panics (a store bug; net/http recovers the panic) is a failed probe: the
		// breaker opens for another cooldown instead of staying half-open with its one probe
		// "out" forever, or letting every request probe a store that panics.
		defer func() {
			if p := recover(); p != nil {
				cancel()
				b.done(false, true, now, &m.cfg.guard)
				panic(p)
			}
		}()
	}
	start := m.storeStart()
	err := f(sctx)
	cancel()
	m.storeDone(ctx, op, start, err)
	if err == nil {
		b.done(true, probe, now, &m.cfg.guard)
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) { // the client went away: not the store's fault
		b.release(probe)
		return fmt.Errorf("%w: %s: %w", ErrRequestCanceled, what, context.Cause(ctx))
	}
	if notAFailure(err) { // the store answered: a refusal or a repeat, not a failure
		b.done(true, probe, now, &m.cfg.guard)
		return err
	}
	if errors.Is(context.Cause(sctx), errStoreDeadline) {
		err = fmt.Errorf("%w after %v: %w", errStoreDeadline, m.cfg.guard.timeout, err)
	}
	b.done(false, probe, m.cfg.now(), &m.cfg.guard)
	err = storeError(what, err)
	m.storeFailed(ctx, op, err)
	return err
}

// maxShardBreakers bounds the per-shard breakers a Manager keeps: shard names come from the
// store's topology (one per server), not from requests, but a store that names shards by
// something larger must not grow the map without limit. Past it the store-wide breaker serves.
const maxShardBreakers = 1024

// shardBreakers are the breakers of a ShardedStore, one per shard name.
type shardBreakers struct {
	store ShardedStore // nil: the store is not sharded
	mu    sync.RWMutex
	m     map[string]*breaker
}

// breakerFor is the breaker in front of subject's records: its shard's for a ShardedStore that
// names one, else the store-wide one.
func (m *Manager) breakerFor(subject string) *breaker {
	s := &m.shards
	if s.store == nil || subject == "" {
		return &m.breaker
	}
	name := s.store.Shard(subject)
	if name == "" {
		return &m.breaker
	}
	s.mu.RLock()
	b := s.m[name]
	s.mu.RUnlock()
	if b != nil {
		return b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b = s.m[name]; b != nil {
		return b
	}
	if len(s.m) >= maxShardBreakers {
		return &m.breaker
	}
	if s.m == nil {
		s.m = map[string]*breaker{}
	}
	b = &breaker{}
	s.m[name] = b
	return b
}

// notAFailure reports whether err is an answer of the store rather than its failure: a login
// refused for a cut-off of the current second or for the subject's session churn, or a repeated
// login.
func notAFailure(err error) bool {
	var rep *LoginRepeatedError
	return errors.Is(err, ErrIssuedUnderCutOff) || errors.Is(err, ErrSessionChurn) || errors.As(err, &rep)
}
