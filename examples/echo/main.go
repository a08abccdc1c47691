// Command echo is the Echo example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470), the /api/sessions routes, GET /api/events (SSE) and GET /api/ws (WebSocket), which
// end with their token; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/echo
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
package main

import (
	"context"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"net"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echojwt"
	"github.com/jwtexp/jwtexp/webclient"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	Main("echo", func(app *App, ln net.Listener) Serving {
		srv := Server(app.Config.Addr, newApp(app))
		return Serving{Run: func() error { return srv.Serve(ln) }, Shutdown: srv.Shutdown}
	})
}

// newApp returns the example's routes.
func newApp(app *App) *echo.Echo {
	m := app.Manager
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover()) // a panicking handler answers 500, as in the other examples
	e.POST("/login", echojwt.LoginHandler(m, func(c echo.Context) (string, UserClaims, error) {
		return Authenticate(core.HTTPRequest(c.Request()))
	}))
	e.POST("/refresh", echojwt.RefreshHandler(m))
	e.POST("/logout", echojwt.LogoutHandler(m))
	e.GET("/.well-known/jwks.json", echojwt.JWKSHandler(m))
	e.GET("/metrics", echo.WrapHandler(app.MetricsHandler()))
	me := func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		Me(claims).Write(c.Response())
		return nil
	}
	// Route by route, not e.Group("/api", auth): a group with middleware also claims every
	// unknown /api path, which the browser client's handler answers with 404.
	auth := echojwt.Middleware(m)
	e.GET("/api/me", me, auth)
	e.GET("/api/admin", me, auth, echojwt.RequireScope(m, AdminScope))
	e.GET("/api/sensitive", me, auth, echojwt.RequireStepUp(m, RecentLogin))
	e.GET("/api/sessions", echojwt.SessionsHandler(m), auth)
	e.DELETE("/api/sessions/:id", echojwt.EndSessionHandler(m, "id"), auth)
	e.DELETE("/api/sessions", echojwt.EndOtherSessionsHandler(m), auth)
	e.GET("/api/events", echojwt.Events(m, Events), auth)
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
