package echo5jwt

import (
	"bytes"

	"github.com/jwtexp/jwtexp/core"
)

// Error is what Middleware returns for a refused request, for the application's
// HTTPErrorHandler. It carries the answer core decided and the core error behind it.
type Error struct {
	// Err is core's error; errors.Is(e, core.ErrTokenExpired) and the like look through it.
	Err error
	// Response is core's answer: status, challenge, Cache-Control and JSON body. Read it, do
	// not modify it: its Body and SetCookie slices are shared with every other refusal of the
	// same kind (core decides each answer once).
	Response core.Response
}

// Error returns core's error text ("jwtexp: token expired: ..."), which never contains the
// token or a secret.
func (e *Error) Error() string {
	if e.Err == nil {
		return "jwtexp: request refused"
	}
	return e.Err.Error()
}

// Unwrap returns core's error.
func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the status core decided (echo.HTTPStatusCoder): 401, 400, 403, 503, ...
func (e *Error) StatusCode() int { return e.Response.Status }

// MarshalJSON returns core's JSON body, {"error": "<code>", "error_description": "<reason>"}:
// Echo's default HTTPErrorHandler writes it as the response body. The slice is the caller's own
// copy: core shares one body among all refusals of the same kind.
func (e *Error) MarshalJSON() ([]byte, error) {
	if e.Response.Body == nil {
		return []byte("null"), nil
	}
	return bytes.Clone(e.Response.Body), nil
}
