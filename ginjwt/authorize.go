package ginjwt

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
)

// Authorize returns a handler that checks the claims Middleware verified against every
// requirement (see core.Manager.Authorize); a refusal is answered with m's response - 403
// insufficient_scope with the required scopes (RFC 6750 §3.1), or 401
// insufficient_user_authentication with max_age / acr_values (RFC 9470 §3) - recorded with
// c.Error and aborted. Put it after Middleware (on the group or the route), which answers a
// missing or bad token first; without Middleware every request is refused as unauthenticated.
//
//	api := r.Group("/api", ginjwt.Middleware(m))
//	api.GET("/admin", ginjwt.RequireScope(m, "admin"), admin)
func Authorize(m *core.Manager, reqs ...*core.Requirement) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.Authorize")
	core.MustRequirements("ginjwt.Authorize", reqs)
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		if err := m.Authorize(c.Request.Context(), claims, reqs...); err != nil {
			WriteError(c, m, err)
			return
		}
		c.Next()
	}
}

// RequireScope is Authorize with core.RequireScope: the token must grant every one of scopes
// (read from its scope or scp claim). It panics at setup if a scope is invalid or none is given.
func RequireScope(m *core.Manager, scopes ...string) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.RequireScope")
	return Authorize(m, core.MustRequirement(core.RequireScope(scopes...)))
}

// RequireAnyScope is Authorize with core.RequireAnyScope: the token must grant at least one of
// scopes. It panics at setup if a scope is invalid or none is given.
func RequireAnyScope(m *core.Manager, scopes ...string) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.RequireAnyScope")
	return Authorize(m, core.MustRequirement(core.RequireAnyScope(scopes...)))
}

// Require is Authorize with core.RequireClaims: the token's custom claims, decoded into T, must
// satisfy pred (a role check, for one); a refusal is 403 insufficient_scope. It panics at setup
// if pred is nil.
func Require[T any](m *core.Manager, pred func(T) bool) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.Require")
	return Authorize(m, core.MustRequirement(core.RequireClaims(pred)))
}

// RequireStepUp is Authorize with core.RequireStepUp: the user's login must be at most
// s.MaxAge old and/or of one of the classes s.ACRValues (RFC 9470). It panics at setup if s is
// empty or invalid.
func RequireStepUp(m *core.Manager, s core.StepUp) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.RequireStepUp")
	return Authorize(m, core.MustRequirement(core.RequireStepUp(s)))
}

// LoginHandler answers POST login requests (see core.HTTP.ServeLogin): it calls
// authenticate - the application's check of the request's credentials against its user store
// (core.ReadCredentials(core.HTTPRequest(c.Request)) reads a JSON or form body) - and answers with
// a new token pair (the refresh token in the HttpOnly cookie when the request carries
// "X-Refresh-Transport: cookie"), or 401 invalid_grant "invalid username or password" when
// authenticate returns an error matching core.ErrInvalidCredentials. The body is limited to
// core.MaxBodySize. It panics at setup if authenticate is nil.
func LoginHandler[T any](m *core.Manager, authenticate func(c *gin.Context) (subject string, claims T, err error)) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.LoginHandler")
	if authenticate == nil {
		panic("ginjwt.LoginHandler: authenticate is nil")
	}
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, core.MaxBodySize)
		}
		m.HTTP().ServeLogin(c.Request.Context(), core.HTTPRequest(c.Request), func() (string, any, error) {
			sub, claims, err := authenticate(c)
			return sub, claims, err
		}, core.WithRemoteAddr(c.Request.RemoteAddr)).Write(c.Writer)
	}
}
