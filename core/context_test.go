package core_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

type ctxKey string

// AuthenticateContext answers as Authenticate and AuthenticateOptional do, and the context it
// returns behaves as one built with ContextWithClaims: the claims it carries are the ones
// returned, every other value, the deadline and the cancellation come from the parent.
func TestAuthenticateContext(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := testutil.SuiteManager(t, clock)
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	request := func(auth string) core.Request {
		r := httptest.NewRequest("GET", "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return core.HTTPRequest(r)
	}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey("app"), "value"))
	defer cancel()

	for i := range 3 { // first sight, then the verified-token cache
		ctx, c, err := m.HTTP().AuthenticateContext(parent, request("Bearer "+p.AccessToken), false)
		if err != nil || c == nil || c.Subject != "alice" {
			t.Fatalf("request %d: got %+v, %v", i, c, err)
		}
		if got, ok := core.ClaimsFromContext(ctx); !ok || got != c {
			t.Fatalf("request %d: context carries %p (%v), want the returned claims %p", i, got, ok, c)
		}
		if ctx.Value(ctxKey("app")) != "value" {
			t.Fatalf("request %d: the parent's value is lost", i)
		}
		c.Subject = "mallory" // a handler scribbling on its claims must not reach the next request
	}
	for _, optional := range []bool{false, true} {
		ctx, c, err := m.HTTP().AuthenticateContext(parent, request(""), optional)
		if ctx != parent || c != nil || (optional && err != nil) || (!optional && !errors.Is(err, core.ErrTokenMissing)) {
			t.Errorf("no credential, optional %v: got %v, %+v, %v; want the parent context and %v", optional, ctx, c, err, !optional)
		}
		ctx, c, err = m.HTTP().AuthenticateContext(parent, request("Bearer "+testutil.Tamper(p.AccessToken)), optional)
		if ctx != parent || c != nil || !errors.Is(err, core.ErrSignature) {
			t.Errorf("tampered token, optional %v: got %v, %+v, %v", optional, ctx, c, err)
		}
	}

	ctx, _, err := m.HTTP().AuthenticateContext(parent, request("Bearer "+p.AccessToken), false)
	if err != nil {
		t.Fatal(err)
	}
	child, stop := context.WithTimeout(ctx, time.Hour)
	defer stop()
	if got, ok := core.ClaimsFromContext(child); !ok || got.Subject != "alice" {
		t.Fatalf("derived context: got %+v, %v", got, ok)
	}
	cancel()
	select {
	case <-child.Done():
	default:
		t.Fatal("canceling the parent did not reach a context derived from the claims context")
	}
	if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(context.Cause(child), context.Canceled) {
		t.Fatalf("after cancel: Err %v, Cause %v", ctx.Err(), context.Cause(child))
	}

	clock.Advance(time.Hour) // past exp: the cached entry answers ErrTokenExpired as Authenticate does
	_, c, err := m.HTTP().AuthenticateContext(context.Background(), request("Bearer "+p.AccessToken), false)
	_, err2 := m.Authenticate(context.Background(), request("Bearer "+p.AccessToken))
	if c != nil || !errors.Is(err, core.ErrTokenExpired) || !errors.Is(err2, core.ErrTokenExpired) {
		t.Fatalf("expired: got %+v, %v (Authenticate: %v)", c, err, err2)
	}
}

// A token answered from the verified-token cache costs one allocation: the context node, which
// holds the request's copy of the claims.
func TestAuthenticateContextAllocations(t *testing.T) {
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	req, ctx := core.HTTPRequest(r), context.Background()
	var failed error
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := m.HTTP().AuthenticateContext(ctx, req, false); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 1 {
		t.Errorf("got %v allocations per cached request, want 1", allocs)
	}
	// A refused token costs no context node: it is allocated only for claims that passed, so a
	// refusal allocates what Authenticate's does (a token that decodes allocates its payload).
	for _, bad := range []string{"bm90.YSBKV1M.c2ln", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"} {
		r.Header.Set("Authorization", "Bearer "+bad)
		withNode := testing.AllocsPerRun(1000, func() { _, _, failed = m.HTTP().AuthenticateContext(ctx, req, false) })
		plain := testing.AllocsPerRun(1000, func() { _, failed = m.Authenticate(ctx, req) })
		if failed == nil || withNode != plain {
			t.Errorf("refused %q: AuthenticateContext allocates %v per request, Authenticate %v (err %v)", bad, withNode, plain, failed)
		}
	}
}
