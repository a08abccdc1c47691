package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/redis/go-redis/v9"
)

// The demo user. It exists only so the example can be tried: a real application checks the
// credentials against its own user store.
const (
	demoUser     = "alice"
	demoPassword = "wonderland"
)

// config is the example's configuration, from the same environment variables as the HTTP
// examples.
type config struct {
	addr                        string        // ADDR, default 127.0.0.1:8080
	accessSecret, refreshSecret []byte        // JWT_ACCESS_SECRET, JWT_REFRESH_SECRET; random when both unset
	issuer, audience            string        // JWT_ISSUER jwtexp-example, JWT_AUDIENCE jwtexp-api
	accessTTL, refreshTTL       time.Duration // JWT_ACCESS_TTL 15m, JWT_REFRESH_TTL 168h
	leeway                      time.Duration // JWT_LEEWAY 10s
	refreshGrace                time.Duration // JWT_REFRESH_GRACE; negative (unset): the library default
	redisURL                    string        // REDIS_URL; empty: in-memory store
	randomSecrets               bool          // the secrets were generated (main warns once it serves)
	clock                       func() time.Time
}

// setButEmpty refuses a variable of the example's that is set to the empty string (JWT_ISSUER=
// in a shell script or a compose file): read as unset it would quietly fall back to a default,
// which for an issuer or an audience means trusting tokens meant for something else.
func setButEmpty(environ []string) error {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" && (strings.HasPrefix(name, "JWT_") || name == "ADDR" || name == "REDIS_URL") {
			return fmt.Errorf("%s is set but empty: give it a value, or unset it for the default", name)
		}
	}
	return nil
}

// configFrom reads the configuration through getenv (os.Getenv in main). The error is one line
// naming the variable to fix.
func configFrom(getenv func(string) string) (config, error) {
	c := config{
		addr: "127.0.0.1:8080", issuer: "jwtexp-example", audience: "jwtexp-api",
		accessTTL: 15 * time.Minute, refreshTTL: 168 * time.Hour, leeway: 10 * time.Second,
		refreshGrace: -1,
	}
	for name, dst := range map[string]*string{"ADDR": &c.addr, "JWT_ISSUER": &c.issuer, "JWT_AUDIENCE": &c.audience, "REDIS_URL": &c.redisURL} {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	for name, dst := range map[string]*time.Duration{
		"JWT_ACCESS_TTL": &c.accessTTL, "JWT_REFRESH_TTL": &c.refreshTTL,
		"JWT_LEEWAY": &c.leeway, "JWT_REFRESH_GRACE": &c.refreshGrace,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s=%q: not a duration (use e.g. 15m, 10s)", name, v)
			}
			*dst = d
		}
	}
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	switch {
	case access == "" && refresh == "":
		c.accessSecret, c.refreshSecret = []byte(rand.Text()+rand.Text()), []byte(rand.Text()+rand.Text())
		c.randomSecrets = true
	case access == "" || refresh == "":
		return c, errors.New("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET: set both or neither")
	default:
		c.accessSecret, c.refreshSecret = []byte(access), []byte(refresh)
	}
	return c, nil
}

// newManager builds the Manager of c: the in-memory store, or Redis when REDIS_URL is set.
func newManager(c config) (*core.Manager, error) {
	opts := []core.Option{
		core.WithHMAC(c.accessSecret, c.refreshSecret),
		core.WithIssuer(c.issuer), core.WithAudience(c.audience),
		core.WithAccessTTL(c.accessTTL), core.WithRefreshTTL(c.refreshTTL),
		core.WithLeeway(c.leeway), core.WithSessionClients(),
	}
	if c.refreshGrace >= 0 {
		opts = append(opts, core.WithRefreshGrace(c.refreshGrace))
	}
	if c.clock != nil {
		opts = append(opts, core.WithClock(c.clock))
	}
	if c.redisURL != "" {
		ro, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return nil, errors.New("REDIS_URL: not a valid redis:// or rediss:// URL")
		}
		ro.ContextTimeoutEnabled = true // a frozen Redis must not hold calls past their deadline
		redis.SetLogger(redisLog{})
		rdb := redis.NewClient(ro)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, fmt.Errorf("REDIS_URL: cannot reach Redis: %v", err)
		}
		st, err := redisstore.New(rdb)
		if err != nil {
			rdb.Close()
			return nil, fmt.Errorf("REDIS_URL: %v", err)
		}
		opts = append(opts, core.WithStore(st))
	}
	return core.New(opts...)
}

// redisLog is go-redis's logger for the example: its lines (a failed dial, for one) go to the
// default slog logger as warnings once the example serves, and are dropped before, while
// newManager checks Redis: a Redis that cannot be reached then is reported by newManager's
// error, on one line.
type redisLog struct{}

// serving is set by main once the example serves.
var serving atomic.Bool

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	if serving.Load() {
		slog.WarnContext(ctx, fmt.Sprintf(format, v...))
	}
}

// warnRandomSecrets is main's warning, once the example serves, when the secrets are random.
func warnRandomSecrets(c config) {
	if c.randomSecrets {
		slog.Warn("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET are unset: using random secrets, tokens end with this process")
	}
}

// userClaims are the demo user's custom claims.
type userClaims struct {
	Scope string `json:"scope"`
}

// login is the demo credential check: alice/wonderland, scope profile.
func login(_ context.Context, username, password string) (string, any, error) {
	u := subtle.ConstantTimeCompare([]byte(username), []byte(demoUser))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(demoPassword))
	if u&p != 1 {
		return "", nil, core.ErrInvalidCredentials
	}
	return demoUser, userClaims{Scope: "profile"}, nil
}

// scopes returns the scopes of the claims (the scope claim, RFC 8693 §4.2).
func scopes(c *core.Claims) []string {
	u, _ := core.CustomClaims[userClaims](c)
	return strings.Fields(u.Scope)
}
