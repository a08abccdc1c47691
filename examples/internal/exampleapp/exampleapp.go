// Package exampleapp is what the example apps share: configuration from the environment, the
// Manager built from it, the demo user's login check (Authenticate), the requirements of
// /api/admin and /api/sensitive and the answer of the /api routes. Each example only wires these
// into its framework's router.
package exampleapp

import (
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
	"github.com/jwtexp/jwtexp/prommetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	RefreshGrace                time.Duration // JWT_REFRESH_GRACE; negative (unset): the library default
	IdleTimeout                 time.Duration // JWT_IDLE_TIMEOUT; 0 (unset): no idle timeout
	RedisURL                    string        // REDIS_URL; empty: in-memory store
	SigningKeyFile              string        // JWT_SIGNING_KEY_FILE: PEM private key signing access tokens (see keys.go)
	JWKSURL                     string        // JWT_JWKS_URL: verify tokens of that JWK Set only (see keys.go)
	Metrics                     bool          // METRICS=1: serve GET /metrics (Prometheus text format)
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
		RefreshGrace: -1,
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
	switch v := getenv("METRICS"); v {
	case "", "0":
	case "1":
		c.Metrics = true
	default:
		return c, fmt.Errorf("METRICS=%q: use 1 to serve GET /metrics, or leave it unset", v)
	}
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
	metrics http.Handler // GET /metrics; a 404 without METRICS=1
}

// MetricsHandler answers GET /metrics: the Prometheus text format of the Manager's figures (names
// prefixed jwtexp_, see package prommetrics) when the app was started with METRICS=1, else 404.
// Every example mounts it at /metrics.
func (a *App) MetricsHandler() http.Handler { return a.metrics }

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
		core.WithLeeway(c.Leeway),
		core.WithLogger(logger),
		// "Your devices": each session records the browser, system and /24 network it came from.
		core.WithSessionClients(),
		// The browser client opens GET /api/ws with new WebSocket(url, ["jwtexp.bearer", token]):
		// browsers cannot set Authorization on a WebSocket.
		core.WithWebSocketProtocolToken(),
	}
	if c.Clock != nil {
		opts = append(opts, core.WithClock(c.Clock))
	}
	if c.IdleTimeout != 0 {
		opts = append(opts, core.WithIdleTimeout(c.IdleTimeout))
	}
	if c.RefreshGrace >= 0 {
		opts = append(opts, core.WithRefreshGrace(c.RefreshGrace))
	}
	a := &App{Config: c, metrics: http.NotFoundHandler()}
	var hook core.Hook
	if c.Metrics {
		// A registry of the app's own, not the global one: two apps in one test process must
		// not collide.
		metrics, reg := prommetrics.New(), prometheus.NewRegistry()
		reg.MustRegister(metrics)
		hook, a.metrics = metrics.Hook, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		opts = append(opts, core.WithEventHook(hook))
	}
	keyOpts, src, err := c.keyOptions(logger, hook)
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
			// Not err itself: url.Parse errors quote the whole URL, password included.
			return nil, errors.New("REDIS_URL: not a valid redis:// or rediss:// URL (check the scheme, host, port and database)")
		}
		ro.ContextTimeoutEnabled = true // the store deadline must reach the socket
		a.redis = redis.NewClient(ro)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := a.redis.Ping(ctx).Err(); err != nil {
			a.redis.Close()
			return nil, fmt.Errorf("REDIS_URL: cannot reach Redis: %v", err)
		}
		// The local replica answers revocation checks without a round trip and hears every
		// instance's revocations, which end /api/events and /api/ws within moments.
		st, err := redisstore.New(a.redis, redisstore.WithEventHook(hook), redisstore.WithLocalReplica())
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

// UserClaims are the custom claims of the examples' tokens: the demo user gets the scope
// "profile" only, so GET /api/admin (scope "admin") refuses it.
type UserClaims struct {
	Scope string `json:"scope,omitempty"`
}

// AdminScope is the scope GET /api/admin requires.
const AdminScope = "admin"

// RecentLogin is what GET /api/sensitive requires: a login at most 5 minutes old (RFC 9470).
var RecentLogin = core.StepUp{MaxAge: 5 * time.Minute}

// Authenticate is the examples' login check, for the adapters' LoginHandler: the JSON (or form)
// body's username and password against the demo user, compared in constant time. A real
// application looks the user up in its own store and checks a password hash instead; the
// shape stays: the subject and the user's claims, or core.ErrInvalidCredentials (401
// invalid_grant). A malformed body is core.ReadCredentials' error (400 invalid_request).
func Authenticate(r core.Request) (string, UserClaims, error) {
	c, err := core.ReadCredentials(r)
	if err != nil {
		return "", UserClaims{}, err
	}
	userOK := subtle.ConstantTimeCompare([]byte(c.Username), []byte(DemoUser))
	passOK := subtle.ConstantTimeCompare([]byte(c.Password), []byte(DemoPassword))
	if userOK&passOK != 1 {
		return "", UserClaims{}, core.ErrInvalidCredentials
	}
	return c.Username, UserClaims{Scope: "profile"}, nil
}

// Me answers GET /api/me, /api/admin and /api/sensitive for verified claims: {"sub": ..., "exp": ...}.
func Me(c *core.Claims) core.Response {
	b, _ := json.Marshal(struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}{c.Subject, c.ExpiresAt.Unix()})
	return core.Response{Status: http.StatusOK, CacheControl: "no-store", Body: b}
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

// Server timeouts of every example: a slow or silent client is dropped instead of holding a
// connection (and its goroutine) for ever.
const (
	ReadHeaderTimeout = 5 * time.Second  // request line and headers
	ReadTimeout       = 10 * time.Second // the whole request, body included
	WriteTimeout      = 10 * time.Second // from the end of the headers to the end of the answer
	IdleTimeout       = 20 * time.Second // a keep-alive connection between requests
)

// Server is the http.Server of the net/http-based examples, with the timeouts above.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout}
}
