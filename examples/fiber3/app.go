// This file is the example's configuration and its Manager, the same in every example
// (nethttp, gin, echo, echo5, fiber, fiber3): the environment variables of the README, the key
// modes, the store (in memory, or Redis when REDIS_URL is set), Prometheus metrics (METRICS=1),
// the demo user's login check and the answer of the /api routes. main.go only wires them into
// its framework's router. Copy both files (not the _test.go ones) into a module of your own and
// run "go mod tidy && go run .".

package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
	RefreshGrace                time.Duration // JWT_REFRESH_GRACE; unset: the library's default
	refreshGraceSet             bool          // JWT_REFRESH_GRACE is set
	IdleTimeout                 time.Duration // JWT_IDLE_TIMEOUT; 0 (unset): no idle timeout
	SessionChurnLimit           int           // JWT_SESSION_CHURN_LIMIT; 0 (unset): the library's default; -1 ("off"): none
	RedisURL                    string        // REDIS_URL; empty: in-memory store
	SigningKeyFile              string        // JWT_SIGNING_KEY_FILE: PEM private key signing access tokens (see keyOptions)
	JWKSURL                     string        // JWT_JWKS_URL: verify tokens of that JWK Set only (see keyOptions)
	SigningAlg                  string        // JWT_SIGNING_ALG: EdDSA, ES256 or RS256 access keys (see keyOptions)
	KeyRotation                 time.Duration // JWT_KEY_ROTATION: the key ring's period; 0: no rotation
	KeyEncryptionKey            []byte        // JWT_KEY_ENCRYPTION_KEY (base64 of 32 bytes): seals the ring's keys in Redis
	Metrics                     bool          // METRICS=1: serve GET /metrics (Prometheus text format)
	CookieOnly                  bool          // JWT_COOKIE_ONLY=1: tokens only in HttpOnly cookies (core.WithCookieOnly)
	DPoP                        string        // JWT_DPOP: "allowed" (default), "required" or "off" (RFC 9449)
	DPoPNonce                   bool          // JWT_DPOP_NONCE=1: DPoP proofs must carry a server nonce
	DPoPPublicURL               string        // JWT_DPOP_PUBLIC_URL: the origin DPoP proofs name, behind a proxy
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
	switch v := getenv("JWT_COOKIE_ONLY"); v {
	case "", "0":
	case "1":
		c.CookieOnly = true
	default:
		return c, fmt.Errorf("JWT_COOKIE_ONLY=%q: use 1 to keep the tokens in HttpOnly cookies only, or leave it unset", v)

	}
	switch c.DPoP = getenv("JWT_DPOP"); c.DPoP {
	case "":
		c.DPoP = "allowed"
	case "allowed", "required", "off":
	default:
		return c, fmt.Errorf("JWT_DPOP=%q: use required, allowed or off", c.DPoP)
	}
	if c.DPoPPublicURL = getenv("JWT_DPOP_PUBLIC_URL"); c.DPoPPublicURL != "" && c.DPoP == "off" {
		return c, errors.New("JWT_DPOP_PUBLIC_URL with JWT_DPOP=off: turn DPoP on or unset JWT_DPOP_PUBLIC_URL")
	}
	switch v := getenv("JWT_DPOP_NONCE"); v {
	case "", "0":
	case "1":
		if c.DPoP == "off" {
			return c, errors.New("JWT_DPOP_NONCE=1 with JWT_DPOP=off: turn DPoP on or unset JWT_DPOP_NONCE")
		}
		if getenv("JWT_KEY_ROTATION") != "" || getenv("JWT_JWKS_URL") != "" {
			return c, errors.New("JWT_DPOP_NONCE=1 derives the nonce key from the refresh secret: not with JWT_KEY_ROTATION or JWT_JWKS_URL")
		}
		c.DPoPNonce = true
	default:
		return c, fmt.Errorf("JWT_DPOP_NONCE=%q: use 1 for server nonces, or leave it unset", v)
	}
	switch v := getenv("JWT_SESSION_CHURN_LIMIT"); v {
	case "":
	case "off":
		c.SessionChurnLimit = -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("JWT_SESSION_CHURN_LIMIT=%q: use a positive number of sessions, or off", v)
		}
		c.SessionChurnLimit = n
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
		if d.dst == &c.RefreshGrace {
			c.refreshGraceSet = true
		}
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

// New builds the Manager from c: HS256 with the two secrets (or the keys below: a PEM signing
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
	if c.refreshGraceSet { // unset: the library's default grace window
		opts = append(opts, core.WithRefreshGrace(c.RefreshGrace))
	}
	switch {
	case c.SessionChurnLimit < 0:
		opts = append(opts, core.WithoutSessionChurnLimit())
	case c.SessionChurnLimit > 0:
		opts = append(opts, core.WithSessionChurnLimit(c.SessionChurnLimit))
	}
	if c.IdleTimeout != 0 {
		opts = append(opts, core.WithIdleTimeout(c.IdleTimeout))
	}
	if c.CookieOnly {
		// Login and refresh set the access token as an HttpOnly cookie too and answer without
		// token strings; every unsafe request a browser sends from another origin is refused
		// with 403 (cross-site request forgery).
		opts = append(opts, core.WithCookieOnly())

	}
	// DPoP (RFC 9449): by default a login with a DPoP proof gets tokens bound to the client's
	// key; JWT_DPOP=required refuses Bearer tokens, JWT_DPOP=off ignores proofs.
	switch c.DPoP {
	case "required":
		opts = append(opts, core.WithDPoPRequired())
	case "off":
		opts = append(opts, core.WithoutDPoP())
	}
	if c.DPoPNonce {
		opts = append(opts, core.WithDPoPNonce())
	}
	if c.DPoPPublicURL != "" { // behind a TLS-terminating proxy: the URL clients call
		opts = append(opts, core.WithDPoPPublicURL(c.DPoPPublicURL))
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
	// What the key options have to say is logged once the Manager is built: a configuration
	// that fails prints its one-line reason alone.
	var notes []func()
	say := func(level slog.Level, msg string, args ...any) {
		notes = append(notes, func() { logger.Log(context.Background(), level, msg, args...) })
	}
	keyOpts, src, err := c.keyOptions(say, hook)
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
		redis.SetLogger(redisLog{})
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
	for _, note := range notes {
		note()
	}
	if c.RandomSecrets {
		logger.Warn("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET are unset: using random secrets, so tokens die with this process")
	}
	return a, nil
}

// redisLog is go-redis's logger for the examples: its lines (a failed dial, for one) go to the
// default slog logger as warnings once the example serves (Main), and are dropped before, while
// New checks Redis: a Redis that cannot be reached then is reported by New's error, on one line.
type redisLog struct{}

// serving is set by Main once the example serves.
var serving atomic.Bool

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	if serving.Load() {
		slog.WarnContext(ctx, fmt.Sprintf(format, v...))
	}
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

// Main is the examples' main: read the environment, listen on ADDR, build the App, and hand both
// to serve, which serves on the listener until it fails. Bad configuration - an ADDR that cannot
// be listened on (malformed, or in use) included - exits with status 2 and a one-line reason on
// stderr, and nothing else: no "listening" line, no warning.
func Main(name string, serve func(app *App, ln net.Listener) Serving) {
	err := setButEmpty(os.Environ())
	var cfg Config
	if err == nil {
		cfg, err = FromEnv(os.Getenv)
	}
	var ln net.Listener
	if err == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			err = fmt.Errorf("ADDR=%q: %v", cfg.Addr, err)
		}
	}
	var app *App
	if err == nil {
		app, err = New(cfg)
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		fmt.Fprintf(os.Stderr, "%s example: invalid configuration: %v\n", name, err)
		os.Exit(2)
	}
	// SIGINT (Ctrl-C) and SIGTERM (docker stop, systemd, Kubernetes) stop the example cleanly: no
	// new connections, the requests in flight get ShutdownTimeout to finish, the Manager and its
	// store are closed, exit status 0. A second signal during the drain ends it at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := serve(app, ln)
	done := make(chan error, 1)
	go func() { done <- s.Run() }()
	serving.Store(true)
	slog.Info(name+" example listening", "addr", "http://"+ln.Addr().String(), "demo_user", DemoUser, "demo_password", DemoPassword)
	select {
	case err := <-done: // it could not listen, or stopped by itself
		app.Close()
		fmt.Fprintf(os.Stderr, "%s example: %v\n", name, err)
		os.Exit(1)
	case <-ctx.Done():
	}
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	err = s.Shutdown(sctx)
	cancel()
	<-done
	app.Close()
	slog.Info(name+" example stopped", "drained", err == nil)
}

// Serving is how an example serves: Run serves on the listener Main gave until Shutdown is called (it may then return
// http.ErrServerClosed or nil); Shutdown stops accepting connections and waits for the requests
// in flight until its context ends.
type Serving struct {
	Run      func() error
	Shutdown func(ctx context.Context) error
}

// ShutdownTimeout is how long an example waits for its requests in flight after SIGINT or SIGTERM.
const ShutdownTimeout = 5 * time.Second

// setButEmpty refuses a variable of the example's that is set to the empty string (JWT_ISSUER=
// in a shell script or a compose file): read as unset it would quietly fall back to a default,
// which for an issuer or an audience means trusting tokens meant for something else.
func setButEmpty(environ []string) error {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value != "" {
			continue
		}
		if strings.HasPrefix(name, "JWT_") || name == "ADDR" || name == "REDIS_URL" || name == "METRICS" {
			return fmt.Errorf("%s is set but empty: give it a value, or unset it for the default", name)
		}
	}
	return nil
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

// Keys beyond the shared secret. Five modes, chosen by the environment:
//
//   - default: access and refresh tokens are HS256 with JWT_ACCESS_SECRET and JWT_REFRESH_SECRET
//     (random per start when both are unset); /.well-known/jwks.json serves an empty set, since
//     an HMAC secret is never published.
//   - JWT_SIGNING_KEY_FILE: a PEM private key (RSA, EC P-256 or Ed25519; see
//     core.LoadSigningKeyFile) signs the access tokens instead of JWT_ACCESS_SECRET, with the
//     algorithm that follows the key (RS256, ES256, EdDSA) and the key's RFC 7638 thumbprint as
//     kid; /.well-known/jwks.json publishes its public key, so other services (and other
//     ecosystems' JWT libraries) verify the tokens without holding any secret. Refresh tokens,
//     which only this service reads, stay HS256 with JWT_REFRESH_SECRET (random when unset).
//   - JWT_JWKS_URL: a verification-only resource server for access tokens signed by the keys of
//     that JWK Set (another example started with JWT_SIGNING_KEY_FILE, or an identity provider).
//     JWT_ISSUER and JWT_AUDIENCE are required (no defaults: they must name that issuer and
//     this API); the access-token lifetime cap is JWT_ACCESS_TTL. GET /api/me works as usual,
//     POST /logout revokes the session in this server's own store; POST /login and POST
//     /refresh answer 501 {"error":"not_implemented"}: tokens come from the issuer, not from
//     here. The URL must be https (http only on loopback).
//   - JWT_SIGNING_ALG (EdDSA, ES256 or RS256): access tokens are signed with a key of that
//     algorithm, random per start (with a warning), and published at /.well-known/jwks.json;
//     refresh tokens stay HS256 with JWT_REFRESH_SECRET (random when unset).
//   - JWT_SIGNING_ALG with JWT_KEY_ROTATION (a duration, e.g. 24h, or 20s for a demo with
//     JWT_ACCESS_TTL=10s): the key ring of core.WithKeyRotation creates, publishes ahead,
//     rotates and retires the access and refresh keys by itself; with REDIS_URL every instance
//     on that Redis shares the ring, and JWT_KEY_ENCRYPTION_KEY (32 random bytes in base64,
//     `openssl rand -base64 32`, the same on every instance) seals its private keys in Redis.
//     JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must be unset. A period too short for the token
//     lifetimes stops the example with a message naming the minimum.

// keysFromEnv reads JWT_SIGNING_KEY_FILE, JWT_JWKS_URL, JWT_SIGNING_ALG and JWT_KEY_ROTATION into
// c. It reports whether one of them is set; FromEnv then leaves the secrets to it. The error is
// one line naming the variable.
func keysFromEnv(c *Config, getenv func(string) string) (bool, error) {
	c.SigningKeyFile, c.JWKSURL = getenv("JWT_SIGNING_KEY_FILE"), getenv("JWT_JWKS_URL")
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	if set, err := ringFromEnv(c, getenv); set || err != nil {
		return set, err
	}
	switch {
	case c.JWKSURL != "" && c.SigningKeyFile != "":
		return true, errors.New("set JWT_JWKS_URL (verify another issuer's tokens) or JWT_SIGNING_KEY_FILE (issue tokens), not both")
	case c.JWKSURL != "":
		if access != "" || refresh != "" {
			return true, errors.New("JWT_JWKS_URL makes a verification-only server: unset JWT_ACCESS_SECRET and JWT_REFRESH_SECRET")
		}
		if getenv("JWT_ISSUER") == "" || getenv("JWT_AUDIENCE") == "" {
			return true, errors.New("JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE: the iss and aud of the tokens to accept")
		}
		return true, nil
	case c.SigningKeyFile != "":
		if access != "" {
			return true, errors.New("JWT_SIGNING_KEY_FILE signs access tokens instead of JWT_ACCESS_SECRET: unset one of them")
		}
		if refresh == "" {
			c.RefreshSecret, c.randomRefresh = randomSecret(), true
		} else {
			c.RefreshSecret = []byte(refresh)
		}
		return true, nil
	}
	return false, nil
}

// ringFromEnv reads JWT_SIGNING_ALG, JWT_KEY_ROTATION and JWT_KEY_ENCRYPTION_KEY.
func ringFromEnv(c *Config, getenv func(string) string) (bool, error) {
	c.SigningAlg = getenv("JWT_SIGNING_ALG")
	rotation, kek := getenv("JWT_KEY_ROTATION"), getenv("JWT_KEY_ENCRYPTION_KEY")
	if c.SigningAlg == "" {
		if rotation != "" {
			return true, errors.New("JWT_KEY_ROTATION needs JWT_SIGNING_ALG (EdDSA, ES256 or RS256): rotated keys are published, so they are asymmetric")
		}
		if kek != "" {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY seals the keys of JWT_KEY_ROTATION: set that too, or unset it")
		}
		return false, nil
	}
	switch c.SigningAlg {
	case "EdDSA", "ES256", "RS256":
	default:
		return true, fmt.Errorf("JWT_SIGNING_ALG=%q: use EdDSA, ES256 or RS256 (unset: HS256 with JWT_ACCESS_SECRET)", c.SigningAlg)
	}
	if c.SigningKeyFile != "" || c.JWKSURL != "" {
		return true, errors.New("JWT_SIGNING_ALG makes the example's own keys: unset JWT_SIGNING_KEY_FILE and JWT_JWKS_URL")
	}
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	if access != "" {
		return true, errors.New("JWT_SIGNING_ALG signs access tokens instead of JWT_ACCESS_SECRET: unset one of them")
	}
	if rotation == "" {
		if kek != "" {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY seals the keys of JWT_KEY_ROTATION: set that too, or unset it")
		}
		if refresh == "" {
			c.RefreshSecret, c.randomRefresh = randomSecret(), true
		} else {
			c.RefreshSecret = []byte(refresh)
		}
		return true, nil
	}
	d, err := time.ParseDuration(rotation)
	if err != nil || d <= 0 {
		return true, fmt.Errorf("JWT_KEY_ROTATION=%q is not a positive duration (examples: 24h, 20s)", rotation)
	}
	c.KeyRotation = d
	if refresh != "" {
		return true, errors.New("JWT_KEY_ROTATION rotates the refresh key too: unset JWT_REFRESH_SECRET")
	}
	if kek != "" {
		b, err := base64.StdEncoding.DecodeString(kek)
		if err != nil || len(b) != 32 {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY must be 32 random bytes in base64 (openssl rand -base64 32)")
		}
		c.KeyEncryptionKey = b
	} else if c.RedisURL != "" {
		return true, errors.New("JWT_KEY_ROTATION with REDIS_URL needs JWT_KEY_ENCRYPTION_KEY, the same on every instance, to seal the private keys in Redis (openssl rand -base64 32)")
	}
	return true, nil
}

// keyOptions returns the Manager's key options for c and, in JWT_JWKS_URL mode, the key source
// to close with the App.
// say logs a line (at a level, with attributes) once the Manager is built.
func (c Config) keyOptions(say func(slog.Level, string, ...any), hook core.Hook) ([]core.Option, *jwks.Source, error) {
	switch {
	case c.KeyRotation != 0:
		opts := []core.Option{core.WithKeyRotation(c.SigningAlg, c.KeyRotation)}
		if c.KeyEncryptionKey != nil {
			opts = append(opts, core.WithKeyEncryptionKey("example-kek", c.KeyEncryptionKey))
		}
		say(slog.LevelInfo, "signing with a key ring", "alg", c.SigningAlg, "rotation", c.KeyRotation)
		return opts, nil, nil
	case c.SigningAlg != "":
		signer, err := generateSigner(c.SigningAlg)
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_SIGNING_ALG: %v", err)
		}
		say(slog.LevelWarn, "JWT_SIGNING_ALG without JWT_KEY_ROTATION: using a random signing key, so tokens die with this process and other instances do not verify them; set JWT_KEY_ROTATION to share a key ring")
		if c.randomRefresh {
			say(slog.LevelWarn, "JWT_REFRESH_SECRET is unset: using a random refresh secret, so refresh tokens die with this process")
		}
		return []core.Option{core.WithAccessKeys(core.Key{ID: "example-" + c.SigningAlg, Private: signer}),
			core.WithRefreshKeys(core.Key{Secret: c.RefreshSecret})}, nil, nil
	case c.JWKSURL != "":
		src, err := jwks.New(context.Background(), c.JWKSURL, jwks.WithEventHook(hook))
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_JWKS_URL: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return []core.Option{core.WithKeySource(src)}, src, nil
	case c.SigningKeyFile != "":
		key, err := core.LoadSigningKeyFile(c.SigningKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_SIGNING_KEY_FILE: %v", err)
		}
		if c.randomRefresh {
			say(slog.LevelWarn, "JWT_REFRESH_SECRET is unset: using a random refresh secret, so refresh tokens die with this process")
		}
		say(slog.LevelInfo, "signing access tokens with JWT_SIGNING_KEY_FILE", "alg", key.Algorithm, "kid", key.ID)
		return []core.Option{core.WithAccessKeys(key), core.WithRefreshKeys(core.Key{Secret: c.RefreshSecret})}, nil, nil
	}
	return []core.Option{core.WithHMAC(c.AccessSecret, c.RefreshSecret)}, nil, nil
}

// generateSigner returns a new private key for alg.
func generateSigner(alg string) (crypto.Signer, error) {
	switch alg {
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("no key for %q", alg)
}

// The long-lived routes: GET /api/events, a Server-Sent Events stream, and GET /api/ws, a
// WebSocket (main.go), both behind the middleware and bound to the token that opened them (see
// the README, "Long-lived connections"). They tick every TickInterval with the subject and the
// exp of the token they are bound to now; the adapters end them when that token expires or is
// revoked.

// TickInterval is how often /api/events and /api/ws tick.
const TickInterval = time.Second

// Tick is the data of a tick: {"sub":...,"exp":...} on the stream, with "type":"tick" on the
// socket.
type Tick struct {
	Type string `json:"type,omitempty"`
	Sub  string `json:"sub"`
	Exp  int64  `json:"exp"`
}

// TickOf is the tick of a bound connection now: the claims it is bound to change when a socket
// is reauthenticated.
func TickOf(conn *core.Connection, typ string) Tick {
	c := conn.Claims()
	return Tick{Type: typ, Sub: c.Subject, Exp: c.ExpiresAt.Unix()}
}

// Ticks calls send now and then every TickInterval until ctx ends (nil) or send fails (its
// error: the client went away).
func Ticks(ctx context.Context, send func() error) error {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	for {
		if err := send(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Events serves GET /api/events through the adapter's Events: an event "tick" every second with
// data {"sub","exp"}; the adapter ends it with "event: end" and {"reason":"token_expired"} or
// {"reason":"token_revoked"}.
func Events(ctx context.Context, conn *core.Connection, sse *core.SSE) error {
	return Ticks(ctx, func() error { return sse.Send("tick", TickOf(conn, "")) })
}
