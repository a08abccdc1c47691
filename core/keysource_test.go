package core_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// fakeSource is a core.KeySource over a map, counting lookups.
type fakeSource struct {
	mu    sync.Mutex
	keys  map[string]fakeKey
	calls int
}

type fakeKey struct {
	pub crypto.PublicKey
	alg string
}

func (s *fakeSource) VerificationKey(_ context.Context, kid string) (crypto.PublicKey, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	k, ok := s.keys[kid]
	if !ok {
		return nil, "", fmt.Errorf("no key %q", kid)
	}
	return k.pub, k.alg, nil
}

func (s *fakeSource) set(kid string, pub crypto.PublicKey, alg string) {
	s.mu.Lock()
	s.keys[kid] = fakeKey{pub, alg}
	s.mu.Unlock()
}

func remoteManager(t testing.TB, clock *testutil.Clock, src core.KeySource, opts ...core.Option) *core.Manager {
	t.Helper()
	base := []core.Option{core.WithKeySource(src), core.WithIssuer("https://idp.example/"), core.WithAudience("api"),
		core.WithLeeway(5 * time.Second), core.WithClock(clock.Now), core.WithLogger(nil)}
	m, err := core.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// idpClaims are the claims of an identity provider's access token issued at iat.
func idpClaims(iat time.Time, over jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "https://idp.example/", "aud": []string{"api", "other"}, "sub": "user-1",
		"iat": iat.Unix(), "exp": iat.Add(10 * time.Minute).Unix(), "jti": "j-1"}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestKeySourceVerification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testKeys()
	src := &fakeSource{keys: map[string]fakeKey{
		"rsa":     {k.rsa.Public(), ""},       // no alg in the JWK: RS256
		"ps":      {k.rsa2.Public(), "PS256"}, // declared alg
		"ec":      {k.p256.Public(), "ES256"},
		"ed":      {k.ed.Public(), ""},
		"small":   {k.small.Public(), "RS256"},
		"oct":     {[]byte(strings.Repeat("s", 32)), "HS256"},
		"badalg":  {k.p256.Public(), "ES384"},
		"hmacalg": {k.rsa.Public(), "HS256"},
	}}
	clock := testutil.NewClock(t0)
	m := remoteManager(t, clock, src)
	if !m.VerificationOnly() {
		t.Fatal("WithKeySource must make a verification-only Manager")
	}
	mint := func(method jwt.SigningMethod, key any, kid string, over jwt.MapClaims) string {
		h := map[string]any{"kid": kid}
		if kid == "" {
			h = map[string]any{"kid": nil}
		}
		return testutil.Mint(t, method, key, idpClaims(clock.Now(), over), h)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"RS256 by default for RSA", mint(jwt.SigningMethodRS256, k.rsa, "rsa", nil), nil},
		{"PS256 declared", mint(jwt.SigningMethodPS256, k.rsa2, "ps", nil), nil},
		{"ES256", mint(jwt.SigningMethodES256, k.p256, "ec", nil), nil},
		{"EdDSA", mint(jwt.SigningMethodEdDSA, k.ed, "ed", nil), nil},
		{"PS256 with an RSA key declaring none", mint(jwt.SigningMethodPS256, k.rsa, "rsa", nil), core.ErrSignature},
		{"RS256 with a key declared PS256", mint(jwt.SigningMethodRS256, k.rsa2, "ps", nil), core.ErrSignature},
		{"HS256 signed with the RSA public key", testutil.HS256(k.rsa.PublicKey.N.Bytes(), `{"alg":"HS256","kid":"rsa"}`, `{"iss":"https://idp.example/"}`), core.ErrSignature},
		{"oct key in the set", mint(jwt.SigningMethodHS256, []byte(strings.Repeat("s", 32)), "oct", nil), core.ErrSignature},
		{"JWK alg that does not fit the key", mint(jwt.SigningMethodES256, k.p256, "badalg", nil), core.ErrSignature},
		{"JWK alg HS256 on an RSA key", mint(jwt.SigningMethodRS256, k.rsa, "hmacalg", nil), core.ErrSignature},
		{"RSA key under 2048 bits", mint(jwt.SigningMethodRS256, k.small, "small", nil), core.ErrSignature},
		{"unknown kid", mint(jwt.SigningMethodRS256, k.rsa, "nope", nil), core.ErrSignature},
		{"no kid", mint(jwt.SigningMethodRS256, k.rsa, "", nil), core.ErrSignature},
		{"signed by another key", mint(jwt.SigningMethodRS256, k.rsa2, "rsa", nil), core.ErrSignature},
		{"other issuer", mint(jwt.SigningMethodRS256, k.rsa, "rsa", jwt.MapClaims{"iss": "https://evil.example/"}), core.ErrIssuer},
		{"other audience", mint(jwt.SigningMethodRS256, k.rsa, "rsa", jwt.MapClaims{"aud": "billing"}), core.ErrAudience},
		{"no exp", mint(jwt.SigningMethodRS256, k.rsa, "rsa", jwt.MapClaims{"exp": nil}), core.ErrExpMissing},
		{"lifetime over the cap", mint(jwt.SigningMethodRS256, k.rsa, "rsa", jwt.MapClaims{"exp": t0.Add(24 * time.Hour).Unix()}), core.ErrLifetime},
		{"iat in the future", mint(jwt.SigningMethodRS256, k.rsa, "rsa", jwt.MapClaims{"iat": t0.Add(time.Minute).Unix(), "exp": t0.Add(5 * time.Minute).Unix()}), core.ErrTokenNotYetValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.Verify(ctx, tc.token)
			if tc.want == nil {
				if err != nil || c.Subject != "user-1" {
					t.Fatalf("got %v, %v; want accepted", c, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	// Expiry with the leeway, on the same clock as self-issued tokens.
	tok := mint(jwt.SigningMethodES256, k.p256, "ec", nil)
	clock.Advance(10*time.Minute + 4*time.Second)
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := m.Verify(ctx, tok); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("past exp + leeway: got %v, want ErrTokenExpired", err)
	}

	// Revocation records of the store apply to remote tokens too.
	tok = mint(jwt.SigningMethodES256, k.p256, "ec", jwt.MapClaims{"jti": "revoke-me"})
	c, err := m.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, tok); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("revoked: got %v, want ErrTokenRevoked", err)
	}

	// The issuer replaces the key behind a kid: the Manager follows, the old signature fails.
	old := mint(jwt.SigningMethodEdDSA, k.ed, "ed", nil)
	src.set("ed", k.ed2.Public(), "EdDSA")
	if _, err := m.Verify(ctx, old); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("key replaced: got %v, want ErrSignature", err)
	}
	if _, err := m.Verify(ctx, mint(jwt.SigningMethodEdDSA, k.ed2, "ed", nil)); err != nil {
		t.Fatalf("token of the replacing key: %v", err)
	}
}

func TestVerificationOnlyRefusesIssuing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := remoteManager(t, testutil.NewClock(t0), &fakeSource{keys: map[string]fakeKey{}})
	if _, err := m.Issue(ctx, "alice", nil); !errors.Is(err, core.ErrVerificationOnly) {
		t.Fatalf("Issue: got %v, want ErrVerificationOnly", err)
	}
	if _, err := m.Refresh(ctx, "x.y.z"); !errors.Is(err, core.ErrVerificationOnly) {
		t.Fatalf("Refresh: got %v, want ErrVerificationOnly", err)
	}
	for name, r := range map[string]core.Response{
		"Problem":      m.HTTP().Problem(core.ErrVerificationOnly),
		"ServeRefresh": m.HTTP().ServeRefresh(ctx, core.HTTPRequest(httptest.NewRequest("POST", "/refresh", strings.NewReader(`{"refresh_token":"x"}`)))),
	} {
		if r.Status != http.StatusNotImplemented || !strings.Contains(string(r.Body), `"error":"not_implemented"`) {
			t.Errorf("%s: got %d %s, want 501 not_implemented", name, r.Status, r.Body)
		}
	}
	if got := string(m.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("JWKS of a verification-only manager: got %s", got)
	}
	if ok, _ := m.KeyRetirable("any", t0); !ok {
		t.Fatal("a verification-only manager keeps no key of its own")
	}
}

func TestKeySourceConfig(t *testing.T) {
	t.Parallel()
	src := &fakeSource{keys: map[string]fakeKey{}}
	for _, tc := range []struct {
		name string
		opts []core.Option
		want string
	}{
		{"nil source", []core.Option{core.WithKeySource(nil), core.WithIssuer("i"), core.WithAudience("a")}, "WithKeySource: source is nil"},
		{"no issuer", []core.Option{core.WithKeySource(src), core.WithAudience("a")}, "no issuer"},
		{"no audience", []core.Option{core.WithKeySource(src), core.WithIssuer("i")}, "no audience"},
		{"without audience", []core.Option{core.WithKeySource(src), core.WithIssuer("i"), core.WithoutAudience()}, "needs an audience"},
		{"with HMAC", []core.Option{core.WithKeySource(src), core.WithIssuer("i"), core.WithAudience("a"), core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret)}, "drop WithHMAC"},
		{"public key with refresh keys", []core.Option{core.WithAccessKeys(core.Key{Public: testKeys().ed.Public()}), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer("i"), core.WithAudience("a")}, "must be able to sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := core.New(tc.opts...)
			if err == nil {
				m.Close()
				t.Fatalf("got no error, want %q", tc.want)
			}
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidConfig containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkKeySourceVerify measures the request path of a known remote kid (cached key).
func BenchmarkKeySourceVerify(b *testing.B) {
	k := testKeys()
	clock := testutil.NewClock(t0)
	m := remoteManager(b, clock, &fakeSource{keys: map[string]fakeKey{"ed": {k.ed.Public(), "EdDSA"}}}, core.WithoutRevocationCheck())
	tok := testutil.Mint(b, jwt.SigningMethodEdDSA, k.ed, idpClaims(t0, nil), map[string]any{"kid": "ed"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
