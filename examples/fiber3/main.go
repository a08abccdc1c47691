// Command fiber3 is the Fiber v3 example of jwtexp: POST /login (demo user alice/wonderland),
// POST /refresh, POST /logout; behind the middleware GET /api/me, GET /api/admin (scope "admin")
// and GET /api/sensitive (a login at most 5 minutes old, RFC 9470) and /api/sessions; GET /.well-known/jwks.json
// and the browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/fiber3
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
package main

import (
	"context"
	"net"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/fiber3jwt"
	"github.com/jwtexp/jwtexp/webclient"
)

func main() {
	Main("fiber3", func(app *App, ln net.Listener) Serving {
		f := newApp(app)
		return Serving{
			Run:      func() error { return f.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) },
			Shutdown: f.ShutdownWithContext,
		}
	})
}

// newApp returns the example's routes.
func newApp(app *App) *fiber.App {
	m := app.Manager
	f := fiber.New(fiber.Config{
		// fasthttp's default 4 KiB header buffer would refuse large tokens with 431 before the
		// middleware could answer them (see package fiber3jwt).
		ReadBufferSize: 16 << 10,
		ReadTimeout:    ReadTimeout,
		WriteTimeout:   WriteTimeout,
		IdleTimeout:    IdleTimeout,
	})
	f.Use(recover.New())
	f.Post("/login", fiber3jwt.LoginHandler(m, func(c fiber.Ctx) (string, UserClaims, error) {
		return Authenticate(fiber3jwt.Request(c))
	}))
	f.Post("/refresh", fiber3jwt.RefreshHandler(m))
	f.Post("/logout", fiber3jwt.LogoutHandler(m))
	f.Get("/.well-known/jwks.json", fiber3jwt.JWKSHandler(m))
	f.Get("/metrics", adaptor.HTTPHandler(app.MetricsHandler()))
	me := func(c fiber.Ctx) error {
		claims, _ := fiber3jwt.Claims(c)
		return fiber3jwt.WriteResponse(c, Me(claims))
	}
	auth := fiber3jwt.Middleware(m)
	f.Get("/api/me", auth, me)
	f.Get("/api/admin", auth, fiber3jwt.RequireScope(m, AdminScope), me)
	f.Get("/api/sensitive", auth, fiber3jwt.RequireStepUp(m, RecentLogin), me)
	f.Get("/api/sessions", auth, fiber3jwt.SessionsHandler(m))
	f.Delete("/api/sessions/:id", auth, fiber3jwt.EndSessionHandler(m, "id"))
	f.Delete("/api/sessions", auth, fiber3jwt.EndOtherSessionsHandler(m))
	f.Get("/api/events", auth, fiber3jwt.Events(m, Events))
	f.Get("/api/ws", auth, func(c fiber.Ctx) error {
		claims, _ := fiber3jwt.Claims(c)
		return fastwsjwt.Upgrade(m, c.RequestCtx(), claims, socket)
	})
	// Everything else is the browser client's (it answers 404 and 405 itself).
	f.Use(adaptor.HTTPHandler(webclient.Handler()))
	return f
}

// socket serves GET /api/ws: a message {"type":"tick","sub","exp"} every second (Ticks);
// fastwsjwt closes it with 4001 "token expired" or 4003 "token revoked" and answers
// {"type":"reauth"}.
func socket(ctx context.Context, s *fastwsjwt.Socket) error {
	return Ticks(ctx, func() error { return s.WriteJSON(ctx, TickOf(s.Connection(), "tick")) })
}
