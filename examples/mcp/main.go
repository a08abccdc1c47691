// Command mcp is an MCP server (Model Context Protocol, Streamable HTTP) protected by the access
// tokens of the identity providers it trusts: the MCP Go SDK's bearer-token middleware
// (auth.RequireBearerToken) asks jwtexp to verify each token, and the server publishes its
// protected resource metadata (RFC 9728) so MCP clients find the authorization servers.
//
//	JWT_TRUSTED_ISSUERS="https://idp.example/" JWT_RESOURCE="https://mcp.example/mcp" go run ./examples/mcp
//
// Environment:
//
//	ADDR                 listen address (default 127.0.0.1:8080)
//	JWT_TRUSTED_ISSUERS  issuer URLs, space-separated (required), discovered at start
//	JWT_RESOURCE         this server's resource URI (required): the audience its tokens must
//	                     carry (RFC 8707) and the resource of its metadata
//
// Routes: POST/GET /mcp (the MCP endpoint, tool "whoami"), GET
// /.well-known/oauth-protected-resource/mcp (RFC 9728 §3.1: the well-known path, then the
// resource's path).
//
// To start a project from it, copy main.go into a new directory, then
//
//	go mod init example.com/mymcp && go mod tidy && go run .
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}

// Verifier is the MCP SDK's token verifier fed by jwtexp: every rule of the Manager (issuer,
// keys, exp with the leeway, audience, lifetime cap) decides. A refused token is
// auth.ErrInvalidToken (401 with the resource_metadata challenge); keys that cannot be had
// (ErrKeysUnavailable) stay an error of their own, which the SDK answers with 500: never an
// accept. The user is the pair (issuer, subject): two providers may use the same sub.
func Verifier(m *core.Manager) auth.TokenVerifier {
	return func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		c, err := m.Verify(ctx, token)
		if err != nil {
			if m.HTTP().Problem(err).Status == http.StatusUnauthorized {
				return nil, fmt.Errorf("%w: %s", auth.ErrInvalidToken, core.Reason(err))
			}
			return nil, err
		}
		return &auth.TokenInfo{
			Scopes: c.Scopes(), Expiration: c.ExpiresAt, UserID: c.Issuer + " " + c.Subject,
			Extra: map[string]any{"iss": c.Issuer, "sub": c.Subject},
		}, nil
	}
}

// Whoami is the answer of the tool "whoami".
type Whoami struct {
	Issuer  string   `json:"iss"`
	Subject string   `json:"sub"`
	Scopes  []string `json:"scopes"`
}

// NewHandler discovers the issuers and returns the server's routes.
func NewHandler(ctx context.Context, issuers []string, resource string, opts ...jwks.Option) (http.Handler, *core.Manager, error) {
	metaURL, err := core.ResourceMetadataURL(resource)
	if err != nil {
		return nil, nil, fmt.Errorf("JWT_RESOURCE: %w", err)
	}
	var trusted []core.TrustedIssuer
	for _, iss := range issuers {
		p, err := jwks.Discover(ctx, iss, opts...)
		if err != nil {
			return nil, nil, err
		}
		t := p.TrustedIssuer()
		t.Audiences, t.MaxTokenLifetime = []string{resource}, time.Hour
		trusted = append(trusted, t)
	}
	m, err := core.New(core.WithTrustedIssuers(trusted...), core.WithLeeway(10*time.Second), core.WithResourceMetadata(metaURL))
	if err != nil {
		return nil, nil, err
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "jwtexp-mcp-example", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "who the access token says the caller is"},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, Whoami, error) {
			ti := req.Extra.TokenInfo
			return nil, Whoami{Issuer: ti.Extra["iss"].(string), Subject: ti.Extra["sub"].(string), Scopes: ti.Scopes}, nil
		})
	mux := http.NewServeMux()
	u, _ := url.Parse(metaURL)
	mux.Handle("GET "+u.Path, core.ProtectedResourceMetadata{Resource: resource, AuthorizationServers: issuers}.Handler())
	protect := auth.RequireBearerToken(Verifier(m), &auth.RequireBearerTokenOptions{ResourceMetadataURL: metaURL})
	r, _ := url.Parse(resource)
	path := r.Path
	if path == "" {
		path = "/"
	}
	mux.Handle(path, protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
	return mux, m, nil
}

func run(ctx context.Context, getenv func(string) string) error {
	addr := getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	issuers, resource := strings.Fields(getenv("JWT_TRUSTED_ISSUERS")), getenv("JWT_RESOURCE")
	if len(issuers) == 0 || resource == "" {
		return errors.New("set JWT_TRUSTED_ISSUERS (issuer URLs, space-separated) and JWT_RESOURCE (this server's URL, e.g. https://mcp.example/mcp)")
	}
	start, cancel := context.WithTimeout(ctx, 30*time.Second)
	h, m, err := NewHandler(start, issuers, resource)
	cancel()
	if err != nil {
		return err
	}
	defer m.Close()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
