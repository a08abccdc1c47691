package core

import (
	"io"
	"net/http"
	"strings"
)

// Request is the view of an HTTP request the Manager reads credentials from. HTTPRequest adapts
// *http.Request (net/http, Gin, Echo); the Fiber adapter adapts fasthttp. Each getter returns the
// first value and how many values were present, so that duplicates can be refused.
type Request interface {
	// Header returns the first value of the named header (canonical form) and the number of
	// header lines with that name. Header("Host") returns the request's host (net/http keeps it
	// apart from the other headers).
	Header(name string) (value string, n int)
	// Cookie returns the value of the named cookie and the number of cookies with that name.
	Cookie(name string) (value string, n int)
	// Query returns the named URL query parameter and the number of times it appears.
	Query(name string) (value string, n int)
	// Body returns the request body, reading at most limit bytes; a longer body is an error.
	Body(limit int64) ([]byte, error)
}

// HTTPRequest adapts a *http.Request to Request without allocating.
func HTTPRequest(r *http.Request) Request { return httpRequest{r} }

// httpRequest holds one pointer, so it fits in an interface value without allocating.
type httpRequest struct{ r *http.Request }

func (h httpRequest) Header(name string) (string, int) {
	if name == "Host" {
		return h.r.Host, 1
	}
	v := h.r.Header[name]
	if len(v) == 0 {
		return "", 0
	}
	return v[0], len(v)
}

func (h httpRequest) Cookie(name string) (string, int) {
	cs := h.r.CookiesNamed(name)
	if len(cs) == 0 {
		return "", 0
	}
	return cs[0].Value, len(cs)
}

func (h httpRequest) Query(name string) (string, int) {
	v := h.r.URL.Query()[name]
	if len(v) == 0 {
		return "", 0
	}
	return v[0], len(v)
}

func (h httpRequest) Body(limit int64) ([]byte, error) {
	if h.r.Body == nil || h.r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(h.r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, nil
}

type sourceKind uint8

const (
	sourceCookie sourceKind = iota + 1
	sourceHeader
	sourceQuery
	sourceProtocol // WithWebSocketProtocolToken
)

type source struct {
	kind sourceKind
	name string
}

// extract finds the one access token of a request. The Authorization header is always read;
// Bearer is matched case-insensitively (RFC 6750 §2.1, RFC 9110 §11.1) and another scheme (Basic,
// ...) is not a credential for us. Two Authorization headers, or a token in more than one place,
// is ErrInvalidRequest. An empty cookie, header or query value counts as absent.
func (m *Manager) extract(r Request) (string, error) {
	token, _, _, err := m.extractProbe(r, false)
	return token, err
}

// extractProbe is extract that, with probe, also looks a Bearer token up in the verified-token
// cache and returns the entry of a hit, so that the request path does one lookup and
// skips what a token known to be well formed does not need: the check for blanks and commas in
// it (a cached token passed the strict parser). Answers are the same as without the probe.
//
// With probe, a Bearer token that missed the cache is not searched for blanks and commas
// either, unless trusted issuers are configured: a token the strict parser accepts holds none
// (every byte of it is in the base64url alphabet or one of its two dots), so unchecked tells
// the caller to make the check only if the token is refused, and then to answer
// ErrInvalidRequest instead (claimsDst.unchecked, verifyInto). A refusal here makes it at once.
//
// In cookie-only mode a cross-origin unsafe request is refused first (ErrCrossOrigin), whatever
// credential it carries; otherwise such a request is refused when its token came from a cookie
// (WithTokenCookie).
func (m *Manager) extractProbe(r Request, probe bool) (token string, hit *cacheEntry, unchecked bool, err error) {
	if m.cfg.cookieOnly.on && m.crossOrigin(r, false) {
		return "", nil, false, errCrossOrigin
	}
	found := 0
	v, n := r.Header("Authorization")
	if n > 1 {
		return "", nil, false, errTwoCredentials
	}
	if n == 1 {
		t, ok, err := bearerScheme(v)
		if err != nil {
			return "", nil, false, err
		}
		if ok {
			if probe && m.cache != nil {
				hit = m.cache.get(t)
			}
			if hit == nil {
				if probe && m.issuers == nil {
					unchecked = true
				} else if badTokenChars(t) {
					return "", nil, false, errBadAuthHeader
				}
			}
			token, found = t, 1
		} else if m.dpop != nil {
			// Another scheme: DPoP's is a credential (http_dpop.go). The request path takes
			// it on its own; logout (no probe) only needs the token.
			t, dpop, err := dpopScheme(v)
			if err != nil {
				return "", nil, false, err
			}
			if dpop && probe {
				return "", nil, false, errDPoPScheme
			}
			if dpop {
				token, found = t, 1
			}
		}
	}
	if len(m.cfg.sources) == 0 && found == 1 && len(token) <= m.cfg.maxTokenSize {
		return token, hit, unchecked, nil // the request path's usual case: nothing more to look at
	}
	bearer := token
	token, hit, err = m.extractSources(r, token, hit, found)
	if err != nil && unchecked && badTokenChars(bearer) {
		err = errBadAuthHeader // what the check would have answered before looking further
	}
	return token, hit, unchecked && err == nil, err
}

// extractSources is extractProbe's look at the configured sources other than the
// Authorization header, given the token it found there (found is 1 if it did).
func (m *Manager) extractSources(r Request, token string, hit *cacheEntry, found int) (string, *cacheEntry, error) {
	fromCookie := false
	for _, s := range m.cfg.sources {
		v, n := s.read(r)
		if n > 1 {
			return "", nil, errTwoCredentials
		}
		if n == 1 && v != "" {
			token, hit = v, nil
			found++
			fromCookie = s.kind == sourceCookie
		}
	}
	switch {
	case found == 0:
		return "", nil, errMissing
	case found > 1:
		return "", nil, errTwoCredentials
	case len(token) > m.cfg.maxTokenSize:
		return "", nil, errTooLarge
	case fromCookie && !m.cfg.cookieOnly.on && m.crossOrigin(r, false):
		// A cookie is ambient: the browser attaches it to a request another origin makes it
		// send, so an access token read from one gets the same cross-origin check as in
		// cookie-only mode (which ran it above for every request).
		return "", nil, errCrossOrigin
	}
	return token, hit, nil
}

// read returns the credential the source finds in r and how many values it found.
func (s source) read(r Request) (v string, n int) {
	switch s.kind {
	case sourceCookie:
		return r.Cookie(s.name)
	case sourceHeader:
		return r.Header(s.name)
	case sourceProtocol:
		if v, n = r.Header(s.name); n > 0 {
			return protocolToken(v), 1
		}
		return v, n
	default:
		return r.Query(s.name)
	}
}

// protocolToken reads the token of a Sec-WebSocket-Protocol value offering WebSocketProtocol
// first and the token second ("jwtexp.bearer, <token>"); "" for any other value.
func protocolToken(v string) string {
	first, rest, ok := strings.Cut(v, ",")
	if !ok || strings.TrimSpace(first) != WebSocketProtocol {
		return ""
	}
	token, _, _ := strings.Cut(rest, ",")
	return strings.TrimSpace(token)
}

// bearerScheme reads an Authorization value. ok is false for other schemes. "Bearer" without a
// token is a malformed header (RFC 6750 §2.1: "Bearer" 1*SP b64token); spaces and tabs around the
// value and between scheme and token are tolerated. The token itself is checked by
// badTokenChars.
//
// It runs on every request, so it walks the value once by hand instead of trimming and splitting
// it into new strings.
func bearerScheme(v string) (token string, ok bool, err error) {
	// The form nearly every client sends, "Bearer <token>" with nothing around it, in one
	// comparison; anything else takes the general path below.
	if len(v) > 7 && v[:7] == "Bearer " && !isBlank(v[7]) && !isBlank(v[len(v)-1]) {
		return v[7:], true, nil
	}
	i, j := 0, len(v)
	for i < j && isBlank(v[i]) {
		i++
	}
	for j > i && isBlank(v[j-1]) {
		j--
	}
	v = v[i:j]
	k := 0
	for k < len(v) && !isBlank(v[k]) {
		k++
	}
	if !strings.EqualFold(v[:k], "Bearer") {
		return "", false, nil
	}
	for k < len(v) && isBlank(v[k]) {
		k++
	}
	token = v[k:]
	if token == "" {
		return "", false, errBadAuthHeader
	}
	return token, true, nil
}

// badTokenChars reports a Bearer token followed by more words or a list of credentials
// (RFC 6750 §2.1: one b64token), which makes the header malformed. IndexByte is vectorised; a
// per-byte loop here cost as much as the HMAC.
func badTokenChars(token string) bool {
	return strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 || strings.IndexByte(token, ',') >= 0
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' }
