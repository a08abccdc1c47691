// Command fiber is the Fiber (v2) example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470), the /api/sessions routes, GET /api/events (SSE) and GET /api/ws (WebSocket), which
// end with their token; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/fiber
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
package main

import (
	"context"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/fiberjwt"
	"github.com/jwtexp/jwtexp/webclient"
)

func main() {
	Main("fiber", func(app *App, ln net.Listener) Serving {
		f := newApp(app)
		return Serving{Run: func() error { return f.Listener(ln) }, Shutdown: f.ShutdownWithContext}
	})
}

// newApp returns the example's routes.
func newApp(app *App) *fiber.App {
	m := app.Manager
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// fasthttp's default 4 KiB header buffer would refuse large tokens before the middleware
		// could answer them (see package fiberjwt).
		ReadBufferSize: 16 << 10,
		ReadTimeout:    ReadTimeout,
		WriteTimeout:   WriteTimeout,
		IdleTimeout:    IdleTimeout,
	})
	f.Use(recover.New())
	f.Post("/login", fiberjwt.LoginHandler(m, func(c *fiber.Ctx) (string, UserClaims, error) {
		return Authenticate(fiberjwt.Request(c))
	}))
	f.Post("/refresh", fiberjwt.RefreshHandler(m))
	f.Post("/logout", fiberjwt.LogoutHandler(m))
	f.Get("/.well-known/jwks.json", fiberjwt.JWKSHandler(m))
	f.Get("/metrics", adaptor.HTTPHandler(app.MetricsHandler()))
	me := func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return fiberjwt.WriteResponse(c, Me(claims))
	}
	// Route by route, not f.Group("/api", auth): a group's handlers run for every /api path,
	// also the unknown ones the browser client's handler answers with 404.
	auth := fiberjwt.Middleware(m)
	f.Get("/api/me", auth, me)
	f.Get("/api/admin", auth, fiberjwt.RequireScope(m, AdminScope), me)
	f.Get("/api/sensitive", auth, fiberjwt.RequireStepUp(m, RecentLogin), me)
	f.Get("/api/sessions", auth, fiberjwt.SessionsHandler(m))
	f.Delete("/api/sessions/:id", auth, fiberjwt.EndSessionHandler(m, "id"))
	f.Delete("/api/sessions", auth, fiberjwt.EndOtherSessionsHandler(m))
	f.Get("/api/events", auth, fiberjwt.Events(m, Events))
	f.Get("/api/ws", auth, func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return fastwsjwt.Upgrade(m, c.Context(), claims, socket)
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
