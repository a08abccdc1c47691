// Package fiberjwt is the Fiber (v2) adapter of jwtexp: JWT authentication with correct expiry as
// a fiber.Handler for app.Use, a group or a route.
//
//	go get github.com/jwtexp/jwtexp/fiberjwt
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	app := fiber.New()
//	app.Post("/refresh", fiberjwt.RefreshHandler(m))
//	app.Post("/logout", fiberjwt.LogoutHandler(m))
//	api := app.Group("/api", fiberjwt.Middleware(m))
//	api.Get("/me", func(c *fiber.Ctx) error {
//		claims, _ := fiberjwt.Claims(c)
//		return c.JSON(fiber.Map{"sub": claims.Subject})
//	})
//
// A refused request is answered with the status, WWW-Authenticate challenge and JSON body that
// core.HTTP.Problem decides - the same answer in every jwtexp adapter - and the middleware
// returns nil; WithErrorHandler can instead return an error for Fiber's ErrorHandler. Behind the
// middleware, Claims and Custom read the verified claims from c.UserContext(), the one place the
// middleware keeps them (under a key no other package can use), so code that passes that context
// on finds them too, with core.ClaimsFromContext.
//
// Fiber runs on fasthttp, which reuses request buffers once a handler returns. Request, the
// core.Request view of a *fiber.Ctx, therefore returns copies of header, cookie, query and body
// values, and the claims core returns own their strings: nothing this package hands out refers to
// fasthttp's buffers, so it may be kept after the handler returns. WriteResponse copies a
// core.Response (status, headers, every Set-Cookie line, body) to a *fiber.Ctx.
//
// Fiber's default ReadBufferSize (4096 bytes) bounds the whole request header block, so fasthttp
// refuses a request carrying a token of more than about 4 KB before any handler runs (431, or a
// closed connection) - never an accept, but not the RFC 6750 401 either. To let core's limit
// (core.DefaultMaxTokenSize, 8 KiB) decide, as in the other adapters, raise it:
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
//	app.Post("/login", fiberjwt.LoginHandler(m, authenticate))
//	api.Get("/admin", fiberjwt.RequireScope(m, "admin"), admin)
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package fiberjwt
