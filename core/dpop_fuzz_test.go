package core_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// FuzzDPoPProof feeds arbitrary DPoP header values to the proof parser and to a login: nothing
// panics; DPoPThumbprint accepts a value only with a 43-character thumbprint; a login answers
// 200 only for a value DPoPThumbprint accepts (and binds the tokens to that thumbprint), and 400
// invalid_dpop_proof otherwise.
func FuzzDPoPProof(f *testing.F) {
	key := testutil.NewDPoPKey(f)
	ed := testutil.NewDPoPKeyAlg(f, "Ed25519")
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	valid := key.Proof(f, "POST", "http://example.com/login", "", "", at)
	f.Add(valid)
	f.Add(ed.Proof(f, "POST", "http://example.com/login?x#y", "", "", at))
	f.Add(key.Proof(f, "GET", "http://example.com/login", "", "", at))
	f.Add(key.Sign(f, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": key.PrivateJWK()}, map[string]any{"jti": "a", "htm": "POST", "htu": "http://example.com/login", "iat": at.Unix()}))
	f.Add(testutil.HS256([]byte(strings.Repeat("k", 32)), `{"typ":"dpop+jwt","alg":"HS256"}`, `{"jti":"a"}`))
	f.Add(valid[:len(valid)/2])
	f.Add("..")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", 5000))
	clock := testutil.NewClock(at)
	m := testutil.SuiteManager(f, clock, core.WithDPoPRequired())
	f.Fuzz(func(t *testing.T, proof string) {
		jkt, err := core.DPoPThumbprint(proof)
		if err == nil && len(jkt) != 43 {
			t.Fatalf("thumbprint %q of an accepted proof", jkt)
		}
		r := httptest.NewRequest("POST", "http://example.com/login", nil)
		r.Header["Dpop"] = []string{proof}
		resp := m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
		switch resp.Status {
		case 200:
			if err != nil {
				t.Fatalf("login accepted a proof DPoPThumbprint refuses (%v)", err)
			}
			if !strings.Contains(string(resp.Body), `"token_type":"DPoP"`) {
				t.Fatalf("login with a proof: %s", resp.Body)
			}
		case 400:
			if !strings.Contains(string(resp.Body), `"invalid_dpop_proof"`) {
				t.Fatalf("400 %s", resp.Body)
			}
		default:
			t.Fatalf("login answered %d %s", resp.Status, resp.Body)
		}
	})
}
