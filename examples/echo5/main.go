// Command echo5 is the Echo v5 example of jwtexp: POST /login (demo user alice/wonderland),
// POST /refresh, POST /logout, GET /api/me behind the middleware, GET /.well-known/jwks.json and
// the browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/echo5
//
// Refusals of the middleware reach the client through Echo's default HTTPErrorHandler, which
// renders the *echo5jwt.Error as jwtexp's status, challenge and JSON body.
package main

import (
	"log/slog"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echo5jwt"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
)

func main() {
	exampleapp.Main("echo5", func(app *exampleapp.App) error {
		srv := exampleapp.Server(app.Config.Addr, newApp(app))
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *echo.Echo {
	m := app.Manager
	e := echo.New()
	e.Logger = slog.Default() // the logger the example's Manager reports to as well
	e.POST("/login", func(c *echo.Context) error {
		r := c.Request()
		app.Login(r.Context(), core.HTTPRequest(r)).Write(c.Response())
		return nil
	})
	e.POST("/refresh", echo5jwt.RefreshHandler(m))
	e.POST("/logout", echo5jwt.LogoutHandler(m))
	e.GET("/.well-known/jwks.json", echo5jwt.JWKSHandler(m))
	e.GET("/metrics", echo.WrapHandler(app.MetricsHandler()))
	e.GET("/api/me", func(c *echo.Context) error {
		claims, _ := echo5jwt.Claims(c)
		exampleapp.Me(claims).Write(c.Response())
		return nil
	}, echo5jwt.Middleware(m))
	// Everything else is the browser client's (it answers 404 and 405 itself).
	e.Any("/*", echo.WrapHandler(web.Handler()))
	return e
}
