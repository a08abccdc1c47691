// Command gin is the Gin example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470), the /api/sessions routes, GET /api/events (SSE) and GET /api/ws (WebSocket), which
// end with their token; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/gin
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
package main

import (
	"context"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/ginjwt"
	"github.com/jwtexp/jwtexp/webclient"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	Main("gin", func(app *App, ln net.Listener) Serving {
		srv := Server(app.Config.Addr, newApp(app))
		return Serving{Run: func() error { return srv.Serve(ln) }, Shutdown: srv.Shutdown}
	})
}

// newApp returns the example's routes.
func newApp(app *App) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	m := app.Manager
	r := gin.New()
	r.Use(gin.Recovery())
	r.POST("/login", ginjwt.LoginHandler(m, func(c *gin.Context) (string, UserClaims, error) {
		return Authenticate(core.HTTPRequest(c.Request))
	}))
	r.POST("/refresh", ginjwt.RefreshHandler(m))
	r.POST("/logout", ginjwt.LogoutHandler(m))
	r.GET("/.well-known/jwks.json", ginjwt.JWKSHandler(m))
	r.GET("/metrics", gin.WrapH(app.MetricsHandler()))
	me := func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		Me(claims).Write(c.Writer)
	}
	api := r.Group("/api", ginjwt.Middleware(m))
	api.GET("/me", me)
	api.GET("/admin", ginjwt.RequireScope(m, AdminScope), me)
	api.GET("/sensitive", ginjwt.RequireStepUp(m, RecentLogin), me)
	api.GET("/events", ginjwt.Events(m, Events))
	api.GET("/ws", gin.WrapH(wsjwt.Handler(m, socket)))
	sessions := r.Group("/api/sessions", ginjwt.Middleware(m))
	sessions.GET("", ginjwt.SessionsHandler(m))
	// A catch-all: "DELETE /api/sessions/" (no id) reaches the handler (404) instead of Gin's
	// default redirect to "DELETE /api/sessions", which would end every other session.
	sessions.DELETE("/*id", ginjwt.EndSessionHandler(m, "id"))
	sessions.DELETE("", ginjwt.EndOtherSessionsHandler(m))
	// Everything else is the browser client's (GET and HEAD; it answers 404 and 405 itself). Gin
	// presets 404 for NoRoute handlers; the client's handler sets its own status.
	client := gin.WrapH(webclient.Handler())
	r.NoRoute(func(c *gin.Context) {
		c.Status(http.StatusOK)
		client(c)
	})
	return r
}

// socket serves GET /api/ws: a message {"type":"tick","sub","exp"} every second (Ticks); wsjwt
// closes it with 4001 "token expired" or 4003 "token revoked" and answers {"type":"reauth"}.
func socket(ctx context.Context, s *wsjwt.Socket) error {
	return Ticks(ctx, func() error { return s.WriteJSON(ctx, TickOf(s.Connection(), "tick")) })
}
