package core

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json"
)

// ResourceMetadataPath is where RFC 9728 §3 places the protected resource metadata of a resource
// at the root of its host.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ProtectedResourceMetadata is the OAuth 2.0 Protected Resource Metadata document (RFC 9728 §2):
// what a client (an MCP client, for example) needs to find the authorization servers whose
// tokens this resource server accepts. Serve it with Handler at the URL ResourceMetadataURL
// returns, and give that URL to WithResourceMetadata so every 401 challenge points to it.
type ProtectedResourceMetadata struct {
	// Resource is the resource identifier: an https URL without fragment (RFC 9728 §2, RFC 8707
	// §2), also the audience the trusted issuers' tokens should carry. Required.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers of the authorization servers (RFC 8414)
	// whose tokens the resource accepts: the trusted issuers.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scopes the resource's routes require.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported says how tokens may be sent: "header", "body", "query" (RFC 6750 §2).
	// Empty: ["header"], this library's default.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceName is a human-readable name of the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of a page for developers.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// ResourceMetadataURL returns the URL of the metadata of resource (RFC 9728 §3.1): the
// well-known path inserted between the host and the resource's path, so that
// https://api.example/mcp has its metadata at
// https://api.example/.well-known/oauth-protected-resource/mcp. It fails, matching
// ErrInvalidConfig, when resource is not an absolute http(s) URL or has a query or fragment.
func ResourceMetadataURL(resource string) (string, error) {
	u, err := checkResource(resource)
	if err != nil {
		return "", err
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + ResourceMetadataPath + path, nil
}

func checkResource(resource string) (*url.URL, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, configError("resource %q must be an absolute https URL without query or fragment (RFC 9728 §2)", resource)
	}
	return u, nil
}

// Handler serves the document as JSON (GET and HEAD; other methods 405), with Cache-Control
// public, max-age=3600. It panics when Resource is not an absolute URL without query or fragment:
// a route built with a bad document fails at setup, not on its first request.
func (md ProtectedResourceMetadata) Handler() http.Handler {
	if _, err := checkResource(md.Resource); err != nil {
		panic("core: ProtectedResourceMetadata.Handler: " + err.Error())
	}
	if len(md.BearerMethodsSupported) == 0 {
		md.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(md)
	if err != nil {
		panic("core: ProtectedResourceMetadata.Handler: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	})
}
