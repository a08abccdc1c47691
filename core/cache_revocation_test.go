package core_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// A cache hit with the memory store skips the revocation lookup while the store has written no
// revocation record since the token was last found not revoked. Every kind of revocation, made
// through the Manager or written to the store directly (as a second Manager sharing it would),
// must still refuse the next hit of a token answered from the cache many times before.
func TestVerifiedCacheRevocationAfterHits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	for _, tc := range []struct {
		name   string
		revoke func(m *core.Manager, store *core.MemoryStore, p *core.TokenPair, c *core.Claims) error
	}{
		{"RevokeToken", func(m *core.Manager, _ *core.MemoryStore, _ *core.TokenPair, c *core.Claims) error {
			return m.RevokeToken(ctx, c)
		}},
		{"RevokeSession", func(m *core.Manager, _ *core.MemoryStore, _ *core.TokenPair, c *core.Claims) error {
			return m.RevokeSession(ctx, c.Subject, c.SessionID)
		}},
		{"RevokeSubject", func(m *core.Manager, _ *core.MemoryStore, _ *core.TokenPair, c *core.Claims) error {
			return m.RevokeSubject(ctx, c.Subject)
		}},
		{"Logout", func(m *core.Manager, _ *core.MemoryStore, p *core.TokenPair, _ *core.Claims) error {
			return m.Logout(ctx, p.AccessToken, "")
		}},
		{"store.DenyToken", func(_ *core.Manager, s *core.MemoryStore, _ *core.TokenPair, c *core.Claims) error {
			return s.DenyToken(ctx, c.Subject, c.TokenID, c.ExpiresAt)
		}},
		{"store.RevokeFamily", func(_ *core.Manager, s *core.MemoryStore, _ *core.TokenPair, c *core.Claims) error {
			return s.RevokeFamily(ctx, c.Subject, c.SessionID, c.ExpiresAt)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
			defer store.Close()
			m, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer(testutil.Issuer),
				core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil), core.WithStore(store))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			p, err := m.Issue(ctx, "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			other, err := m.Issue(ctx, "bob", nil)
			if err != nil {
				t.Fatal(err)
			}
			var c *core.Claims
			for i := range 5 {
				if c, err = m.Verify(ctx, p.AccessToken); err != nil {
					t.Fatalf("hit %d: %v", i, err)
				}
				if _, err := m.Verify(ctx, other.AccessToken); err != nil {
					t.Fatalf("bob, hit %d: %v", i, err)
				}
			}
			if err := tc.revoke(m, store, p, c); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
					t.Fatalf("verify %d after the revocation: got %v, want ErrTokenRevoked", i, err)
				}
			}
			// A record of another subject made the lookup run again for bob: still accepted.
			if _, err := m.Verify(ctx, other.AccessToken); err != nil {
				t.Fatalf("bob after alice's revocation: %v", err)
			}
		})
	}
}

// Requests answered from the cache while another goroutine revokes: every Verify that starts
// after the revocation returned must refuse the token (run with -race).
func TestVerifiedCacheRevocationConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := testutil.SuiteManager(t, testutil.NewClock(t0))
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	var revoked atomic.Bool
	var late atomic.Int64 // verifies that started after the revocation and were accepted
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := revoked.Load()
				if _, err := m.Verify(ctx, p.AccessToken); err == nil && after {
					late.Add(1)
				}
			}
		}()
	}
	for range 1000 {
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.RevokeSession(ctx, "alice", p.SessionID); err != nil {
		t.Fatal(err)
	}
	revoked.Store(true)
	for range 1000 {
		if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
			t.Fatalf("after the revocation: got %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if n := late.Load(); n != 0 {
		t.Fatalf("%d verifies started after the revocation accepted the token", n)
	}
}
