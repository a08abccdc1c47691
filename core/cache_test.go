package core_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// The verified-token cache never changes an answer: expiry and revocation are checked on every
// hit, claims are copies, and forged tokens never enter it.
func TestVerifiedCache(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for name, k := range map[string]core.Key{"EdDSA": {Private: ed}, "HS256": {Secret: testutil.AccessSecret}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testVerifiedCache(t, k)
		})
	}
}

func testVerifiedCache(t *testing.T, k core.Key) {
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	m, err := core.New(core.WithAccessKeys(k), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now),
		core.WithLogger(nil), core.WithLeeway(5*time.Second), core.WithVerifiedCache(8))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, _ := m.Issue(ctx, "alice", nil)
	q, _ := m.Issue(ctx, "bob", nil)
	for i := 0; i < 3; i++ {
		c, err := m.Verify(ctx, p.AccessToken)
		if err != nil || c.Subject != "alice" {
			t.Fatalf("hit %d: got %v, %v", i, c, err)
		}
		c.Subject = "mallory" // a handler scribbling on its claims must not affect others
	}
	if c, _ := m.Verify(ctx, p.AccessToken); c.Subject != "alice" {
		t.Fatalf("cached claims were shared: got %q", c.Subject)
	}
	if _, err := m.Verify(ctx, testutil.Tamper(p.AccessToken)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("tampered copy of a cached token: got %v", err)
	}
	// Revocation is looked up on every hit.
	m.Verify(ctx, q.AccessToken)
	if err := m.RevokeSession(ctx, "bob", q.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, q.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("revoked cached token: got %v", err)
	}
	// Expiry is checked on every hit, with the leeway.
	clock.Advance(core.DefaultAccessTTL + 4*time.Second)
	if _, err := m.Verify(ctx, p.AccessToken); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("expired cached token: got %v", err)
	}
	// More distinct tokens than the cache holds keep verifying while entries are evicted (the
	// bound itself is checked in cache_internal_test.go).
	clock.Set(t0.Add(time.Hour))
	for i := 0; i < 50; i++ {
		r, _ := m.Issue(ctx, "carol", nil)
		if _, err := m.Verify(ctx, r.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := core.New(core.WithVerifiedCache(-1)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("negative cache size: got %v", err)
	}
}
