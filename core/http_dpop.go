package core

import "strings"

// RequestTarget is an optional interface of Request: the method and URL of the request, which a
// DPoP proof names (htm and htu, RFC 9449 §4.3). It is a separate interface so that Request
// implementations written before DPoP keep compiling; a Request without it cannot carry a DPoP
// proof (on a protected route the proof is refused: "request method and URL unknown"; at login
// and refresh it is ignored unless DPoP is required, and the tokens are Bearer), while Bearer
// tokens work as before. HTTPRequest and every adapter of this repository implement it.
type RequestTarget interface {
	// Method returns the request method ("GET", "POST", ...).
	Method() string
	// URL returns the URL the request was received at: scheme "https" when the connection is
	// TLS, else "http" (never read from forwarded headers); host as in the Host header (or
	// the HTTP/2 :authority), port included; path as on the request line, percent-encoded as
	// received, without query. WithDPoPPublicURL replaces scheme and host; a Request that
	// cannot tell them (an RPC interceptor without the HTTP request) returns them empty and
	// then needs WithDPoPPublicURL.
	URL() (scheme, host, path string)
}

// Method implements RequestTarget.
func (h httpRequest) Method() string { return h.r.Method }

// URL implements RequestTarget.
func (h httpRequest) URL() (scheme, host, path string) {
	scheme = "http"
	if h.r.TLS != nil {
		scheme = "https"
	}
	if h.r.URL == nil {
		return scheme, h.r.Host, ""
	}
	return scheme, h.r.Host, h.r.URL.EscapedPath()
}

// dpopScheme reads an Authorization value with the DPoP scheme (RFC 9449 §7.1, matched
// case-insensitively as every auth-scheme, RFC 9110 §11.1): ok is false for other schemes; an
// empty token is a malformed header.
func dpopScheme(v string) (token string, ok bool, err error) {
	v = strings.Trim(v, " \t")
	k := 0
	for k < len(v) && !isBlank(v[k]) {
		k++
	}
	if !strings.EqualFold(v[:k], "DPoP") {
		return "", false, nil
	}
	token = strings.TrimLeft(v[k:], " \t")
	if token == "" || badTokenChars(token) {
		return "", false, errBadAuthHeader
	}
	return token, true, nil
}

// extractDPoP is extract for a request whose Authorization header uses the DPoP scheme: the
// token of that header, provided no configured cookie, header or query source carries another.
func (m *Manager) extractDPoP(r Request) (string, error) {
	v, _ := r.Header("Authorization")
	token, _, err := dpopScheme(v)
	if err != nil {
		return "", err
	}
	for _, s := range m.cfg.sources {
		v, n := s.read(r)
		if n > 1 || (n == 1 && v != "") {
			return "", errTwoCredentials
		}
	}
	if len(token) > m.cfg.maxTokenSize {
		return "", errTooLarge
	}
	return token, nil
}
