package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// RFC 8037 §A.1/§A.2: the Ed25519 key of the examples (d is the seed).
const (
	rfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
)

// RFC 7515 §A.2 and §A.3 sign the same claims: {"iss":"joe",\r\n "exp":1300819380,\r\n
// "http://example.com/is_root":true}, without aud, sub or iat.
const rfcClaims = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

// asymManager is a Manager signing access tokens with active (older keys verify), refresh tokens
// with the test HMAC secret.
func asymManager(t testing.TB, clock *testutil.Clock, active core.Key, older ...core.Key) *core.Manager {
	t.Helper()
	m, err := core.New(core.WithAccessKeys(active, older...), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience),
		core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func tokenHeader(t testing.TB, token string) map[string]any {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal(mustB64(t, strings.Split(token, ".")[0]), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func headerAlg(t testing.TB, token string) string {
	alg, _ := tokenHeader(t, token)["alg"].(string)
	return alg
}

// rfcManager verifies the RFC 7515 example tokens: issuer "joe", no audience, the clock a minute
// before their exp.
func rfcManager(t *testing.T, pub any) (*core.Manager, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock(time.Unix(1300819380, 0).Add(-time.Minute))
	// A public access key and no refresh keys: a verification-only Manager.
	m, err := core.New(core.WithAccessKeys(core.Key{Public: pub}),
		core.WithIssuer("joe"), core.WithoutAudience(), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, clock
}

// checkRFCToken verifies an RFC 7515 example token, then checks it fails tampered and at exp.
func checkRFCToken(t *testing.T, m *core.Manager, clock *testutil.Clock, token string) {
	t.Helper()
	ctx := context.Background()
	c, err := m.Verify(ctx, token)
	if err != nil {
		t.Fatalf("RFC token: %v", err)
	}
	if c.Issuer != "joe" || c.ExpiresAt.Unix() != 1300819380 {
		t.Fatalf("got iss %q exp %v", c.Issuer, c.ExpiresAt)
	}
	r, err := core.CustomClaims[struct {
		Root bool `json:"http://example.com/is_root"`
	}](c)
	if err != nil || !r.Root {
		t.Fatalf("custom claim: got %+v, %v", r, err)
	}
	if _, err := m.Verify(ctx, testutil.Tamper(token)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("tampered: got %v, want ErrSignature", err)
	}
	clock.Set(time.Unix(1300819380, 0))
	if _, err := m.Verify(ctx, token); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("at exp: got %v, want ErrTokenExpired", err)
	}
}

// TestRFC7515AppendixA2 verifies the RS256 example of RFC 7515 §A.2 with its public key.
func TestRFC7515AppendixA2(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJSUzI1NiJ9." + rfcClaims +
		".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
	const n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, n)), E: 65537} // e = "AQAB"
	m, clock := rfcManager(t, pub)
	checkRFCToken(t, m, clock, token)

	// The same key configured for PS256 refuses the RS256 token: the algorithm is the key's.
	ps, err := core.New(core.WithAccessKeys(core.Key{Public: pub, Algorithm: "PS256"}),
		core.WithIssuer("joe"), core.WithoutAudience(), core.WithClock(testutil.NewClock(time.Unix(1300819300, 0)).Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if _, err := ps.Verify(context.Background(), token); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("RS256 token, PS256 key: got %v, want ErrSignature", err)
	}
}

// TestRFC7515AppendixA3 verifies the ES256 example of RFC 7515 §A.3 with its public key.
func TestRFC7515AppendixA3(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJFUzI1NiJ9." + rfcClaims +
		".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(),
		X: new(big.Int).SetBytes(mustB64(t, "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")),
		Y: new(big.Int).SetBytes(mustB64(t, "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"))}
	m, clock := rfcManager(t, pub)
	checkRFCToken(t, m, clock, token)

	// An HS256 token whose "secret" is the public key's encoding is refused (RFC 8725 §3.1).
	raw, _ := pub.Bytes()
	forged := testutil.HS256(raw, `{"alg":"HS256"}`, `{"iss":"joe","exp":1300819380}`)
	m2, _ := rfcManager(t, pub)
	if _, err := m2.Verify(context.Background(), forged); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("HS256 with the public key: got %v, want ErrSignature", err)
	}
}

// TestRFC8037AppendixA4 covers the Ed25519 example of RFC 8037 §A.4/§A.5. Its payload is the text
// "Example of Ed25519 signing", not a JSON claims set, so it is not a JWT the Manager can accept:
// the Manager refuses it as malformed. The signature itself is checked through core's key path in
// TestRFC8037SignatureInternal (package core), and here a JWT signed with the same RFC key goes
// through the Manager end to end.
func TestRFC8037AppendixA4(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	priv := ed25519.NewKeyFromSeed(mustB64(t, rfc8037D))
	if got := priv.Public().(ed25519.PublicKey); !got.Equal(ed25519.PublicKey(mustB64(t, rfc8037X))) {
		t.Fatal("RFC 8037 §A.1: x does not match d")
	}
	// golang-jwt's EdDSA method, which core uses for Ed25519 keys, verifies the RFC signature.
	parts := strings.Split(token, ".")
	if err := jwt.SigningMethodEdDSA.Verify(parts[0]+"."+parts[1], mustB64(t, parts[2]), priv.Public()); err != nil {
		t.Fatalf("RFC 8037 §A.5 signature: %v", err)
	}

	clock := testutil.NewClock(t0)
	m := asymManager2(t, clock, core.Key{ID: "rfc8037", Public: priv.Public()})
	if _, err := m.Verify(context.Background(), token); !errors.Is(err, core.ErrTokenMalformed) {
		t.Fatalf("non-JSON payload: got %v, want ErrTokenMalformed", err)
	}

	signer := asymManager(t, clock, core.Key{ID: "rfc8037", Private: priv})
	p, err := signer.Issue(context.Background(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := tokenHeader(t, p.AccessToken); h["alg"] != "EdDSA" || h["kid"] != "rfc8037" {
		t.Fatalf("header: got %v", h)
	}
	if c, err := m.Verify(context.Background(), p.AccessToken); err != nil || c.Subject != "alice" {
		t.Fatalf("EdDSA JWT with the RFC key: got %v, %v", c, err)
	}
}

// TestAsymmetricAlgorithms signs with each supported key and verifies with only its public half.
func TestAsymmetricAlgorithms(t *testing.T) {
	t.Parallel()
	k := testKeys()
	for _, tc := range []struct {
		alg  string
		priv core.Key
	}{
		{"RS256", core.Key{ID: "a", Private: k.rsa}},
		{"PS256", core.Key{ID: "a", Private: k.rsa, Algorithm: "PS256"}},
		{"ES256", core.Key{ID: "a", Private: k.p256}},
		{"ES384", core.Key{ID: "a", Private: k.p384}},
		{"EdDSA", core.Key{ID: "a", Private: k.ed}},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock(t0)
			signer := asymManager(t, clock, tc.priv)
			p, err := signer.Issue(context.Background(), "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := headerAlg(t, p.AccessToken); got != tc.alg {
				t.Fatalf("alg: got %s, want %s", got, tc.alg)
			}
			pub := core.Key{ID: "a", Public: tc.priv.Private.Public(), Algorithm: tc.priv.Algorithm}
			verifier := asymManager2(t, clock, pub)
			if _, err := verifier.Verify(context.Background(), p.AccessToken); err != nil {
				t.Fatalf("public key: %v", err)
			}
			clock.Advance(signer.AccessTTL())
			if _, err := verifier.Verify(context.Background(), p.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
				t.Fatalf("after TTL: got %v, want ErrTokenExpired", err)
			}
		})
	}
}

// asymManager2 is a verification-only Manager for the public key pub.
func asymManager2(t testing.TB, clock *testutil.Clock, pub core.Key) *core.Manager {
	t.Helper()
	m, err := core.New(core.WithAccessKeys(pub), core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience),
		core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if !m.VerificationOnly() {
		t.Fatal("a public access key without refresh keys must make a verification-only Manager")
	}
	if _, err := m.Issue(context.Background(), "alice", nil); !errors.Is(err, core.ErrVerificationOnly) {
		t.Fatalf("Issue: got %v, want ErrVerificationOnly", err)
	}
	return m
}
