package jwtexptest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/jwtexptest"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// TestTokenCases: every case the kit mints gets the verdict the Manager gives in production.
func TestTokenCases(t *testing.T) {
	t.Parallel()
	k := jwtexptest.New(t, core.WithLeeway(5*time.Second), core.WithAccessTTL(15*time.Minute))
	now := k.Clock.Now()
	type profile struct {
		Tenant string `json:"tenant"`
	}
	for _, tc := range []struct {
		name string
		opts []jwtexptest.TokenOption
		want error // nil: accepted
	}{
		{"valid", nil, nil},
		{"expired by 1m", []jwtexptest.TokenOption{jwtexptest.Expired(time.Minute)}, core.ErrTokenExpired},
		{"expired within the leeway", []jwtexptest.TokenOption{jwtexptest.Expired(2 * time.Second)}, nil},
		{"not yet valid", []jwtexptest.TokenOption{jwtexptest.NotYetValid(time.Minute)}, core.ErrTokenNotYetValid},
		{"issued in the future", []jwtexptest.TokenOption{jwtexptest.IssuedAt(now.Add(time.Minute))}, core.ErrTokenNotYetValid},
		{"wrong issuer", []jwtexptest.TokenOption{jwtexptest.WrongIssuer()}, core.ErrClaims},
		{"wrong audience", []jwtexptest.TokenOption{jwtexptest.WrongAudience()}, core.ErrClaims},
		{"two audiences, one ours", []jwtexptest.TokenOption{jwtexptest.WithAudience("other", jwtexptest.Audience)}, nil},
		{"wrong key", []jwtexptest.TokenOption{jwtexptest.WrongKey()}, core.ErrSignature},
		{"refresh token as access token", []jwtexptest.TokenOption{jwtexptest.AsRefreshToken()}, core.ErrTokenType},
		{"missing exp", []jwtexptest.TokenOption{jwtexptest.WithoutExp()}, core.ErrClaims},
		{"lifetime too long", []jwtexptest.TokenOption{jwtexptest.WithLifetime(365 * 24 * time.Hour)}, core.ErrClaims},
		{"short lifetime", []jwtexptest.TokenOption{jwtexptest.WithLifetime(time.Minute)}, nil},
		{"crit header", []jwtexptest.TokenOption{jwtexptest.WithHeader("crit", []string{"x-unknown"}), jwtexptest.WithClaim("x-unknown", 1)}, core.ErrSignature},
		{"with scopes", []jwtexptest.TokenOption{jwtexptest.WithScopes("read", "admin")}, nil},
		{"with custom claims", []jwtexptest.TokenOption{jwtexptest.WithClaims(profile{Tenant: "acme"})}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Manager.Verify(context.Background(), k.Token(t, tc.opts...))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	c, err := k.Manager.Verify(context.Background(), k.Token(t, jwtexptest.WithScopes("read", "admin"),
		jwtexptest.WithAuthTime(now.Add(-time.Minute)), jwtexptest.WithClaims(profile{Tenant: "acme"}), jwtexptest.WithSubject("bob")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := core.CustomClaims[profile](c)
	if c.Subject != "bob" || !c.HasScope("admin") || !c.AuthTime.Equal(now.Add(-time.Minute)) || err != nil || p.Tenant != "acme" {
		t.Fatalf("claims: sub %q scopes %v auth_time %v custom %+v %v", c.Subject, c.Scopes(), c.AuthTime, p, err)
	}
}

// TestClockMovesExpiry: a token of the kit expires when the kit's clock says so.
func TestClockMovesExpiry(t *testing.T) {
	t.Parallel()
	k := jwtexptest.New(t, core.WithAccessTTL(time.Minute))
	tok := k.Token(t)
	k.Advance(59 * time.Second)
	if _, err := k.Manager.Verify(context.Background(), tok); err != nil {
		t.Fatalf("before exp: %v", err)
	}
	k.Advance(time.Second)
	if _, err := k.Manager.Verify(context.Background(), tok); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("at exp: %v, want ErrTokenExpired", err)
	}
}

// TestFaultyStore: with the store failing, stalled or emptied, an application built on the Kit's
// Manager answers 503 (fail closed) or ends the session, and recovers after Heal.
func TestFaultyStore(t *testing.T) {
	t.Parallel()
	k := jwtexptest.New(t, core.WithStoreTimeout(20*time.Millisecond))
	srv := httptest.NewServer(nethttpjwt.RefreshHandler(k.Manager))
	t.Cleanup(srv.Close)
	refresh := func(token string) (int, string) {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"refresh_token":"`+token+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.RefreshToken
	}
	pair := k.Login(t, "alice", nil)

	k.Store.Fail(nil)
	if code, _ := refresh(pair.RefreshToken); code != 503 {
		t.Fatalf("store failing: got %d, want 503", code)
	}
	k.Store.Heal()
	k.Store.Stall()
	if code, _ := refresh(pair.RefreshToken); code != 503 {
		t.Fatalf("store stalled: got %d, want 503", code)
	}
	k.Store.Heal()
	code, next := refresh(pair.RefreshToken)
	if code != 200 || next == "" {
		t.Fatalf("store healed: got %d, want 200 (the failed refreshes changed nothing)", code)
	}
	k.Store.Lose()
	if code, _ := refresh(next); code/100 != 4 {
		t.Fatalf("store lost its data: got %d, want a refusal (the session is gone)", code)
	}
	if k.Store.Calls() < 4 {
		t.Fatalf("%d store calls", k.Store.Calls())
	}
}

// TestIdentityProvider: a verification-only Manager trusting the provider (through a minimal
// key source reading its discovery document and JWK Set) accepts its tokens, follows a key
// rotation, and refuses tokens of a retired key and of an unpublished one.
func TestIdentityProvider(t *testing.T) {
	t.Parallel()
	clock := jwtexptest.NewClockNow()
	idp := jwtexptest.NewIdentityProvider(t, "ES256", clock.Now, 5*time.Minute)
	src := &discoveryKeys{issuer: idp.URL}
	m, err := core.New(core.WithKeySource(src), core.WithIssuer(idp.URL), core.WithAudience(jwtexptest.Audience),
		core.WithClock(clock.Now), core.WithAccessTTL(5*time.Minute), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	old := idp.Token(t)
	if _, err := m.Verify(ctx, old); err != nil {
		t.Fatalf("provider token: %v", err)
	}
	idp.Rotate(t)
	if _, err := m.Verify(ctx, idp.Token(t)); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, err := m.Verify(ctx, old); err != nil {
		t.Fatalf("token of the previous key, still published: %v", err)
	}
	idp.Retire(t)
	if _, err := m.Verify(ctx, old); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("token of a retired key: %v, want ErrSignature", err)
	}
	if _, err := m.Verify(ctx, idp.Token(t, jwtexptest.WrongKey())); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("token signed with an unpublished key: %v, want ErrSignature", err)
	}
	if _, err := m.Verify(ctx, idp.Token(t, jwtexptest.Expired(time.Minute))); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("expired provider token: %v, want ErrTokenExpired", err)
	}
	if idp.Fetches() < 3 {
		t.Fatalf("%d fetches of the JWK Set, want one per unknown kid at least", idp.Fetches())
	}
	for _, alg := range []string{"RS256", "EdDSA"} {
		other := jwtexptest.NewIdentityProvider(t, alg, clock.Now, time.Minute)
		parsed, _, err := jwt.NewParser().ParseUnverified(other.Token(t), jwt.MapClaims{})
		if err != nil || parsed.Method.Alg() != alg || parsed.Header["kid"] != "key-1" {
			t.Fatalf("%s provider token: %v %v", alg, err, parsed.Header)
		}
	}
}

// discoveryKeys is the least a resource server does with an identity provider: read issuer and
// jwks_uri from the discovery document, then the P-256 keys of the JWK Set, again for every
// unknown kid. (Applications use core/jwks.)
type discoveryKeys struct{ issuer string }

func (d *discoveryKeys) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, string, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(d.issuer+jwtexptest.DiscoveryPath, &disc); err != nil || disc.Issuer != d.issuer {
		return nil, "", fmt.Errorf("discovery: %v (issuer %q)", err, disc.Issuer)
	}
	var set struct {
		Keys []struct{ Kid, Kty, Crv, Alg, X, Y string }
	}
	if err := getJSON(disc.JWKSURI, &set); err != nil {
		return nil, "", err
	}
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "EC" || k.Crv != "P-256" {
			continue
		}
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, k.Alg, nil
	}
	return nil, "", fmt.Errorf("no key %q", kid)
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
