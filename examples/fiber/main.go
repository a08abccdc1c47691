// Command fiber is the Fiber (v2) example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout, GET /api/me and /api/sessions behind the middleware, and the
// browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/fiber
package main

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/fiberjwt"
)

func main() {
	exampleapp.Main("fiber", func(app *exampleapp.App) error {
		return newApp(app).Listen(app.Config.Addr)
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *fiber.App {
	m := app.Manager
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// fasthttp's default 4 KiB header buffer would refuse large tokens before the middleware
		// could answer them (see package fiberjwt).
		ReadBufferSize: 16 << 10,
		ReadTimeout:    10 * time.Second,
	})
	f.Use(recover.New())
	f.Post("/login", func(c *fiber.Ctx) error {
		return fiberjwt.WriteResponse(c, app.LoginFrom(c.UserContext(), fiberjwt.Request(c), c.Context().RemoteAddr().String()))
	})
	f.Post("/refresh", fiberjwt.RefreshHandler(m))
	f.Post("/logout", fiberjwt.LogoutHandler(m))
	f.Get("/.well-known/jwks.json", fiberjwt.JWKSHandler(m))
	f.Get("/api/me", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return fiberjwt.WriteResponse(c, exampleapp.Me(claims))
	})
	sessions := f.Group("/api/sessions", fiberjwt.Middleware(m))
	sessions.Get("", fiberjwt.SessionsHandler(m))
	sessions.Delete("/:id", fiberjwt.EndSessionHandler(m, "id"))
	sessions.Delete("", fiberjwt.EndOtherSessionsHandler(m))
	// Everything else is the browser client's (it answers 404 and 405 itself).
	f.Use(adaptor.HTTPHandler(web.Handler()))
	return f
}
