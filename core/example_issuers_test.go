package core_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/jwtexp/jwtexp/core"
)

// RFC 9728: the metadata of a resource, at the URL its challenges point to.
func ExampleProtectedResourceMetadata() {
	const resource = "https://api.example/mcp"
	metaURL, err := core.ResourceMetadataURL(resource)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(metaURL)

	md := core.ProtectedResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{"https://login.example/"},
		ScopesSupported:      []string{"tools:read"},
	}
	rec := httptest.NewRecorder()
	md.Handler().ServeHTTP(rec, httptest.NewRequest("GET", metaURL, nil))
	fmt.Println(rec.Code, rec.Body.String())

	// core.WithResourceMetadata(metaURL) then adds it to every challenge:
	m, err := core.New(
		core.WithTrustedIssuers(core.TrustedIssuer{Issuer: "https://login.example/", Keys: noKeys{}}),
		core.WithAudience(resource), core.WithResourceMetadata(metaURL), core.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	fmt.Println(m.HTTP().Problem(core.ErrTokenMissing).WWWAuthenticate)
	// Output:
	// https://api.example/.well-known/oauth-protected-resource/mcp
	// 200 {"resource":"https://api.example/mcp","authorization_servers":["https://login.example/"],"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}
	// Bearer realm="jwtexp", resource_metadata="https://api.example/.well-known/oauth-protected-resource/mcp"
}

// noKeys is a KeySource that knows no key; core/jwks supplies real ones.
type noKeys struct{}

func (noKeys) VerificationKey(context.Context, string) (crypto.PublicKey, string, error) {
	return nil, "", errors.New("no keys")
}
