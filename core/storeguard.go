package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Defaults of the store guard: every store call is bounded, and a store that keeps failing is
// given a rest instead of a queue of waiting requests.
const (
	// DefaultStoreTimeout bounds every store call the Manager makes, whatever the caller's
	// context allows. A healthy Redis on the same network answers in well under 10 ms; 300 ms
	// only fires for a store that is frozen, partitioned or overloaded.
	DefaultStoreTimeout = 300 * time.Millisecond
	// DefaultBreakerFailures is how many store failures in a row open the breaker.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long an open breaker answers without calling the store
	// before one probe call is let through.
	DefaultBreakerCooldown = 500 * time.Millisecond
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

// WithStoreTimeout bounds every call the Manager makes to its store, on top of whatever deadline
// the caller's context carries (the shorter one wins). A call that runs out fails closed with
// ErrStoreUnavailable (503), so a frozen store costs each request at most d instead of holding
// it, its goroutine and a connection until the store wakes up. Default: 300ms. d must be
// positive and at most 10s. The in-memory store, which cannot stall, is called without a
// deadline or breaker.
//
// The Redis store makes the deadline effective on the socket (go-redis honours context
// deadlines only with ContextTimeoutEnabled; redisstore.New refuses a client without it).
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 10*time.Second {
			return configError("WithStoreTimeout(%v): want a positive duration of at most 10s (default %v)", d, DefaultStoreTimeout)
		}
		c.guard.timeout = d
		return nil
	}
}

// WithStoreBreaker sets the circuit breaker in front of the store: after failures store errors
// in a row, the Manager stops calling the store for cooldown (on the Manager's clock, see
// WithClock) and answers at once (503 with
// Retry-After, or the fail-open answer of WithFailOpenRevocation); then it lets one call through
// as a probe, and the first success closes the breaker again, with no restart. A client that
// went away (ErrRequestCanceled) does not count. Defaults: 5 failures, 500ms. failures must be
// at least 1 and cooldown between 10ms and 1m.
func WithStoreBreaker(failures int, cooldown time.Duration) Option {
	return func(c *config) error {
		if failures < 1 {
			return configError("WithStoreBreaker: failures %d: want at least 1 (default %d)", failures, DefaultBreakerFailures)
		}
		if cooldown < 10*time.Millisecond || cooldown > time.Minute {
			return configError("WithStoreBreaker: cooldown %v: want between 10ms and 1m (default %v)", cooldown, DefaultBreakerCooldown)
		}
		c.guard.failures, c.guard.cooldown = failures, cooldown
		return nil
	}
}

// WithFailOpenRevocation makes the revocation check, and only it, fail open: while the store is
// unreachable (an error, a timeout or an open breaker), an access token that passes every
// stateless check (signature, exp, nbf, iat, issuer, audience, type, lifetime cap) is accepted,
// and each such acceptance is reported as an EventRevocationSkipped. Refresh, login and logout
// still fail closed: they change state the store must hold.
//
// The trade-off: availability of every API call during a store outage, against accepting a
// token that was revoked (logout, reuse detection, "log out everywhere") until the store is
// back or the token expires - at most the access TTL. The default (fail closed, 503) never
// accepts a token it could not check.
func WithFailOpenRevocation() Option {
	return func(c *config) error {
		c.guard.failOpen = true
		return nil
	}
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
func (m *Manager) call(ctx context.Context, op, what string, f func(ctx context.Context) error) error {
	if m.mem != nil {
		// The memory store cannot stall or fail for want of a network: no deadline (its timer
		// would cost more than the lookup) and no breaker. (Its per-request revocation lookup
		// does not come here at all: checkRevoked calls it directly, untimed.)
		start := m.storeStart()
		err := f(ctx)
		m.storeDone(ctx, op, start, err)
		if err != nil {
			err = storeError(what, err)
			m.storeFailed(ctx, op, err)
		}
		return err
	}
	now := m.cfg.now()
	ok, probe := m.breaker.allow(now)
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
				m.breaker.done(false, true, now, &m.cfg.guard)
				panic(p)
			}
		}()
	}
	start := m.storeStart()
	err := f(sctx)
	cancel()
	m.storeDone(ctx, op, start, err)
	if err == nil {
		m.breaker.done(true, probe, now, &m.cfg.guard)
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) { // the client went away: not the store's fault
		m.breaker.release(probe)
		return fmt.Errorf("%w: %s: %w", ErrRequestCanceled, what, context.Cause(ctx))
	}
	if errors.Is(context.Cause(sctx), errStoreDeadline) {
		err = fmt.Errorf("%w after %v: %w", errStoreDeadline, m.cfg.guard.timeout, err)
	}
	m.breaker.done(false, probe, m.cfg.now(), &m.cfg.guard)
	err = storeError(what, err)
	m.storeFailed(ctx, op, err)
	return err
}
