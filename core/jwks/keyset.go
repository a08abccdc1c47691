package jwks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// Defaults of the expiring key set (KeySet, Discover, Resolver). Each is repeated in the doc
// comment of the option that changes it.
const (
	// DefaultKeySetAge is the lifetime of a key set whose response says nothing (no
	// Cache-Control max-age).
	DefaultKeySetAge = time.Hour
	// DefaultMinKeySetAge and DefaultMaxKeySetAge bound the lifetime a response's max-age gives.
	DefaultMinKeySetAge = time.Minute
	DefaultMaxKeySetAge = 24 * time.Hour
	// DefaultStaleFor is how long past its expiry the last good key set keeps verifying while
	// every fetch fails (the provider is down); after it, tokens are refused with 503.
	DefaultStaleFor = time.Hour
	// DefaultMaxKeys bounds the keys of one set: a set with more is a failed fetch.
	DefaultMaxKeys = 100
	// MaxDocumentSize bounds a key set or discovery document, in bytes.
	MaxDocumentSize = 512 << 10
	// MaxRSABits bounds an RSA key's modulus: larger keys are skipped (each verification with
	// one costs a hostile set's owner nothing and this server much).
	MaxRSABits = 8192
)

// WithClock sets the clock the key set's lifetime is read with (tests drive it). Default:
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithKeySetAge bounds the lifetime a response's Cache-Control max-age gives the key set (RFC
// 9111 §5.2.2.1): a shorter one is raised to min, a longer one cut to max; a response without
// max-age lives def, clipped the same way. The set is fetched again in the background once three
// quarters of its lifetime have passed. Default: 1m, 24h, 1h.
func WithKeySetAge(min, max, def time.Duration) Option {
	return func(o *options) { o.minAge, o.maxAge, o.defAge = min, max, def }
}

// WithStaleFor sets how long past its expiry the last good key set keeps verifying tokens while
// the provider cannot be reached; after that, the key set fails closed: VerificationKey returns
// an error matching core.ErrKeysUnavailable and the Manager answers 503. 0: no grace, the set
// fails closed at its expiry. Default: 1h.
func WithStaleFor(d time.Duration) Option {
	return func(o *options) { o.staleFor = d }
}

// WithMaxKeys bounds the keys of one key set: a set with more is a failed fetch (the last good
// set stays). Default: 100.
func WithMaxKeys(n int) Option { return func(o *options) { o.maxKeys = n } }

// KeySet is a core.KeySource over a JWK Set (RFC 7517 §5) at a URL whose lifetime follows the
// response's Cache-Control max-age, bounded by WithKeySetAge. Unlike Source it runs no goroutine
// of its own: lookups refresh it, in the background once three quarters of its lifetime have
// passed, and at once for an unknown kid, at most one fetch per WithUnknownKIDRefresh window
// (every fetch counts). While fetches fail it keeps the last good set, past its expiry for
// WithStaleFor at most, then fails closed with core.ErrKeysUnavailable (HTTP 503). Every fetch is
// reported to WithEventHook as a core.EventKeysFetched event. Keys are bounded: at most
// WithMaxKeys per set, documents of at most MaxDocumentSize bytes, RSA keys of 2048 to MaxRSABits
// bits; keys without kid, of use other than "sig", symmetric ("oct") or of an unknown type are
// skipped. It is safe for concurrent use, and dropping it needs no Close.
type KeySet struct {
	url string
	o   options

	mu        sync.Mutex
	keys      map[string]jwkKey // last good set; nil before the first fetch succeeds
	fetchedAt time.Time
	expires   time.Time
	lastTry   time.Time     // start of the last fetch, successful or not
	inFlight  chan struct{} // closed when the running fetch ends; nil: none running
}

type jwkKey struct {
	pub crypto.PublicKey
	alg string
}

// NewKeySet fetches the JWK Set at jwksURL and returns it as an expiring KeySet. It fails when
// the URL is not https (or http on loopback, see WithInsecureHTTP) or the first fetch fails: a
// service that cannot get its keys at start should not start.
func NewKeySet(ctx context.Context, jwksURL string, opts ...Option) (*KeySet, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := checkURL(jwksURL, o.insecureHTTP); err != nil {
		return nil, err
	}
	s := &KeySet{url: jwksURL, o: o}
	s.mu.Lock()
	s.lastTry = o.now()
	s.mu.Unlock()
	if err := s.fetch(ctx); err != nil {
		return nil, fmt.Errorf("jwtexp/jwks: %s: %w", jwksURL, err)
	}
	return s, nil
}

func newOptions(opts []Option) (options, error) {
	o := options{
		client: http.DefaultClient, timeout: DefaultHTTPTimeout,
		refreshInterval: DefaultRefreshInterval, unknownKID: DefaultUnknownKIDRefresh,
		now: time.Now, minAge: DefaultMinKeySetAge, maxAge: DefaultMaxKeySetAge, defAge: DefaultKeySetAge,
		staleFor: DefaultStaleFor, maxKeys: DefaultMaxKeys,
	}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.client == nil || o.now == nil:
		return o, fmt.Errorf("%w: jwks: HTTP client and clock must be set", core.ErrInvalidConfig)
	case o.timeout <= 0 || o.refreshInterval <= 0 || o.unknownKID <= 0:
		return o, fmt.Errorf("%w: jwks: timeout and refresh intervals must be positive", core.ErrInvalidConfig)
	case o.minAge <= 0 || o.maxAge < o.minAge || o.defAge < o.minAge || o.defAge > o.maxAge:
		return o, fmt.Errorf("%w: jwks: WithKeySetAge needs 0 < min <= default <= max", core.ErrInvalidConfig)
	case o.staleFor < 0:
		return o, fmt.Errorf("%w: jwks: WithStaleFor must not be negative", core.ErrInvalidConfig)
	case o.maxKeys <= 0:
		return o, fmt.Errorf("%w: jwks: WithMaxKeys must be positive", core.ErrInvalidConfig)
	}
	return o, nil
}

// URL is the JWK Set's URL.
func (s *KeySet) URL() string { return s.url }

// Expires is when the current key set expires (zero before a fetch succeeded).
func (s *KeySet) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires
}

// VerificationKey implements core.KeySource (see KeySet for when it fetches).
func (s *KeySet) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, string, error) {
	now := s.o.now()
	s.mu.Lock()
	k, known := s.keys[kid]
	fresh := now.Before(s.expires)
	usable := now.Before(s.expires.Add(s.o.staleFor)) && s.keys != nil
	// Ahead of expiry (three quarters of the lifetime), or past it: refresh in the background.
	refreshDue := !now.Before(s.fetchedAt.Add(s.expires.Sub(s.fetchedAt) * 3 / 4))
	s.mu.Unlock()

	switch {
	case fresh || (usable && known):
		if refreshDue {
			s.refresh(false)
		}
		if known {
			return k.pub, k.alg, nil
		}
		// A kid the set does not hold: a key the issuer has just started signing with, or a
		// made-up one; fetch now if the window allows.
		if !s.refresh(true) {
			return nil, "", fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
		}
	case usable: // stale, unknown kid
		if !s.refresh(true) {
			return nil, "", fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
		}
	default: // expired past the stale time: fetch now if allowed, else fail closed
		s.refresh(true)
	}
	now = s.o.now()
	s.mu.Lock()
	k, known = s.keys[kid]
	usable = now.Before(s.expires.Add(s.o.staleFor)) && s.keys != nil
	s.mu.Unlock()
	switch {
	case !usable:
		return nil, "", fmt.Errorf("%w: %s: key set expired and could not be fetched again", core.ErrKeysUnavailable, s.url)
	case !known:
		return nil, "", fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	return k.pub, k.alg, nil
}

// refresh starts a fetch unless one ran within the unknown-kid window (or is running), and with
// wait, waits for it (or the running one) to end. It reports whether a fetch ended while it
// waited.
func (s *KeySet) refresh(wait bool) bool {
	now := s.o.now()
	s.mu.Lock()
	ch := s.inFlight
	if ch == nil {
		if now.Before(s.lastTry.Add(s.o.unknownKID)) {
			s.mu.Unlock()
			return false
		}
		ch = make(chan struct{})
		s.inFlight, s.lastTry = ch, now
		go func() {
			_ = s.fetch(context.Background())
			s.mu.Lock()
			s.inFlight = nil
			s.mu.Unlock()
			close(ch)
		}()
	}
	s.mu.Unlock()
	if !wait {
		return false
	}
	<-ch // the fetch is bounded by the HTTP timeout
	return true
}

// fetch gets the key set and, when it parses, replaces the cached one.
func (s *KeySet) fetch(ctx context.Context) error {
	keys, age, err := s.get(ctx)
	now := s.o.now()
	if err != nil {
		s.mu.Lock()
		had := s.keys != nil
		stale := had && now.Before(s.expires.Add(s.o.staleFor))
		s.mu.Unlock()
		reason := "key set fetch failed"
		if stale {
			reason = "key set fetch failed: keeping the last good keys"
		} else if had {
			reason = "key set fetch failed: key set expired, failing closed"
		}
		s.event(ctx, now, reason, err)
		if s.o.onError != nil {
			s.o.onError(ctx, err)
		} else {
			slog.Default().WarnContext(ctx, "jwks: "+reason, "url", s.url, "error", err)
		}
		return err
	}
	s.mu.Lock()
	s.keys, s.fetchedAt, s.expires = keys, now, now.Add(age)
	s.mu.Unlock()
	s.event(ctx, now, "", nil)
	return nil
}

func (s *KeySet) event(ctx context.Context, now time.Time, reason string, err error) {
	if s.o.hook != nil {
		s.o.hook(ctx, core.Event{Kind: core.EventKeysFetched, Time: now, Reason: reason, Err: err})
	}
}

// get fetches and parses the set; age is its lifetime from Cache-Control.
func (s *KeySet) get(ctx context.Context) (map[string]jwkKey, time.Duration, error) {
	resp, err := httpGet(ctx, s.o, s.url, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return nil, 0, err
	}
	keys, err := parseSet(body, s.o.maxKeys)
	if err != nil {
		return nil, 0, err
	}
	return keys, lifetime(resp.Header, s.o), nil
}

// httpGet does one GET bounded by the timeout; a status other than 200 is an error.
func httpGet(ctx context.Context, o options, url, accept string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := o.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &statusError{url: url, status: resp.StatusCode}
	}
	return resp, nil
}

type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.url, e.status) }

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func readBody(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxDocumentSize {
		return nil, fmt.Errorf("document over %d bytes", MaxDocumentSize)
	}
	return body, nil
}

// lifetime reads max-age from Cache-Control (less Age), bounded by the options.
func lifetime(h http.Header, o options) time.Duration {
	age := o.defAge
	for _, d := range strings.Split(strings.Join(h.Values("Cache-Control"), ","), ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return o.minAge
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				age = time.Duration(min(n, int64(o.maxAge/time.Second)+1)) * time.Second
				if a, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && a > 0 {
					age -= time.Duration(min(a, n)) * time.Second
				}
			}
		}
	}
	return min(max(age, o.minAge), o.maxAge)
}

// parseSet reads a JWK Set, keeping the usable signature keys by kid.
func parseSet(body []byte, maxKeys int) (map[string]jwkKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if len(set.Keys) > maxKeys {
		return nil, fmt.Errorf("JWK Set has %d keys, more than the %d allowed (WithMaxKeys)", len(set.Keys), maxKeys)
	}
	keys := make(map[string]jwkKey, len(set.Keys))
	for _, raw := range set.Keys {
		var j jwk
		if json.Unmarshal(raw, &j) != nil || j.Kid == "" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if _, dup := keys[j.Kid]; dup {
			continue
		}
		if pub, err := j.public(); err == nil {
			keys[j.Kid] = jwkKey{pub: pub, alg: j.Alg}
		}
	}
	return keys, nil
}

// jwk holds the public members of a JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2); private members
// a set should never carry are not even read.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

var errKeyType = errors.New("not an RSA, EC or Ed25519 public key")

func (j *jwk) public() (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding
	switch j.Kty {
	case "RSA":
		if len(j.N) > (MaxRSABits/8*4+2)/3 || len(j.E) > 6 {
			return nil, errors.New("RSA key too large")
		}
		n, err1 := b64.DecodeString(j.N)
		e, err2 := b64.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errKeyType
		}
		var ev int
		for _, b := range e {
			ev = ev<<8 | int(b)
		}
		nv := new(big.Int).SetBytes(n)
		if nv.BitLen() < 2048 || nv.BitLen() > MaxRSABits || ev < 3 || ev%2 == 0 {
			return nil, errors.New("RSA key size or exponent out of range")
		}
		return &rsa.PublicKey{N: nv, E: ev}, nil
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errKeyType
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64.DecodeString(j.X)
		y, err2 := b64.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errKeyType
		}
		return ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	case "OKP":
		x, err := b64.DecodeString(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errKeyType
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errKeyType
}

var _ core.KeySource = (*KeySet)(nil)
