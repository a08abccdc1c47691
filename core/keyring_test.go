package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestKeyRingMemoryStore(t *testing.T) {
	t.Parallel()
	testutil.KeyRingSuite(t, func(t *testing.T, clock *testutil.Clock) core.Store {
		s := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestKeyRingConfig: a bad key-ring configuration fails at New with a message saying what to
// change, the minimum period included.
func TestKeyRingConfig(t *testing.T) {
	t.Parallel()
	base := []core.Option{core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLogger(nil)}
	shared := core.NewMemoryStore()
	t.Cleanup(func() { shared.Close() })
	cases := []struct {
		name string
		opts []core.Option
		want string
	}{
		{"period too short for the access TTL", []core.Option{core.WithKeyRotation("EdDSA", 20*time.Second)},
			"period 20s is too short for access tokens living 15m0s with leeway 0s, sync interval 2s and JWKS max-age 8s: use at least 1m5s"},
		{"period too short for the max-age", []core.Option{core.WithKeyRotation("EdDSA", 20*time.Second), core.WithAccessTTL(10 * time.Second), core.WithJWKSMaxAge(30 * time.Second)},
			"use at least 38s"},
		{"refresh period too short", []core.Option{core.WithKeyRotation("EdDSA", time.Hour), core.WithRefreshKeyRotation(time.Hour)},
			"WithRefreshKeyRotation: period 1h0m0s is too short for refresh tokens living 168h0m0s with leeway 0s and sync interval 5s: use at least 12h0m1s"},
		{"unpublishable algorithm", []core.Option{core.WithKeyRotation("HS256", time.Hour)}, "is not one of EdDSA"},
		{"with static keys", []core.Option{core.WithKeyRotation("EdDSA", time.Hour), core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret)},
			"WithKeyRotation manages the signing keys: drop WithHMAC"},
		{"short KEK", []core.Option{core.WithKeyRotation("EdDSA", time.Hour), core.WithKeyEncryptionKey("k", make([]byte, 16))}, "needs exactly 32"},
		{"ring options without a ring", []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithJWKSMaxAge(time.Minute)}, "need WithKeyRotation"},
		{"store without key rings", []core.Option{core.WithKeyRotation("EdDSA", time.Hour), core.WithKeyEncryptionKey("k", testutil.KeyRingKEK), core.WithStore(noRingStore{shared})},
			"needs a store that keeps key rings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := core.New(append(base, c.opts...)...)
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrInvalidConfig containing %q", err, c.want)
			}
		})
	}
	// The minimum the message names is accepted.
	m, err := core.New(append(base, core.WithKeyRotation("EdDSA", 65*time.Second))...)
	if err != nil {
		t.Fatalf("65 s: %v", err)
	}
	m.Close()
	// A ring sealed with another KEK is refused at New.
	a, err := core.New(append(base, core.WithKeyRotation("EdDSA", time.Hour), core.WithStore(shared), core.WithKeyEncryptionKey("kek-1", testutil.KeyRingKEK))...)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	other := append([]byte(nil), testutil.KeyRingKEK...)
	other[0] ^= 1
	_, err = core.New(append(base, core.WithKeyRotation("EdDSA", time.Hour), core.WithStore(shared), core.WithKeyEncryptionKey("kek-1", other))...)
	if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "every instance needs the same key") {
		t.Fatalf("another KEK: got %v, want ErrInvalidConfig", err)
	}
}

// noRingStore hides the MemoryStore's KeyRingStore methods.
type noRingStore struct{ core.Store }

// countingSigners is a KMS in a map: it creates real keys and hands out signers that count their
// signatures; the store only ever sees the public keys.
type countingSigners struct {
	mu      sync.Mutex
	keys    map[string]crypto.Signer
	created atomic.Int64
	signs   atomic.Int64
}

type countingSigner struct {
	crypto.Signer
	n *atomic.Int64
}

func (s countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

func (c *countingSigners) NewSigner(_ context.Context, kid, alg string) (crypto.Signer, error) {
	var k crypto.Signer
	var err error
	switch alg {
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("no %s", alg)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[kid] = k
	c.created.Add(1)
	return countingSigner{k, &c.signs}, nil
}

func (c *countingSigners) Signer(_ context.Context, kid string) (crypto.Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[kid]
	if !ok {
		return nil, fmt.Errorf("no key %q", kid)
	}
	return countingSigner{k, &c.signs}, nil
}

// TestKeyRingSigners: with WithKeySigners the private keys stay in the "KMS": every token is
// signed by a call to its signer, tokens verify on another instance, the ring in the store holds
// no sealed key, and a rotation creates keys through the signers.
func TestKeyRingSigners(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := testutil.NewClock(t0)
			store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
			t.Cleanup(func() { store.Close() })
			kms := &countingSigners{keys: map[string]crypto.Signer{}}
			var ms []*core.Manager
			for range 2 {
				m, err := core.New(core.WithKeyRotation(alg, 20*time.Second), core.WithKeySigners(kms),
					core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience),
					core.WithAccessTTL(10*time.Second), core.WithRefreshTTL(time.Minute),
					core.WithClock(clock.Now), core.WithStore(store), core.WithLogger(nil))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				ms = append(ms, m)
			}
			for round := range 3 {
				before := kms.signs.Load()
				p, err := ms[round%2].Issue(ctx, "alice", nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := kms.signs.Load() - before; got != 2 { // access and refresh token
					t.Fatalf("round %d: %d signer calls for one pair, want 2", round, got)
				}
				if _, err := ms[(round+1)%2].Verify(ctx, p.AccessToken); err != nil {
					t.Fatalf("round %d: other instance: %v", round, err)
				}
				if _, err := ms[(round+1)%2].Refresh(ctx, p.RefreshToken); err != nil {
					t.Fatalf("round %d: refresh on the other instance: %v", round, err)
				}
				clock.Advance(20 * time.Second)
				for _, m := range ms {
					if err := m.SyncKeys(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			st, err := store.LoadKeyRing(ctx, "access", clock.Now())
			if err != nil || st.Generation < 4 {
				t.Fatalf("stored ring: generation %d, %v", st.Generation, err)
			}
			if strings.Contains(string(st.Document), "sealed") || !strings.Contains(string(st.Document), `"ext":true`) {
				t.Fatalf("stored ring holds sealed keys: %s", st.Document)
			}
			// 2 rings x (2 at creation + 3 rotations), maybe a few more by instances that lost a race.
			if n := kms.created.Load(); n < 10 {
				t.Fatalf("%d keys created through the signers, want at least 10", n)
			}
		})
	}
}

// TestKeyRingStaleCopy: an instance whose copy of the ring is older than two sync intervals
// (its background loop stalled) reads the store before it signs, rotating the ring when due, and
// the token it signs verifies on an instance that has not synced since: the new Current was its
// Next.
func TestKeyRingStaleCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	t.Cleanup(func() { store.Close() })
	var ms []*core.Manager
	var rotated atomic.Int64
	hook := func(_ context.Context, e core.Event) {
		if e.Kind == core.EventKeyRotated && e.Reason == "scheduled" {
			rotated.Add(1)
		}
	}
	for range 2 {
		m, err := core.New(testutil.KeyRingOptions(clock, store, hook)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	before := testutil.TokenKID(t, mustPair(t, ms[1]).AccessToken)
	clock.Advance(21 * time.Second)
	var wg sync.WaitGroup
	pairs := make([]*core.TokenPair, 8)
	for i := range pairs { // a burst of logins on the stale copy: one rotation
		wg.Add(1)
		go func() {
			defer wg.Done()
			pairs[i] = mustPair(t, ms[0])
		}()
	}
	wg.Wait()
	if n := rotated.Load(); n != 2 {
		t.Fatalf("%d rotations, want 2 (access and refresh rings, once each)", n)
	}
	for _, p := range pairs {
		if kid := testutil.TokenKID(t, p.AccessToken); kid == before {
			t.Fatalf("signed with the old Current %s after the rotation was due", kid)
		}
		if _, err := ms[1].Verify(ctx, p.AccessToken); err != nil {
			t.Fatalf("on the instance that has not synced: %v", err)
		}
	}
}

func mustPair(t *testing.T, m *core.Manager) *core.TokenPair {
	t.Helper()
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Error(err)
		return &core.TokenPair{AccessToken: "x.x.x"}
	}
	return p
}

// TestKeyRingLongSync: a sync interval that leaves no room for the publish-ahead is refused.
func TestKeyRingLongSync(t *testing.T) {
	t.Parallel()
	_, err := core.New(core.WithKeyRotation("EdDSA", 2*time.Second), core.WithKeyRingSync(900*time.Millisecond),
		core.WithAccessTTL(time.Second), core.WithIssuer("i"), core.WithAudience("a"), core.WithLogger(nil))
	if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "use at least 2.8s") {
		t.Fatalf("got %v, want the minimum 2.8s (1 s max-age + 2 x 900 ms)", err)
	}
}
