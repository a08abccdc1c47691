package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-json-experiment/json"
)

// Defaults. Each is repeated in the doc comment of the option that changes it. (The defaults of
// the HTTP-only options - token sources, cookies, realm, size - are with them in options_http.go.)
const (
	DefaultAccessTTL     = 15 * time.Minute
	DefaultRefreshTTL    = 7 * 24 * time.Hour
	DefaultMaxSessionAge = 30 * 24 * time.Hour
	DefaultLeeway        = 0
	MaxLeeway            = time.Minute // larger leeways need WithUnsafeLeeway
	// DefaultRefreshGrace is the refresh grace window (WithRefreshGrace) when none is set,
	// shortened to half the access TTL when that is shorter.
	DefaultRefreshGrace = 30 * time.Second
)

// DefaultVerifiedCacheSize is how many verified access tokens a Manager remembers by default (see
// WithVerifiedCache).
const DefaultVerifiedCacheSize = 4096

// maxVerifiedCacheSize is the largest size WithVerifiedCache accepts: 16,777,216 entries, whose
// slots alone take 128 MiB.
const maxVerifiedCacheSize = 1 << 24

// Session limits. Each is repeated in the doc comment of the option that changes it.
const (
	// DefaultMaxSessions is how many live sessions one subject may hold unless WithMaxSessions
	// says otherwise: 32.
	DefaultMaxSessions = 32

	// DefaultSessionChurnLimit is how many of one subject's sessions may end within one window
	// (about one access-token lifetime) before new logins of that subject are refused, unless
	// WithSessionChurnLimit or WithoutSessionChurnLimit says otherwise.
	DefaultSessionChurnLimit = 256
	// MaxSessionClientLen is the longest client description WithClientDescription keeps, in bytes;
	// a longer one is cut at a character boundary.
	MaxSessionClientLen = 128
)

// Defaults of the store guard: every store call is bounded, and a store that keeps failing is
// given a rest instead of a queue of waiting requests.
const (
	// DefaultStoreTimeout bounds every store call the Manager makes, whatever the caller's
	// context allows. A healthy Redis on the same network answers in well under 10 ms; 300 ms
	// only fires for a store that is frozen, partitioned or overloaded.
	DefaultStoreTimeout = 300 * time.Millisecond
	// DefaultBreakerFailures is how many store failures in a row open the breaker.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long an open breaker answers without calling the store
	// before one probe call is let through.
	DefaultBreakerCooldown = 500 * time.Millisecond
)

// DefaultConnectionCheckInterval is how often the Manager asks a store that cannot announce
// revocations (see RevocationNotifier) whether the tokens of bound connections were revoked: 5 s.
const DefaultConnectionCheckInterval = 5 * time.Second

// DefaultSweepInterval is how often a MemoryStore drops expired records in the background: 1 minute.
const DefaultSweepInterval = time.Minute

// Option configures a Manager. Options check their own argument and return an error naming the
// option; New checks the combination. An option that switches something takes no argument:
// WithX() turns on what is off by default (WithInsecureCookie, WithSessionClients), WithoutX()
// turns off what is on by default (WithoutAudience, WithoutRotation, WithoutRevocationCheck).
type Option func(*config) error

type config struct {
	accessKey, refreshKey     *Key
	accessOlder, refreshOlder []Key
	keySource                 KeySource       // WithKeySource: verification-only mode
	trusted                   []TrustedIssuer // WithTrustedIssuers: verification-only mode, several issuers
	resolver                  IssuerResolver  // WithIssuerResolver
	resourceMetadata          string          // WithResourceMetadata: RFC 9728 metadata URL for challenges
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
	trustedOrigins            []string         // WithTrustedOrigins
	crossOriginBypass         []string         // WithCrossOriginBypass
	crossOrigin               crossOriginGuard // built by validate from the two above (http_crossorigin.go)
	cookieOnly                cookieOnlyConfig // WithCookieOnly
	logSubject                bool
	maxSessions               int           // WithMaxSessions
	sessionChurn              int           // WithSessionChurnLimit; 0: WithoutSessionChurnLimit
	idleTimeout               time.Duration // WithIdleTimeout; 0: off
	sessionClients            bool          // WithSessionClients
	ring                      ringConfig    // WithKeyRotation and the options of the key ring (keyring.go)
	connCheck                 time.Duration // WithConnectionCheckInterval
	dpop                      dpopConfig    // WithDPoPRequired, WithoutDPoP, ... (options_dpop.go)
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
		sessionChurn:    DefaultSessionChurnLimit,
		cookie:          defaultCookie(),
		connCheck:       DefaultConnectionCheckInterval,
		dpop:            defaultDPoP(),
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

// WithKeySource makes the Manager a verification-only resource server for tokens of another issuer
// whose public keys src supplies, for example a JWKS URL through core/jwks. Every rule of
// self-issued access tokens still applies: exp required, nbf and iat with the leeway, the lifetime
// cap (set WithMaxTokenLifetime to the issuer's token lifetime when it exceeds the access TTL),
// revocation records of the store, typ. The token must carry a kid naming a key of the set (RFC
// 7515 §4.1.4); its algorithm comes from the key (the JWK alg, else RS256 for RSA, the curve for
// ECDSA, EdDSA for Ed25519), never from the token header alone, so an RSA key can never verify an
// HS256 token (RFC 8725 §3.1). WithIssuer and WithAudience are required (RFC 8725 §3.8, §3.9):
// WithoutAudience is refused. WithHMAC, WithAccessKeys and WithRefreshKeys cannot be combined with
// it; Issue and Refresh fail with ErrVerificationOnly.
//
// For a fixed set of public keys (a PEM file, see ParsePublicKeyPEM) no source is needed: give
// WithAccessKeys a Key with only Public set, older public keys if any, and no refresh keys.
func WithKeySource(src KeySource) Option {
	return func(c *config) error {
		if src == nil {
			return configError("WithKeySource: source is nil")
		}
		c.keySource = src
		return nil
	}
}

// WithTrustedIssuers makes the Manager a verification-only resource server for access tokens of
// the identity providers listed, each with its own keys, algorithms, audiences, leeway and
// lifetime cap (see TrustedIssuer; core/jwks builds one from an issuer URL by OpenID Connect
// Discovery). The token's iss, read before anything is verified, only selects the issuer whose
// keys and rules the token must then pass; a token naming an issuer not listed (nor known to
// WithIssuerResolver) is refused with ErrIssuer, without any network call. A token of one issuer
// signed with another's key fails its signature. WithAudience, when given, is the audience of the
// issuers that set none; WithIssuer, WithKeySource, WithHMAC, WithAccessKeys and WithRefreshKeys
// cannot be combined with it. May be given with WithIssuerResolver: the list is looked at first.
func WithTrustedIssuers(issuers ...TrustedIssuer) Option {
	return func(c *config) error {
		if len(issuers) == 0 {
			return configError("WithTrustedIssuers: no issuer given")
		}
		c.trusted = append(c.trusted, issuers...)
		return nil
	}
}

// WithIssuerResolver is WithTrustedIssuers for issuers known only when their first token comes
// (a tenant per issuer): r is asked for the TrustedIssuer of a token's iss that the static list
// does not hold, and must refuse an issuer it does not trust without any network call (see
// IssuerResolver). The Manager keeps at most MaxResolvedIssuers of its answers.
func WithIssuerResolver(r IssuerResolver) Option {
	return func(c *config) error {
		if r == nil {
			return configError("WithIssuerResolver: resolver is nil")
		}
		c.resolver = r
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
// token. Default: 15m. At least a second: exp and iat are whole seconds (RFC 7519 NumericDate),
// so a shorter lifetime would issue tokens that are already expired.
func WithAccessTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithAccessTTL: %v is not positive", d)
		}
		if d < time.Second {
			return configError("WithAccessTTL: %v is shorter than a second: token times are whole seconds, so the tokens would be expired when issued", d)
		}
		c.accessTTL = d
		return nil
	}
}

// WithRefreshTTL sets how long one refresh token lives; rotation hands out a new one on every
// refresh, up to the session's maximum age. Default: 168h (7 days). At least a second, as for
// WithAccessTTL.
func WithRefreshTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithRefreshTTL: %v is not positive", d)
		}
		if d < time.Second {
			return configError("WithRefreshTTL: %v is shorter than a second: token times are whole seconds, so the tokens would be expired when issued", d)
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
// longer than that. Default: 30s (DefaultRefreshGrace), or half the access TTL when that is
// shorter: the window must end well before the access tokens handed out at the rotation expire
// (iat has whole seconds, so they may expire up to a second early), or the next expiry's burst
// would begin inside the window and end after it, its late refreshes then presenting a token
// replaced more than a window ago.
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

// WithoutRotation turns refresh-token rotation off (it is on by default): a refresh returns only a
// new access token and the refresh token stays valid until its exp or until logout; no family is
// kept, so reuse cannot be detected.
func WithoutRotation() Option {
	return func(c *config) error {
		c.rotation = false
		return nil
	}
}

// WithRotation turns refresh-token rotation on (the default) or off.
//
// Deprecated: rotation is on by default; use WithoutRotation to turn it off.
func WithRotation(on bool) Option {
	return func(c *config) error {
		c.rotation = on
		return nil
	}
}

// WithRefreshHook calls hook on every refresh, before the refresh token is rotated, with the
// session's subject and the custom claims of the presented refresh token decoded into the
// application's type T (as CustomClaims does). What it returns becomes the custom claims of the
// new tokens, so a role or a scope the application changed is in the very next access token
// instead of staying until the session ends (up to WithMaxSessionAge). Names the Manager writes
// itself are refused as in Issue.
//
// A non-nil error ends the session: the refresh is refused with 400 invalid_grant "session
// revoked", the session is revoked (its refresh tokens and its access tokens, at once) and an
// EventRevoked carries the error (Reason "refresh refused"). Return one for a user who was
// disabled or deleted. The error is in the chain of the one Refresh returns (errors.Is). An error
// matching ErrStoreUnavailable is the exception: the application's user store failed, so the
// refresh is answered 503 and the session left as it is; the client may try again with the same
// refresh token.
//
// Claims of the presented token that do not decode into T end the session too (the application
// changed T incompatibly; the user logs in again). The hook runs on the refresh path: keep it as
// fast as one lookup in the user store. Without a hook the refresh token's custom claims are
// copied, at no extra cost. A nil hook is a configuration error.
func WithRefreshHook[T any](hook func(ctx context.Context, subject string, current T) (T, error)) Option {
	return func(c *config) error {
		if hook == nil {
			return configError("WithRefreshHook: hook is nil")
		}
		c.refreshHook = func(ctx context.Context, subject string, claims []byte) ([]byte, error, error) {
			var current T
			if err := json.Unmarshal(claims, &current); err != nil {
				return nil, fmt.Errorf("jwtexp: decode custom claims for the refresh hook: %w", err), nil
			}
			next, err := hook(ctx, subject, current)
			if err != nil {
				return nil, err, nil
			}
			members, err := encodeCustom(next)
			return members, nil, err
		}
		return nil
	}
}

// WithMaxSessions bounds the live sessions of one subject (default DefaultMaxSessions, 32). A
// login beyond the bound ends the subject's least recently used session (the one refreshed
// longest ago) in the same store call that records the new one: its refresh token stops working
// and its access tokens are refused, as after a logout. Without a bound, anyone holding one
// password could grow the store with every login. n must be at least 1.
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return configError("WithMaxSessions: %d is not positive: allow at least one session per subject", n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithSessionChurnLimit bounds how many of one subject's sessions may end within one window
// (default DefaultSessionChurnLimit, 256). A session that ends before its tokens expire - ended by
// WithMaxSessions to make room, by a logout, by refresh-token reuse, by "end my other sessions" -
// leaves a revocation mark (about 260 bytes in Redis) that lives as long as its access tokens
// could. One holder of a password logging in thousands of times a second would otherwise grow
// the store by that much per login, within the session limit. The store counts the subject's
// ended sessions from the first one until that one's mark expires; once the count reaches n, a
// login of the subject is refused with ErrSessionChurn (HTTP 429 with Retry-After, the time
// until the count expires) instead of ending one more session. Logouts and revocations are never
// refused. A subject's marks are then at most about 2n plus its session limit, whatever its
// login rate. n must be at least the session limit (WithMaxSessions), so that "end my other
// sessions" followed by logins never trips it in normal use; a store of your own that keeps no
// count may ignore the bound (see Store.CreateFamily).
func WithSessionChurnLimit(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return configError("WithSessionChurnLimit: %d is not positive: use WithoutSessionChurnLimit to turn the bound off", n)
		}
		c.sessionChurn = n
		return nil
	}
}

// WithoutSessionChurnLimit turns off the bound of WithSessionChurnLimit: a subject's revocation
// marks then grow with its login rate (each login beyond the session limit leaves one for an
// access-token lifetime).
func WithoutSessionChurnLimit() Option {
	return func(c *config) error {
		c.sessionChurn = 0
		return nil
	}
}

// WithIdleTimeout ends a session that nobody refreshed within d (default: off; then only the
// refresh TTL and the maximum session age end it). Each refresh token of the session then
// expires d after its issue (and never after the session's maximum age), and the store drops the
// session at that time: a refresh after it is refused with invalid_grant, as for any ended
// session. Rotation never moves the maximum age, so an active session still ends at it.
//
// d must be at least the access TTL (an access token is then never valid longer than its
// session), shorter than the refresh TTL (which already ends a session unused for that long), and
// needs rotation; New reports anything else as an error naming what to change.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithIdleTimeout: %v is not positive: leave the option out to turn the idle timeout off", d)
		}
		c.idleTimeout = d
		return nil
	}
}

// WithSessionClients makes ServeLogin (and so every adapter's LoginHandler) record with each new
// session a description of its client, DescribeClient of the request's User-Agent and remote
// address ("Firefox on Linux, 192.0.2.0/24"), for the list of sessions the user sees. Without
// it nothing is recorded unless the application passes WithClientDescription itself. The
// description is personal data: see WithClientDescription.
func WithSessionClients() Option {
	return func(c *config) error {
		c.sessionClients = true
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

// WithoutRevocationCheck turns the per-request revocation lookup of access tokens off (it is on
// by default). Access-token verification is then purely stateless: logout only stops refreshes,
// and an access token stays usable until its exp.
func WithoutRevocationCheck() Option {
	return func(c *config) error {
		c.revocationCheck = false
		return nil
	}
}

// WithRevocationCheck turns the per-request revocation lookup of access tokens on (the default)
// or off.
//
// Deprecated: the check is on by default; use WithoutRevocationCheck to turn it off.
func WithRevocationCheck(on bool) Option {
	return func(c *config) error {
		c.revocationCheck = on
		return nil
	}
}

// WithConnectionCheckInterval sets how often, for a store that does not announce revocations
// (a Store that is no RevocationNotifier, or a redisstore.Store without its local replica), the
// Manager asks the store whether the tokens of its bound connections (Bind) were revoked. The
// check runs in the Manager's one connection goroutine and asks once per distinct token however
// many connections share it, so its cost is bounded by the number of tokens, not connections.
// A revoked connection then ends at most d after the revocation (plus the store's answer time);
// with a notifying store (MemoryStore, redisstore with WithLocalReplica) it ends within moments
// and d is unused. Expiry never waits for it: a connection ends at exp plus leeway by the clock.
// Default: 5s (DefaultConnectionCheckInterval). d must lie between 100 ms and 10 min: an interval
// below would flood the store, one above would leave a logged-out user's stream running.
func WithConnectionCheckInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 100*time.Millisecond || d > 10*time.Minute {
			return configError("WithConnectionCheckInterval: %v is outside 100ms..10m", d)
		}
		c.connCheck = d
		return nil
	}
}

// WithStoreTimeout bounds every call the Manager makes to its store, on top of whatever deadline
// the caller's context carries (the shorter one wins). A call that runs out fails closed with
// ErrStoreUnavailable (503), so a frozen store costs each request at most d instead of holding
// it, its goroutine and a connection until the store wakes up. Default: 300ms. d must be
// positive and at most 10s. The in-memory store, which cannot stall, is called without a
// deadline or breaker.
//
// The Redis store makes the deadline effective on the socket (go-redis honours context
// deadlines only with ContextTimeoutEnabled; redisstore.New refuses a client without it).
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 10*time.Second {
			return configError("WithStoreTimeout(%v): want a positive duration of at most 10s (default %v)", d, DefaultStoreTimeout)
		}
		c.guard.timeout = d
		return nil
	}
}

// WithStoreBreaker sets the circuit breaker in front of the store: after failures store errors
// in a row, the Manager stops calling the store for cooldown (on the Manager's clock, see
// WithClock) and answers at once (503 with
// Retry-After, or the fail-open answer of WithFailOpenRevocation); then it lets one call through
// as a probe, and the first success closes the breaker again, with no restart. A client that
// went away (ErrRequestCanceled) does not count. Defaults: 5 failures, 500ms. failures must be
// at least 1 and cooldown between 10ms and 1m.
func WithStoreBreaker(failures int, cooldown time.Duration) Option {
	return func(c *config) error {
		if failures < 1 {
			return configError("WithStoreBreaker: failures %d: want at least 1 (default %d)", failures, DefaultBreakerFailures)
		}
		if cooldown < 10*time.Millisecond || cooldown > time.Minute {
			return configError("WithStoreBreaker: cooldown %v: want between 10ms and 1m (default %v)", cooldown, DefaultBreakerCooldown)
		}
		c.guard.failures, c.guard.cooldown = failures, cooldown
		return nil
	}
}

// WithFailOpenRevocation makes the revocation check, and only it, fail open: while the store is
// unreachable (an error, a timeout or an open breaker), an access token that passes every
// stateless check (signature, exp, nbf, iat, issuer, audience, type, lifetime cap) is accepted,
// and each such acceptance is reported as an EventRevocationSkipped. Refresh, login and logout
// still fail closed: they change state the store must hold.
//
// The trade-off: availability of every API call during a store outage, against accepting a
// token that was revoked (logout, reuse detection, "log out everywhere") until the store is
// back or the token expires - at most the access TTL. The default (fail closed, 503) never
// accepts a token it could not check.
func WithFailOpenRevocation() Option {
	return func(c *config) error {
		c.guard.failOpen = true
		return nil
	}
}

// WithVerifiedCache sets how many verified access tokens the Manager remembers, keyed by the exact
// token bytes, so that a client presenting the same token again skips the parsing and the
// signature verification: an asymmetric signature (RS256, PS256, ES256, ES384, EdDSA) costs
// 20-200x the rest of the request's token work, and even an HMAC token's decoding, MAC and claims
// checks cost several times the lookup. 0 turns the cache off. Default: 4096 entries.
//
// Why it is safe to have on: a token is immutable, so the same bytes verify the same way against
// the same key set, and the configured key set of a Manager never changes (rotation builds a new
// Manager; a key ring of WithKeyRotation retires a key only after every token it signed has
// expired, and empties the cache when a key is retired early by RetireCompromisedKey). A Manager
// verifying with a remote key set (WithKeySource) keeps no cache, since the
// issuer may withdraw a key at any time. Only tokens that passed every check are cached - garbage
// and forged tokens never enter it, so it cannot be flooded by an attacker without valid tokens.
// Expiry (exp plus leeway) is checked on every hit, and revocation is looked up on every hit
// exactly as without the cache. Each hit returns a fresh copy of the claims.
//
// The cache holds at most entries tokens (above 4, entries rounded down to a multiple of 4); its
// slots, 8 bytes each, are allocated with the Manager, so entries may be at most
// 16,777,216 (128 MiB of slots). Tokens are placed by a hash into groups of
// 4: a token verified while its group is full replaces one of the four at random, so a cache
// smaller than the set of tokens in use keeps verifying some of them again, never answering
// wrong.
func WithVerifiedCache(entries int) Option {
	return func(c *config) error {
		if entries < 0 {
			return configError("WithVerifiedCache: %d entries is negative", entries)
		}
		if entries > maxVerifiedCacheSize {
			return configError("WithVerifiedCache: %d entries is more than %d (each takes an 8-byte slot allocated with the Manager)", entries, maxVerifiedCacheSize)
		}
		c.cacheSize, c.cacheSet = entries, true
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
	if c.trustedIssuers() {
		errs = append(errs, c.validateTrusted()...)
	} else if c.accessKey == nil && c.keySource == nil && c.ring.period == 0 {
		errs = append(errs, configError("no access token key: use WithHMAC, WithAccessKeys or WithKeyRotation"))
	}
	if c.refreshKey == nil && !c.verificationOnly() && c.ring.period == 0 {
		errs = append(errs, configError("no refresh token key: use WithHMAC or WithRefreshKeys"))
	}
	if c.issuer == "" && !c.trustedIssuers() {
		errs = append(errs, configError("no issuer: use WithIssuer (RFC 8725 §3.8)"))
	}
	if c.audience == "" && !c.noAudience && !c.trustedIssuers() {
		errs = append(errs, configError("no audience: use WithAudience (RFC 8725 §3.9), or WithoutAudience"))
	}
	if c.refreshTTL < c.accessTTL {
		errs = append(errs, configError("refresh TTL %v is shorter than access TTL %v", c.refreshTTL, c.accessTTL))
	}
	if c.sessionChurn > 0 && c.sessionChurn < c.maxSessions {
		errs = append(errs, configError("session churn limit %d is below the session limit %d: raise WithSessionChurnLimit to at least WithMaxSessions", c.sessionChurn, c.maxSessions))
	}
	if c.maxSessionAge < c.refreshTTL {
		errs = append(errs, configError("max session age %v is shorter than refresh TTL %v", c.maxSessionAge, c.refreshTTL))
	}
	if c.leeway > MaxLeeway && !c.unsafeLeeway {
		errs = append(errs, configError("leeway %v is over %v: use a few seconds, or WithUnsafeLeeway if you must", c.leeway, MaxLeeway))
	}
	if !c.graceSet {
		c.grace = min(DefaultRefreshGrace, c.accessTTL/2)
	}
	if c.grace > c.accessTTL {
		errs = append(errs, configError("refresh grace %v is longer than access TTL %v: use at most the access TTL", c.grace, c.accessTTL))
	}
	errs = append(errs, c.validateCookie()...)
	errs = append(errs, c.validateCrossOrigin()...)
	errs = append(errs, c.validateSessions()...)
	errs = append(errs, c.validateKeyRing()...)
	errs = append(errs, c.validateDPoP()...)
	return errors.Join(errs...)
}

// trustedIssuers reports whether WithTrustedIssuers or WithIssuerResolver was given.
func (c *config) trustedIssuers() bool { return len(c.trusted) > 0 || c.resolver != nil }

// validateTrusted checks the options that cannot go with trusted issuers (each issuer's own
// settings are checked as its verifier is built).
func (c *config) validateTrusted() []error {
	if c.accessKey != nil || c.refreshKey != nil || c.keySource != nil || c.ring.period > 0 {
		return []error{configError("WithTrustedIssuers and WithIssuerResolver verify tokens of identity providers: drop WithHMAC, WithAccessKeys, WithRefreshKeys, WithKeySource and WithKeyRotation")}
	}
	if c.issuer != "" {
		return []error{configError("WithTrustedIssuers and WithIssuerResolver name the issuers: drop WithIssuer")}
	}
	if c.noAudience {
		return []error{configError("trusted issuers need audiences (RFC 8725 §3.9): drop WithoutAudience, set TrustedIssuer.Audiences or WithAudience")}
	}
	return nil
}

// validateSessions checks the session options against the rest of the configuration.
func (c *config) validateSessions() []error {
	if c.idleTimeout == 0 {
		return nil
	}
	var errs []error
	if !c.rotation {
		errs = append(errs, configError("WithIdleTimeout needs refresh-token rotation: drop WithoutRotation() or the idle timeout"))
	}
	if c.idleTimeout < c.accessTTL {
		errs = append(errs, configError("idle timeout %v is shorter than access TTL %v: raise it or shorten the access TTL", c.idleTimeout, c.accessTTL))
	}
	if c.idleTimeout >= c.refreshTTL {
		errs = append(errs, configError("idle timeout %v is not shorter than refresh TTL %v, which already ends an unused session: shorten it or drop it", c.idleTimeout, c.refreshTTL))
	}
	return errs
}

// IssueOption adds something to the session Manager.Issue starts.
type IssueOption func(*issueOptions)

type issueOptions struct {
	loginKey   string // WithIdempotencyKey
	client     string
	remoteAddr string // WithRemoteAddr
	userAgent  string // set by ServeLogin when WithSessionClients is on
	describe   bool   // ServeLogin with WithSessionClients: describe the client if no client was given
	dpopKey    string // WithDPoPKey
}

// WithRemoteAddr names the network address the login came from ("host:port", as
// http.Request.RemoteAddr has it). The adapters' LoginHandler pass it; it is used only when the
// Manager was built with WithSessionClients, and then only coarsely (see DescribeClient). Behind
// a proxy it is the proxy's address unless the application passes the client address the proxy
// vouches for.
func WithRemoteAddr(addr string) IssueOption {
	return func(o *issueOptions) { o.remoteAddr = addr }
}

// WithClientDescription records desc with the new session, for the list of sessions a user sees
// ("Firefox on Linux, 192.0.2.0/24"; see DescribeClient). It is kept in the store with the
// session and only as long as the session, is never put in a token, and is shown only to the
// session's subject. Without this option nothing is recorded.
//
// A client description is personal data (it can tell where and on what device someone signed
// in): record only what your privacy notice covers, and keep it coarse. Control characters and
// invalid UTF-8 are replaced, surrounding space is trimmed, and the text is cut to
// MaxSessionClientLen bytes.
func WithClientDescription(desc string) IssueOption {
	return func(o *issueOptions) { o.client = cleanClient(desc) }
}

// WithIdempotencyKey names the client's login request (the Idempotency-Key header, which
// HTTP.ServeLogin passes), so that a retry of it - after a 503 or a connection lost once the store
// had recorded the session - gets the session the first attempt created instead of a second
// one, for one access-token lifetime after it. The key must be unique per login attempt (a
// random UUID); keys over 128 bytes or outside printable ASCII are ignored. It needs a store that
// keeps login keys (the memory and the Redis store do).
func WithIdempotencyKey(key string) IssueOption {
	return func(o *issueOptions) {
		if validRetryKey(key) {
			o.loginKey = key
		}
	}
}

// RefreshOption adds to one Refresh call.
type RefreshOption func(*refreshOptions)

type refreshOptions struct {
	retryKey string
	dpopKey  string // WithRefreshDPoPKey
}

// WithRetryKey names the client's refresh request, so that a retry of it (the same token with
// the same key, after the client lost the answer) gets the session's current refresh token
// again instead of ending the session as reuse. The key must be unique per refresh attempt (a
// random UUID) and is kept with the session until its next rotation. A retry is honored for one
// access-token lifetime (WithAccessTTL) after the rotation it repeats; a later one is reuse, so
// that a leaked token and key stop being worth anything. Keys over 128 bytes, or with
// characters outside printable ASCII, are ignored. ServeRefresh takes it from the
// Idempotency-Key request header.
func WithRetryKey(key string) RefreshOption {
	return func(o *refreshOptions) {
		if validRetryKey(key) {
			o.retryKey = key
		}
	}
}

func validRetryKey(key string) bool {
	if key == "" || len(key) > 128 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// MemoryOption configures a MemoryStore.
type MemoryOption func(*MemoryStore)

// WithMemoryClock sets the clock the store expires records by (default time.Now). Give it the same
// clock as the Manager, so that records expire exactly when the tokens they describe do. A nil
// clock is ignored.
func WithMemoryClock(now func() time.Time) MemoryOption {
	return func(s *MemoryStore) {
		if now != nil {
			s.now = now
		}
	}
}

// WithSweepInterval sets how often the background sweeper drops expired records (default
// DefaultSweepInterval, 1 minute). d <= 0 starts no sweeper: expired records are then still never
// reported, but they stay in memory until Sweep is called.
func WithSweepInterval(d time.Duration) MemoryOption {
	return func(s *MemoryStore) { s.interval = d }
}

// Key ring (keyring.go): signing keys that rotate by themselves, shared through the store.

// DefaultKeyRingSync is the longest interval between two reads of the key ring from the store,
// and so the bound on how long a rotation takes to reach every instance: 5 s, or a tenth of the
// rotation period when that is shorter (see WithKeyRingSync).
const DefaultKeyRingSync = 5 * time.Second

// DefaultJWKSMaxAge is the Cache-Control max-age of the JWK Set of a key ring: 5 minutes, or, for
// short rotation periods, half of what the period leaves after twice the sync interval (see
// WithJWKSMaxAge).
const DefaultJWKSMaxAge = 5 * time.Minute

// MinKeyRotation is the shortest rotation period WithKeyRotation accepts: 2 s. The token
// lifetimes usually ask for more (see WithKeyRotation).
const MinKeyRotation = 2 * time.Second

// WithKeyRotation makes the Manager sign with keys it creates and rotates by itself, every
// period, in a key ring kept in the store so that every instance sharing the store signs with
// the same key and publishes the same JWK Set (see "Key rotation" in the package documentation).
// alg is the access-token algorithm: EdDSA, ES256, ES384, RS256 or PS256 (an asymmetric one:
// the keys are published). Refresh tokens get a ring of their own (HS256 with
// WithKeyEncryptionKey, else alg through WithKeySigners), never published, rotating every
// WithRefreshKeyRotation.
//
// A key is Next (published, not signing) for one period, Current (signing) for one period,
// then Previous (published, verifying) until every token it signed has expired: the longest
// access-token lifetime plus the leeway plus twice the sync interval; then it is retired and a
// token naming it is refused (ErrSignature, "unknown key id"). So a consumer caching the JWK Set
// for its max-age (WithJWKSMaxAge) always holds a key before the first token it signs.
//
// It replaces WithHMAC, WithAccessKeys and WithRefreshKeys (combining them is an error), and
// needs a store that keeps key rings (the MemoryStore and core/redisstore do) and, unless the
// store is a MemoryStore (which lives in this process: its rings are sealed with a key of the
// process), WithKeyEncryptionKey or WithKeySigners: private keys never reach a shared store
// unencrypted. New reads (and on first use creates) the rings, within 3 s, and fails when the
// store cannot be reached or the ring does not open with this instance's KEK. A background
// goroutine then reads the rings every sync interval (WithKeyRingSync) until Close.
//
// period must be at least MinKeyRotation, and long enough that at most 16 keys live at once
// (period >= (access lifetime + leeway + 2 x sync interval) / 14) and, with WithJWKSMaxAge, that
// a key is published for the max-age plus two sync intervals before it signs; New names the
// minimum otherwise. Example: a 10 s access TTL and a 10 s leeway allow a 2 s period.
func WithKeyRotation(alg string, period time.Duration) Option {
	return func(c *config) error {
		switch alg {
		case "EdDSA", "ES256", "ES384", "RS256", "PS256":
		default:
			return configError("WithKeyRotation: algorithm %q is not one of EdDSA, ES256, ES384, RS256, PS256 (access keys are published, so they are asymmetric)", alg)
		}
		if period < MinKeyRotation {
			return configError("WithKeyRotation: period %v is shorter than the minimum %v", period, MinKeyRotation)
		}
		c.ring.alg, c.ring.period = alg, period
		return nil
	}
}

// WithRefreshKeyRotation sets the rotation period of the refresh-token key ring of
// WithKeyRotation. Its keys live until the refresh tokens they signed have expired (refresh TTL
// plus leeway plus two sync intervals), so at most 16 keys live at once when period >= that / 14.
// Default: the access period, or that minimum when it is longer (12 h for the default 7-day
// refresh TTL).
func WithRefreshKeyRotation(period time.Duration) Option {
	return func(c *config) error {
		if period < MinKeyRotation {
			return configError("WithRefreshKeyRotation: period %v is shorter than the minimum %v", period, MinKeyRotation)
		}
		c.ring.refreshPeriod = period
		return nil
	}
}

// WithJWKSMaxAge sets the Cache-Control max-age of the JWK Set a key ring publishes (HTTP.ServeJWKS
// and the adapters' JWKSHandler), which is also the publish-ahead: a key is published at least
// this long before it signs. It must be positive and leave room in the rotation period for two
// sync intervals. Default: DefaultJWKSMaxAge (5 minutes), or (period - 2 x sync interval) / 2
// when that is shorter. Without a key ring the JWK Set keeps JWKSCacheControl.
func WithJWKSMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return configError("WithJWKSMaxAge: %v is under one second (max-age counts whole seconds)", d)
		}
		c.ring.maxAge = d.Truncate(time.Second)
		return nil
	}
}

// WithKeyRingSync sets how often each instance reads the key ring from the store, in the
// background: the bound on how long a rotation (or an emergency retirement, see
// Manager.RetireCompromisedKey) takes to reach every instance. An instance whose copy is older
// than twice this reads the store before it signs. Default: DefaultKeyRingSync (5 s), or a tenth
// of the rotation period when that is shorter.
func WithKeyRingSync(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return configError("WithKeyRingSync: %v is under 10ms", d)
		}
		c.ring.sync = d
		return nil
	}
}

// WithKeyEncryptionKey sets the key-encryption key (KEK) of the key ring: every private key and
// HMAC secret the ring keeps in the store is sealed with AES-256-GCM under kek (32 random bytes,
// the same on every instance sharing the store; keep it in a secret manager, not next to the
// store), with the ring's name, the key's kid and id in the additional data, so a sealed key
// cannot be moved to another kid or ring. id names the KEK (1 to 64 printable ASCII bytes),
// so a store read with another KEK fails at New with a message saying so.
func WithKeyEncryptionKey(id string, kek []byte) Option {
	return func(c *config) error {
		if len(kek) != 32 {
			return configError("WithKeyEncryptionKey: the key-encryption key is %d bytes, needs exactly 32 (AES-256)", len(kek))
		}
		if !printableID(id) {
			return configError("WithKeyEncryptionKey: id %q must be 1 to 64 printable ASCII bytes", id)
		}
		c.ring.kek, c.ring.kekID = append([]byte(nil), kek...), id
		return nil
	}
}

// WithKeySigners keeps the private keys of the key ring outside the store: s creates each new
// key (in a KMS or HSM) and hands every instance a crypto.Signer for it by kid; the store holds
// only the public keys. Each signature is then a call to s's signer. With WithKeyEncryptionKey
// too, refresh tokens are signed with HS256 secrets sealed in the store; without it, refresh
// keys come from s as well.
func WithKeySigners(s KeySigners) Option {
	return func(c *config) error {
		if s == nil {
			return configError("WithKeySigners: signers is nil")
		}
		c.ring.signers = s
		return nil
	}
}

// validateKeyRing checks the key ring against the rest of the configuration and derives its
// schedule.
func (c *config) validateKeyRing() []error {
	r := &c.ring
	if r.period == 0 {
		if r.refreshPeriod != 0 || r.maxAge != 0 || r.sync != 0 || r.kek != nil || r.signers != nil {
			return []error{configError("WithRefreshKeyRotation, WithJWKSMaxAge, WithKeyRingSync, WithKeyEncryptionKey and WithKeySigners need WithKeyRotation")}
		}
		return nil
	}
	var errs []error
	if c.accessKey != nil || c.refreshKey != nil || c.keySource != nil {
		errs = append(errs, configError("WithKeyRotation manages the signing keys: drop WithHMAC, WithAccessKeys, WithRefreshKeys and WithKeySource"))
	}
	if _, own := c.store.(*MemoryStore); c.store != nil && !own && r.kek == nil && r.signers == nil {
		errs = append(errs, configError("WithKeyRotation with a shared store needs WithKeyEncryptionKey (private keys sealed in the store) or WithKeySigners (private keys outside it)"))
	}
	if c.store != nil {
		if _, ok := c.store.(KeyRingStore); !ok {
			errs = append(errs, configError("WithKeyRotation needs a store that keeps key rings (core.KeyRingStore): %T does not", c.store))
		}
	}
	life := max(c.accessTTL, c.maxLifetime) + c.leeway
	given := *r // before the defaults that depend on the period
	r.derive(c.refreshTTL + c.leeway)
	// The derived max-age fits the period by construction, except with a long WithKeyRingSync:
	// the second bound catches that.
	if min := max(given.shortestPeriod(life, given.maxAge), r.minPeriod(life, r.maxAge)); r.period < min {
		errs = append(errs, configError("WithKeyRotation: period %v is too short for access tokens living %v with leeway %v, sync interval %v and JWKS max-age %v: use at least %v", r.period, max(c.accessTTL, c.maxLifetime), c.leeway, r.sync, r.maxAge, min))
	}
	if min := (&ringConfig{sync: r.sync}).minPeriod(c.refreshTTL+c.leeway, 0); r.refreshPeriod < min {
		errs = append(errs, configError("WithRefreshKeyRotation: period %v is too short for refresh tokens living %v with leeway %v and sync interval %v: use at least %v", r.refreshPeriod, c.refreshTTL, c.leeway, r.sync, min))
	}
	return errs
}

// printableID reports whether id is 1 to 64 printable ASCII bytes.
func printableID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
