// Command fiber3 is the Fiber v3 example of jwtexp: POST /login (demo user alice/wonderland),
// POST /refresh, POST /logout; behind the middleware GET /api/me, GET /api/admin (scope "admin")
// and GET /api/sensitive (a login at most 5 minutes old, RFC 9470) and /api/sessions; GET /.well-known/jwks.json
// and the browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/fiber3
package main

import (
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/fiber3jwt"
)

func main() {
	exampleapp.Main("fiber3", func(app *exampleapp.App) error {
		return newApp(app).Listen(app.Config.Addr, fiber.ListenConfig{DisableStartupMessage: true})
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *fiber.App {
	m := app.Manager
	f := fiber.New(fiber.Config{
		// fasthttp's default 4 KiB header buffer would refuse large tokens with 431 before the
		// middleware could answer them (see package fiber3jwt).
		ReadBufferSize: 16 << 10,
		// "/api/sessions/" is not "/api/sessions" (end all other sessions): no trailing-slash
		// leniency on routes that act.
		StrictRouting: true,
		ReadTimeout:   exampleapp.ReadTimeout,
		WriteTimeout:  exampleapp.WriteTimeout,
		IdleTimeout:   exampleapp.IdleTimeout,
	})
	f.Use(recover.New())
	f.Post("/login", fiber3jwt.LoginHandler(m, func(c fiber.Ctx) (string, exampleapp.UserClaims, error) {
		return exampleapp.Authenticate(fiber3jwt.Request(c))
	}))
	f.Post("/refresh", fiber3jwt.RefreshHandler(m))
	f.Post("/logout", fiber3jwt.LogoutHandler(m))
	f.Get("/.well-known/jwks.json", fiber3jwt.JWKSHandler(m))
	f.Get("/metrics", adaptor.HTTPHandler(app.MetricsHandler()))
	me := func(c fiber.Ctx) error {
		claims, _ := fiber3jwt.Claims(c)
		return fiber3jwt.WriteResponse(c, exampleapp.Me(claims))
	}
	auth := fiber3jwt.Middleware(m)
	f.Get("/api/me", auth, me)
	f.Get("/api/admin", auth, fiber3jwt.RequireScope(m, exampleapp.AdminScope), me)
	f.Get("/api/sensitive", auth, fiber3jwt.RequireStepUp(m, exampleapp.RecentLogin), me)
	f.Get("/api/sessions", auth, fiber3jwt.SessionsHandler(m))
	f.Delete("/api/sessions/:id", auth, fiber3jwt.EndSessionHandler(m, "id"))
	f.Delete("/api/sessions", auth, fiber3jwt.EndOtherSessionsHandler(m))
	f.Get("/api/events", auth, fiber3jwt.Events(m, exampleapp.Events))
	f.Get("/api/ws", auth, func(c fiber.Ctx) error {
		claims, _ := fiber3jwt.Claims(c)
		return fastwsjwt.Upgrade(m, c.RequestCtx(), claims, exampleapp.FastSocket)
	})
	// Everything else is the browser client's (it answers 404 and 405 itself).
	f.Use(adaptor.HTTPHandler(web.Handler()))
	return f
}
