// Package fiber3jwt is the Fiber v3 adapter of jwtexp: JWT authentication with correct expiry as
// a fiber.Handler (func(fiber.Ctx) error) for app.Use, a group or a route. For Fiber v2 use
// package fiberjwt.
//
//	go get github.com/jwtexp/jwtexp/fiber3jwt
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10}) // see "Large tokens" below
//	app.Post("/refresh", fiber3jwt.RefreshHandler(m))
//	app.Post("/logout", fiber3jwt.LogoutHandler(m))
//	api := app.Group("/api", fiber3jwt.Middleware(m))
//	api.Get("/me", func(c fiber.Ctx) error {
//		claims, _ := fiber3jwt.Claims(c)
//		return c.JSON(fiber.Map{"sub": claims.Subject})
//	})
//
// A refused request is answered with the status, WWW-Authenticate challenge and JSON body that
// core.HTTP.Problem decides - the same answer in every jwtexp adapter - and the middleware
// returns nil; WithErrorHandler can instead return an error for the app's Config.ErrorHandler.
// WithNext skips the middleware for the requests it selects (Fiber's Next convention).
//
// # Claims
//
// Behind the middleware, Claims and Custom read the verified claims. They are kept in one place,
// the context.Context the Ctx carries, under a key no other package can use: the middleware passes
// c.Context() to the Manager (and so to the store) and replaces it with one holding the claims
// (c.SetContext), so code that is handed c.Context() finds them too, with core.ClaimsFromContext.
//
// # Buffers
//
// Fiber runs on fasthttp, which reuses request buffers once a handler returns. Request, the
// core.Request view of a fiber.Ctx, therefore returns copies of header, cookie, query and body
// values, and the claims core returns own their strings: nothing this package hands out refers to
// fasthttp's buffers, so it may be kept after the handler returns. WriteResponse copies a
// core.Response (status, headers, every Set-Cookie line, body) to a fiber.Ctx.
//
// # Large tokens
//
// Fiber's default ReadBufferSize (4096 bytes) bounds the whole request header block, so fasthttp
// refuses a request carrying a token of more than about 4 KB before any route handler runs: Fiber
// answers 431 Request Header Fields Too Large through its ErrorHandler. That is never an accept,
// but it is not jwtexp's answer either. To let core's limit (core.DefaultMaxTokenSize, 8 KiB)
// decide, with the 401 invalid_token "token too large" the other adapters give, raise it:
//
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
//
// Every decision - which token is accepted, which status and body a refusal gets - is made by
// core.Manager (see package github.com/jwtexp/jwtexp/core); this package only translates it to
// Fiber.
//
// LoginHandler answers logins with the application's own credential check. RequireScope,
// RequireAnyScope, Require (a predicate on the custom claims: roles) and RequireStepUp (a recent
// login, RFC 9470) go after Middleware, on a group or a route:
//
//	app.Post("/login", fiber3jwt.LoginHandler(m, authenticate))
//	api.Get("/admin", fiber3jwt.RequireScope(m, "admin"), admin)
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package fiber3jwt
