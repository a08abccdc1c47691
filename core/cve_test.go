package core_test

// Regression tests named after known vulnerabilities of Go (and other) JWT libraries and
// middlewares, for the ones whose mechanism applies to a verifier like ours.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// CVE-2025-30204 (golang-jwt < 5.2.2): a header of many '.' characters made the parser allocate
// memory proportional to the input via strings.Split. We split nothing and refuse before decoding.
func TestCVE_2025_30204_ManyDots(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithMaxTokenSize(1<<20)) // even with a huge size limit
	tok := "Bearer " + strings.Repeat(".", 1<<19)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.Verify(ctx, tok[7:]); !errors.Is(err, core.ErrTokenMalformed) {
			t.Fatalf("got %v, want ErrTokenMalformed", err)
		}
	})
	if allocs > 1 {
		t.Fatalf("many dots: %v allocations per call, want at most 1", allocs)
	}
}

// CVE-2020-26160 (dgrijalva/jwt-go): an aud given as an array was not checked when the claims
// type expected a string, so any audience passed. Both shapes must be checked.
func TestCVE_2020_26160_AudienceArray(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	for aud, want := range map[string]error{
		`["other"]`:              core.ErrAudience,
		`[]`:                     core.ErrAudience,
		`[""]`:                   core.ErrAudience,
		`["other","jwtexp-api"]`: nil,
		`"jwtexp-api"`:           nil,
		`[["jwtexp-api"]]`:       core.ErrClaims,
		`{"0":"jwtexp-api"}`:     core.ErrClaims,
		`["jwtexp-api\u0000"]`:   core.ErrAudience,
		`"JWTEXP-API"`:           core.ErrAudience,
	} {
		tok := testutil.HS256(testutil.AccessSecret, hs256Header, claimsJSON(t0, map[string]string{"aud": aud}))
		_, err := m.Verify(context.Background(), tok)
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("aud %s: got %v, want %v", aud, err, want)
		}
	}
}

// labstack/echo-jwt and gofiber/contrib/jwt call golang-jwt without WithExpirationRequired, so a
// token without exp never expires. Ours must be refused.
func TestRegression_EchoFiberJWT_NoExpAccepted(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	tok := testutil.Mint(t, jwt.SigningMethodHS256, testutil.AccessSecret,
		jwt.MapClaims{"iss": testutil.Issuer, "aud": testutil.Audience, "sub": "alice"}, nil)
	if _, err := m.Verify(context.Background(), tok); !errors.Is(err, core.ErrExpMissing) || !errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		t.Fatalf("token without exp: got %v, want ErrExpMissing", err)
	}
}

// CVE-2024-51744 (golang-jwt < 4.5.1): ParseWithClaims returned ErrTokenExpired alongside
// ErrTokenSignatureInvalid, and code that tolerated "expired" accepted forged tokens. An expired
// forged token must never yield claims, and the one path that tolerates expiry (logout) verifies
// the signature first.
func TestCVE_2024_51744_ExpiredForgedToken(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	p, _ := m.Issue(context.Background(), "alice", nil)
	clock.Advance(time.Hour)
	forged := testutil.Tamper(p.AccessToken)
	c, err := m.Verify(context.Background(), forged)
	if err == nil || c != nil {
		t.Fatalf("forged expired token: got %v, %v", c, err)
	}
	if err := m.Logout(context.Background(), forged, ""); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("logout with a forged expired token: got %v, want ErrSignature", err)
	}
	if err := m.Logout(context.Background(), p.AccessToken, ""); err != nil {
		t.Fatalf("logout with the genuine expired token: %v", err)
	}
}

// CVE-2015-9235 (node jsonwebtoken) and CVE-2022-29217 (PyJWT): algorithm confusion. The
// algorithm comes from the key, so neither "none" nor HMAC with a public key ever verifies (the
// full catalogue runs in internal/testutil's adversarial suite against every adapter).
func TestCVE_2015_9235_AlgorithmFromKey(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	for _, alg := range []string{"none", "None", "RS256", "ES256", "EdDSA", "HS512", "hs256"} {
		tok := testutil.HS256(testutil.AccessSecret, fmt.Sprintf(`{"alg":%q}`, alg), claimsJSON(t0, nil))
		if _, err := m.Verify(context.Background(), tok); !errors.Is(err, core.ErrSignature) {
			t.Errorf("alg %s: got %v, want ErrSignature", alg, err)
		}
	}
}
