// Command resource is a verification-only API (a resource server) on net/http: it mints no
// token and has no login; it accepts the access tokens of the identity providers it trusts.
//
//	JWT_TRUSTED_ISSUERS="https://idp-a.example/ https://idp-b.example/" \
//	JWT_AUDIENCE="https://api.example/" go run ./examples/resource
//
// Environment:
//
//	ADDR                    listen address (default 127.0.0.1:8080)
//	JWT_TRUSTED_ISSUERS     issuer URLs, space-separated (required): each is discovered at start
//	                        (/.well-known/openid-configuration, else RFC 8414); the service does
//	                        not start when one cannot be discovered or states another issuer
//	JWT_AUDIENCE            accepted audiences, space-separated (default: JWT_RESOURCE)
//	JWT_RESOURCE            this API's resource URI (RFC 8707, RFC 9728): serves its protected
//	                        resource metadata and points every 401 challenge to it
//	JWT_LEEWAY              clock-skew tolerance (default 10s)
//	JWT_MAX_TOKEN_LIFETIME  longest exp - iat accepted (default 1h, what providers usually issue)
//	JWT_REQUIRE_AT_JWT      1: accept only RFC 9068 access tokens (typ at+jwt)
//
// Routes: GET /api/me -> {"iss","sub","aud","scope"}; GET /api/admin, the same for tokens with the
// scope "admin"; GET /.well-known/oauth-protected-resource (RFC 9728) when JWT_RESOURCE is set
// (followed by the resource's path when it has one: RFC 9728 §3.1).
// Issuer URLs must be https, except on loopback (http://127.0.0.1:..., http://localhost:...).
//
// To start a project from it, copy main.go into a new directory, then
//
//	go mod init example.com/myapi && go mod tidy && go run .
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "resource:", err)
		os.Exit(1)
	}
}

// Config is the example's configuration, read from the environment.
type Config struct {
	Addr          string
	Issuers       []string
	Audiences     []string
	Resource      string
	Leeway        time.Duration
	MaxLifetime   time.Duration
	RequireATJWT  bool
	KeySetOptions []jwks.Option // for tests: the clock of the key sets
	ManagerClock  func() time.Time
}

// LoadConfig reads the configuration; a bad value is an error naming the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{Addr: "127.0.0.1:8080", Leeway: 10 * time.Second, MaxLifetime: time.Hour}
	if v := getenv("ADDR"); v != "" {
		c.Addr = v
	}
	c.Issuers = strings.Fields(getenv("JWT_TRUSTED_ISSUERS"))
	if len(c.Issuers) == 0 {
		return c, errors.New("JWT_TRUSTED_ISSUERS is empty: give the issuer URLs of the identity providers to trust, space-separated")
	}
	c.Resource = getenv("JWT_RESOURCE")
	c.Audiences = strings.Fields(getenv("JWT_AUDIENCE"))
	if len(c.Audiences) == 0 && c.Resource != "" {
		c.Audiences = []string{c.Resource} // RFC 8707: the resource URI is the audience
	}
	if len(c.Audiences) == 0 {
		return c, errors.New("JWT_AUDIENCE is empty: give the audiences this API accepts (or JWT_RESOURCE)")
	}
	for name, d := range map[string]*time.Duration{"JWT_LEEWAY": &c.Leeway, "JWT_MAX_TOKEN_LIFETIME": &c.MaxLifetime} {
		if v := getenv(name); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s=%q: %v", name, v, err)
			}
			*d = p
		}
	}
	c.RequireATJWT = getenv("JWT_REQUIRE_AT_JWT") == "1"
	return c, nil
}

// NewHandler discovers the issuers (failing when one cannot be discovered) and returns the
// API's routes.
func NewHandler(ctx context.Context, c Config) (http.Handler, *core.Manager, error) {
	var trusted []core.TrustedIssuer
	for _, iss := range c.Issuers {
		p, err := jwks.Discover(ctx, iss, c.KeySetOptions...)
		if err != nil {
			return nil, nil, err
		}
		t := p.TrustedIssuer()
		t.Audiences, t.MaxTokenLifetime, t.RequireATJWT = c.Audiences, c.MaxLifetime, c.RequireATJWT
		trusted = append(trusted, t)
	}
	opts := []core.Option{core.WithTrustedIssuers(trusted...), core.WithLeeway(c.Leeway)}
	if c.ManagerClock != nil {
		opts = append(opts, core.WithClock(c.ManagerClock))
	}
	mux := http.NewServeMux()
	if c.Resource != "" {
		metaURL, err := core.ResourceMetadataURL(c.Resource)
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_RESOURCE: %w", err)
		}
		opts = append(opts, core.WithResourceMetadata(metaURL))
		u, _ := url.Parse(metaURL)
		mux.Handle("GET "+u.Path, core.ProtectedResourceMetadata{
			Resource:             c.Resource,
			AuthorizationServers: c.Issuers,
			ScopesSupported:      []string{"admin"},
		}.Handler())
	}
	m, err := core.New(opts...)
	if err != nil {
		return nil, nil, err
	}
	auth := nethttpjwt.Middleware(m)
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store") // a user's data: no shared cache keeps it
		json.NewEncoder(w).Encode(map[string]any{
			"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience(), "scope": strings.Join(c.Scopes(), " "),
		})
	})
	mux.Handle("GET /api/me", auth(me))
	mux.Handle("GET /api/admin", auth(nethttpjwt.RequireScope(m, "admin")(me)))
	return mux, m, nil
}

func run(ctx context.Context, getenv func(string) string) error {
	c, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	start, cancel := context.WithTimeout(ctx, 30*time.Second) // discovery of every issuer
	h, m, err := NewHandler(start, c)
	cancel()
	if err != nil {
		return err
	}
	defer m.Close()
	srv := &http.Server{Addr: c.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	slog.Info("resource: listening", "addr", c.Addr, "issuers", c.Issuers, "audiences", c.Audiences)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
