package core

import (
	"net/http"
	"net/url"
	"strings"
)

// Defaults of the HTTP-only options. Each is repeated in the doc comment of the option that
// changes it.
const (
	DefaultMaxTokenSize  = 8 << 10
	DefaultRealm         = "jwtexp"
	DefaultRefreshCookie = "jwtexp_refresh"
	DefaultRefreshPath   = "/refresh"
	// DefaultAccessCookie is the name of the access cookie of cookie-only mode (WithCookieOnly).
	DefaultAccessCookie = "jwtexp_access"
	// MaxBodySize bounds the JSON body a refresh or logout request may carry.
	MaxBodySize = 64 << 10
	// RefreshTransportHeader, sent with the value "cookie" on a login request, asks for the refresh
	// token in an HttpOnly cookie instead of the JSON body (see HTTP.TokenResponse).
	RefreshTransportHeader = "X-Refresh-Transport"
)

// defaultCookie is the refresh cookie unless options change it: HttpOnly always, Secure, and
// SameSite=Strict.
func defaultCookie() cookieConfig {
	return cookieConfig{
		name: DefaultRefreshCookie, path: DefaultRefreshPath,
		secure: true, sameSite: http.SameSiteStrictMode,
	}
}

// validateCookie checks the cookie options against each other.
func (c *config) validateCookie() []error {
	if c.cookie.sameSite == http.SameSiteNoneMode && !c.cookie.secure {
		return []error{configError("SameSite=None requires a Secure cookie: drop WithInsecureCookie")}
	}
	return nil
}

// WithResourceMetadata adds resource_metadata="<metadataURL>" to every WWW-Authenticate
// challenge (RFC 9728 §5.1), so a client refused with 401 finds the resource's metadata and from
// it the authorization servers to get a token from (an MCP client does exactly this). metadataURL
// is where ProtectedResourceMetadata.Handler is served, usually ResourceMetadataURL(resource).
// It must be an absolute http(s) URL without quotes, backslashes or line breaks.
func WithResourceMetadata(metadataURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(metadataURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || strings.ContainsAny(metadataURL, "\"\\\r\n ") {
			return configError("WithResourceMetadata: %q must be an absolute https URL without quotes, backslashes or spaces", metadataURL)
		}
		c.resourceMetadata = metadataURL
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
// in more than one place is refused with ErrInvalidRequest. A browser attaches cookies to requests
// other origins make it send, so an unsafe request (and a WebSocket handshake) whose token came
// from this cookie gets the cross-origin check of cookie-only mode: refused with ErrCrossOrigin
// (403) when Fetch Metadata or Origin says another origin sent it, unless that origin is trusted
// (WithTrustedOrigins) or the route bypassed (WithCrossOriginBypass).
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

// WithWebSocketProtocolToken also reads the access token from the Sec-WebSocket-Protocol header
// of a WebSocket handshake (RFC 6455 §11.3.4) offering the subprotocol WebSocketProtocol first and
// the token as the second value: in a browser, new WebSocket(url, ["jwtexp.bearer", token]).
// Browsers cannot set an Authorization header on a WebSocket, and a token in the URL ends up in
// access logs and proxies (RFC 6750 §5.3); this header is not logged by default by common
// servers and proxies, but it is a request header like any other, so a server that logs all
// headers logs the token. The WebSocket helpers answer with the subprotocol "jwtexp.bearer"
// alone, never echoing the token. The alternative is the access token in a cookie
// (WithTokenCookie): nothing in the handshake to log, but then the route must refuse cross-site
// handshakes (check Origin), since a browser attaches cookies to a WebSocket opened by any page.
func WithWebSocketProtocolToken() Option {
	return addSource(sourceProtocol, "Sec-Websocket-Protocol", "WithWebSocketProtocolToken")
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

type cookieConfig struct {
	name     string
	path     string
	domain   string
	secure   bool
	sameSite http.SameSite
}

// WithTrustedOrigins names the browser origins, besides the server's own, whose requests carrying
// a cookie credential are not refused as cross-origin: refresh and logout with the refresh cookie,
// and every unsafe request to a protected route authenticated by a cookie (cookie-only mode,
// WithCookieOnly, or WithTokenCookie). For a front
// end served from another origin of the same application ("https://app.example.com" calling
// "https://api.example.com"). Each origin is scheme://host[:port] as browsers send it in the
// Origin header (RFC 6454 §6.1), without a path; it is matched exactly, as net/http's
// CrossOriginProtection.AddTrustedOrigin does. Default: none, only the server's own origin.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return configError("WithTrustedOrigins: %q is not an origin: want scheme://host[:port], e.g. https://app.example.com", o)
			}
			c.trustedOrigins = append(c.trustedOrigins, strings.ToLower(u.Scheme+"://"+u.Host))
		}
		return nil
	}
}

// WithCrossOriginBypass exempts the requests matching each pattern from the cross-origin check
// of cookie credentials (see WithCookieOnly and WithTrustedOrigins), as
// net/http's CrossOriginProtection.AddInsecureBypassPattern does: the patterns are ServeMux
// patterns ("POST /webhooks/", "/hooks/{id}"), with ServeMux's syntax and precedence, and only a
// request matching a pattern directly is exempt (not one ServeMux would redirect to it). A bypassed
// route is open to cross-site request forgery when it acts on the browser's cookie: bypass only
// routes that are meant to be called from other sites and authenticate otherwise. A pattern
// ServeMux refuses, or two that conflict, fail New. Default: none.
func WithCrossOriginBypass(patterns ...string) Option {
	return func(c *config) error {
		for _, p := range patterns {
			if p == "" {
				return configError("WithCrossOriginBypass: empty pattern")
			}
		}
		c.crossOriginBypass = append(c.crossOriginBypass, patterns...)
		return nil
	}
}

// WithCookieOnly is the browser mode in which page scripts never see a token (the "backend"
// patterns of the OAuth best current practice for browser-based apps): login and refresh set the
// access token as an HttpOnly cookie (DefaultAccessCookie, path "/", expiring with the token) and
// the refresh token as the refresh cookie, whatever the request asks (X-Refresh-Transport is not
// needed); both cookies have the refresh cookie's Secure, SameSite and Domain settings
// (WithInsecureCookie, WithSameSite, WithCookieDomain; SameSite=None is refused). The token
// response then holds no token string:
//
//	{"token_type":"Bearer","expires_in":900,"token_transport":"cookie"}
//
// (expires_in for the client's countdown; token_transport tells a client that the tokens are in
// cookies). The middleware reads the access cookie (an Authorization header still works for
// non-browser clients; both in one request is ErrInvalidRequest), and logout clears both cookies.
//
// A browser attaches cookies to requests other sites make it send, so in this mode every unsafe
// request to a protected route (any method but GET, HEAD and OPTIONS, and WebSocket handshakes)
// is checked for a cross-origin origin before its token is looked at, with the rules of net/http's
// CrossOriginProtection: Fetch Metadata's Sec-Fetch-Site, else Origin against Host;
// WithTrustedOrigins and WithCrossOriginBypass make exceptions. A refused request gets
// ErrCrossOrigin: 403 {"error":"forbidden","error_description":"cross-origin request refused"}.
// Safe methods must not change state, as HTTP requires: they are not checked.
//
// DPoP proofs are ignored in this mode (as with WithoutDPoP): a proof binds a token the client
// holds to the client's key, and here the client holds none; a token bound at login could not be
// presented from a cookie. WithDPoPRequired, WithDPoPNonce and WithDPoPPublicURL fail New with it.
// Default: off.
func WithCookieOnly() Option {
	return func(c *config) error {
		c.cookieOnly = cookieOnlyConfig{on: true, name: DefaultAccessCookie}
		return nil
	}
}
