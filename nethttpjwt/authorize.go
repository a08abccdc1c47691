package nethttpjwt

import (
	"net/http"

	"github.com/jwtexp/jwtexp/core"
)

// Authorize returns middleware that checks the claims Middleware verified against every
// requirement (see core.Manager.Authorize) and answers a refusal with m's response: 403
// insufficient_scope with the required scopes (RFC 6750 §3.1), or 401
// insufficient_user_authentication with max_age / acr_values (RFC 9470 §3). Put it after
// Middleware, which answers a missing or bad token first; without Middleware in front every
// request is refused as unauthenticated.
//
//	mux.Handle("GET /admin", nethttpjwt.Middleware(m)(nethttpjwt.RequireScope(m, "admin")(admin)))
func Authorize(m *core.Manager, reqs ...*core.Requirement) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.Authorize")
	core.MustRequirements("nethttpjwt.Authorize", reqs)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := Claims(r)
			if err := m.Authorize(r.Context(), c, reqs...); err != nil {
				m.HTTP().Problem(err).Write(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireScope is Authorize with core.RequireScope: the token must grant every one of scopes
// (read from its scope or scp claim). It panics at setup if a scope is invalid or none is given.
func RequireScope(m *core.Manager, scopes ...string) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.RequireScope")
	return Authorize(m, core.MustRequirement(core.RequireScope(scopes...)))
}

// RequireAnyScope is Authorize with core.RequireAnyScope: the token must grant at least one of
// scopes. It panics at setup if a scope is invalid or none is given.
func RequireAnyScope(m *core.Manager, scopes ...string) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.RequireAnyScope")
	return Authorize(m, core.MustRequirement(core.RequireAnyScope(scopes...)))
}

// Require is Authorize with core.RequireClaims: the token's custom claims, decoded into T, must
// satisfy pred (a role check, for one); a refusal is 403 insufficient_scope. It panics at setup
// if pred is nil.
func Require[T any](m *core.Manager, pred func(T) bool) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.Require")
	return Authorize(m, core.MustRequirement(core.RequireClaims(pred)))
}

// RequireStepUp is Authorize with core.RequireStepUp: the user's login must be at most
// s.MaxAge old and/or of one of the classes s.ACRValues (RFC 9470). It panics at setup if s is
// empty or invalid.
func RequireStepUp(m *core.Manager, s core.StepUp) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.RequireStepUp")
	return Authorize(m, core.MustRequirement(core.RequireStepUp(s)))
}

// LoginHandler answers POST login requests (see core.HTTP.ServeLogin): it calls
// authenticate - the application's check of the request's credentials against its user store
// (core.ReadCredentials reads a JSON or form body) - and answers with a new token pair (the
// refresh token in the HttpOnly cookie when the request carries "X-Refresh-Transport: cookie"),
// or 401 invalid_grant "invalid username or password" when authenticate returns an error matching
// core.ErrInvalidCredentials. The body is limited to core.MaxBodySize. It panics at setup if
// authenticate is nil.
func LoginHandler[T any](m *core.Manager, authenticate func(r *http.Request) (subject string, claims T, err error)) http.Handler {
	core.MustManager(m, "nethttpjwt.LoginHandler")
	if authenticate == nil {
		panic("nethttpjwt.LoginHandler: authenticate is nil")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, core.MaxBodySize)
		}
		m.HTTP().ServeLogin(r.Context(), core.HTTPRequest(r), func() (string, any, error) {
			sub, claims, err := authenticate(r)
			return sub, claims, err
		}, core.WithRemoteAddr(r.RemoteAddr)).Write(w)
	})
}
