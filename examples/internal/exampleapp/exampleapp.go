// Package exampleapp is what the example apps share: configuration from the environment (the
// variables the README lists), the Manager built from it, the demo user and the answers of /login and /api/me. Each
// example only wires these into its framework's router.
package exampleapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/redis/go-redis/v9"
)

// The demo user. It exists only so the examples can be tried: a real application checks the
// credentials against its own user store before calling Manager.Issue.
const (
	DemoUser     = "alice"
	DemoPassword = "wonderland"
)

// Config is the examples' configuration, read from the environment by FromEnv.
type Config struct {
	Addr                        string        // ADDR, default 127.0.0.1:8080
	AccessSecret, RefreshSecret []byte        // JWT_ACCESS_SECRET, JWT_REFRESH_SECRET; random when both unset
	RandomSecrets               bool          // the secrets were generated at start
	Issuer, Audience            string        // JWT_ISSUER, JWT_AUDIENCE
	AccessTTL, RefreshTTL       time.Duration // JWT_ACCESS_TTL 15m, JWT_REFRESH_TTL 168h
	Leeway                      time.Duration // JWT_LEEWAY 10s
	RefreshGrace                time.Duration // JWT_REFRESH_GRACE 5s
	IdleTimeout                 time.Duration // JWT_IDLE_TIMEOUT; 0 (unset): no idle timeout
	RedisURL                    string        // REDIS_URL; empty: in-memory store
	SigningKeyFile              string        // JWT_SIGNING_KEY_FILE: PEM private key signing access tokens (see keys.go)
	JWKSURL                     string        // JWT_JWKS_URL: verify tokens of that JWK Set only (see keys.go)
	randomRefresh               bool          // JWT_SIGNING_KEY_FILE without JWT_REFRESH_SECRET

	// For tests: the clock the Manager reads (nil: time.Now) and the logger (nil: slog.Default()).
	Clock  func() time.Time
	Logger *slog.Logger
}

// FromEnv reads the configuration through getenv (os.Getenv in main). The error is one line that
// names the variable to fix.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr: "127.0.0.1:8080", Issuer: "jwtexp-example", Audience: "jwtexp-api",
		AccessTTL: 15 * time.Minute, RefreshTTL: 168 * time.Hour, Leeway: 10 * time.Second,
		RefreshGrace: 5 * time.Second,
	}
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("ADDR", &c.Addr)
	str("JWT_ISSUER", &c.Issuer)
	str("JWT_AUDIENCE", &c.Audience)
	str("REDIS_URL", &c.RedisURL)
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"JWT_ACCESS_TTL", &c.AccessTTL}, {"JWT_REFRESH_TTL", &c.RefreshTTL},
		{"JWT_LEEWAY", &c.Leeway}, {"JWT_REFRESH_GRACE", &c.RefreshGrace},
		{"JWT_IDLE_TIMEOUT", &c.IdleTimeout},
	} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%s=%q is not a duration (examples: 15m, 10s, 168h)", d.name, v)
		}
		*d.dst = parsed
	}
	if set, err := keysFromEnv(&c, getenv); set || err != nil {
		return c, err
	}
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	switch {
	case access == "" && refresh == "":
		c.AccessSecret, c.RefreshSecret, c.RandomSecrets = randomSecret(), randomSecret(), true
	case access == "" || refresh == "":
		return c, errors.New("set both JWT_ACCESS_SECRET and JWT_REFRESH_SECRET, or neither for random ones")
	default:
		c.AccessSecret, c.RefreshSecret = []byte(access), []byte(refresh)
	}
	return c, nil
}

func randomSecret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// App is a configured example: its Manager and what it owns.
type App struct {
	Config  Config
	Manager *core.Manager
	redis   *redis.Client
	jwks    *jwks.Source // JWT_JWKS_URL
}

// New builds the Manager from c: HS256 with the two secrets (or the keys of keys.go: a PEM signing
// key, or a remote JWK Set to verify with), the TTLs, leeway and grace window,
// and a Redis store when REDIS_URL is set (checked with a PING), else the in-memory store.
func New(c Config) (*App, error) {
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	opts := []core.Option{
		core.WithIssuer(c.Issuer), core.WithAudience(c.Audience),
		core.WithAccessTTL(c.AccessTTL), core.WithRefreshTTL(c.RefreshTTL),
		core.WithLeeway(c.Leeway), core.WithRefreshGrace(c.RefreshGrace),
		core.WithLogger(logger),
	}
	if c.Clock != nil {
		opts = append(opts, core.WithClock(c.Clock))
	}
	if c.IdleTimeout != 0 {
		opts = append(opts, core.WithIdleTimeout(c.IdleTimeout))
	}
	a := &App{Config: c}
	keyOpts, src, err := c.keyOptions(logger)
	if err != nil {
		return nil, err
	}
	opts, a.jwks = append(opts, keyOpts...), src
	defer func() {
		if a.Manager == nil && src != nil {
			src.Close()
		}
	}()
	if c.RedisURL != "" {
		ro, err := redis.ParseURL(c.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %v", err)
		}
		a.redis = redis.NewClient(ro)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := a.redis.Ping(ctx).Err(); err != nil {
			a.redis.Close()
			return nil, fmt.Errorf("REDIS_URL: cannot reach Redis: %v", err)
		}
		st, err := redisstore.New(a.redis)
		if err != nil {
			a.redis.Close()
			return nil, err
		}
		opts = append(opts, core.WithStore(st))
	}
	m, err := core.New(opts...)
	if err != nil {
		if a.redis != nil {
			a.redis.Close()
		}
		return nil, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	a.Manager = m
	if c.RandomSecrets {
		logger.Warn("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET are unset: using random secrets, so tokens die with this process")
	}
	return a, nil
}

// Close releases the Manager and the Redis client.
func (a *App) Close() error {
	err := a.Manager.Close()
	if a.jwks != nil {
		a.jwks.Close()
	}
	if a.redis != nil {
		err = errors.Join(err, a.redis.Close())
	}
	return err
}

// Login answers POST /login: JSON {"username", "password"} checked against the demo user, then a
// token response (refresh token in an HttpOnly cookie when the request sends
// "X-Refresh-Transport: cookie"). Wrong credentials: 401 invalid_grant; a malformed body: 400. A
// verification-only example (JWT_JWKS_URL) answers 501 not_implemented, whatever the body. The
// session records the browser and system of the User-Agent only; LoginFrom adds the network.
func (a *App) Login(ctx context.Context, r core.Request) core.Response {
	return a.LoginFrom(ctx, r, "")
}

// LoginFrom is Login for a request from remoteAddr ("host:port"): the session's client
// description ("your devices") also names the network it came from, as a /24 (IPv4) or /48
// (IPv6), never the full address (see core.DescribeClient). Behind a proxy remoteAddr is the
// proxy's: pass the client address your proxy vouches for, or "".
func (a *App) LoginFrom(ctx context.Context, r core.Request, remoteAddr string) core.Response {
	if a.Manager.VerificationOnly() { // JWT_JWKS_URL: tokens come from the issuer
		return a.Manager.Problem(core.ErrVerificationOnly)
	}
	body, err := r.Body(core.MaxBodySize)
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err != nil || json.Unmarshal(bytes.TrimSpace(body), &req) != nil {
		return jsonError(http.StatusBadRequest, "invalid_request", "body must be JSON {\"username\": ..., \"password\": ...}")
	}
	userOK := subtle.ConstantTimeCompare([]byte(req.Username), []byte(DemoUser))
	passOK := subtle.ConstantTimeCompare([]byte(req.Password), []byte(DemoPassword))
	if userOK&passOK != 1 {
		resp := jsonError(http.StatusUnauthorized, "invalid_grant", "invalid username or password")
		resp.WWWAuthenticate = `Bearer realm="` + a.Manager.Realm() + `"`
		return resp
	}
	ua, _ := r.Header("User-Agent")
	p, err := a.Manager.Issue(ctx, req.Username, nil, core.WithSessionClient(core.DescribeClient(ua, remoteAddr)))
	if err != nil {
		return a.Manager.Problem(err)
	}
	return a.Manager.LoginResponse(r, p)
}

// Me answers GET /api/me for verified claims: {"sub": ..., "exp": ...}.
func Me(c *core.Claims) core.Response {
	b, _ := json.Marshal(struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}{c.Subject, c.ExpiresAt.Unix()})
	return core.Response{Status: http.StatusOK, CacheControl: "no-store", Body: b}
}

func jsonError(status int, code, desc string) core.Response {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return core.Response{Status: status, CacheControl: "no-store", Body: b}
}

// Main is the examples' main: read the environment, build the App, and hand it to serve, which
// listens on app.Config.Addr until it fails. Bad configuration exits with status 2 and a one-line
// reason on stderr.
func Main(name string, serve func(app *App) error) {
	cfg, err := FromEnv(os.Getenv)
	if err == nil {
		var app *App
		app, err = New(cfg)
		if err == nil {
			defer app.Close()
			slog.Info(name+" example listening", "addr", "http://"+cfg.Addr, "demo_user", DemoUser, "demo_password", DemoPassword)
			err = serve(app)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s example: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "%s example: invalid configuration: %v\n", name, err)
	os.Exit(2)
}
