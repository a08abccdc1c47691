package fiberjwt

// The fasthttp view: reading a request (headers, cookies, query, body) and writing a core.Response
// on fasthttp's own types, so that it is the same code for Fiber v2 and Fiber v3. fiberjwt and
// fiber3jwt hold this file byte for byte but for the package line (CI checks it): change both.

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/core"
)

// fasthttpRequest is the core.Request view of a fasthttp request. It holds one pointer, so it fits
// in an interface value without allocating.
type fasthttpRequest struct{ r *fasthttp.Request }

// Header counts every header line named name (fasthttp keeps duplicates apart), so that two
// Authorization headers are refused as in net/http.
func (r fasthttpRequest) Header(name string) (string, int) {
	vs := peekAll(&r.r.Header, name)
	if len(vs) == 0 {
		return "", 0
	}
	return string(vs[0]), len(vs)
}

// peekAll returns every value of the request header named name. For Authorization, read on every
// request, it skips PeekAll's normalizing of the name (checking and re-casing each byte: about 300
// instructions, a ninth of what a cache hit cost the middleware), since "Authorization" is
// already in the form fasthttp stores header names in: normalizing is switched off for the
// lookup and back on after it. A server that keeps header names as received
// (DisableHeaderNormalizing) had it off already, and it stays off; its names are then compared
// case-insensitively, as RFC 9110 §5.1 defines them, so that "authorization" still counts.
func peekAll(h *fasthttp.RequestHeader, name string) [][]byte {
	if h.DisableNormalizing() {
		return peekAllFold(h, name)
	}
	if name != fasthttp.HeaderAuthorization {
		h.EnableNormalizing()
		return h.PeekAll(name)
	}
	vs := h.PeekAll(name)
	h.EnableNormalizing()
	return vs
}

// peekAllFold returns the values of every header whose name equals name case-insensitively.
func peekAllFold(h *fasthttp.RequestHeader, name string) [][]byte {
	var vs [][]byte
	for k, v := range h.All() {
		if len(k) == len(name) && strings.EqualFold(unsafe.String(unsafe.SliceData(k), len(k)), name) {
			vs = append(vs, v)
		}
	}
	return vs
}

// viewRequest is the Request Middleware hands to Authenticate. Its Header returns a view of
// fasthttp's buffer instead of a copy, which saves copying the token (hundreds of bytes) on every
// request. That is safe only because Authenticate keeps no string of the request past its return
// (the verified-token cache stores a copy of its own; core.Manager.Authenticate documents it);
// every other caller gets Request's copies.
type viewRequest struct{ fasthttpRequest }

func (r viewRequest) Header(name string) (string, int) {
	vs := peekAll(&r.r.Header, name)
	if len(vs) == 0 {
		return "", 0
	}
	return unsafe.String(unsafe.SliceData(vs[0]), len(vs[0])), len(vs)
}

// Cookie counts the cookies named name across all Cookie headers.
func (r fasthttpRequest) Cookie(name string) (string, int) {
	var first []byte
	n := 0
	for key, value := range r.r.Header.Cookies() {
		if string(key) != name {
			continue
		}
		if n == 0 {
			first = value
		}
		n++
	}
	return string(first), n
}

// Query counts the URL query parameters named name.
func (r fasthttpRequest) Query(name string) (string, int) {
	vs := r.r.URI().QueryArgs().PeekMulti(name)
	if len(vs) == 0 {
		return "", 0
	}
	return string(vs[0]), len(vs)
}

// Method implements core.RequestTarget (DPoP proofs name the method and URL).
func (r fasthttpRequest) Method() string { return string(r.r.Header.Method()) }

// URL implements core.RequestTarget: the scheme of the connection (fasthttp's URI says https for
// a TLS connection; forwarded headers are never read), the Host header, and the path as received
// (PathOriginal: before fasthttp's normalization), without query.
func (r fasthttpRequest) URL() (scheme, host, path string) {
	u := r.r.URI()
	path = string(u.PathOriginal())
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return string(u.Scheme()), string(r.r.Header.Host()), path
}

// Body returns a copy of the raw request body (not decompressed, as in net/http); a body over
// limit bytes is errBodyTooLarge (request.go).
func (r fasthttpRequest) Body(limit int64) ([]byte, error) {
	b := r.r.Body()
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	if len(b) == 0 {
		return nil, nil
	}
	return bytes.Clone(b), nil
}

// writeResponse copies a Response decided by the Manager to resp: status, WWW-Authenticate,
// Cache-Control, every Set-Cookie line as core wrote it, Retry-After, DPoP-Nonce, and the JSON body with Content-Type
// application/json (no body and no Content-Type for a 204).
func writeResponse(resp *fasthttp.Response, r core.Response) {
	h := &resp.Header
	if r.WWWAuthenticate != "" {
		h.SetCanonical(headerWWWAuthenticate, bytesOf(r.WWWAuthenticate))
	}
	if r.CacheControl != "" {
		h.SetCanonical(headerCacheControl, bytesOf(r.CacheControl))
	}
	for _, v := range r.SetCookie {
		h.Add(fasthttp.HeaderSetCookie, v) // fasthttp keeps each line as written
	}
	if r.RetryAfter != "" {
		h.SetCanonical(headerRetryAfter, bytesOf(r.RetryAfter))
	}
	if r.DPoPNonce != "" {
		h.SetCanonical(headerDPoPNonce, bytesOf(r.DPoPNonce))
	}
	resp.SetStatusCode(r.Status)
	if r.Body == nil {
		resp.ResetBody()
		return
	}
	h.SetContentType("application/json")
	resp.SetBody(r.Body)
}

// The names writeResponse sets, in fasthttp's canonical form, so that SetCanonical takes them as
// they are: Set would copy and normalise the name of every refusal's headers again.
var (
	headerWWWAuthenticate = []byte("Www-Authenticate")
	headerCacheControl    = []byte("Cache-Control")
	headerRetryAfter      = []byte("Retry-After")
	headerDPoPNonce       = []byte("Dpop-Nonce")
)

// bytesOf views s as bytes for SetCanonical, which copies the value (dropping line breaks) and
// never writes to it.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
