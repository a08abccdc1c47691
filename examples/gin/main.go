// Command gin is the Gin example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout, GET /api/me and /api/sessions behind the middleware, and the
// browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/gin
package main

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/ginjwt"
)

func main() {
	exampleapp.Main("gin", func(app *exampleapp.App) error {
		srv := &http.Server{Addr: app.Config.Addr, Handler: newApp(app), ReadHeaderTimeout: 10 * time.Second}
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	m := app.Manager
	r := gin.New()
	r.Use(gin.Recovery())
	r.POST("/login", func(c *gin.Context) {
		app.LoginFrom(c.Request.Context(), core.HTTPRequest(c.Request), c.Request.RemoteAddr).Write(c.Writer)
	})
	r.POST("/refresh", ginjwt.RefreshHandler(m))
	r.POST("/logout", ginjwt.LogoutHandler(m))
	r.GET("/.well-known/jwks.json", ginjwt.JWKSHandler(m))
	r.GET("/api/me", ginjwt.Middleware(m), func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		exampleapp.Me(claims).Write(c.Writer)
	})
	sessions := r.Group("/api/sessions", ginjwt.Middleware(m))
	sessions.GET("", ginjwt.SessionsHandler(m))
	sessions.DELETE("/:id", ginjwt.EndSessionHandler(m, "id"))
	sessions.DELETE("", ginjwt.EndOtherSessionsHandler(m))
	// Everything else is the browser client's (GET and HEAD; it answers 404 and 405 itself). Gin
	// presets 404 for NoRoute handlers; the client's handler sets its own status.
	client := gin.WrapH(web.Handler())
	r.NoRoute(func(c *gin.Context) {
		c.Status(http.StatusOK)
		client(c)
	})
	return r
}
