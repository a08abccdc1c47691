package benchmarks_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The reference implementations (names "ref-..."), measured only by BenchmarkEndToEndPaired,
// are middlewares on the framework's route that stand for jwtexp's in two ways:
//
//   - ref-copy makes only the allocation jwtexp makes per request: a private copy of the verified
//     claims, in one object with the context node that carries it, stored where jwtexp's adapter
//     stores its claims (the request's context; on Fiber also the Locals);
//   - ref-spin burns, as CPU alone, what jwtexp's whole middleware costs in process (its
//     allocation's in-process share included; measured on the framework's own request path just
//     before the rounds); it allocates nothing itself (Echo v4 still builds its per-request
//     closure for any middleware).
//
// If jwtexp cost end to end what its CPU time in process says, it would keep about what ref-spin
// keeps; ref-copy shows what the allocation costs end to end by itself.

// isRef reports whether impl is a reference implementation.
func isRef(impl string) bool { return strings.HasPrefix(impl, "ref-") }

type refKey struct{}

// refContext is the context node of ref-copy, built as core's: parent plus a copy of the claims.
type refContext struct {
	context.Context
	claims core.Claims
}

func (c *refContext) Value(key any) any {
	if _, ok := key.(refKey); ok {
		return &c.claims
	}
	return c.Context.Value(key)
}

// refClaims returns the claims fx's Manager verified for its valid token, the template ref-copy
// copies on every request.
func refClaims(b *testing.B, fx *fixture) *core.Claims {
	b.Helper()
	c, err := fx.m.Verify(context.Background(), strings.TrimPrefix(fx.authorization["valid"], "Bearer "))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// withRefClaims returns parent carrying a fresh copy of tmpl, and that copy.
func withRefClaims(parent context.Context, tmpl *core.Claims) (context.Context, *core.Claims) {
	c := &refContext{Context: parent, claims: *tmpl}
	return c, &c.claims
}

// refSpinIters is how many rounds of refSpin make jwtexp's in-process cost; calibrateSpin sets it.
var refSpinIters atomic.Int64

var refSpinSink atomic.Uint64

// refSpin burns refSpinIters rounds of a xorshift generator: CPU, and no memory.
func refSpin() {
	x := uint64(88172645463325252)
	for range refSpinIters.Load() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	if x == 0 { // never: keeps the loop from being optimized away without a shared write
		refSpinSink.Add(1)
	}
}

// calibrateSpin measures, in process, jwtexp's cost over bare for one request with authorization
// - the median of 9 paired differences, each of a 5000-request run of jwtexp right after one of
// bare, so that a burst of load from elsewhere lands in one pair, not in the result - sets
// refSpinIters to burn that long, and returns the cost in ns.
func calibrateSpin(b *testing.B, bare, jwtexp target, authorization string) float64 {
	b.Helper()
	const n = 5000
	rb, rj := bare.newRunner(authorization), jwtexp.newRunner(authorization)
	run := func(r runner) time.Duration {
		t0 := time.Now()
		for range n {
			r.serve()
		}
		return time.Since(t0)
	}
	run(rb)
	run(rj) // warm both
	diffs := make([]float64, 9)
	for i := range diffs {
		tb := run(rb)
		diffs[i] = float64(run(rj)-tb) / n
	}
	if rb.status() != 204 || rj.status() != 204 {
		b.Fatalf("calibration requests answered %d (bare) and %d (jwtexp), want 204", rb.status(), rj.status())
	}
	cost := median(diffs)
	const probe = 1 << 22
	refSpinIters.Store(probe)
	best := time.Duration(1 << 62)
	for range 5 {
		t0 := time.Now()
		refSpin()
		best = min(best, time.Since(t0))
	}
	refSpinIters.Store(max(int64(cost/(float64(best)/probe)), 1))
	return cost
}
