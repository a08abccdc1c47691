package testutil

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// KeyRingKEK is the key-encryption key of the key-ring tests (32 bytes, AES-256).
var KeyRingKEK = []byte("key-ring-kek-for-tests-only-0032")

// KeyRingOptions are the options of the key-ring suite's Managers: EdDSA keys rotated every 20 s,
// 10 s access tokens, a 5 s leeway, 1 min refresh tokens (so the refresh ring rotates every 20 s
// too), a 2 s sync interval and an 8 s JWKS max-age (the defaults for that period).
func KeyRingOptions(clock *Clock, store core.Store, hook core.Hook) []core.Option {
	return []core.Option{
		core.WithKeyRotation("EdDSA", 20*time.Second), core.WithKeyEncryptionKey("kek-1", KeyRingKEK),
		core.WithIssuer(Issuer), core.WithAudience(Audience),
		core.WithAccessTTL(10 * time.Second), core.WithRefreshTTL(time.Minute), core.WithLeeway(5 * time.Second),
		core.WithClock(clock.Now), core.WithStore(store), core.WithEventHook(hook), core.WithLogger(nil),
	}
}

// KeyRingSuite runs the key-ring cases against a store: newStore returns a fresh, empty store
// (shared by the Managers of one case) whose key-ring decisions follow clock.
func KeyRingSuite(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store) {
	t.Run("FiveRotationsThreeInstances", func(t *testing.T) { keyRingRotations(t, newStore) })
	t.Run("Emergency", func(t *testing.T) { keyRingEmergency(t, newStore) })
	t.Run("ConcurrentRotation", func(t *testing.T) { keyRingConcurrent(t, newStore) })
}

// keyRingConcurrent: eight Managers syncing at the same instant, right when a rotation is due,
// rotate each ring exactly once, and all sign with the same key afterwards.
func keyRingConcurrent(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store) {
	clock := NewClockNow()
	store := newStore(t, clock)
	var mu sync.Mutex
	count := map[string]int{}
	hook := func(_ context.Context, e core.Event) {
		if e.Kind == core.EventKeyRotated && e.Reason == "scheduled" {
			mu.Lock()
			count[e.Op]++
			mu.Unlock()
		}
	}
	var ms []*core.Manager
	for range 8 {
		m, err := core.New(KeyRingOptions(clock, store, hook)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	for round := 1; round <= 5; round++ {
		clock.Advance(20 * time.Second)
		var wg sync.WaitGroup
		startLine := make(chan struct{})
		errs := make([]error, len(ms))
		for i, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startLine
				errs[i] = m.SyncKeys(context.Background())
			}()
		}
		close(startLine)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := [2]int{count["access"], count["refresh"]}
		mu.Unlock()
		if got != [2]int{round, round} {
			t.Fatalf("round %d: %v rotations (access, refresh), want %d each", round, got, round)
		}
		kid := TokenKID(t, mustIssue(t, ms[0]).AccessToken)
		for i, m := range ms[1:] {
			if k := TokenKID(t, mustIssue(t, m).AccessToken); k != kid {
				t.Fatalf("round %d: instance %d signs with %s, instance 0 with %s", round, i+1, k, kid)
			}
		}
	}
}

// ringFleet is three Managers sharing one store, each syncing its key ring every sync interval
// at its own phase, as their background loops would.
type ringFleet struct {
	t        *testing.T
	clock    *Clock
	ms       []*core.Manager
	observer *core.Manager // syncs, never sees a token before its key retires: no cache hit
	lastSync []time.Time
	sync     time.Duration
	mu       sync.Mutex
	events   []core.Event
}

func newRingFleet(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store) *ringFleet {
	t.Helper()
	f := &ringFleet{t: t, clock: NewClockNow()}
	store := newStore(t, f.clock)
	hook := func(_ context.Context, e core.Event) {
		if e.Kind == core.EventKeyRotated || e.Kind == core.EventKeyRetiredPresented {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		}
	}
	for i := range 4 { // three instances and an observer that verifies only retired keys' tokens
		m, err := core.New(KeyRingOptions(f.clock, store, hook)...)
		if err != nil {
			t.Fatalf("New: got %v, want nil", err)
		}
		t.Cleanup(func() { m.Close() })
		f.ms = append(f.ms, m)
		// Phases 0, 0.7 s and 1.4 s into the 2 s interval.
		f.lastSync = append(f.lastSync, f.clock.Now().Add(-time.Duration(i)*700*time.Millisecond))
	}
	f.observer, f.ms = f.ms[3], f.ms[:3]
	f.sync = f.ms[0].KeyRingSync()
	if f.sync != 2*time.Second || f.ms[0].JWKSMaxAge() != 8*time.Second {
		t.Fatalf("sync %v, max-age %v: want 2s and 8s", f.sync, f.ms[0].JWKSMaxAge())
	}
	return f
}

// tick moves the clock by d and lets every instance whose interval has passed sync, all at once.
func (f *ringFleet) tick(d time.Duration) {
	f.t.Helper()
	f.clock.Advance(d)
	now := f.clock.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(f.ms)+1)
	for i, m := range append(f.ms, f.observer) {
		if now.Sub(f.lastSync[i]) >= f.sync {
			f.lastSync[i] = now
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.SyncKeys(context.Background())
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.t.Fatalf("SyncKeys: %v", err)
	}
}

func (f *ringFleet) rotations(ring string) []core.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.Event
	for _, e := range f.events {
		if e.Kind == core.EventKeyRotated && e.Op == ring && e.Reason != "created" {
			out = append(out, e)
		}
	}
	return out
}

// TokenKID returns the kid of a token's JOSE header ("" if none).
func TokenKID(tb testing.TB, token string) string {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(token, ".", 2)[0])
	if err != nil {
		tb.Fatalf("token header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		tb.Fatalf("token header: %v", err)
	}
	return h.Kid
}

// JWKSKIDs returns the kids of a JWK Set document.
func JWKSKIDs(tb testing.TB, doc []byte) []string {
	tb.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
			K   string `json:"k"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		tb.Fatalf("JWKS %s: %v", doc, err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.D != "" || k.K != "" {
			tb.Fatalf("JWKS %s publishes private or symmetric key material", doc)
		}
		out = append(out, k.Kid)
	}
	return out
}

type ringToken struct {
	access, refresh string
	kid             string
	by              int
	minted, exp     time.Time
}

// keyRingRotations: three Managers on one store through five rotations and more. At every step
// every live token verifies on every instance; each token's kid was in every instance's JWK Set
// at least the max-age before it was minted; retired keys leave the JWK Set and their tokens are
// refused; exactly one rotation per period, whichever instance makes it.
func keyRingRotations(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store) {
	ctx := context.Background()
	f := newRingFleet(t, newStore)
	start := f.clock.Now()
	maxAge := f.ms[0].JWKSMaxAge()
	firstKID := TokenKID(t, mustIssue(t, f.ms[0]).AccessToken)
	seen := make([]map[string]time.Time, len(f.ms)) // instance -> kid -> first time in its JWKS
	for i := range seen {
		seen[i] = map[string]time.Time{}
	}
	retired := map[string]time.Time{} // kid -> when it left every JWKS
	var tokens, expired []ringToken
	refusedRetired := 0
	const step = 500 * time.Millisecond
	verified, refreshed := 0, 0
	for n := 0; f.clock.Now().Sub(start) < 6*20*time.Second+10*time.Second; n++ {
		f.tick(step)
		now := f.clock.Now()
		published := map[string]bool{}
		for i, m := range f.ms {
			res := m.HTTP().ServeJWKS()
			if want := fmt.Sprintf("public, max-age=%d", int(maxAge/time.Second)); res.CacheControl != want {
				t.Fatalf("JWKS Cache-Control %q, want %q", res.CacheControl, want)
			}
			for _, kid := range JWKSKIDs(t, res.Body) {
				published[kid] = true
				if _, ok := seen[i][kid]; !ok {
					seen[i][kid] = now
				}
			}
		}
		for i, m := range f.ms {
			p, err := m.Issue(ctx, fmt.Sprintf("user-%d", i), nil)
			if err != nil {
				t.Fatalf("t+%v: instance %d: Issue: %v", now.Sub(start), i, err)
			}
			tok := ringToken{access: p.AccessToken, refresh: p.RefreshToken, kid: TokenKID(t, p.AccessToken),
				by: i, minted: now, exp: p.AccessExpiresAt}
			if tok.kid != firstKID {
				for j := range f.ms {
					at, ok := seen[j][tok.kid]
					if !ok || now.Sub(at) < maxAge {
						t.Fatalf("t+%v: instance %d signed with %s, in instance %d's JWKS since %v (ok %v): want at least %v before",
							now.Sub(start), i, tok.kid, j, at.Sub(start), ok, maxAge)
					}
				}
			}
			tokens = append(tokens, tok)
		}
		live := tokens[:0]
		for _, tok := range tokens {
			if now.Before(tok.exp) {
				live = append(live, tok)
			} else {
				expired = append(expired, tok)
			}
		}
		tokens = live
		waiting := expired[:0]
		for _, tok := range expired {
			if retired[tok.kid].IsZero() {
				waiting = append(waiting, tok)
				continue
			}
			for j, m := range f.ms {
				// ErrTokenExpired from the verified-token cache of an instance that saw the
				// token before it expired, else ErrSignature.
				if _, err := m.Verify(ctx, tok.access); !errors.Is(err, core.ErrTokenExpired) && !errors.Is(err, core.ErrSignature) {
					t.Fatalf("t+%v: instance %d: token of retired key %s: got %v, want it refused", now.Sub(start), j, tok.kid, err)
				}
			}
			if _, err := f.observer.Verify(ctx, tok.access); !errors.Is(err, core.ErrSignature) {
				t.Fatalf("t+%v: token of retired key %s: got %v, want ErrSignature (unknown key id)", now.Sub(start), tok.kid, err)
			}
			refusedRetired++
		}
		expired = waiting
		for _, tok := range tokens {
			for j, m := range f.ms {
				if _, err := m.Verify(ctx, tok.access); err != nil {
					t.Fatalf("t+%v: instance %d: token of instance %d minted at t+%v with key %s: %v",
						now.Sub(start), j, tok.by, tok.minted.Sub(start), tok.kid, err)
				}
				verified++
			}
		}
		// A refresh token minted by one instance refreshes on another.
		if last := tokens[len(tokens)-1]; n%3 == 0 {
			if _, err := f.ms[(last.by+1)%3].Refresh(ctx, last.refresh); err != nil {
				t.Fatalf("t+%v: refresh on another instance: %v", now.Sub(start), err)
			}
			refreshed++
		}
		for _, k := range f.ms[0].SigningKeys() {
			if k.Role == core.KeyRoleAccess && k.State == core.KeyRetired && published[k.ID] {
				t.Fatalf("t+%v: retired key %s still published", now.Sub(start), k.ID)
			}
		}
		for _, m := range seen {
			for kid := range m {
				if !published[kid] && retired[kid].IsZero() {
					retired[kid] = now
				}
			}
		}
	}
	for _, ring := range []string{"access", "refresh"} {
		rot := f.rotations(ring)
		if len(rot) != 6 {
			t.Errorf("%s ring: %d rotations in 6 periods, want 6", ring, len(rot))
		}
		for i := 1; i < len(rot); i++ {
			if d := rot[i].Time.Sub(rot[i-1].Time); d < 20*time.Second || d > 20*time.Second+f.sync {
				t.Errorf("%s ring: rotations %d and %d %v apart, want one per 20 s period", ring, i-1, i, d)
			}
		}
	}
	if len(retired) < 4 {
		t.Errorf("%d keys retired, want at least 4", len(retired))
	}
	if refusedRetired == 0 {
		t.Error("no token of a retired key was checked")
	}
	t.Logf("%d verifications, %d cross-instance refreshes, %d access rotations, %d keys retired, %d tokens of retired keys refused, 0 unknown kids",
		verified, refreshed, len(f.rotations("access")), len(retired), refusedRetired)
}

func mustIssue(t *testing.T, m *core.Manager) *core.TokenPair {
	t.Helper()
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return p
}

// keyRingEmergency: RetireCompromisedKey on one instance refuses the retired key's tokens there at
// once and on every instance within the sync interval; tokens of the promoted key verify
// everywhere; the refresh ring's emergency ends the sessions.
func keyRingEmergency(t *testing.T, newStore func(t *testing.T, clock *Clock) core.Store) {
	ctx := context.Background()
	f := newRingFleet(t, newStore)
	f.tick(25 * time.Second) // past one rotation
	f.tick(time.Second)
	f.tick(time.Second)
	var old []*core.TokenPair
	for _, m := range f.ms {
		old = append(old, mustIssue(t, m))
	}
	for _, m := range f.ms { // into every instance's verified-token cache
		for _, p := range old {
			if _, err := m.Verify(ctx, p.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
	}
	kid, err := f.ms[0].RetireCompromisedKey(ctx, core.KeyRoleAccess)
	if err != nil || kid != TokenKID(t, old[0].AccessToken) {
		t.Fatalf("RetireCompromisedKey: got %q, %v, want %q", kid, err, TokenKID(t, old[0].AccessToken))
	}
	for _, p := range old {
		if _, err := f.ms[0].Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrSignature) {
			t.Fatalf("on the retiring instance: got %v, want ErrSignature", err)
		}
	}
	fresh := mustIssue(t, f.ms[0])
	if TokenKID(t, fresh.AccessToken) == kid {
		t.Fatal("the retired key still signs")
	}
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < f.sync {
		f.tick(100 * time.Millisecond)
	}
	for j, m := range f.ms {
		for _, p := range old {
			if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrSignature) {
				t.Fatalf("instance %d, %v after the emergency: got %v, want ErrSignature", j, f.sync, err)
			}
		}
		if _, err := m.Verify(ctx, fresh.AccessToken); err != nil {
			t.Fatalf("instance %d: token of the promoted key: %v", j, err)
		}
		if kids := JWKSKIDs(t, m.JWKS()); strings.Contains(strings.Join(kids, " "), kid) {
			t.Fatalf("instance %d still publishes the retired key: %v", j, kids)
		}
	}
	// The refresh ring: every session ends.
	if _, err := f.ms[1].RetireCompromisedKey(ctx, core.KeyRoleRefresh); err != nil {
		t.Fatal(err)
	}
	for f.clock.Now().Sub(start) < 2*f.sync {
		f.tick(100 * time.Millisecond)
	}
	for j, m := range f.ms {
		if _, err := m.Refresh(ctx, fresh.RefreshToken); !errors.Is(err, core.ErrSignature) {
			t.Fatalf("instance %d: refresh token of the retired refresh key: got %v, want ErrSignature", j, err)
		}
	}
	f.mu.Lock()
	presented := 0
	for _, e := range f.events {
		if e.Kind == core.EventKeyRetiredPresented {
			presented++
		}
	}
	f.mu.Unlock()
	if presented == 0 {
		t.Error("no EventKeyRetiredPresented for tokens of the retired keys")
	}
}
