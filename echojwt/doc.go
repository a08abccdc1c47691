// Package echojwt is the Echo (v4) adapter of jwtexp: JWT authentication with correct expiry as
// an echo.MiddlewareFunc for e.Use, a group or a route.
//
//	go get github.com/jwtexp/jwtexp/echojwt
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	e := echo.New()
//	e.POST("/refresh", echojwt.RefreshHandler(m))
//	e.POST("/logout", echojwt.LogoutHandler(m))
//	api := e.Group("/api", echojwt.Middleware(m))
//	api.GET("/me", func(c echo.Context) error {
//		claims, _ := echojwt.Claims(c)
//		return c.JSON(http.StatusOK, map[string]string{"sub": claims.Subject})
//	})
//
// By default a refused request is answered by the middleware itself with the status,
// WWW-Authenticate challenge and JSON body that core.HTTP.Problem decides - the same answer in
// every jwtexp adapter - and the middleware returns nil. With WithHTTPErrors it instead returns an
// *echo.HTTPError (Code: the core status, Message: the short reason, Internal: the core error) for
// the application's HTTPErrorHandler to render: the status and the headers (WWW-Authenticate,
// Cache-Control, Retry-After on a 503) are still core's, but the body shape is then the application's (Echo's
// default handler writes {"message": "token expired"}), not the {"error", "error_description"} shape.
//
// Behind the middleware, Claims and Custom read the verified claims; they are stored in
// c.Request()'s context (not in the echo.Context's map, which would cost allocations per
// request), so net/http-style code (core.ClaimsFromContext(r.Context())) finds them too.
//
// Every decision - which token is accepted, which status and body a refusal gets - is made by
// core.Manager (see package github.com/jwtexp/jwtexp/core); this package only translates it to
// Echo.
//
// LoginHandler answers logins with the application's own credential check. RequireScope,
// RequireAnyScope, Require (a predicate on the custom claims: roles) and RequireStepUp (a recent
// login, RFC 9470) go after Middleware, on a group or a route; they answer refusals themselves
// (WithHTTPErrors does not apply to them):
//
//	e.POST("/login", echojwt.LoginHandler(m, authenticate))
//	api.GET("/admin", admin, echojwt.RequireScope(m, "admin"))
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package echojwt
