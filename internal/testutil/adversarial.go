package testutil

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
)

// RunAdversarialSuite runs the attack catalogue of RFC 8725 and the OWASP JWT guidance against one
// adapter, mounted with the routes of RunHTTPSuite. Every case asserts the exact answer.
func RunAdversarialSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	// A server that counts fetches: jku/x5u must never make us fetch anything.
	var fetched atomic.Int64
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer keyServer.Close()

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	type env struct {
		do    Doer
		m     *core.Manager
		clock *Clock
	}
	claims := func(e env, extra string) string {
		now := e.clock.Now()
		return fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q,"iat":%d,"exp":%d,"jti":"j1"%s}`,
			Issuer, Audience, now.Unix(), now.Add(time.Minute).Unix(), extra)
	}
	raw := func(e env, over string) string { // claims with the registered ones replaced
		now := e.clock.Now()
		return strings.NewReplacer("NOW", fmt.Sprint(now.Unix()), "EXP", fmt.Sprint(now.Add(time.Minute).Unix())).Replace(over)
	}
	hs := func(header, claims string) string { return HS256(AccessSecret, header, claims) }
	const h = `{"alg":"HS256","typ":"JWT"}`
	call := func(e env, auth ...string) *http.Response {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		for _, a := range auth {
			r.Header.Add("Authorization", a)
		}
		return e.do(r)
	}
	ok := Answer{200, "", map[string]string{"sub": "bob"}}
	okAlice := Answer{200, "", map[string]string{"sub": "alice"}}

	cases := []struct {
		name string
		rsa  bool // the Manager verifies access tokens with rsaKey (RS256) instead of HMAC
		run  func(e env) (*http.Response, Answer)
	}{
		// Algorithm attacks (RFC 8725 §2.1, §3.1).
		{"alg none", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+Unsigned(`{"alg":"none"}`, claims(e, ""))), invalidToken("unsigned token")
		}},
		{"alg None", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+Unsigned(`{"alg":"None"}`, claims(e, ""))), invalidToken("unsigned token")
		}},
		{"alg NONE", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+Unsigned(`{"alg":"NONE"}`, claims(e, ""))), invalidToken("unsigned token")
		}},
		{"alg none with empty signature", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+B64(`{"alg":"none"}`)+"."+B64(claims(e, ""))+"."), invalidToken("malformed token")
		}},
		{"RS256 to HS256 key confusion", true, func(e env) (*http.Response, Answer) {
			// The classic attack: sign HS256 with the server's RSA public key as the secret.
			return call(e, "Bearer "+HS256(pubPEM, h, claims(e, ""))), invalidToken("algorithm not allowed")
		}},
		{"RS256 to HS256 with DER public key", true, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+HS256(pubDER, h, claims(e, ""))), invalidToken("algorithm not allowed")
		}},
		{"RS256 genuine", true, func(e env) (*http.Response, Answer) {
			tok := Mint(t, jwt.SigningMethodRS256, rsaKey, mapClaims(e.clock.Now()), nil)
			return call(e, "Bearer "+tok), ok
		}},
		{"PS256 header against RS256 key", true, func(e env) (*http.Response, Answer) {
			tok := Mint(t, jwt.SigningMethodPS256, rsaKey, mapClaims(e.clock.Now()), nil)
			return call(e, "Bearer "+tok), invalidToken("algorithm not allowed")
		}},
		// Key selection (RFC 8725 §3.10): kid only selects among configured keys.
		{"kid path traversal with empty key", false, func(e env) (*http.Response, Answer) {
			tok := HS256([]byte{}, `{"alg":"HS256","kid":"../../../../dev/null"}`, claims(e, ""))
			return call(e, "Bearer "+tok), invalidToken("invalid signature")
		}},
		{"kid SQL injection", false, func(e env) (*http.Response, Answer) {
			tok := HS256([]byte("x"), `{"alg":"HS256","kid":"x' UNION SELECT 'x'--"}`, claims(e, ""))
			return call(e, "Bearer "+tok), invalidToken("invalid signature")
		}},
		{"kid not a string", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(`{"alg":"HS256","kid":{"$ne":1}}`, claims(e, ""))), invalidToken("malformed token header")
		}},
		{"jku and x5u are never fetched", false, func(e env) (*http.Response, Answer) {
			tok := hs(fmt.Sprintf(`{"alg":"HS256","jku":%q,"x5u":%q}`, keyServer.URL, keyServer.URL), claims(e, ""))
			resp := call(e, "Bearer "+tok)
			if n := fetched.Load(); n != 0 {
				t.Errorf("the server fetched a key URL from a token header %d times", n)
			}
			return resp, ok
		}},
		{"embedded jwk is never trusted", true, func(e env) (*http.Response, Answer) {
			attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
			tok := Mint(t, jwt.SigningMethodRS256, attacker, mapClaims(e.clock.Now()),
				map[string]any{"jwk": map[string]any{"kty": "RSA", "n": "attacker", "e": "AQAB"}})
			return call(e, "Bearer "+tok), invalidToken("invalid signature")
		}},
		{"crit header", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(`{"alg":"HS256","crit":["b64"],"b64":false}`, claims(e, ""))), invalidToken("unsupported critical header")
		}},
		// Claims (RFC 7519 §4.1).
		{"exp missing", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","iat":NOW}`))), invalidToken("missing exp claim")
		}},
		{"exp string", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","exp":"EXP"}`))), invalidToken("invalid exp claim")
		}},
		{"exp huge", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","exp":99999999999999999999}`))), invalidToken("invalid exp claim")
		}},
		{"exp negative", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","exp":-1}`))), invalidToken("invalid exp claim")
		}},
		{"exp far future within size", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","iat":NOW,"exp":253402300799}`))), invalidToken("token lifetime too long")
		}},
		{"nbf not a number", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, `,"nbf":true`))), invalidToken("invalid nbf claim")
		}},
		{"iat in the future", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","iat":EXP,"exp":EXP}`))), invalidToken("token issued in the future")
		}},
		{"EXP upper case is not exp", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":"jwtexp-api","EXP":EXP}`))), invalidToken("missing exp claim")
		}},
		{"duplicate exp", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, `,"exp":1`))), invalidToken("duplicate member in token")
		}},
		{"duplicate alg", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(`{"alg":"HS256","alg":"none"}`, claims(e, ""))), invalidToken("duplicate member in token")
		}},
		{"deep nesting", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, `,"x":`+strings.Repeat(`{"a":`, 200)+"1"+strings.Repeat("}", 200)))), invalidToken("malformed token claims")
		}},
		{"huge token", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, `,"x":"`+strings.Repeat("A", 10<<10)+`"`))), invalidToken("token too large")
		}},
		{"other issuer", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"evil","sub":"bob","aud":"jwtexp-api","iat":NOW,"exp":EXP}`))), invalidToken("invalid issuer")
		}},
		{"other audience", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, raw(e, `{"iss":"jwtexp-test","sub":"bob","aud":["evil"],"iat":NOW,"exp":EXP}`))), invalidToken("invalid audience")
		}},
		// The Authorization header (RFC 6750 §2.1).
		{"lower-case scheme", false, func(e env) (*http.Response, Answer) {
			return call(e, "bearer "+hs(h, claims(e, ""))), ok
		}},
		{"two spaces", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer  "+hs(h, claims(e, ""))), ok
		}},
		{"tab separator", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer\t"+hs(h, claims(e, ""))), ok
		}},
		{"scheme glued to token", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer"+hs(h, claims(e, ""))), answerMissing
		}},
		{"token then garbage", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, ""))+" x"), answerBadHeader
		}},
		{"comma-joined credentials", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, ""))+", Bearer x"), answerBadHeader
		}},
		{"two Authorization headers", false, func(e env) (*http.Response, Answer) {
			return call(e, "Bearer "+hs(h, claims(e, "")), "Bearer "+hs(h, claims(e, ""))), answerTwo
		}},
		// Token type confusion (RFC 8725 §3.11), both directions.
		{"refresh token as access token", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			return call(e, "Bearer "+p.RefreshToken), invalidToken("refresh token used as access token")
		}},
		{"access token as refresh token", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+p.AccessToken+`"}`))
			return e.do(r), invalidGrant("not a refresh token")
		}},
		{"refresh-typed token signed with the access key", false, func(e env) (*http.Response, Answer) {
			tok := hs(`{"alg":"HS256","typ":"refresh+jwt"}`, claims(e, `,"sid":"s1"`))
			r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+tok+`"}`))
			return e.do(r), invalidGrant("invalid signature")
		}},
		// Revocation.
		{"revoked jti", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			c, err := e.m.Verify(context.Background(), p.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if resp := call(e, "Bearer "+p.AccessToken); resp.StatusCode != 200 {
				t.Fatalf("before revocation: got %d", resp.StatusCode)
			}
			if err := e.m.RevokeToken(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			return call(e, "Bearer "+p.AccessToken), invalidToken("token revoked")
		}},
		{"subject logged out everywhere", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			resp := call(e, "Bearer "+p.AccessToken)
			// A login within the same second as the cut-off is not refused: the cut-off ended
			// the live sessions by id (hence "session revoked") and refuses by time only
			// tokens issued before the current second.
			q, _ := e.m.Issue(context.Background(), "alice", nil)
			if again := call(e, "Bearer "+q.AccessToken); again.StatusCode != 200 {
				t.Errorf("login right after the cut-off: got %d, want 200", again.StatusCode)
			}
			return resp, invalidToken("session revoked")
		}},
		{"replayed refresh token", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			body := `{"refresh_token":"` + p.RefreshToken + `"}`
			if resp := e.do(httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(body))); resp.StatusCode != 200 {
				t.Fatalf("first refresh: got %d", resp.StatusCode)
			}
			e.clock.Advance(core.DefaultRefreshGrace) // past the window that absorbs a client's own burst
			return e.do(httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(body))), invalidGrant("refresh token reused")
		}},
		{"own valid token", false, func(e env) (*http.Response, Answer) {
			p, _ := e.m.Issue(context.Background(), "alice", nil)
			return call(e, "Bearer "+p.AccessToken), okAlice
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			var opts []core.Option
			if tc.rsa {
				opts = append(opts, core.WithAccessKeys(core.Key{Private: rsaKey}))
			}
			m := SuiteManager(t, clock, opts...)
			resp, want := tc.run(env{do: build(t, m), m: m, clock: clock})
			CheckAnswer(t, resp, want)
		})
	}
}

func mapClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": Issuer, "sub": "bob", "aud": Audience, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}
