package core_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestKeyRotation drives a rotation of the access key with the fake clock: tokens of the old key
// keep working until they expire, KeyRetirable turns true exactly when the last of them can no
// longer be accepted, and once the key is dropped a token naming it is refused.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testKeys()
	const leeway = 10 * time.Second
	clock := testutil.NewClock(t0)
	build := func(active core.Key, older ...core.Key) *core.Manager {
		m, err := core.New(core.WithAccessKeys(active, older...), core.WithRefreshKeys(core.Key{ID: "r", Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience),
			core.WithLeeway(leeway), core.WithClock(clock.Now), core.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	oldKey := core.Key{ID: "2026-01", Private: k.p256}
	newKey := core.Key{ID: "2026-02", Private: k.ed}

	before := build(oldKey)
	early, err := before.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	last, err := before.Issue(ctx, "bob", nil) // the old key's last token
	if err != nil {
		t.Fatal(err)
	}
	switchedAt := clock.Now()

	// Switch: the new key signs, the old one only verifies (and is still published).
	during := build(newKey, core.Key{ID: oldKey.ID, Public: k.p256.Public()})
	fresh, err := during.Issue(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	if kid := tokenHeader(t, fresh.AccessToken)["kid"]; kid != newKey.ID {
		t.Fatalf("new tokens carry kid %v, want %s", kid, newKey.ID)
	}
	for name, tok := range map[string]string{"early": early.AccessToken, "last": last.AccessToken, "fresh": fresh.AccessToken} {
		if _, err := during.Verify(ctx, tok); err != nil {
			t.Fatalf("%s token after the switch: %v", name, err)
		}
	}
	if kids := parseJWKS(t, during.JWKS()); len(kids) != 2 || kids[0]["kid"] != newKey.ID || kids[1]["kid"] != oldKey.ID {
		t.Fatalf("JWKS during the rotation: got %v, want the new then the old key", kids)
	}

	wantDrop := switchedAt.Add(during.AccessTTL() + leeway)
	if ok, at := during.KeyRetirable(oldKey.ID, switchedAt); ok || !at.Equal(wantDrop) {
		t.Fatalf("KeyRetirable right after the switch: got %v %v, want false %v", ok, at, wantDrop)
	}
	if ok, at := during.KeyRetirable(newKey.ID, switchedAt); ok || !at.IsZero() {
		t.Fatalf("the active key: got %v %v, want never retirable", ok, at)
	}
	if ok, at := during.KeyRetirable("r", switchedAt); ok || !at.IsZero() {
		t.Fatalf("the active refresh key: got %v %v, want never retirable", ok, at)
	}
	if ok, _ := during.KeyRetirable("never-configured", switchedAt); !ok {
		t.Fatal("an unknown kid has nothing to keep")
	}

	// Early token expires first; the last token still works one second before the drop time.
	clock.Set(early.AccessExpiresAt.Add(leeway))
	if _, err := during.Verify(ctx, early.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("early token at exp+leeway: got %v, want ErrTokenExpired", err)
	}
	clock.Set(wantDrop.Add(-time.Second))
	if _, err := during.Verify(ctx, last.AccessToken); err != nil {
		t.Fatalf("last token of the old key, 1s before the drop time: %v", err)
	}
	if ok, _ := during.KeyRetirable(oldKey.ID, switchedAt); ok {
		t.Fatal("retirable while one of its tokens is still accepted")
	}
	clock.Set(wantDrop)
	if _, err := during.Verify(ctx, last.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("last token at the drop time: got %v, want ErrTokenExpired", err)
	}
	if ok, _ := during.KeyRetirable(oldKey.ID, switchedAt); !ok {
		t.Fatal("not retirable once every token it signed has expired")
	}

	// Retired: the old key is gone from the set and from the JWKS; a token naming it (even a
	// brand-new one, as a leaked old key would sign) is refused as an unknown key.
	after := build(newKey)
	current, err := after.Issue(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Verify(ctx, current.AccessToken); err != nil {
		t.Fatalf("new-key token after retiring the old key: %v", err)
	}
	stray, err := build(oldKey).Issue(ctx, "mallory", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = after.Verify(ctx, stray.AccessToken)
	if !errors.Is(err, core.ErrSignature) || core.Reason(err) != "unknown key id" {
		t.Fatalf("token of the retired key: got %v (%q), want ErrSignature unknown key id", err, core.Reason(err))
	}
	if kids := parseJWKS(t, after.JWKS()); len(kids) != 1 || kids[0]["kid"] != newKey.ID {
		t.Fatalf("JWKS after the rotation: got %v", kids)
	}
}

// TestKeyRetirableRefresh: an older refresh key is kept for the refresh TTL plus leeway.
func TestKeyRetirableRefresh(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m, err := core.New(core.WithAccessKeys(core.Key{Secret: testutil.AccessSecret}),
		core.WithRefreshKeys(core.Key{ID: "r2", Secret: testutil.RefreshSecret}, core.Key{ID: "r1", Secret: []byte("the-previous-refresh-secret-0123456789")}),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLeeway(5*time.Second),
		core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	stopped := t0.Add(-time.Hour)
	want := stopped.Add(m.RefreshTTL() + 5*time.Second)
	if ok, at := m.KeyRetirable("r1", stopped); ok || !at.Equal(want) {
		t.Fatalf("got %v %v, want false %v", ok, at, want)
	}
	clock.Set(want)
	if ok, _ := m.KeyRetirable("r1", stopped); !ok {
		t.Fatal("not retirable after the refresh TTL and leeway")
	}
}

// After a rotation the old key stays in the set until every token it signed has expired.
func ExampleManager_KeyRetirable() {
	_, oldKey, _ := ed25519.GenerateKey(rand.Reader)
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	clock := testutil.NewClock(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	switchedAt := clock.Now() // the last instance started signing with the new key
	m, _ := core.New(
		core.WithAccessKeys(core.Key{ID: "2026-11", Private: newKey}, core.Key{ID: "2026-10", Public: oldKey.Public()}),
		core.WithRefreshKeys(core.Key{Secret: []byte("refresh-secret-0123456789abcdefghij")}),
		core.WithIssuer("example"), core.WithAudience("api"), core.WithLeeway(10*time.Second),
		core.WithClock(clock.Now), core.WithLogger(nil))
	defer m.Close()

	ok, at := m.KeyRetirable("2026-10", switchedAt)
	fmt.Println(ok, at.Format(time.TimeOnly))
	clock.Set(at)
	ok, _ = m.KeyRetirable("2026-10", switchedAt)
	fmt.Println(ok)
	// Output:
	// false 12:15:10
	// true
}
