package fiber3jwt

import (
	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
)

// Authorize returns a handler that checks the claims Middleware verified against every
// requirement (see core.Manager.Authorize); a refusal is answered with m's response - 403
// insufficient_scope with the required scopes (RFC 6750 §3.1), or 401
// insufficient_user_authentication with max_age / acr_values (RFC 9470 §3) - and the handler
// returns nil. Put it after Middleware (on the group or the route), which answers a missing or
// bad token first; without Middleware every request is refused as unauthenticated.
//
//	api := app.Group("/api", fiber3jwt.Middleware(m))
//	api.Get("/admin", fiber3jwt.RequireScope(m, "admin"), admin)
func Authorize(m *core.Manager, reqs ...*core.Requirement) fiber.Handler {
	core.MustManager(m, "fiber3jwt.Authorize")
	core.MustRequirements("fiber3jwt.Authorize", reqs)
	return func(c fiber.Ctx) error {
		claims, _ := Claims(c)
		if err := m.Authorize(c.Context(), claims, reqs...); err != nil {
			return WriteError(c, m, err)
		}
		return c.Next()
	}
}

// RequireScope is Authorize with core.RequireScope: the token must grant every one of scopes
// (read from its scope or scp claim). It panics at setup if a scope is invalid or none is given.
func RequireScope(m *core.Manager, scopes ...string) fiber.Handler {
	core.MustManager(m, "fiber3jwt.RequireScope")
	return Authorize(m, core.MustRequirement(core.RequireScope(scopes...)))
}

// RequireAnyScope is Authorize with core.RequireAnyScope: the token must grant at least one of
// scopes. It panics at setup if a scope is invalid or none is given.
func RequireAnyScope(m *core.Manager, scopes ...string) fiber.Handler {
	core.MustManager(m, "fiber3jwt.RequireAnyScope")
	return Authorize(m, core.MustRequirement(core.RequireAnyScope(scopes...)))
}

// Require is Authorize with core.RequireClaims: the token's custom claims, decoded into T, must
// satisfy pred (a role check, for one); a refusal is 403 insufficient_scope. It panics at setup
// if pred is nil.
func Require[T any](m *core.Manager, pred func(T) bool) fiber.Handler {
	core.MustManager(m, "fiber3jwt.Require")
	return Authorize(m, core.MustRequirement(core.RequireClaims(pred)))
}

// RequireStepUp is Authorize with core.RequireStepUp: the user's login must be at most
// s.MaxAge old and/or of one of the classes s.ACRValues (RFC 9470). It panics at setup if s is
// empty or invalid.
func RequireStepUp(m *core.Manager, s core.StepUp) fiber.Handler {
	core.MustManager(m, "fiber3jwt.RequireStepUp")
	return Authorize(m, core.MustRequirement(core.RequireStepUp(s)))
}

// LoginHandler answers POST login requests (see core.HTTP.ServeLogin): it calls
// authenticate - the application's check of the request's credentials against its user store
// (core.ReadCredentials(fiber3jwt.Request(c)) reads a JSON or form body) - and answers with a new
// token pair (the refresh token in the HttpOnly cookie when the request carries
// "X-Refresh-Transport: cookie"), or 401 invalid_grant "invalid username or password" when
// authenticate returns an error matching core.ErrInvalidCredentials. The body size is Fiber's
// BodyLimit. It returns nil: the answer is written. It panics at setup if authenticate is nil.
func LoginHandler[T any](m *core.Manager, authenticate func(c fiber.Ctx) (subject string, claims T, err error)) fiber.Handler {
	core.MustManager(m, "fiber3jwt.LoginHandler")
	if authenticate == nil {
		panic("fiber3jwt.LoginHandler: authenticate is nil")
	}
	return func(c fiber.Ctx) error {
		return WriteResponse(c, m.HTTP().ServeLogin(c.Context(), Request(c), func() (string, any, error) {
			sub, claims, err := authenticate(c)
			return sub, claims, err
		}, core.WithRemoteAddr(c.RequestCtx().RemoteAddr().String())))
	}
}
