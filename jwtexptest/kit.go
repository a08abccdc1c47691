package jwtexptest

import (
	"context"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// Fixed test secrets, long enough for HS256 (RFC 7518 §3.2). Never use them outside tests.
var (
	AccessSecret  = []byte("test-access-secret-0123456789abcdef")
	RefreshSecret = []byte("test-refresh-secret-0123456789abcdef")
)

// What a Kit's Manager is configured with, and what its tokens carry unless told otherwise.
const (
	Issuer   = "jwtexp-test"
	Audience = "jwtexp-api"
	Subject  = "alice"
)

// Kit is a jwtexp Manager for tests: HMAC keys of AccessSecret and RefreshSecret, issuer Issuer,
// audience Audience, a fake Clock every time check reads, and an in-memory store behind a
// FaultyStore, so a test can mint any token (Token), start real sessions (Login), move time and
// break the store.
type Kit struct {
	Clock   *Clock
	Manager *core.Manager
	Store   *FaultyStore
}

// New returns a Kit whose clock stands at the current second. opts are applied after the kit's
// own (WithHMAC, WithIssuer, WithAudience, WithClock, WithStore, WithLogger(nil)) and may
// override them, e.g. core.WithAccessTTL or core.WithLeeway; an option that makes core.New fail
// fails the test. The Manager and the store are closed when the test ends.
func New(t testing.TB, opts ...core.Option) *Kit {
	t.Helper()
	clock := NewClockNow()
	store := NewFaultyStore(func() core.Store { return core.NewMemoryStore(core.WithMemoryClock(clock.Now)) })
	base := []core.Option{
		core.WithHMAC(AccessSecret, RefreshSecret), core.WithIssuer(Issuer), core.WithAudience(Audience),
		core.WithClock(clock.Now), core.WithStore(store), core.WithLogger(nil),
	}
	m, err := core.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("jwtexptest.New: %v", err)
	}
	t.Cleanup(func() {
		m.Close()
		store.Close()
	})
	return &Kit{Clock: clock, Manager: m, Store: store}
}

// Token returns an access token signed with the Kit's access key: by default valid now for
// Subject, with the Kit's issuer and audience, a random jti, iat now and exp one access TTL
// later. opts make it any case a test needs (Expired, NotYetValid, WrongIssuer, WrongKey,
// AsRefreshToken, WithoutExp, WithLifetime, WithScopes, WithAuthTime, WithClaims, ...). The
// token is signed as written, so the Manager decides about it exactly as it would in production.
// Token signs with AccessSecret and RefreshSecret (HS256): a Kit built with other keys
// (core.WithAccessKeys) verifies with those, so its tokens come from Login, or from an
// IdentityProvider for a verification-only Manager.
func (k *Kit) Token(t testing.TB, opts ...TokenOption) string {
	t.Helper()
	return mint(t, keyring{
		access:  signer{method: hs256, key: AccessSecret},
		refresh: signer{method: hs256, key: RefreshSecret},
		wrong:   signer{method: hs256, key: []byte("not-the-kit-secret-0123456789abcdef")},
	}, defaults{iss: Issuer, aud: Audience, now: k.Clock.Now(), ttl: k.Manager.AccessTTL()}, opts)
}

// Login starts a real session for subject, as a login handler would after checking a password:
// the pair comes from Manager.Issue, with a refresh-token family in the store. custom claims
// (nil for none) are written into both tokens.
func (k *Kit) Login(t testing.TB, subject string, custom any) *core.TokenPair {
	t.Helper()
	p, err := k.Manager.Issue(context.Background(), subject, custom)
	if err != nil {
		t.Fatalf("jwtexptest: Issue: %v", err)
	}
	return p
}

// Advance moves the Kit's clock forward by d: tokens expire, records of the store lapse.
func (k *Kit) Advance(d time.Duration) { k.Clock.Advance(d) }
