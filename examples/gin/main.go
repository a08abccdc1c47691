// Command gin is the Gin example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470) and the /api/sessions routes; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/gin
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/ginjwt"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	exampleapp.Main("gin", func(app *exampleapp.App) error {
		srv := exampleapp.Server(app.Config.Addr, newApp(app))
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	m := app.Manager
	r := gin.New()
	// No redirect from "/api/sessions/" to "/api/sessions" (end all other sessions): a client
	// following it would end sessions it never named.
	r.RedirectTrailingSlash = false
	r.Use(gin.Recovery())
	r.POST("/login", ginjwt.LoginHandler(m, func(c *gin.Context) (string, exampleapp.UserClaims, error) {
		return exampleapp.Authenticate(core.HTTPRequest(c.Request))
	}))
	r.POST("/refresh", ginjwt.RefreshHandler(m))
	r.POST("/logout", ginjwt.LogoutHandler(m))
	r.GET("/.well-known/jwks.json", ginjwt.JWKSHandler(m))
	r.GET("/metrics", gin.WrapH(app.MetricsHandler()))
	me := func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		exampleapp.Me(claims).Write(c.Writer)
	}
	api := r.Group("/api", ginjwt.Middleware(m))
	api.GET("/me", me)
	api.GET("/admin", ginjwt.RequireScope(m, exampleapp.AdminScope), me)
	api.GET("/sensitive", ginjwt.RequireStepUp(m, exampleapp.RecentLogin), me)
	api.GET("/events", ginjwt.Events(m, exampleapp.Events))
	api.GET("/ws", gin.WrapH(wsjwt.Handler(m, exampleapp.Socket)))
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
