package echo5jwt

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
)

// Authorize returns middleware that checks the claims Middleware verified against every
// requirement (see core.Manager.Authorize); a refusal is answered with m's response - 403
// insufficient_scope with the required scopes (RFC 6750 §3.1), or 401
// insufficient_user_authentication with max_age / acr_values (RFC 9470 §3) - returned as an
// *Error for the app's HTTPErrorHandler, exactly as Middleware returns its refusals (with Echo's
// default handler the client gets the contract's answer). Put it after Middleware (on the group or the route), which answers a missing or
// bad token first; without Middleware every request is refused as unauthenticated.
//
//	api := e.Group("/api", echo5jwt.Middleware(m))
//	api.GET("/admin", admin, echo5jwt.RequireScope(m, "admin"))
func Authorize(m *core.Manager, reqs ...*core.Requirement) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.Authorize")
	core.MustRequirements("echo5jwt.Authorize", reqs)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			claims, _ := Claims(c)
			if err := m.Authorize(c.Request().Context(), claims, reqs...); err != nil {
				return refusal(c, m, err)
			}
			return next(c)
		}
	}
}

// RequireScope is Authorize with core.RequireScope: the token must grant every one of scopes
// (read from its scope or scp claim). It panics at setup if a scope is invalid or none is given.
func RequireScope(m *core.Manager, scopes ...string) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.RequireScope")
	return Authorize(m, core.MustRequirement(core.RequireScope(scopes...)))
}

// RequireAnyScope is Authorize with core.RequireAnyScope: the token must grant at least one of
// scopes. It panics at setup if a scope is invalid or none is given.
func RequireAnyScope(m *core.Manager, scopes ...string) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.RequireAnyScope")
	return Authorize(m, core.MustRequirement(core.RequireAnyScope(scopes...)))
}

// Require is Authorize with core.RequireClaims: the token's custom claims, decoded into T, must
// satisfy pred (a role check, for one); a refusal is 403 insufficient_scope. It panics at setup
// if pred is nil.
func Require[T any](m *core.Manager, pred func(T) bool) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.Require")
	return Authorize(m, core.MustRequirement(core.RequireClaims(pred)))
}

// RequireStepUp is Authorize with core.RequireStepUp: the user's login must be at most
// s.MaxAge old and/or of one of the classes s.ACRValues (RFC 9470). It panics at setup if s is
// empty or invalid.
func RequireStepUp(m *core.Manager, s core.StepUp) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.RequireStepUp")
	return Authorize(m, core.MustRequirement(core.RequireStepUp(s)))
}

// LoginHandler answers POST login requests (see core.HTTP.ServeLogin): it calls
// authenticate - the application's check of the request's credentials against its user store
// (core.ReadCredentials(core.HTTPRequest(c.Request())) reads a JSON or form body) - and answers
// with a new token pair (the refresh token in the HttpOnly cookie when the request carries
// "X-Refresh-Transport: cookie"), or 401 invalid_grant "invalid username or password" when
// authenticate returns an error matching core.ErrInvalidCredentials. The body is limited to
// core.MaxBodySize. It always returns nil: the answer is written. It panics at setup if
// authenticate is nil.
func LoginHandler[T any](m *core.Manager, authenticate func(c *echo.Context) (subject string, claims T, err error)) echo.HandlerFunc {
	core.MustManager(m, "echo5jwt.LoginHandler")
	if authenticate == nil {
		panic("echo5jwt.LoginHandler: authenticate is nil")
	}
	return func(c *echo.Context) error {
		r := c.Request()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, core.MaxBodySize)
		}
		m.HTTP().ServeLogin(r.Context(), core.HTTPRequest(r), func() (string, any, error) {
			sub, claims, err := authenticate(c)
			return sub, claims, err
		}, core.WithRemoteAddr(r.RemoteAddr)).Write(c.Response())
		return nil
	}
}
