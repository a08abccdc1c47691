// Command echo is the Echo example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout, GET /api/me and /api/sessions behind the middleware, and the
// browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/echo
package main

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echojwt"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
)

func main() {
	exampleapp.Main("echo", func(app *exampleapp.App) error {
		srv := &http.Server{Addr: app.Config.Addr, Handler: newApp(app), ReadHeaderTimeout: 10 * time.Second}
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *echo.Echo {
	m := app.Manager
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.POST("/login", func(c echo.Context) error {
		r := c.Request()
		app.LoginFrom(r.Context(), core.HTTPRequest(r), r.RemoteAddr).Write(c.Response())
		return nil
	})
	e.POST("/refresh", echojwt.RefreshHandler(m))
	e.POST("/logout", echojwt.LogoutHandler(m))
	e.GET("/.well-known/jwks.json", echojwt.JWKSHandler(m))
	e.GET("/api/me", func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		exampleapp.Me(claims).Write(c.Response())
		return nil
	}, echojwt.Middleware(m))
	sessions := e.Group("/api/sessions", echojwt.Middleware(m))
	sessions.GET("", echojwt.SessionsHandler(m))
	sessions.DELETE("/:id", echojwt.EndSessionHandler(m, "id"))
	sessions.DELETE("", echojwt.EndOtherSessionsHandler(m))
	// Everything else is the browser client's (it answers 404 and 405 itself).
	e.Any("/*", echo.WrapHandler(web.Handler()))
	return e
}
