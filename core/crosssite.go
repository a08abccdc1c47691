package core

import (
	"net/url"
	"strings"
)

// crossSite reports whether a browser sent r for another site, so that the refresh cookie it
// carries must not be honoured. SameSite=Strict already keeps the cookie off most cross-site
// requests; this is the second line, for browsers or settings that send it anyway and for
// same-site but cross-origin pages (another subdomain).
//
// A browser says where a request comes from in Sec-Fetch-Site (Fetch Metadata) and, for every
// POST, in Origin (RFC 6454 §7). "same-origin" and "none" (typed into the address bar) pass;
// otherwise the request passes only when its Origin is the server's own (its host equals the
// Host header: the scheme is not compared, since behind a TLS-terminating proxy the server sees
// http) or a trusted origin. A request with neither header is not from a browser that could be
// tricked into sending it, and passes.
func (m *Manager) crossSite(r Request) bool {
	origin, n := r.Header("Origin")
	if site, _ := r.Header("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" || site == "none" {
			return false
		}
		return !m.trustedOrigin(origin)
	}
	if n == 0 {
		return false
	}
	if m.trustedOrigin(origin) {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" { // "null" (sandboxed frames, some redirects) or garbage
		return true
	}
	host, _ := r.Header("Host")
	return !strings.EqualFold(u.Host, host)
}

func (m *Manager) trustedOrigin(origin string) bool {
	for _, o := range m.cfg.trustedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
