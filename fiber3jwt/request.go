package fiber3jwt

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
)

// Request returns the core.Request view of c's request, for calling the Manager from a Fiber
// handler (a login handler's m.HTTP().LoginResponse, an application's own m.Authenticate). Every value
// it returns is a copy: fasthttp reuses the request's buffers after the handler returns, and a
// string still pointing into them would silently change under whoever kept it.
func Request(c fiber.Ctx) core.Request { return fasthttpRequest{c.Request()} }

// errBodyTooLarge is the error of a request body over the limit Body is given (fasthttpview.go).
var errBodyTooLarge = errors.New("fiber3jwt: request body too large")

// WriteResponse copies a Response decided by the Manager to c: status, WWW-Authenticate,
// Cache-Control, every Set-Cookie line as core wrote it, and the JSON body with Content-Type
// application/json (no body and no Content-Type for a 204). It returns nil.
func WriteResponse(c fiber.Ctx, r core.Response) error {
	writeResponse(c.Response(), r)
	return nil
}
