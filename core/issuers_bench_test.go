package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// BenchmarkTrustedIssuers is the cost of verifying an access token (ES256) with 1, 2, 10 and 100
// trusted issuers, against one issuer WithKeySource ("single"): the issuer is picked by a map
// lookup, so the count should not matter; the difference to "single" is the reading of the
// unverified iss.
func BenchmarkTrustedIssuers(b *testing.B) {
	ctx := context.Background()
	k := testKeys()
	clock := testutil.NewClock(t0)
	src := &fakeSource{keys: map[string]fakeKey{"k": {k.p256.Public(), "ES256"}}}
	run := func(b *testing.B, m *core.Manager, iss string) {
		tok := testutil.Mint(b, jwt.SigningMethodES256, k.p256, issuerClaims(iss, t0, nil), map[string]any{"kid": "k"})
		if _, err := m.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("single", func(b *testing.B) {
		m := remoteManager(b, clock, src, core.WithoutRevocationCheck())
		run(b, m, "https://idp.example/")
	})
	for _, n := range []int{1, 2, 10, 100} {
		b.Run(fmt.Sprintf("issuers=%d", n), func(b *testing.B) {
			var list []core.TrustedIssuer
			for i := range n {
				list = append(list, core.TrustedIssuer{Issuer: fmt.Sprintf("https://idp%d.example/", i), Keys: src})
			}
			m, err := core.New(core.WithTrustedIssuers(list...), core.WithAudience("api"), core.WithClock(clock.Now),
				core.WithLeeway(5*time.Second), core.WithLogger(nil), core.WithoutRevocationCheck())
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			run(b, m, list[n-1].Issuer)
		})
	}
	// Refusing a token of an issuer nobody trusts: the selection alone, no key, no signature.
	b.Run("untrusted", func(b *testing.B) {
		m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: "https://idp.example/", Keys: src}),
			core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		tok := testutil.Mint(b, jwt.SigningMethodES256, k.p256, issuerClaims("https://evil.example/", t0, nil), map[string]any{"kid": "k"})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Verify(ctx, tok); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
