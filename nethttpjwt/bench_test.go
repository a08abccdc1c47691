package nethttpjwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// BenchmarkAuthenticate: an authenticated request through the middleware, against the same
// handler without it ("bare"), per algorithm, with the memory store's revocation lookup.
func BenchmarkAuthenticate(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := []struct {
		name string
		key  core.Key
	}{
		{"HS256", core.Key{Secret: testutil.AccessSecret}},
		{"ES256", core.Key{Private: ec}},
		{"EdDSA", core.Key{Private: ed}},
		{"RS256", core.Key{Private: rs}},
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, k := range keys {
		m, err := core.New(core.WithAccessKeys(k.key), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		p, _ := m.Issue(context.Background(), "alice", nil)
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		w := testutil.NewDiscardWriter()
		for name, h := range map[string]http.Handler{"bare": ok, "jwtexp": nethttpjwt.Middleware(m)(ok)} {
			b.Run(k.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, req)
				}
			})
		}
		m.Close()
	}
}
