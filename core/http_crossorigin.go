package core

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The cross-origin (CSRF) decision of every request a browser authenticates with a cookie: the
// refresh cookie of refresh and logout, the access cookie of every protected route in
// cookie-only mode (WithCookieOnly), and an access token read from a WithTokenCookie cookie. It is net/http's CrossOriginProtection, configured once from
// WithTrustedOrigins and WithCrossOriginBypass, so its rules are the standard library's:
//
//   - GET, HEAD and OPTIONS are safe and pass, but for WebSocket handshakes in cookie-only mode
//     (see isWebSocketHandshake);
//   - Sec-Fetch-Site (Fetch Metadata) "same-origin" or "none" passes; any other value is refused
//     unless the request matches a bypass pattern or its Origin is trusted;
//   - without Sec-Fetch-Site, an Origin whose host equals the Host header passes, another one is
//     refused unless bypassed or trusted;
//   - with neither header the request is not from a browser that could be made to send it, and
//     passes.
//
// Every adapter reaches it through its core.Request: the net/http-based ones (net/http, Gin,
// Echo) hand the *http.Request itself, the Fiber adapters a view whose Method and URL
// (RequestTarget) feed a minimal *http.Request built only for a request the headers alone do not
// decide. A Request that does not implement RequestTarget is checked as an unsafe request without
// a path: every cross-origin request it carries is refused, also a GET and a bypassed route.

// crossOriginGuard holds the configured net/http.CrossOriginProtection. Its zero value is not
// usable: newCrossOriginGuard builds it at New.
type crossOriginGuard struct {
	cop *http.CrossOriginProtection
}

// newCrossOriginGuard configures the protection from the trusted origins and the bypass
// patterns. A pattern ServeMux refuses (bad syntax, a conflict with another pattern) is a
// configuration error naming it.
func newCrossOriginGuard(trusted, bypass []string) (g crossOriginGuard, err error) {
	g.cop = http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := g.cop.AddTrustedOrigin(o); err != nil {
			return g, configError("WithTrustedOrigins: %v", err)
		}
	}
	for _, p := range bypass {
		if err := addBypass(g.cop, p); err != nil {
			return g, err
		}
	}
	return g, nil
}

// addBypass adds one pattern, turning ServeMux's panic on a bad pattern into an error.
func addBypass(cop *http.CrossOriginProtection, pattern string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = configError("WithCrossOriginBypass: pattern %q: %v", pattern, r)
		}
	}()
	cop.AddInsecureBypassPattern(pattern)
	return nil
}

// crossOrigin reports whether r is a cross-origin browser request to refuse. unsafe treats r as
// an unsafe request whatever its method (refresh and logout act on the cookie they carry even
// when a router hands them a GET).
func (m *Manager) crossOrigin(r Request, unsafe bool) bool {
	method, path := http.MethodPost, ""
	if h, ok := r.(httpRequest); ok {
		method = h.r.Method
	} else if t, ok := r.(RequestTarget); ok {
		method = t.Method()
		_, _, raw := t.URL()
		var err error
		if path, err = url.PathUnescape(raw); err != nil {
			path = raw // no bypass pattern matches it: checked
		}
	}
	if !unsafe && safeMethod(method) {
		if !isWebSocketHandshake(r) {
			return false
		}
		unsafe = true
	}
	// What the headers alone decide, as CrossOriginProtection.Check decides it, without building
	// a request: the common same-origin and non-browser requests.
	site, _ := r.Header("Sec-Fetch-Site")
	if site == "same-origin" || site == "none" {
		return false
	}
	origin, _ := r.Header("Origin")
	if site == "" && origin == "" {
		return false
	}
	var req *http.Request
	if h, isHTTP := r.(httpRequest); isHTTP {
		req = h.r
		if unsafe && safeMethod(req.Method) {
			c := *req // shallow: Check only reads
			c.Method = http.MethodPost
			req = &c
		}
	} else {
		host, _ := r.Header("Host")
		if unsafe && safeMethod(method) {
			method = http.MethodPost
		}
		req = &http.Request{
			Method: method, Host: host, URL: &url.URL{Path: path},
			Header: http.Header{},
		}
		if site != "" {
			req.Header["Sec-Fetch-Site"] = []string{site}
		}
		if origin != "" {
			req.Header["Origin"] = []string{origin}
		}
	}
	return m.cfg.crossOrigin.cop.Check(req) != nil
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// isWebSocketHandshake reports a GET that asks to switch to WebSocket (RFC 6455 §4.1). A browser
// attaches cookies to a WebSocket any page opens, and the socket then acts as the user: in
// cookie-only mode the handshake is checked as an unsafe request (cross-site WebSocket
// hijacking), though its method is GET.
func isWebSocketHandshake(r Request) bool {
	v, _ := r.Header("Upgrade")
	return v != "" && strings.EqualFold(strings.TrimSpace(v), "websocket")
}

// accessCookie is the Set-Cookie value of the access cookie of cookie-only mode: HttpOnly, with
// the refresh cookie's Secure, SameSite and Domain, path "/" (every route may need it), expiring
// with the access token (expiresAt; the zero time deletes it).
func (m *Manager) accessCookie(value string, expiresAt time.Time) string {
	c := &http.Cookie{
		Name: m.cfg.cookieOnly.name, Value: value, Path: "/", Domain: m.cfg.cookie.domain,
		HttpOnly: true, Secure: m.cfg.cookie.secure, SameSite: m.cfg.cookie.sameSite,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expiresAt
		c.MaxAge = int(expiresAt.Sub(m.cfg.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c.String()
}

// cookieOnlyConfig is the configuration of cookie-only mode (WithCookieOnly).
type cookieOnlyConfig struct {
	on   bool
	name string
}

// validateCrossOrigin builds the cross-origin guard and checks cookie-only mode against the rest
// of the configuration.
func (c *config) validateCrossOrigin() []error {
	var errs []error
	g, err := newCrossOriginGuard(c.trustedOrigins, c.crossOriginBypass)
	if err != nil {
		errs = append(errs, err)
	}
	c.crossOrigin = g
	if c.cookieOnly.on {
		if c.cookieOnly.name == c.cookie.name {
			errs = append(errs, configError("WithCookieOnly: the access cookie and the refresh cookie are both named %q: rename one", c.cookie.name))
		}
		if c.cookie.sameSite == http.SameSiteNoneMode {
			errs = append(errs, configError("WithCookieOnly: SameSite=None sends the access cookie with every cross-site request: use Strict or Lax"))
		}
		for _, s := range c.sources {
			if s.kind == sourceCookie && s.name == c.cookieOnly.name {
				errs = append(errs, configError("WithCookieOnly: WithTokenCookie(%q) names the access cookie, which cookie-only mode reads already: drop it", s.name))
			}
		}
		if c.verificationOnly() {
			errs = append(errs, configError("WithCookieOnly: a verification-only Manager issues no tokens to set as cookies: read another issuer's cookie with WithTokenCookie"))
		}
		// DPoP binds a token the client holds to the client's key; here the client holds none.
		// A proof at login would bind the cookie's token, which then could only be presented
		// with the DPoP scheme, which the browser cannot do with a cookie: proofs are ignored.
		switch d := &c.dpop; {
		case d.mode == dpopRequired:
			errs = append(errs, configError("WithCookieOnly with WithDPoPRequired: tokens in HttpOnly cookies cannot be presented with DPoP proofs; choose one"))
		case d.nonces || d.publicURL != "":
			errs = append(errs, configError("WithCookieOnly ignores DPoP proofs: drop WithDPoPNonce and WithDPoPPublicURL"))
		default:
			d.mode = dpopOff
		}
		// The middleware reads the access cookie like any configured cookie source: a request
		// that also carries an Authorization header is refused as carrying two credentials.
		c.sources = append(c.sources, source{kind: sourceCookie, name: c.cookieOnly.name})
	}
	return errs
}
