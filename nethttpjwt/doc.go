// Package nethttpjwt is the net/http adapter of jwtexp: JWT authentication with correct expiry as
// a func(http.Handler) http.Handler, usable with http.ServeMux, chi, gorilla/mux and any router
// that takes standard middleware.
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
//	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
//	mux.Handle("GET /api/me", nethttpjwt.Middleware(m)(http.HandlerFunc(me)))
//
// In a handler behind the middleware, Claims returns the verified claims and Custom the
// application's own typed claims. Every decision - which token is accepted, which status and body
// a refusal gets - is made by core.Manager; this package only translates it to net/http.
//
// LoginHandler answers logins with the application's own credential check. RequireScope,
// RequireAnyScope, Require (a predicate on the custom claims: roles) and RequireStepUp (a recent
// login, RFC 9470) go after Middleware on the routes that need them:
//
//	mux.Handle("POST /login", nethttpjwt.LoginHandler(m, authenticate))
//	mux.Handle("GET /api/admin", nethttpjwt.Middleware(m)(nethttpjwt.RequireScope(m, "admin")(admin)))
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package nethttpjwt
