package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
)

// An identity provider publishes its keys; a resource server verifies its tokens with them.
func Example() {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	idp, _ := core.New(
		core.WithAccessKeys(core.Key{ID: "2026-11", Private: priv}),
		core.WithRefreshKeys(core.Key{Secret: []byte("refresh-secret-of-the-idp-0123456789")}),
		core.WithIssuer("https://idp.example/"), core.WithAudience("orders-api"), core.WithLogger(nil))
	defer idp.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { idp.HTTP().ServeJWKS().Write(w) }))
	defer srv.Close()

	// The resource server: no secret, only the JWKS URL (https in production).
	src, err := jwks.New(context.Background(), srv.URL+"/.well-known/jwks.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	api, err := core.New(core.WithKeySource(src),
		core.WithIssuer("https://idp.example/"), core.WithAudience("orders-api"), core.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer api.Close()

	p, _ := idp.Issue(context.Background(), "alice", nil)
	c, err := api.Verify(context.Background(), p.AccessToken)
	fmt.Println(c.Subject, err)
	_, err = api.Issue(context.Background(), "alice", nil)
	fmt.Println(err)
	// Output:
	// alice <nil>
	// jwtexp: verification-only manager: tokens are issued by the key owner, not here
}
