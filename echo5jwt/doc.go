// Package echo5jwt is the Echo v5 adapter of jwtexp: JWT authentication with correct expiry as
// an echo.MiddlewareFunc (over *echo.Context) for e.Use, a group or a route. For Echo v4 use
// package echojwt.
//
//	go get github.com/jwtexp/jwtexp/echo5jwt
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//		core.WithLogger(e.Logger), // Echo v5's *slog.Logger also gets jwtexp's events
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	e.POST("/refresh", echo5jwt.RefreshHandler(m))
//	e.POST("/logout", echo5jwt.LogoutHandler(m))
//	api := e.Group("/api", echo5jwt.Middleware(m))
//	api.GET("/me", func(c *echo.Context) error {
//		claims, _ := echo5jwt.Claims(c)
//		return c.JSON(http.StatusOK, map[string]string{"sub": claims.Subject})
//	})
//
// # Refused requests
//
// As Echo v5 expects of a middleware, a refused request is not answered by the middleware: it
// returns an *Error for the application's HTTPErrorHandler. The *Error reports the status
// core.HTTP.Problem decided through StatusCode (echo.HTTPStatusCoder, so echo.StatusCode(err)
// and Echo's logging middleware see 401, 400, 403 or 503), renders core's JSON body through
// MarshalJSON, and unwraps to the core error, so errors.Is(err, core.ErrTokenExpired) holds. Before
// returning it the middleware sets core's headers (WWW-Authenticate, Cache-Control, Retry-After on
// a 503) on the response. With Echo's default HTTPErrorHandler the answer is therefore exactly the one every
// jwtexp adapter gives: the status, the RFC 6750 §3 challenge and the body
// {"error": "invalid_token", "error_description": "token expired"}. A custom HTTPErrorHandler
// may render the body its own way; the headers are already set. WithErrorHandler replaces the
// whole step (for instance with WriteError, which answers the request directly).
//
// # Claims
//
// Behind the middleware, Claims and Custom read the verified claims. They are kept in
// c.Request()'s context (not in the string-keyed c.Set store), so net/http-style code, such as a
// handler mounted with echo.WrapHandler, finds them with core.ClaimsFromContext(r.Context()).
//
// # Cookies and schemes
//
// Whether the refresh cookie is Secure is core's configuration (Secure unless
// core.WithInsecureCookie), never a guess from the request: this package reads neither
// c.Scheme() nor X-Forwarded-Proto, so it trusts forwarding headers less than Echo v5.4's
// Scheme() does, not more.
//
// Every decision - which token is accepted, which status and body a refusal gets - is made by
// core.Manager (see package github.com/jwtexp/jwtexp/core); this package only translates it to
// Echo.
//
// LoginHandler answers logins with the application's own credential check. RequireScope,
// RequireAnyScope, Require (a predicate on the custom claims: roles) and RequireStepUp (a recent
// login, RFC 9470) go after Middleware, on a group or a route; like Middleware they return a
// refusal as an *Error for the app's HTTPErrorHandler:
//
//	e.POST("/login", echo5jwt.LoginHandler(m, authenticate))
//	api.GET("/admin", admin, echo5jwt.RequireScope(m, "admin"))
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package echo5jwt
