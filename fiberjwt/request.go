package fiberjwt

import (
	"bytes"
	"errors"
	"strings"
	"unsafe"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/core"
)

// Request returns the core.Request view of c's request, for calling the Manager from a Fiber
// handler (a login handler's m.HTTP().LoginResponse, an application's own m.Authenticate). Every value
// it returns is a copy: fasthttp reuses the request's buffers after the handler returns, and a
// string still pointing into them would silently change under whoever kept it.
func Request(c *fiber.Ctx) core.Request { return fiberRequest{c} }

// fiberRequest holds one pointer, so it fits in an interface value without allocating.
type fiberRequest struct{ c *fiber.Ctx }

// Header counts every header line named name (fasthttp keeps duplicates apart), so that two
// Authorization headers are refused as in net/http.
func (r fiberRequest) Header(name string) (string, int) {
	vs := peekAll(&r.c.Request().Header, name)
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
type viewRequest struct{ fiberRequest }

func (r viewRequest) Header(name string) (string, int) {
	vs := peekAll(&r.c.Request().Header, name)
	if len(vs) == 0 {
		return "", 0
	}
	return unsafe.String(unsafe.SliceData(vs[0]), len(vs[0])), len(vs)
}

// Cookie counts the cookies named name across all Cookie headers.
func (r fiberRequest) Cookie(name string) (string, int) {
	var first []byte
	n := 0
	for key, value := range r.c.Request().Header.Cookies() {
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
func (r fiberRequest) Query(name string) (string, int) {
	vs := r.c.Request().URI().QueryArgs().PeekMulti(name)
	if len(vs) == 0 {
		return "", 0
	}
	return string(vs[0]), len(vs)
}

var errBodyTooLarge = errors.New("fiberjwt: request body too large")

// Body returns a copy of the raw request body (not decompressed, as in net/http); a body over
// limit bytes is an error.
func (r fiberRequest) Body(limit int64) ([]byte, error) {
	b := r.c.Request().Body()
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	if len(b) == 0 {
		return nil, nil
	}
	return bytes.Clone(b), nil
}

// WriteResponse copies a Response decided by the Manager to c: status, WWW-Authenticate,
// Cache-Control, every Set-Cookie line as core wrote it, and the JSON body with Content-Type
// application/json (no body and no Content-Type for a 204). It returns nil.
func WriteResponse(c *fiber.Ctx, r core.Response) error {
	h := &c.Response().Header
	if r.WWWAuthenticate != "" {
		h.Set(fiber.HeaderWWWAuthenticate, r.WWWAuthenticate)
	}
	if r.CacheControl != "" {
		h.Set(fiber.HeaderCacheControl, r.CacheControl)
	}
	for _, v := range r.SetCookie {
		h.Add(fiber.HeaderSetCookie, v) // fasthttp keeps each line as written
	}
	if r.RetryAfter != "" {
		h.Set(fiber.HeaderRetryAfter, r.RetryAfter)
	}
	c.Status(r.Status)
	if r.Body == nil {
		c.Response().ResetBody()
		return nil
	}
	h.SetContentType(fiber.MIMEApplicationJSON)
	c.Response().SetBody(r.Body)
	return nil
}
