package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// bearer adds a fixed access token to every request of the MCP client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// An MCP client with an access token of a real identity provider (Ory Hydra) calls a tool of
// the server; without a token, or with one for another audience, it is refused with 401 and
// the challenge points to the RFC 9728 metadata.
func TestMCP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp := testutil.StartHydra(t, testutil.HydraOptions{})
	const resource = "https://api.example/mcp" // one of testutil.HydraAudiences
	h, m, err := NewHandler(ctx, []string{idp.Issuer}, resource)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{idp.Token("read admin", resource)}}}, nil)
	if err != nil {
		t.Fatalf("connect with a token: %v", err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var who Whoami
	if json.Unmarshal(b, &who) != nil || who.Issuer != idp.Issuer || who.Subject != testutil.HydraClientID ||
		strings.Join(who.Scopes, " ") != "read admin" {
		t.Fatalf("whoami: %s", b)
	}

	wantChallenge := `resource_metadata="https://api.example/.well-known/oauth-protected-resource/mcp"`
	for name, tok := range map[string]string{"no token": "", "other audience": idp.Token("read", "api"), "forged": "a.b.c"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), wantChallenge) {
			t.Fatalf("%s: %d %q; want 401 with %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), wantChallenge)
		}
	}
	// The metadata the challenge points to.
	resp, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || md.Resource != resource || len(md.AuthorizationServers) != 1 || md.AuthorizationServers[0] != idp.Issuer {
		t.Fatalf("metadata: %v %+v", err, md)
	}
}
