// Command echo5 is the Echo v5 example of jwtexp: POST /login (demo user alice/wonderland),
// POST /refresh, POST /logout; behind the middleware GET /api/me, GET /api/admin (scope "admin")
// and GET /api/sensitive (a login at most 5 minutes old, RFC 9470) and /api/sessions; GET /.well-known/jwks.json
// and the browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/echo5
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
//
// Refusals of the middleware reach the client through Echo's default HTTPErrorHandler, which
// renders the *echo5jwt.Error as jwtexp's status, challenge and JSON body.
package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echo5jwt"
	"github.com/jwtexp/jwtexp/webclient"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	Main("echo5", func(app *App, ln net.Listener) Serving {
		srv := Server(app.Config.Addr, newApp(app))
		return Serving{Run: func() error { return srv.Serve(ln) }, Shutdown: srv.Shutdown}
	})
}

// newApp returns the example's routes.
func newApp(app *App) *echo.Echo {
	m := app.Manager
	e := echo.New()
	e.Logger = slog.Default()   // the logger the example's Manager reports to as well
	e.Use(middleware.Recover()) // a panicking handler answers 500, as in the other examples
	e.POST("/login", echo5jwt.LoginHandler(m, func(c *echo.Context) (string, UserClaims, error) {
		return Authenticate(core.HTTPRequest(c.Request()))
	}))
	e.POST("/refresh", echo5jwt.RefreshHandler(m))
	e.POST("/logout", echo5jwt.LogoutHandler(m))
	e.GET("/.well-known/jwks.json", echo5jwt.JWKSHandler(m))
	e.GET("/metrics", echo.WrapHandler(app.MetricsHandler()))
	me := func(c *echo.Context) error {
		claims, _ := echo5jwt.Claims(c)
		Me(claims).Write(c.Response())
		return nil
	}
	// Route by route, not e.Group("/api", auth): a group with middleware also claims every
	// unknown /api path, which the browser client's handler answers with 404.
	auth := echo5jwt.Middleware(m)
	e.GET("/api/me", me, auth)
	e.GET("/api/admin", me, auth, echo5jwt.RequireScope(m, AdminScope))
	e.GET("/api/sensitive", me, auth, echo5jwt.RequireStepUp(m, RecentLogin))
	e.GET("/api/sessions", echo5jwt.SessionsHandler(m), auth)
	e.DELETE("/api/sessions/:id", echo5jwt.EndSessionHandler(m, "id"), auth)
	e.DELETE("/api/sessions", echo5jwt.EndOtherSessionsHandler(m), auth)
	e.GET("/api/events", echo5jwt.Events(m, Events), auth)
	e.GET("/api/ws", echo.WrapHandler(wsjwt.Handler(m, socket)), auth)
	// Everything else is the browser client's (it answers 404 and 405 itself).
	e.Any("/*", echo.WrapHandler(webclient.Handler()))
	return e
}

// socket serves GET /api/ws: a message {"type":"tick","sub","exp"} every second (Ticks); wsjwt
// closes it with 4001 "token expired" or 4003 "token revoked" and answers {"type":"reauth"}.
func socket(ctx context.Context, s *wsjwt.Socket) error {
	return Ticks(ctx, func() error { return s.WriteJSON(ctx, TickOf(s.Connection(), "tick")) })
}
