// Package jwks makes a core.Manager a resource server for tokens of another issuer: it fetches
// the issuer's JSON Web Key Set (RFC 7517 §5) from a URL and hands its public keys to the Manager
// through core.KeySource. Fetching, caching and refreshing are github.com/MicahParks/jwkset, the
// storage of github.com/MicahParks/keyfunc/v3 (FromKeyfunc takes a keyfunc.Keyfunc); this package
// only chooses safe defaults, checks each key before the Manager uses it and reports fetches
// (WithEventHook). It lives apart from core so that core keeps depending on the
// standard library and golang-jwt only.
//
//	src, err := jwks.New(ctx, "https://issuer.example/.well-known/jwks.json")
//	if err != nil {
//		return err
//	}
//	defer src.Close()
//	m, err := core.New(
//		core.WithKeySource(src),
//		core.WithIssuer("https://issuer.example/"), core.WithAudience("my-api"),
//		core.WithMaxTokenLifetime(time.Hour), // the issuer's access-token lifetime
//	)
//
// # Refresh
//
// The key set is fetched once by New (an unreachable URL is an error), then again every refresh
// interval (default 1h) and whenever a token names a kid the cache does not hold, at most once per
// unknown-kid window (default 1m, across all kids): a flood of tokens with made-up kids costs the
// issuer one request per window, and a key the issuer has just started signing with is picked up
// on its first token. A refresh that fails keeps the cached keys, so tokens of known keys keep
// verifying while the issuer is down; an unknown kid then fails closed. A successful refresh
// replaces the whole set, so a key the issuer withdrew stops verifying.
//
// # Identity providers
//
// For access tokens of identity providers, Discover finds an issuer's key set from its issuer URL
// (OpenID Connect Discovery, RFC 8414) at start, as a KeySet: a key set of its own (no keyfunc)
// whose lifetime follows the provider's Cache-Control, which keeps the last good keys for a
// bounded time while the provider is down and then fails closed (core.ErrKeysUnavailable, 503).
// Provider.TrustedIssuer feeds core.WithTrustedIssuers; Resolver discovers issuers lazily, on
// their first token, for core.WithIssuerResolver. Discovery at start is the default because a
// service that cannot verify any token should not start: Discover returns the error to say so.
package jwks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/jwtexp/jwtexp/core"
)

// Defaults. Each is repeated in the doc comment of the option that changes it.
const (
	DefaultRefreshInterval   = time.Hour
	DefaultUnknownKIDRefresh = time.Minute
	DefaultHTTPTimeout       = 10 * time.Second
)

// ErrUnknownKey is returned by VerificationKey when the key set has no usable key with the kid.
var ErrUnknownKey = errors.New("jwtexp/jwks: no such verification key")

// Option configures New.
type Option func(*options)

type options struct {
	client          *http.Client
	timeout         time.Duration
	refreshInterval time.Duration
	unknownKID      time.Duration
	onError         func(ctx context.Context, err error)
	insecureHTTP    bool
	hook            core.Hook
	// The expiring key set (keyset.go), discovery and the resolver (discovery.go).
	now                    func() time.Time
	minAge, maxAge, defAge time.Duration
	staleFor               time.Duration
	maxKeys                int
	maxIssuers             int
}

// WithHTTPClient sets the HTTP client that fetches the key set. Default: http.DefaultClient.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithHTTPTimeout bounds one fetch of the key set, including the wait of a request whose token
// named an unknown kid. Default: 10s.
func WithHTTPTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRefreshInterval sets how often the key set is fetched in the background; a withdrawn key
// stops verifying at the latest one interval after the issuer removed it. Default: 1h.
func WithRefreshInterval(d time.Duration) Option {
	return func(o *options) { o.refreshInterval = d }
}

// WithUnknownKIDRefresh sets the window of unknown-kid refreshes: a token naming a kid that is not
// in the cached set triggers a fetch at most once per window (all kids together), and is refused
// without a fetch otherwise. Default: 1m.
func WithUnknownKIDRefresh(every time.Duration) Option {
	return func(o *options) { o.unknownKID = every }
}

// WithRefreshErrorHandler is called with every failed fetch (the cached keys stay in use).
// Default: log with slog.Default(), at Error level for a Source, at Warn level for a KeySet
// (whose events say whether the last good keys are still in use).
func WithRefreshErrorHandler(h func(ctx context.Context, err error)) Option {
	return func(o *options) { o.onError = h }
}

// WithInsecureHTTP allows a plain http:// URL for a host that is not loopback. Whoever can alter
// the traffic can then substitute keys and forge every token: use it only inside a network you
// trust to be private. Without it, New accepts https:// URLs and http:// on loopback only.
func WithInsecureHTTP() Option { return func(o *options) { o.insecureHTTP = true } }

// WithEventHook passes the result of every fetch of the key set to hook as a core.EventKeysFetched
// event: Err nil when the set was fetched and replaced the cached keys, the error otherwise (the
// cached keys then stay in use). The time of the last successful fetch tells the age of the cached
// keys; the metrics modules (otelmetrics, prommetrics) count results and export that age. The hook
// runs on the refreshing goroutine (the background refresh, or the request whose unknown kid
// triggered it): keep it fast. nil is ignored.
func WithEventHook(hook core.Hook) Option { return func(o *options) { o.hook = hook } }

// Source is a core.KeySource backed by a remote JWK Set. It is safe for concurrent use.
type Source struct {
	storage jwkset.Storage
	cancel  context.CancelFunc
}

// New fetches the JWK Set at jwksURL and returns a Source that keeps it fresh until ctx ends or
// Close is called. It fails when the URL is not https:// (or http:// on loopback, see
// WithInsecureHTTP) or the first fetch fails.
func New(ctx context.Context, jwksURL string, opts ...Option) (*Source, error) {
	o := options{
		client: http.DefaultClient, timeout: DefaultHTTPTimeout,
		refreshInterval: DefaultRefreshInterval, unknownKID: DefaultUnknownKIDRefresh,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil || o.timeout <= 0 || o.refreshInterval <= 0 || o.unknownKID <= 0 {
		return nil, fmt.Errorf("%w: jwks: HTTP client, timeout and refresh intervals must be set and positive", core.ErrInvalidConfig)
	}
	if err := checkURL(jwksURL, o.insecureHTTP); err != nil {
		return nil, err
	}
	onError := o.onError
	if onError == nil {
		onError = func(ctx context.Context, err error) {
			slog.Default().ErrorContext(ctx, "jwks: refresh failed, keeping the cached keys", "url", jwksURL, "error", err)
		}
	}
	var cache jwkset.Storage = jwkset.NewMemoryStorage()
	if hook := o.hook; hook != nil {
		cache = observedStorage{Storage: cache, hook: hook}
		logErr := onError
		onError = func(ctx context.Context, err error) {
			hook(ctx, core.Event{Kind: core.EventKeysFetched, Time: time.Now(), Reason: "key set fetch failed", Err: err})
			logErr(ctx, err)
		}
	}
	// What keyfunc.NewDefaultOverrideCtx builds, with a cache of our own so a successful fetch can
	// be reported (WithEventHook).
	ctx, cancel := context.WithCancel(ctx)
	remote, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:              o.client,
		Ctx:                 ctx,
		HTTPTimeout:         o.timeout,
		RefreshErrorHandler: onError,
		RefreshInterval:     o.refreshInterval,
		Storage:             cache,
	})
	if err != nil {
		cancel()
		if o.hook != nil {
			o.hook(ctx, core.Event{Kind: core.EventKeysFetched, Time: time.Now(), Reason: "key set fetch failed", Err: err})
		}
		return nil, fmt.Errorf("jwtexp/jwks: %s: %w", jwksURL, err)
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{jwksURL: remote},
		PrioritizeHTTP:    true, // no "given" keys: look in the fetched set first
		RateLimitWaitMax:  o.timeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(o.unknownKID), 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("jwtexp/jwks: %s: %w", jwksURL, err)
	}
	return &Source{storage: storage, cancel: cancel}, nil
}

// observedStorage reports every successful fetch: jwkset replaces the whole cached set after a
// fetch that parsed, and only then.
type observedStorage struct {
	jwkset.Storage
	hook core.Hook
}

func (s observedStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	err := s.Storage.KeyReplaceAll(ctx, given)
	if err == nil {
		s.hook(ctx, core.Event{Kind: core.EventKeysFetched, Time: time.Now()})
	}
	return err
}

// FromKeyfunc uses a keyfunc.Keyfunc the application configured itself (its storage, refresh
// and rate limits) as a core.KeySource. Close does not stop it: that stays with its owner.
func FromKeyfunc(k keyfunc.Keyfunc) *Source {
	return &Source{storage: k.Storage(), cancel: func() {}}
}

func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: jwks: %q is not an absolute URL", core.ErrInvalidConfig, raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("%w: jwks: %q: scheme must be https", core.ErrInvalidConfig, raw)
	case insecure:
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%w: jwks: %q: use https (keys fetched over plain HTTP can be substituted), or WithInsecureHTTP on a private network", core.ErrInvalidConfig, raw)
}

// Close stops the background refresh. Keys already cached keep answering.
func (s *Source) Close() error {
	s.cancel()
	return nil
}

// VerificationKey implements core.KeySource: the public key with ID kid and its declared alg.
// A kid not in the cached set triggers one rate-limited fetch (see the package doc). Keys whose
// use (RFC 7517 §4.2) is not "sig", and keys that are not RSA, ECDSA or Ed25519 public keys
// (symmetric "oct" keys in particular), are never returned; a private key published by mistake is
// reduced to its public half.
func (s *Source) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, string, error) {
	j, err := s.storage.KeyRead(ctx, kid)
	if err != nil {
		return nil, "", fmt.Errorf("%w: kid %q: %w", ErrUnknownKey, kid, err)
	}
	m := j.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, "", fmt.Errorf("%w: kid %q is for use %q, not sig", ErrUnknownKey, kid, m.USE)
	}
	key := j.Key()
	if p, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = p.Public()
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, m.ALG.String(), nil
	}
	return nil, "", fmt.Errorf("%w: kid %q is not an RSA, ECDSA or Ed25519 public key", ErrUnknownKey, kid)
}

var _ core.KeySource = (*Source)(nil)
