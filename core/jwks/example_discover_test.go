package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
)

// An identity provider on loopback: its discovery document and its key set, and a Manager
// standing in for its token endpoint.
func exampleProvider() (srv *httptest.Server, mint func(sub string) string) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	mux := http.NewServeMux()
	srv = httptest.NewServer(mux)
	iss := srv.URL + "/"
	idp, _ := core.New(
		core.WithAccessKeys(core.Key{ID: "k1", Private: priv}),
		core.WithRefreshKeys(core.Key{Secret: []byte("refresh-secret-of-the-idp-0123456789")}),
		core.WithIssuer(iss), core.WithAudience("https://api.example/"), core.WithLogger(nil))
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss, srv.URL+"/jwks")
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) { idp.HTTP().ServeJWKS().Write(w) })
	return srv, func(sub string) string {
		p, _ := idp.Issue(context.Background(), sub, nil)
		return p.AccessToken
	}
}

// Trusting two identity providers found from their issuer URLs (https in production; http is
// accepted on loopback only).
func ExampleDiscover() {
	ctx := context.Background()
	a, mintA := exampleProvider()
	defer a.Close()
	b, mintB := exampleProvider()
	defer b.Close()

	pa, err := jwks.Discover(ctx, a.URL+"/")
	if err != nil {
		fmt.Println(err)
		return
	}
	pb, err := jwks.Discover(ctx, b.URL+"/")
	if err != nil {
		fmt.Println(err)
		return
	}
	api, err := core.New(core.WithTrustedIssuers(pa.TrustedIssuer(), pb.TrustedIssuer()),
		core.WithAudience("https://api.example/"), core.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	for _, tok := range []string{mintA("alice"), mintB("bob")} {
		c, err := api.Verify(ctx, tok)
		fmt.Println(c.Subject, err, strings.HasPrefix(c.Issuer, "http://127.0.0.1:"))
	}
	_, err = api.Verify(ctx, "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZS8ifQ.c2ln")
	fmt.Println(err)
	// Output:
	// alice <nil> true
	// bob <nil> true
	// jwtexp: issuer mismatch: untrusted issuer
}

// Trusting every tenant of a provider, found on its first token: the allow function decides from
// the issuer string alone, so an issuer it refuses costs no request.
func ExampleNewResolver() {
	ctx := context.Background()
	a, mint := exampleProvider()
	defer a.Close()
	r, err := jwks.NewResolver(func(iss string) bool { return iss == a.URL+"/" }, core.TrustedIssuer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	api, err := core.New(core.WithIssuerResolver(r), core.WithAudience("https://api.example/"), core.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()
	c, err := api.Verify(ctx, mint("carol"))
	fmt.Println(c.Subject, err)
	// Output: carol <nil>
}
