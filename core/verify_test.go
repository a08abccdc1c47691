package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newManager(t testing.TB, clock *testutil.Clock, opts ...core.Option) *core.Manager {
	t.Helper()
	base := []core.Option{
		core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience),
		core.WithClock(clock.Now), core.WithLogger(nil),
	}
	m, err := core.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// claimsJSON builds a claims object valid for the test manager at now, with overrides: a value of
// "-" removes the member, any other string is inserted as raw JSON.
func claimsJSON(now time.Time, over map[string]string) string {
	members := []struct{ k, v string }{
		{"iss", `"` + testutil.Issuer + `"`},
		{"sub", `"alice"`},
		{"aud", `"` + testutil.Audience + `"`},
		{"iat", fmt.Sprint(now.Unix())},
		{"exp", fmt.Sprint(now.Add(10 * time.Minute).Unix())},
		{"jti", `"id-1"`},
	}
	var b strings.Builder
	b.WriteByte('{')
	seen := map[string]bool{}
	write := func(k, v string) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", k, v)
	}
	for _, m := range members {
		seen[m.k] = true
		v := m.v
		if o, ok := over[m.k]; ok {
			v = o
		}
		if v != "-" {
			write(m.k, v)
		}
	}
	for k, v := range over {
		if !seen[k] && v != "-" {
			write(k, v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

func TestVerifyRules(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithLeeway(5*time.Second))
	now := t0
	sign := func(claims string) string { return testutil.HS256(testutil.AccessSecret, hs256Header, claims) }
	withHeader := func(h string) string {
		return testutil.HS256(testutil.AccessSecret, h, claimsJSON(now, nil))
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)

	cases := []struct {
		name    string
		token   string
		want    error // jwtexp sentinel
		wantJWT error // golang-jwt sentinel also in the chain, or nil
	}{
		{"valid", sign(claimsJSON(now, nil)), nil, nil},
		{"valid lowercase typ", withHeader(`{"alg":"HS256","typ":"jwt"}`), nil, nil},
		{"valid without typ", withHeader(`{"alg":"HS256"}`), nil, nil},
		{"valid at+jwt typ", withHeader(`{"alg":"HS256","typ":"application/at+jwt"}`), nil, nil},
		{"valid aud array", sign(claimsJSON(now, map[string]string{"aud": `["other","` + testutil.Audience + `"]`})), nil, nil},
		{"valid fractional exp", sign(claimsJSON(now, map[string]string{"exp": fmt.Sprint(now.Unix()+60) + ".5"})), nil, nil},
		{"valid without iat", sign(claimsJSON(now, map[string]string{"iat": "-"})), nil, nil},
		{"valid escaped claim name", sign(`{"iss":"jwtexp-test","aud":"jwtexp-api","\u0065xp":` + fmt.Sprint(now.Unix()+60) + `}`), nil, nil},
		{"valid jku ignored", withHeader(`{"alg":"HS256","jku":"https://evil.example/jwks.json","x5u":"https://evil.example/x"}`), nil, nil},

		{"empty", "", core.ErrTokenMalformed, jwt.ErrTokenMalformed},
		{"two segments", "abc.def", core.ErrTokenMalformed, jwt.ErrTokenMalformed},
		{"four segments", sign(claimsJSON(now, nil)) + ".x", core.ErrTokenMalformed, jwt.ErrTokenMalformed},
		{"empty signature", testutil.B64(hs256Header) + "." + testutil.B64(claimsJSON(now, nil)) + ".", core.ErrTokenMalformed, nil},
		{"empty claims", testutil.B64(hs256Header) + "..abc", core.ErrTokenMalformed, nil},
		{"padding", sign(claimsJSON(now, nil)) + "=", core.ErrTokenMalformed, nil},
		{"newline inside", strings.Replace(sign(claimsJSON(now, nil)), ".", "\n.", 1), core.ErrTokenMalformed, nil},
		{"standard base64 chars", strings.Replace(sign(claimsJSON(now, nil)), "e", "+", 1), core.ErrTokenMalformed, nil},
		{"header not json", testutil.HS256(testutil.AccessSecret, `not json`, claimsJSON(now, nil)), core.ErrTokenMalformed, nil},
		{"header array", testutil.HS256(testutil.AccessSecret, `["alg","HS256"]`, claimsJSON(now, nil)), core.ErrTokenMalformed, nil},
		{"claims array", sign(`[1,2]`), core.ErrTokenMalformed, nil},
		{"claims trailing garbage", sign(claimsJSON(now, nil) + "x"), core.ErrTokenMalformed, nil},
		{"duplicate claim", sign(`{"exp":1,"exp":` + fmt.Sprint(now.Unix()+60) + `}`), core.ErrTokenMalformed, nil},
		{"duplicate claim via escape", sign(`{"exp":` + fmt.Sprint(now.Unix()+60) + `,"\u0065xp":1}`), core.ErrTokenMalformed, nil},
		{"duplicate header member", withHeader(`{"alg":"HS256","alg":"HS256"}`), core.ErrTokenMalformed, nil},
		{"deep nesting", sign(claimsJSON(now, map[string]string{"x": strings.Repeat("[", 100) + strings.Repeat("]", 100)})), core.ErrTokenMalformed, nil},
		{"too large", sign(claimsJSON(now, map[string]string{"pad": `"` + strings.Repeat("a", 9<<10) + `"`})), core.ErrTokenMalformed, nil},

		{"alg none", testutil.Unsigned(`{"alg":"none"}`, claimsJSON(now, nil)), core.ErrSignature, nil},
		{"alg None", testutil.Unsigned(`{"alg":"None"}`, claimsJSON(now, nil)), core.ErrSignature, nil},
		{"alg NONE", testutil.Unsigned(`{"alg":"NONE"}`, claimsJSON(now, nil)), core.ErrSignature, nil},
		{"alg nOnE", testutil.Unsigned(`{"alg":"nOnE"}`, claimsJSON(now, nil)), core.ErrSignature, nil},
		{"alg missing", testutil.HS256(testutil.AccessSecret, `{"typ":"JWT"}`, claimsJSON(now, nil)), core.ErrTokenMalformed, nil},
		{"alg HS512 against HS256 key", withHeader(`{"alg":"HS512"}`), core.ErrSignature, jwt.ErrTokenSignatureInvalid},
		{"alg RS256 against HMAC key", withHeader(`{"alg":"RS256"}`), core.ErrSignature, nil},
		{"HS256 signed with RSA public key bytes", testutil.HS256(pubDER, hs256Header, claimsJSON(now, nil)), core.ErrSignature, jwt.ErrTokenSignatureInvalid},
		{"wrong secret", testutil.HS256(testutil.RefreshSecret, hs256Header, claimsJSON(now, nil)), core.ErrSignature, jwt.ErrTokenSignatureInvalid},
		{"tampered", testutil.Tamper(sign(claimsJSON(now, nil))), core.ErrSignature, nil},
		{"claims swapped under old signature", swapClaims(sign(claimsJSON(now, nil)), claimsJSON(now, map[string]string{"sub": `"admin"`})), core.ErrSignature, jwt.ErrTokenSignatureInvalid},
		{"crit header", withHeader(`{"alg":"HS256","crit":["exp"],"exp":1}`), core.ErrSignature, nil},

		{"exp missing", sign(claimsJSON(now, map[string]string{"exp": "-"})), core.ErrExpMissing, jwt.ErrTokenRequiredClaimMissing},
		{"EXP is not exp", sign(claimsJSON(now, map[string]string{"exp": "-", "EXP": fmt.Sprint(now.Unix() + 60)})), core.ErrExpMissing, nil},
		{"exp string", sign(claimsJSON(now, map[string]string{"exp": `"` + fmt.Sprint(now.Unix()+60) + `"`})), core.ErrClaims, nil},
		{"exp null", sign(claimsJSON(now, map[string]string{"exp": "null"})), core.ErrClaims, nil},
		{"exp zero", sign(claimsJSON(now, map[string]string{"exp": "0"})), core.ErrClaims, nil},
		{"exp negative", sign(claimsJSON(now, map[string]string{"exp": "-1"})), core.ErrClaims, nil},
		{"exp huge", sign(claimsJSON(now, map[string]string{"exp": "1e300"})), core.ErrClaims, nil},
		{"exp year 10000", sign(claimsJSON(now, map[string]string{"exp": "253402300800"})), core.ErrClaims, nil},
		{"expired", sign(claimsJSON(now, map[string]string{"iat": fmt.Sprint(now.Unix() - 600), "exp": fmt.Sprint(now.Unix() - 60)})), core.ErrTokenExpired, jwt.ErrTokenExpired},
		{"nbf future", sign(claimsJSON(now, map[string]string{"nbf": fmt.Sprint(now.Unix() + 60)})), core.ErrTokenNotYetValid, jwt.ErrTokenNotValidYet},
		{"nbf within leeway", sign(claimsJSON(now, map[string]string{"nbf": fmt.Sprint(now.Unix() + 5)})), nil, nil},
		{"nbf string", sign(claimsJSON(now, map[string]string{"nbf": `"soon"`})), core.ErrClaims, nil},
		{"iat future", sign(claimsJSON(now, map[string]string{"iat": fmt.Sprint(now.Unix() + 60)})), core.ErrTokenNotYetValid, jwt.ErrTokenUsedBeforeIssued},
		{"iat negative", sign(claimsJSON(now, map[string]string{"iat": "-5"})), core.ErrClaims, nil},
		{"issuer wrong", sign(claimsJSON(now, map[string]string{"iss": `"evil"`})), core.ErrIssuer, jwt.ErrTokenInvalidIssuer},
		{"issuer missing", sign(claimsJSON(now, map[string]string{"iss": "-"})), core.ErrIssuer, nil},
		{"issuer wrong case", sign(claimsJSON(now, map[string]string{"iss": `"JWTEXP-TEST"`})), core.ErrIssuer, nil},
		{"issuer number", sign(claimsJSON(now, map[string]string{"iss": `1`})), core.ErrClaims, nil},
		{"audience wrong", sign(claimsJSON(now, map[string]string{"aud": `"other"`})), core.ErrAudience, jwt.ErrTokenInvalidAudience},
		{"audience array without ours", sign(claimsJSON(now, map[string]string{"aud": `["a","b"]`})), core.ErrAudience, nil},
		{"audience missing", sign(claimsJSON(now, map[string]string{"aud": "-"})), core.ErrAudience, nil},
		{"audience array of numbers", sign(claimsJSON(now, map[string]string{"aud": `[1]`})), core.ErrClaims, nil},
		{"audience object", sign(claimsJSON(now, map[string]string{"aud": `{"aud":"jwtexp-api"}`})), core.ErrClaims, nil},
		{"lifetime over cap", sign(claimsJSON(now, map[string]string{"exp": fmt.Sprint(now.Add(24 * time.Hour).Unix())})), core.ErrLifetime, nil},
		{"lifetime over cap without iat", sign(claimsJSON(now, map[string]string{"iat": "-", "exp": fmt.Sprint(now.Add(24 * time.Hour).Unix())})), core.ErrLifetime, nil},
		{"lifetime ten years", sign(claimsJSON(now, map[string]string{"iat": fmt.Sprint(now.Unix() - 60), "exp": fmt.Sprint(now.AddDate(10, 0, 0).Unix())})), core.ErrLifetime, nil},
		{"sub number", sign(claimsJSON(now, map[string]string{"sub": `42`})), core.ErrClaims, nil},

		{"refresh typ as access", withHeader(`{"alg":"HS256","typ":"refresh+jwt"}`), core.ErrTokenType, nil},
		{"other typ", withHeader(`{"alg":"HS256","typ":"dpop+jwt"}`), core.ErrTokenType, nil},
		{"unknown kid", withHeader(`{"alg":"HS256","kid":"../../etc/passwd"}`), nil, nil}, // single key without ID: kid ignored, signature decides
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := m.Verify(context.Background(), tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if c.ExpiresAt.IsZero() {
					t.Fatalf("got zero ExpiresAt")
				}
				return
			}
			if err == nil {
				t.Fatalf("got success, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want errors.Is %v", err, tc.want)
			}
			if tc.wantJWT != nil && !errors.Is(err, tc.wantJWT) {
				t.Fatalf("got %v, want golang-jwt's %v in the chain", err, tc.wantJWT)
			}
			if c != nil {
				t.Fatalf("got claims with an error")
			}
			if strings.Contains(err.Error(), tc.token) && tc.token != "" {
				t.Fatalf("error message contains the token")
			}
		})
	}
}

func TestExactlyOneSentinel(t *testing.T) {
	t.Parallel()
	sentinels := []error{core.ErrTokenMissing, core.ErrInvalidRequest, core.ErrTokenMalformed, core.ErrSignature,
		core.ErrTokenExpired, core.ErrTokenNotYetValid, core.ErrClaims, core.ErrTokenType, core.ErrTokenRevoked}
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	for _, tok := range []string{"", "a.b.c", testutil.Unsigned(`{"alg":"none"}`, `{}`),
		testutil.HS256(testutil.AccessSecret, hs256Header, `{"iss":"jwtexp-test","aud":"jwtexp-api"}`)} {
		_, err := m.Verify(context.Background(), tok)
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%v matches %d sentinels, want 1", err, n)
		}
	}
}

func TestExpiryBoundaries(t *testing.T) {
	t.Parallel()
	for _, leeway := range []time.Duration{0, 10 * time.Second} {
		clock := testutil.NewClock(t0)
		m := newManager(t, clock, core.WithLeeway(leeway))
		exp := t0.Add(time.Minute)
		tok := testutil.HS256(testutil.AccessSecret, hs256Header, claimsJSON(t0, map[string]string{"exp": fmt.Sprint(exp.Unix())}))
		cases := []struct {
			at   time.Time
			want error
		}{
			{exp.Add(-time.Second), nil},
			{exp.Add(-time.Nanosecond), nil},
			{exp, core.ErrTokenExpired},
			{exp.Add(time.Second), core.ErrTokenExpired},
		}
		if leeway > 0 {
			cases = []struct {
				at   time.Time
				want error
			}{
				{exp, nil},
				{exp.Add(time.Second), nil},
				{exp.Add(leeway - time.Nanosecond), nil},
				{exp.Add(leeway), core.ErrTokenExpired},
				{exp.Add(leeway + time.Second), core.ErrTokenExpired},
			}
		}
		for _, tc := range cases {
			clock.Set(tc.at)
			_, err := m.Verify(context.Background(), tok)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Errorf("leeway %v, now exp%+v: got %v, want %v", leeway, tc.at.Sub(exp), err, tc.want)
			}
		}
	}
}

// TestRFC7515AppendixA1 verifies the HS256 example of RFC 7515 §A.1 under a fixed clock.
func TestRFC7515AppendixA1(t *testing.T) {
	t.Parallel()
	const token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	secret := mustB64(t, k)
	exp := time.Unix(1300819380, 0)
	clock := testutil.NewClock(exp.Add(-time.Minute))
	m, err := core.New(core.WithAccessKeys(core.Key{Secret: secret}), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
		core.WithIssuer("joe"), core.WithoutAudience(), core.WithClock(clock.Now), core.WithoutRevocationCheck(), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := m.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("RFC 7515 A.1 token: %v", err)
	}
	if c.Issuer != "joe" || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("got iss %q exp %v", c.Issuer, c.ExpiresAt)
	}
	type isRoot struct {
		Root bool `json:"http://example.com/is_root"`
	}
	r, err := core.CustomClaims[isRoot](c)
	if err != nil || !r.Root {
		t.Fatalf("custom claim: got %+v, %v", r, err)
	}
	if _, err := m.Verify(context.Background(), testutil.Tamper(token)); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("tampered: got %v, want ErrSignature", err)
	}
	clock.Set(exp)
	if _, err := m.Verify(context.Background(), token); !errors.Is(err, core.ErrTokenExpired) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("at exp: got %v, want ErrTokenExpired", err)
	}
}

func TestForeignTokens(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims := jwt.MapClaims{"iss": testutil.Issuer, "aud": testutil.Audience, "sub": "svc",
		"iat": t0.Unix(), "exp": t0.Add(5 * time.Minute).Unix()}
	cases := []struct {
		name   string
		key    core.Key
		method jwt.SigningMethod
		sign   any
	}{
		{"HS256", core.Key{Secret: testutil.AccessSecret}, jwt.SigningMethodHS256, testutil.AccessSecret},
		{"HS512", core.Key{Secret: []byte(strings.Repeat("k", 64)), Algorithm: "HS512"}, jwt.SigningMethodHS512, []byte(strings.Repeat("k", 64))},
		{"ES256", core.Key{Public: &ecKey.PublicKey}, jwt.SigningMethodES256, ecKey},
		{"EdDSA", core.Key{Public: edKey.Public()}, jwt.SigningMethodEdDSA, edKey},
		{"RS256", core.Key{Public: &rsaKey.PublicKey}, jwt.SigningMethodRS256, rsaKey},
		{"PS256", core.Key{Public: &rsaKey.PublicKey, Algorithm: "PS256"}, jwt.SigningMethodPS256, rsaKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// An HMAC key "main" is active; the key under test verifies as an older key "other".
			m, err := core.New(core.WithAccessKeys(core.Key{ID: "main", Secret: []byte(strings.Repeat("s", 64))}, withID(tc.key, "other")),
				core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
				core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now), core.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tok := testutil.Mint(t, tc.method, tc.sign, claims, map[string]any{"kid": "other"})
			c, err := m.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("golang-jwt %s token: %v", tc.name, err)
			}
			if c.Subject != "svc" {
				t.Fatalf("got sub %q", c.Subject)
			}
			// The same token with its kid pointing at the HMAC key is an algorithm mismatch.
			bad := testutil.Mint(t, tc.method, tc.sign, claims, map[string]any{"kid": "main"})
			if _, err := m.Verify(context.Background(), bad); !errors.Is(err, core.ErrSignature) {
				t.Fatalf("kid of another key: got %v, want ErrSignature", err)
			}
			unknown := testutil.Mint(t, tc.method, tc.sign, claims, map[string]any{"kid": "nope"})
			if _, err := m.Verify(context.Background(), unknown); !errors.Is(err, core.ErrSignature) {
				t.Fatalf("unknown kid: got %v, want ErrSignature", err)
			}
		})
	}
}

func withID(k core.Key, id string) core.Key { k.ID = id; return k }

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := func() []core.Option {
		return []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer("i"), core.WithAudience("a")}
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	cases := []struct {
		name string
		opts []core.Option
		want string
	}{
		{"no key", []core.Option{core.WithIssuer("i"), core.WithAudience("a")}, "no access token key"},
		{"short secret", []core.Option{core.WithHMAC([]byte("short"), testutil.RefreshSecret)}, "needs at least 32"},
		{"short HS512 secret", []core.Option{core.WithAccessKeys(core.Key{Secret: testutil.AccessSecret, Algorithm: "HS512"})}, "needs at least 64"},
		{"same keys", []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.AccessSecret)}, "same key"},
		{"small RSA", []core.Option{core.WithAccessKeys(core.Key{Private: small})}, "needs at least 2048"},
		{"unknown alg", []core.Option{core.WithAccessKeys(core.Key{Secret: testutil.AccessSecret, Algorithm: "HS1024"})}, "does not fit"},
		{"zero access TTL", []core.Option{core.WithAccessTTL(0)}, "WithAccessTTL"},
		{"huge max token size", []core.Option{core.WithMaxTokenSize(1 << 31)}, "at most 1 GiB"},
		{"huge verified cache", []core.Option{core.WithVerifiedCache(1<<24 + 1)}, "more than 16777216"},
		{"negative refresh TTL", []core.Option{core.WithRefreshTTL(-time.Second)}, "WithRefreshTTL"},
		{"refresh shorter than access", []core.Option{core.WithAccessTTL(time.Hour), core.WithRefreshTTL(time.Minute)}, "shorter than access TTL"},
		{"huge leeway", []core.Option{core.WithLeeway(5 * time.Minute)}, "WithUnsafeLeeway"},
		{"nil store", []core.Option{core.WithStore(nil)}, "WithStore"},
		{"nil clock", []core.Option{core.WithClock(nil)}, "WithClock"},
		{"no issuer", []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithAudience("a")}, "no issuer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			if tc.name != "no key" && tc.name != "no issuer" {
				opts = append(good(), tc.opts...)
			}
			m, err := core.New(opts...)
			if err == nil {
				m.Close()
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidConfig containing %q", err, tc.want)
			}
		})
	}
	if m, err := core.New(append(good(), core.WithUnsafeLeeway(5*time.Minute))...); err != nil {
		t.Fatalf("WithUnsafeLeeway: %v", err)
	} else {
		m.Close()
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64RawURL(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func base64RawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// swapClaims replaces the claims segment of token, keeping its header and signature.
func swapClaims(token, claims string) string {
	p := strings.Split(token, ".")
	return p[0] + "." + testutil.B64(claims) + "." + p[2]
}

// TestVerifyHeaderSeenBefore: the Manager reads a header segment it saw last without decoding it
// again (readHeader); every check on the header still applies to each token, whichever header came
// before it, and a header that differs from the last one is read afresh.
func TestVerifyHeaderSeenBefore(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithVerifiedCache(0))
	claims := claimsJSON(t0, nil)
	valid := testutil.HS256(testutil.AccessSecret, hs256Header, claims)
	otherClaims := testutil.HS256(testutil.AccessSecret, hs256Header, claimsJSON(t0, map[string]string{"sub": `"other"`}))
	steps := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", valid, nil},
		{"same header, other claims", otherClaims, nil},
		{"crit", testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","crit":["exp"],"exp":1}`, claims), core.ErrSignature},
		{"crit again", testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","crit":["exp"],"exp":1}`, claims), core.ErrSignature},
		{"valid after crit", valid, nil},
		{"alg of another key", testutil.HS256(testutil.AccessSecret, `{"alg":"HS512"}`, claims), core.ErrSignature},
		{"alg of another key again", testutil.HS256(testutil.AccessSecret, `{"alg":"HS512"}`, claims), core.ErrSignature},
		{"refresh type", testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","typ":"refresh+jwt"}`, claims), core.ErrTokenType},
		{"refresh type again", testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","typ":"refresh+jwt"}`, claims), core.ErrTokenType},
		{"same header, wrong secret", testutil.HS256(testutil.RefreshSecret, hs256Header, claims), core.ErrSignature},
		{"same header, bad claims", testutil.HS256(testutil.AccessSecret, hs256Header, `{"exp":1,"exp":2}`), core.ErrTokenMalformed},
		{"duplicate header member", testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","alg":"HS256"}`, claims), core.ErrTokenMalformed},
		{"valid at the end", valid, nil},
	}
	for _, s := range steps {
		c, err := m.Verify(context.Background(), s.token)
		if s.want == nil {
			if err != nil || c == nil || c.Issuer != testutil.Issuer {
				t.Fatalf("%s: got %v, %v; want the claims", s.name, c, err)
			}
			continue
		}
		if !errors.Is(err, s.want) || c != nil {
			t.Fatalf("%s: got %v, %v; want %v", s.name, c, err, s.want)
		}
	}
}
