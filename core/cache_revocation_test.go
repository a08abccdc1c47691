package core_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestCacheHitMatchesVerify: the middleware's call, AuthenticateContext, answering a token from
// the verified-token cache, must give Verify's answers hit after hit, through every kind of
// revocation and past exp plus the leeway, with the same events, and every accepted request gets
// claims of its own in a context of its own.
func TestCacheHitMatchesVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// change revokes the token, or moves the clock, after the token was answered from
		// the cache; want is the error both paths must then give (nil: still accepted).
		change func(m *core.Manager, clock *testutil.Clock, c *core.Claims) error
		want   error
	}{
		{"unchanged", func(*core.Manager, *testutil.Clock, *core.Claims) error { return nil }, nil},
		{"RevokeToken", func(m *core.Manager, _ *testutil.Clock, c *core.Claims) error { return m.RevokeToken(ctx, c) }, core.ErrTokenRevoked},
		{"RevokeSession", func(m *core.Manager, _ *testutil.Clock, c *core.Claims) error {
			return m.RevokeSession(ctx, c.Subject, c.SessionID)
		}, core.ErrTokenRevoked},
		{"RevokeSubject", func(m *core.Manager, _ *testutil.Clock, c *core.Claims) error { return m.RevokeSubject(ctx, c.Subject) }, core.ErrTokenRevoked},
		{"exp plus leeway", func(_ *core.Manager, clock *testutil.Clock, c *core.Claims) error {
			clock.Set(c.ExpiresAt.Add(5 * time.Second)) // the leeway of the Manager below
			return nil
		}, core.ErrTokenExpired},
		{"just before exp plus leeway", func(_ *core.Manager, clock *testutil.Clock, c *core.Claims) error {
			clock.Set(c.ExpiresAt.Add(5*time.Second - time.Nanosecond))
			return nil
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock(t0)
			var events []core.EventKind
			m, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer(testutil.Issuer),
				core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLeeway(5*time.Second), core.WithLogger(nil),
				core.WithEventHook(func(_ context.Context, e core.Event) {
					if e.Kind == core.EventAuthenticated || e.Kind == core.EventRejected {
						events = append(events, e.Kind)
					}
				}))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			p, err := m.Issue(ctx, "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+p.AccessToken)
			type key struct{}
			parent := context.WithValue(ctx, key{}, "parent")
			authenticate := func() (*core.Claims, error) {
				// AuthenticateContext first: Verify drops an expired entry, which would send
				// AuthenticateContext past the cache.
				hctx, hc, herr := m.HTTP().AuthenticateContext(parent, core.HTTPRequest(r), false)
				c, err := m.Verify(ctx, p.AccessToken)
				if !errors.Is(herr, err) && (err != nil || herr != nil) {
					t.Fatalf("AuthenticateContext: %v, Verify: %v", herr, err)
				}
				if err != nil {
					if hctx != parent || hc != nil {
						t.Fatalf("a refused request got %v, %+v; want the parent context and no claims", hctx, hc)
					}
					return nil, err
				}
				if hc == c || *hc != *c {
					t.Fatalf("AuthenticateContext's claims %p %+v, Verify's %p %+v: want equal copies", hc, hc, c, c)
				}
				if got, _ := core.ClaimsFromContext(hctx); got != hc || hctx.Value(key{}) != "parent" {
					t.Fatal("the context does not carry the claims, or lost the parent's value")
				}
				hc.Subject = "mallory" // must not reach the next request
				return c, nil
			}
			var c *core.Claims
			for i := range 4 { // first sight, then hits
				if c, err = authenticate(); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			if err := tc.change(m, clock, c); err != nil {
				t.Fatal(err)
			}
			events = events[:0]
			for i := range 3 {
				if _, err := authenticate(); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
					t.Fatalf("request %d after the change: got %v, want %v", i, err, tc.want)
				}
			}
			want := core.EventAuthenticated
			if tc.want != nil {
				want = core.EventRejected
			}
			if len(events) != 6 {
				t.Fatalf("events %v: want 6 (Verify and AuthenticateContext, 3 requests each)", events)
			}
			for _, e := range events {
				if e != want {
					t.Fatalf("events %v: want all %v", events, want)
				}
			}
		})
	}
}
