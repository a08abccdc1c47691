package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// BenchKeys are the access keys of the benchmarks, one per algorithm, with what golang-jwt needs
// to verify the same tokens.
func benchKeys(b *testing.B) []struct {
	name   string
	key    core.Key
	verify any
	method jwt.SigningMethod
} {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	return []struct {
		name   string
		key    core.Key
		verify any
		method jwt.SigningMethod
	}{
		{"HS256", core.Key{Secret: testutil.AccessSecret}, testutil.AccessSecret, jwt.SigningMethodHS256},
		{"ES256", core.Key{Private: ec}, &ec.PublicKey, jwt.SigningMethodES256},
		{"EdDSA", core.Key{Private: ed}, ed.Public(), jwt.SigningMethodEdDSA},
		{"RS256", core.Key{Private: rs}, &rs.PublicKey, jwt.SigningMethodRS256},
	}
}

// BenchmarkAuthenticate measures one authenticated request's token work: extraction from the
// Authorization header, verification and the revocation lookup in the memory store ("memstore"),
// or without it ("nostore"); and golang-jwt's ParseWithClaims of the same token with exp, iss and
// aud checks for comparison.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	for _, k := range benchKeys(b) {
		clock := testutil.NewClockNow()
		m, err := core.New(core.WithAccessKeys(k.key), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil),
			core.WithVerifiedCache(0))
		if err != nil {
			b.Fatal(err)
		}
		cached, _ := core.New(core.WithAccessKeys(k.key), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil),
			core.WithStore(m.Store()))
		stateless, _ := core.New(core.WithAccessKeys(k.key), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil),
			core.WithoutRevocationCheck(), core.WithVerifiedCache(0))
		r, p := bearerRequest(b, m)
		b.Run(k.name+"/memstore", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Authenticate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cached.Authenticate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/nostore", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := stateless.Authenticate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/expired", func(b *testing.B) {
			clock.Advance(time.Hour)
			defer clock.Advance(-time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Authenticate(ctx, r); err == nil {
					b.Fatal("expired token accepted")
				}
			}
		})
		parser := jwt.NewParser(jwt.WithValidMethods([]string{k.method.Alg()}), jwt.WithExpirationRequired(),
			jwt.WithIssuer(testutil.Issuer), jwt.WithAudience(testutil.Audience), jwt.WithTimeFunc(clock.Now))
		keyFunc := func(*jwt.Token) (any, error) { return k.verify, nil }
		b.Run(k.name+"/golang-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.ParseWithClaims(p.AccessToken, &jwt.RegisteredClaims{}, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		m.Close()
		stateless.Close()
		cached.Close()
	}
}

// BenchmarkAuthenticateParallel is the HS256 request of BenchmarkAuthenticate (verified-token
// cache and memory store on, as by default) from GOMAXPROCS goroutines at once, the way a server
// calls it: shared state that every request writes to (a lock's reader count, a counter) shows
// here as ns/op that does not fall with more cores.
func BenchmarkAuthenticateParallel(b *testing.B) {
	ctx := context.Background()
	m, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	r, _ := bearerRequest(b, m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Authenticate(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// bearerRequest issues a token pair for alice and returns a GET request carrying its access token.
func bearerRequest(b *testing.B, m *core.Manager) (core.Request, *core.TokenPair) {
	b.Helper()
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+p.AccessToken)
	return core.HTTPRequest(req), p
}
