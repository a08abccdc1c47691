package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/jwtexp/jwtexp/core"
)

func dpopExampleManager(opts ...core.Option) *core.Manager {
	m, err := core.New(append([]core.Option{
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
		core.WithDPoPPublicURL("https://api.example.com"), // the origin clients call, behind the proxy
	}, opts...)...)
	if err != nil {
		panic(err)
	}
	return m
}

// Tokens bound to a DPoP key (RFC 9449): ServeLogin binds them when the login carries a valid
// proof; an application that verified a proof itself passes its thumbprint with WithDPoPKey.
// A bound token is refused as a Bearer token, with a DPoP challenge naming the algorithms.
func ExampleWithDPoPKey() {
	ctx := context.Background()
	m := dpopExampleManager()
	defer m.Close()

	p, _ := m.Issue(ctx, "alice", nil, core.WithDPoPKey("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"))
	fmt.Println("bound to:", p.DPoPThumbprint)

	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	_, err := m.Authenticate(ctx, core.HTTPRequest(r))
	fmt.Println(errors.Is(err, core.ErrDPoPBinding))
	fmt.Println(m.HTTP().Problem(err).WWWAuthenticate)

	// Refreshing needs a proof of the same key: without one, the refresh token is worthless.
	_, err = m.Refresh(ctx, p.RefreshToken)
	fmt.Println(errors.Is(err, core.ErrInvalidGrant), core.Reason(err))
	// Output:
	// bound to: 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I
	// true
	// DPoP realm="jwtexp", error="invalid_token", error_description="DPoP-bound token sent without DPoP", algs="ES256 EdDSA Ed25519 RS256 PS256"
	// true refresh token is bound to another DPoP key
}

// With WithDPoPRequired every session is bound: a login without a DPoP proof is refused at the
// token endpoint with 400 invalid_dpop_proof (RFC 9449 §5), and so is Issue without a key.
func ExampleWithDPoPRequired() {
	ctx := context.Background()
	m := dpopExampleManager(core.WithDPoPRequired())
	defer m.Close()

	r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"alice","password":"wonderland"}`))
	resp := m.HTTP().ServeLogin(ctx, core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	fmt.Println(resp.Status, string(resp.Body))

	_, err := m.Issue(ctx, "alice", nil)
	fmt.Println(errors.Is(err, core.ErrDPoPProof))
	// Output:
	// 400 {"error":"invalid_dpop_proof","error_description":"DPoP proof required"}
	// true
}

// A login service of another protocol (an RPC service, a message queue) checks the DPoP proof
// its request carries with TokenEndpointProof, then binds the session with WithDPoPKey (or a
// refresh with WithRefreshDPoPKey). The request gives the DPoP header and, through
// RequestTarget, the method and URL the proof must name; here an *http.Request stands in.
func ExampleManager_TokenEndpointProof() {
	ctx := context.Background()
	m := dpopExampleManager()
	defer m.Close()

	login := func(proof string) {
		r := httptest.NewRequest("POST", "https://api.example.com/login", nil)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		jkt, err := m.TokenEndpointProof(ctx, core.HTTPRequest(r))
		if err != nil {
			fmt.Println("refused:", errors.Is(err, core.ErrDPoPProof), m.HTTP().Problem(err).Status, core.Reason(err))
			return
		}
		var opts []core.IssueOption
		if jkt != "" {
			opts = append(opts, core.WithDPoPKey(jkt))
		}
		p, _ := m.Issue(ctx, "alice", nil, opts...)
		fmt.Printf("issued, bound to %q\n", p.DPoPThumbprint)
	}
	login("")            // no proof, DPoP allowed: Bearer tokens
	login("not-a-proof") // a proof that does not parse
	// Output:
	// issued, bound to ""
	// refused: true 400 malformed DPoP proof
}
