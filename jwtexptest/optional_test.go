package jwtexptest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/jwtexptest"
)

// plainStore hides every optional interface of the store it wraps: a third-party store that
// implements core.Store only.
type plainStore struct{ core.Store }

// TestFaultyStoreOptionalInterfaces: the optional store interfaces reach the wrapped store, with
// the faults in force; a wrapped store without them is reported as such, never faked.
func TestFaultyStoreOptionalInterfaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := jwtexptest.NewClockNow()
	newMem := func() core.Store { return core.NewMemoryStore(core.WithMemoryClock(clock.Now)) }

	t.Run("DPoP proofs", func(t *testing.T) {
		fs := jwtexptest.NewFaultyStore(newMem)
		defer fs.Close()
		until := clock.Now().Add(time.Minute)
		mark := func() (bool, error) { return fs.MarkDPoPProof(ctx, "proof-1", until, clock.Now()) }
		if first, err := mark(); !first || err != nil {
			t.Fatalf("first mark: %v %v, want true", first, err)
		}
		if first, err := mark(); first || err != nil {
			t.Fatalf("replayed mark: %v %v, want false", first, err)
		}
		fs.Fail(nil)
		if _, err := mark(); !errors.Is(err, jwtexptest.ErrInjected) {
			t.Fatalf("failing store: %v, want ErrInjected", err)
		}
		fs.Heal()
		fs.Lose()
		if first, err := mark(); !first || err != nil {
			t.Fatalf("after Lose: %v %v, want true (the records went with the data)", first, err)
		}
		// A Manager that requires DPoP accepts the store (it did not before the pass-through).
		m, err := core.New(core.WithHMAC(jwtexptest.AccessSecret, jwtexptest.RefreshSecret),
			core.WithIssuer(jwtexptest.Issuer), core.WithAudience(jwtexptest.Audience),
			core.WithStore(fs), core.WithDPoPRequired(), core.WithLogger(nil))
		if err != nil {
			t.Fatalf("core.New with WithDPoPRequired over a FaultyStore: %v", err)
		}
		m.Close()

		plain := jwtexptest.NewFaultyStore(func() core.Store { return plainStore{newMem()} })
		defer plain.Close()
		if _, err := plain.MarkDPoPProof(ctx, "proof-1", until, clock.Now()); !errors.Is(err, jwtexptest.ErrUnsupported) {
			t.Fatalf("a wrapped store without DPoP records: %v, want ErrUnsupported", err)
		}
	})

	t.Run("key rings", func(t *testing.T) {
		fs := jwtexptest.NewFaultyStore(newMem)
		defer fs.Close()
		m, err := core.New(core.WithKeyRotation("ES256", time.Hour),
			core.WithKeyEncryptionKey("test-kek", []byte("0123456789abcdef0123456789abcdef")),
			core.WithIssuer(jwtexptest.Issuer), core.WithAudience(jwtexptest.Audience),
			core.WithStore(fs), core.WithLogger(nil), core.WithClock(clock.Now))
		if err != nil {
			t.Fatalf("core.New with key rotation over a FaultyStore: %v", err)
		}
		defer m.Close()
		p, err := m.Issue(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatalf("a token of the rotated key: %v", err)
		}
		st, err := fs.LoadKeyRing(ctx, "access", clock.Now())
		if err != nil || st.Generation < 1 || len(st.Document) == 0 {
			t.Fatalf("LoadKeyRing: generation %d, %d bytes, %v; want the ring the Manager stored", st.Generation, len(st.Document), err)
		}
		fs.Fail(nil)
		if _, err := fs.LoadKeyRing(ctx, "access", clock.Now()); !errors.Is(err, jwtexptest.ErrInjected) {
			t.Fatalf("failing store: %v, want ErrInjected", err)
		}
		if _, _, err := fs.SwapKeyRing(ctx, "access", st, true, clock.Now()); !errors.Is(err, jwtexptest.ErrInjected) {
			t.Fatalf("failing store: %v, want ErrInjected", err)
		}
		fs.Heal()
	})

	t.Run("revocation notices", func(t *testing.T) {
		k := jwtexptest.New(t)
		var mu sync.Mutex
		var got []core.RevocationNotice
		stop, ok := k.Store.NotifyRevocations(func(n core.RevocationNotice) {
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		})
		if !ok {
			t.Fatal("NotifyRevocations over a MemoryStore: ok false")
		}
		seen := func() []core.RevocationNotice {
			mu.Lock()
			defer mu.Unlock()
			return append([]core.RevocationNotice(nil), got...)
		}
		p := k.Login(t, "bob", nil)
		if err := k.Manager.Logout(ctx, p.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		if n := seen(); len(n) == 0 || n[len(n)-1].Subject != "bob" {
			t.Fatalf("after bob's logout: notices %+v, want one for bob", n)
		}
		k.Store.Lose()
		if n := seen(); !n[len(n)-1].All {
			t.Fatalf("after Lose: notices %+v, want All last", n)
		}
		// The listener moved to the new store.
		before := len(seen())
		p = k.Login(t, "carol", nil)
		if err := k.Manager.Logout(ctx, p.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		if n := seen(); len(n) == before || n[len(n)-1].Subject != "carol" {
			t.Fatalf("after Lose and carol's logout: notices %+v, want one for carol", n[before:])
		}
		stop()
		stop()
		before = len(seen())
		p = k.Login(t, "dave", nil)
		if err := k.Manager.Logout(ctx, p.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		if n := seen(); len(n) != before {
			t.Fatalf("after stop: %d more notices, want none", len(n)-before)
		}

		plain := jwtexptest.NewFaultyStore(func() core.Store { return plainStore{newMem()} })
		defer plain.Close()
		if _, ok := plain.NotifyRevocations(func(core.RevocationNotice) {}); ok {
			t.Fatal("a wrapped store that cannot notify: ok true")
		}
	})

	t.Run("shards", func(t *testing.T) {
		fs := jwtexptest.NewFaultyStore(newMem)
		defer fs.Close()
		if s := fs.Shard("alice"); s != "" {
			t.Fatalf("Shard over a MemoryStore: %q, want \"\" (one breaker)", s)
		}
	})
}
