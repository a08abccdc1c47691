package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// Metadata is what this package reads of an issuer's discovery document (OpenID Connect
// Discovery 1.0 §3, RFC 8414 §2): the issuer identifier, the URL of its JWK Set, its endpoints
// and the scopes it supports.
type Metadata struct {
	Issuer                string   `json:"issuer"`
	JWKSURI               string   `json:"jwks_uri"`
	AuthorizationEndpoint string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string   `json:"token_endpoint,omitempty"`
	ScopesSupported       []string `json:"scopes_supported,omitempty"`
}

// Provider is an identity provider found by Discover: its metadata and its expiring key set.
type Provider struct {
	// Metadata is the discovery document, its issuer exactly the one Discover was given.
	Metadata Metadata
	// Keys is the provider's key set, from the document's jwks_uri.
	Keys *KeySet
}

// TrustedIssuer is the provider as a core.TrustedIssuer, for core.WithTrustedIssuers: its
// issuer and keys; set the other fields (Audiences, Algorithms, RequireATJWT, ...) on the result.
func (p *Provider) TrustedIssuer() core.TrustedIssuer {
	return core.TrustedIssuer{Issuer: p.Metadata.Issuer, Keys: p.Keys}
}

// Discover finds the identity provider whose issuer identifier is issuer, at start: it fetches
// issuer's /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4), or when that is
// not found (404) the RFC 8414 /.well-known/oauth-authorization-server document, then the JWK
// Set at its jwks_uri (NewKeySet), each bounded by WithHTTPTimeout. It fails - and a service
// should then refuse to start, saying so - when issuer or jwks_uri is not https (http only on
// loopback, or with WithInsecureHTTP), a document cannot be fetched or parsed, or the document's
// issuer is not exactly issuer (OpenID Connect Discovery §4.3: a document served for another
// issuer would make this service trust that one's tokens). A fetch failure matches
// core.ErrKeysUnavailable, a document that does not fit matches core.ErrInvalidConfig.
//
// For issuers known only when their first token comes, see Resolver, which discovers lazily.
func Discover(ctx context.Context, issuer string, opts ...Option) (*Provider, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	md, err := discover(ctx, issuer, o)
	if err != nil {
		return nil, err
	}
	keys, err := NewKeySet(ctx, md.JWKSURI, opts...)
	if err != nil {
		if !errors.Is(err, core.ErrInvalidConfig) {
			err = fmt.Errorf("%w: %w", core.ErrKeysUnavailable, err)
		}
		return nil, fmt.Errorf("jwtexp/jwks: issuer %s: %w", issuer, err)
	}
	return &Provider{Metadata: md, Keys: keys}, nil
}

// discover fetches and checks the discovery document of issuer.
func discover(ctx context.Context, issuer string, o options) (Metadata, error) {
	if err := checkURL(issuer, o.insecureHTTP); err != nil {
		return Metadata{}, err
	}
	u, _ := url.Parse(issuer)
	if u.RawQuery != "" || u.Fragment != "" {
		return Metadata{}, fmt.Errorf("%w: jwks: issuer %q has a query or fragment (OpenID Connect Discovery §2)", core.ErrInvalidConfig, issuer)
	}
	// OpenID Connect Discovery §4: the issuer with any trailing "/" removed, then the path;
	// RFC 8414 §3.1: the well-known path inserted between host and the issuer's path.
	urls := []string{
		strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.EscapedPath(), "/"),
	}
	var md Metadata
	var lastErr error
	for _, du := range urls {
		resp, err := httpGet(ctx, o, du, "application/json")
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			lastErr = err
			continue
		}
		if err != nil {
			return md, fmt.Errorf("jwtexp/jwks: issuer %s: %w: %w", issuer, core.ErrKeysUnavailable, err)
		}
		body, err := readBody(resp)
		resp.Body.Close()
		if err != nil {
			return md, fmt.Errorf("jwtexp/jwks: issuer %s: %w: %w", issuer, core.ErrKeysUnavailable, err)
		}
		if err := json.Unmarshal(body, &md); err != nil {
			return md, fmt.Errorf("%w: jwks: %s is not a discovery document: %v", core.ErrInvalidConfig, du, err)
		}
		if md.Issuer != issuer {
			return md, fmt.Errorf("%w: jwks: %s names issuer %q, not %q: the configured issuer must be exactly the one the provider states (OpenID Connect Discovery §4.3)", core.ErrInvalidConfig, du, md.Issuer, issuer)
		}
		if md.JWKSURI == "" {
			return md, fmt.Errorf("%w: jwks: %s has no jwks_uri", core.ErrInvalidConfig, du)
		}
		if err := checkURL(md.JWKSURI, o.insecureHTTP); err != nil {
			return md, err
		}
		return md, nil
	}
	return md, fmt.Errorf("jwtexp/jwks: issuer %s: %w: no discovery document: %w", issuer, core.ErrKeysUnavailable, lastErr)
}

// Resolver is a core.IssuerResolver that trusts the issuers allow accepts and discovers each on
// its first token, lazily (Discover, on the request path, bounded by WithHTTPTimeout): for a
// tenant per issuer. allow is called with the token's unverified iss and must decide from the
// string alone (a fixed host pattern, a table of tenants): an issuer it refuses costs no network
// call. Each discovered issuer gets the template's settings (Audiences, Algorithms, Leeway,
// MaxTokenLifetime, RequireATJWT). At most WithMaxIssuers providers are kept; a failed discovery
// is remembered for one WithUnknownKIDRefresh window, so a trusted issuer that is down is asked
// at most once per window (its tokens are refused with core.ErrKeysUnavailable meanwhile).
type Resolver struct {
	allow    func(iss string) bool
	template core.TrustedIssuer
	opts     []Option
	o        options
	max      int

	mu      sync.Mutex
	entries map[string]*resolved
}

type resolved struct {
	once  chan struct{} // closed when the discovery ended
	p     *Provider
	err   error
	until time.Time // a failed discovery is retried after it
}

// WithMaxIssuers bounds the providers a Resolver keeps. Default: core.MaxResolvedIssuers.
func WithMaxIssuers(n int) Option { return func(o *options) { o.maxIssuers = n } }

// NewResolver returns a Resolver trusting the issuers allow accepts, each with the settings of
// template (its Issuer and Keys are ignored). The options apply to every discovery and key set.
func NewResolver(allow func(iss string) bool, template core.TrustedIssuer, opts ...Option) (*Resolver, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if allow == nil {
		return nil, fmt.Errorf("%w: jwks: NewResolver: allow is nil", core.ErrInvalidConfig)
	}
	n := core.MaxResolvedIssuers
	if o.maxIssuers != 0 {
		n = o.maxIssuers
	}
	if n <= 0 {
		return nil, fmt.Errorf("%w: jwks: WithMaxIssuers must be positive", core.ErrInvalidConfig)
	}
	return &Resolver{allow: allow, template: template, opts: opts, o: o, max: n, entries: map[string]*resolved{}}, nil
}

// ResolveIssuer implements core.IssuerResolver.
func (r *Resolver) ResolveIssuer(ctx context.Context, iss string) (core.TrustedIssuer, error) {
	if !r.allow(iss) {
		return core.TrustedIssuer{}, fmt.Errorf("%w: jwks: issuer not allowed", core.ErrIssuer)
	}
	now := r.o.now()
	r.mu.Lock()
	e, ok := r.entries[iss]
	if ok && e.until.IsZero() || ok && now.Before(e.until) {
		r.mu.Unlock()
		<-e.once
	} else {
		if !ok && len(r.entries) >= r.max {
			for k := range r.entries { // drop one (map order: an arbitrary one)
				delete(r.entries, k)
				break
			}
		}
		e = &resolved{once: make(chan struct{})}
		r.entries[iss] = e
		r.mu.Unlock()
		e.p, e.err = Discover(context.WithoutCancel(ctx), iss, r.opts...)
		if e.err != nil {
			r.mu.Lock()
			e.until = r.o.now().Add(r.o.unknownKID)
			r.mu.Unlock()
		}
		close(e.once)
	}
	if e.err != nil {
		return core.TrustedIssuer{}, e.err
	}
	t := r.template
	t.Issuer, t.Keys = e.p.Metadata.Issuer, e.p.Keys
	return t, nil
}

var _ core.IssuerResolver = (*Resolver)(nil)
