package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults. Each is repeated in the doc comment of the option that changes it.
const (
	DefaultAccessTTL     = 15 * time.Minute
	DefaultRefreshTTL    = 7 * 24 * time.Hour
	DefaultMaxSessionAge = 30 * 24 * time.Hour
	DefaultLeeway        = 0
	MaxLeeway            = time.Minute // larger leeways need WithUnsafeLeeway
	// DefaultRefreshGrace is the refresh grace window (WithRefreshGrace) when none is set,
	// shortened to the access TTL when that is shorter.
	DefaultRefreshGrace  = 30 * time.Second
	DefaultMaxTokenSize  = 8 << 10
	DefaultRealm         = "jwtexp"
	DefaultRefreshCookie = "jwtexp_refresh"
	DefaultRefreshPath   = "/refresh"
	// MaxBodySize bounds the JSON body a refresh or logout request may carry.
	MaxBodySize = 64 << 10
	// RefreshTransportHeader, sent with the value "cookie" on a login request, asks for the refresh
	// token in an HttpOnly cookie instead of the JSON body (see Manager.TokenResponse).
	RefreshTransportHeader = "X-Refresh-Transport"
)

// Option configures a Manager. Options check their own argument and return an error naming the
// option; New checks the combination.
type Option func(*config) error

type config struct {
	accessKey, refreshKey     *Key
	accessOlder, refreshOlder []Key
	keySource                 KeySource // WithKeySource: verification-only mode
	issuer, audience          string
	noAudience                bool
	accessTTL, refreshTTL     time.Duration
	maxSessionAge             time.Duration
	maxLifetime               time.Duration
	leeway                    time.Duration
	unsafeLeeway              bool
	grace                     time.Duration
	graceSet                  bool
	rotation                  bool
	revocationCheck           bool
	store                     Store
	now                       func() time.Time
	realm                     string
	maxTokenSize              int
	sources                   []source
	cookie                    cookieConfig
	cacheSize                 int
	cacheSet                  bool
	hook                      func(context.Context, Event)
	refreshHook               refreshHook // WithRefreshHook; nil: custom claims are copied
	logger                    *slog.Logger
	loggerSet                 bool
	guard                     storeGuardConfig // store deadline, breaker, fail-open (storeguard.go)
	trustedOrigins            []string         // WithTrustedOrigins (crosssite.go)
	logSubject                bool
	maxSessions               int           // WithMaxSessions (sessions.go)
	idleTimeout               time.Duration // WithIdleTimeout (sessions.go); 0: off
	sessionClients            bool          // WithSessionClients (sessions.go)
}

type cookieConfig struct {
	name     string
	path     string
	domain   string
	secure   bool
	sameSite http.SameSite
}

func defaultConfig() config {
	return config{
		accessTTL:       DefaultAccessTTL,
		refreshTTL:      DefaultRefreshTTL,
		maxSessionAge:   DefaultMaxSessionAge,
		leeway:          DefaultLeeway,
		rotation:        true,
		revocationCheck: true,
		now:             time.Now,
		realm:           DefaultRealm,
		maxTokenSize:    DefaultMaxTokenSize,
		guard:           defaultStoreGuard(),
		maxSessions:     DefaultMaxSessions,
		cookie: cookieConfig{
			name: DefaultRefreshCookie, path: DefaultRefreshPath,
			secure: true, sameSite: http.SameSiteStrictMode,
		},
	}
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// WithHMAC signs access tokens with accessSecret and refresh tokens with refreshSecret, both HS256.
// Each secret must be at least 32 bytes and the two must differ, so that one kind of token can
// never pass as the other. For HS384/HS512, asymmetric keys or kid rotation use WithAccessKeys and
// WithRefreshKeys.
func WithHMAC(accessSecret, refreshSecret []byte) Option {
	return func(c *config) error {
		c.accessKey, c.accessOlder = &Key{Secret: accessSecret}, nil
		c.refreshKey, c.refreshOlder = &Key{Secret: refreshSecret}, nil
		return nil
	}
}

// WithAccessKeys sets the key that signs access tokens and older keys that still verify the
// access tokens they signed (selected by kid) until those have expired. When older keys are given,
// every key needs an ID.
func WithAccessKeys(active Key, older ...Key) Option {
	return func(c *config) error {
		c.accessKey, c.accessOlder = &active, older
		return nil
	}
}

// WithRefreshKeys sets the key that signs refresh tokens and older verification keys, as
// WithAccessKeys does for access tokens. Refresh tokens are only ever read by this service, so an
// HMAC secret is the usual choice.
func WithRefreshKeys(active Key, older ...Key) Option {
	return func(c *config) error {
		c.refreshKey, c.refreshOlder = &active, older
		return nil
	}
}

// WithIssuer sets the iss written into every token and required of every token verified (RFC 7519
// §4.1.1). Required.
func WithIssuer(issuer string) Option {
	return func(c *config) error {
		if issuer == "" {
			return configError("WithIssuer: issuer is empty")
		}
		c.issuer = issuer
		return nil
	}
}

// WithAudience sets the aud written into every token; a verified token's aud (string or array)
// must contain it (RFC 7519 §4.1.3). Required unless WithoutAudience is used.
func WithAudience(audience string) Option {
	return func(c *config) error {
		if audience == "" {
			return configError("WithAudience: audience is empty")
		}
		c.audience, c.noAudience = audience, false
		return nil
	}
}

// WithoutAudience turns the audience off: issued tokens carry no aud and verified tokens may
// carry any or none. Only for services that verify tokens of an issuer without audiences; RFC 8725
// §3.9 recommends audiences wherever one issuer serves several relying parties.
func WithoutAudience() Option {
	return func(c *config) error {
		c.audience, c.noAudience = "", true
		return nil
	}
}

// WithAccessTTL sets how long access tokens live. Short lifetimes bound the damage of a stolen
// token. Default: 15m.
func WithAccessTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithAccessTTL: %v is not positive", d)
		}
		c.accessTTL = d
		return nil
	}
}

// WithRefreshTTL sets how long one refresh token lives; rotation hands out a new one on every
// refresh, up to the session's maximum age. Default: 168h (7 days).
func WithRefreshTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithRefreshTTL: %v is not positive", d)
		}
		c.refreshTTL = d
		return nil
	}
}

// WithMaxSessionAge sets the absolute lifetime of a session (token family): rotation never
// extends a session past it, after which the user logs in again. Default: 720h (30 days).
func WithMaxSessionAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithMaxSessionAge: %v is not positive", d)
		}
		c.maxSessionAge = d
		return nil
	}
}

// WithMaxTokenLifetime sets the longest lifetime (exp - iat, or exp - now when iat is absent) an
// access token may have been minted with; longer-lived tokens are refused with ErrLifetime even
// when correctly signed. Use it to accept tokens of another issuer whose lifetimes exceed this
// Manager's access TTL. Default: the access TTL.
func WithMaxTokenLifetime(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithMaxTokenLifetime: %v is not positive", d)
		}
		c.maxLifetime = d
		return nil
	}
}

// WithLeeway sets the clock-skew tolerance applied to exp, nbf and iat (RFC 7519 §4.1.4 allows
// "some small leeway"). Sensible values are 5-30s. Leeways over one minute are refused: a leeway of
// minutes silently lengthens every token; use WithUnsafeLeeway if you really need one. Default: 0.
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("WithLeeway: %v is negative", d)
		}
		c.leeway = d
		return nil
	}
}

// WithUnsafeLeeway sets a leeway without the one-minute limit. Every token then stays valid for d
// past its exp.
func WithUnsafeLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("WithUnsafeLeeway: %v is negative", d)
		}
		c.leeway, c.unsafeLeeway = d, true
		return nil
	}
}

// WithRefreshGrace sets the grace window of refresh-token rotation: after a session's refresh
// token rotates, for d, every refresh of that session presenting its current refresh token or
// the one that rotation replaced is answered with the session's current refresh token (and a
// new access token) and rotates nothing. A session therefore rotates at most once per window,
// and a burst of refreshes - every call a client had in flight when its access token expired,
// each refreshing on its own, from several tabs - ends with every caller holding the same
// refresh token, in whatever order the answers arrive. Outside the window, presenting a
// replaced token is reuse and revokes the session (RFC 9700 §4.14.2).
//
// The window must cover one burst: from the first refresh to the last request of the same
// burst reaching the server, on the slowest network your users have (a mobile link with
// retransmissions takes seconds per round trip). It is also how long a thief who replays a
// stolen refresh token right after the user's own refresh goes undetected, so it should not be
// longer than that. Default: 30s (DefaultRefreshGrace), or the access TTL when that is shorter.
// 0 turns the window off: any second presentation of a token revokes the session, which a
// client that refreshes once per failing call (rather than once for all, see the README's
// "Writing a client") does not survive. A window longer than the access TTL is refused.
func WithRefreshGrace(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("WithRefreshGrace: %v is negative", d)
		}
		c.grace, c.graceSet = d, true
		return nil
	}
}

// WithRotation turns refresh-token rotation on (the default) or off. Off: a refresh returns only a
// new access token and the refresh token stays valid until its exp or until logout; no family is
// kept, so reuse cannot be detected.
func WithRotation(on bool) Option {
	return func(c *config) error {
		c.rotation = on
		return nil
	}
}

// WithRevocationCheck turns the per-request revocation lookup of access tokens on (the default)
// or off. Off makes access-token verification purely stateless: logout then only stops refreshes,
// and an access token stays usable until its exp.
func WithRevocationCheck(on bool) Option {
	return func(c *config) error {
		c.revocationCheck = on
		return nil
	}
}

// WithStore sets where sessions and revocation records live. Default: a MemoryStore, which is
// right for one instance; use redisstore for several. The Manager does not close a store it was
// given.
func WithStore(s Store) Option {
	return func(c *config) error {
		if s == nil {
			return configError("WithStore: store is nil")
		}
		c.store = s
		return nil
	}
}

// WithClock sets the clock every time check reads. Tests pass a fake clock. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return configError("WithClock: clock is nil")
		}
		c.now = now
		return nil
	}
}

// WithRealm sets the realm of WWW-Authenticate challenges (RFC 6750 §3). Default: "jwtexp".
func WithRealm(realm string) Option {
	return func(c *config) error {
		if realm == "" || strings.ContainsAny(realm, "\"\\\r\n") {
			return configError("WithRealm: realm %q must be non-empty without quotes, backslashes or line breaks", realm)
		}
		c.realm = realm
		return nil
	}
}

// WithMaxTokenSize sets the largest token accepted, in bytes; larger ones are rejected before any
// decoding. Default: 8192; at most 1 GiB.
func WithMaxTokenSize(n int) Option {
	return func(c *config) error {
		if n < 64 {
			return configError("WithMaxTokenSize: %d bytes is too small for any token", n)
		}
		if n > 1<<30 { // claims keep 32-bit offsets into the payload
			return configError("WithMaxTokenSize: %d bytes is more than any request header carries: use at most 1 GiB", n)
		}
		c.maxTokenSize = n
		return nil
	}
}

// WithTokenCookie also reads the access token from the named cookie. A request carrying the token
// in more than one place is refused with ErrInvalidRequest.
func WithTokenCookie(name string) Option {
	return addSource(sourceCookie, name, "WithTokenCookie")
}

// WithTokenHeader also reads the access token, bare (no scheme), from the named header.
func WithTokenHeader(name string) Option {
	if http.CanonicalHeaderKey(name) == "Authorization" {
		return func(*config) error {
			return configError("WithTokenHeader: Authorization is always read; name another header")
		}
	}
	return addSource(sourceHeader, http.CanonicalHeaderKey(name), "WithTokenHeader")
}

// WithTokenQuery also reads the access token from the named URL query parameter. Tokens in URLs
// end up in logs and Referer headers (RFC 6750 §2.3, §5.3), so this is off unless asked for.
func WithTokenQuery(name string) Option {
	return addSource(sourceQuery, name, "WithTokenQuery")
}

func addSource(kind sourceKind, name, opt string) Option {
	return func(c *config) error {
		if name == "" {
			return configError("%s: name is empty", opt)
		}
		c.sources = append(c.sources, source{kind: kind, name: name})
		return nil
	}
}

// WithRefreshCookie sets the cookie that carries the refresh token in cookie mode: its name
// (default "jwtexp_refresh") and the path it is scoped to (default "/refresh"; the logout route
// must lie under it for logout to see the cookie, or use the default and mount logout anywhere:
// the cookie is only needed by refresh). The cookie is always HttpOnly; see WithInsecureCookie.
func WithRefreshCookie(name, path string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, " ;,=\"") {
			return configError("WithRefreshCookie: invalid cookie name %q", name)
		}
		if !strings.HasPrefix(path, "/") {
			return configError("WithRefreshCookie: path %q must start with /", path)
		}
		c.cookie.name, c.cookie.path = name, path
		return nil
	}
}

// WithCookieDomain sets the Domain attribute of the refresh cookie. Default: none (host only).
func WithCookieDomain(domain string) Option {
	return func(c *config) error {
		c.cookie.domain = domain
		return nil
	}
}

// WithInsecureCookie drops the Secure attribute from the refresh cookie, for development over
// plain HTTP on a host browsers do not already treat as secure. Never use it in production.
func WithInsecureCookie() Option {
	return func(c *config) error {
		c.cookie.secure = false
		return nil
	}
}

// WithSameSite sets the SameSite attribute of the refresh cookie. Default: Strict.
func WithSameSite(s http.SameSite) Option {
	return func(c *config) error {
		c.cookie.sameSite = s
		return nil
	}
}

// WithEventHook calls hook for every rejection and acceptance of a token, issue, refresh, reuse
// detection, revocation, store call and store failure (see EventKind). The hook runs on the request
// path: keep it fast and never block. Given more than once, every hook is called, in the order
// given (see also CombineHooks). The metrics modules otelmetrics and prommetrics provide hooks.
func WithEventHook(hook func(context.Context, Event)) Option {
	return func(c *config) error {
		if hook == nil {
			return configError("WithEventHook: hook is nil")
		}
		c.hook = CombineHooks(c.hook, hook)
		return nil
	}
}

// WithLogger sets the logger events are written to: reuse detection, store failures and
// configuration warnings at Warn; everything else (rejections, acceptances, issues, refreshes,
// revocations) at Debug, so that a logger at the usual Info level writes a line only when
// something needs attention. The subject (user id) is left out unless WithSubjectInLogs is given.
// nil turns logging off. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger, c.loggerSet = l, true
		return nil
	}
}

// WithSubjectInLogs adds the subject (the user id, "sub") to the log lines of events. Without it
// logs carry the session id at most, so user ids do not end up in logs by default. The event hook
// always receives the subject.
func WithSubjectInLogs() Option {
	return func(c *config) error {
		c.logSubject = true
		return nil
	}
}

// validate checks the combination of options, after all of them ran.
func (c *config) validate() error {
	var errs []error
	if c.accessKey == nil && c.keySource == nil {
		errs = append(errs, configError("no access token key: use WithHMAC or WithAccessKeys"))
	}
	if c.refreshKey == nil && !c.verificationOnly() {
		errs = append(errs, configError("no refresh token key: use WithHMAC or WithRefreshKeys"))
	}
	if c.issuer == "" {
		errs = append(errs, configError("no issuer: use WithIssuer (RFC 8725 §3.8)"))
	}
	if c.audience == "" && !c.noAudience {
		errs = append(errs, configError("no audience: use WithAudience (RFC 8725 §3.9), or WithoutAudience"))
	}
	if c.refreshTTL < c.accessTTL {
		errs = append(errs, configError("refresh TTL %v is shorter than access TTL %v", c.refreshTTL, c.accessTTL))
	}
	if c.maxSessionAge < c.refreshTTL {
		errs = append(errs, configError("max session age %v is shorter than refresh TTL %v", c.maxSessionAge, c.refreshTTL))
	}
	if c.leeway > MaxLeeway && !c.unsafeLeeway {
		errs = append(errs, configError("leeway %v is over %v: use a few seconds, or WithUnsafeLeeway if you must", c.leeway, MaxLeeway))
	}
	if !c.graceSet {
		c.grace = min(DefaultRefreshGrace, c.accessTTL)
	}
	if c.grace > c.accessTTL {
		errs = append(errs, configError("refresh grace %v is longer than access TTL %v: use at most the access TTL", c.grace, c.accessTTL))
	}
	if c.cookie.sameSite == http.SameSiteNoneMode && !c.cookie.secure {
		errs = append(errs, configError("SameSite=None requires a Secure cookie: drop WithInsecureCookie"))
	}
	errs = append(errs, c.validateSessions()...)
	return errors.Join(errs...)
}
