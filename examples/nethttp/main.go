// Command nethttp is the net/http example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470), the /api/sessions routes, GET /api/events (SSE) and GET /api/ws (WebSocket), which end
// with their token; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/nethttp
package main

import (
	"net/http"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/nethttpjwt"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	exampleapp.Main("nethttp", func(app *exampleapp.App) error {
		srv := exampleapp.Server(app.Config.Addr, newApp(app))
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) http.Handler {
	m := app.Manager
	mux := http.NewServeMux()
	mux.Handle("POST /login", nethttpjwt.LoginHandler(m, func(r *http.Request) (string, exampleapp.UserClaims, error) {
		return exampleapp.Authenticate(core.HTTPRequest(r))
	}))
	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
	mux.Handle("GET /.well-known/jwks.json", nethttpjwt.JWKSHandler(m))
	mux.Handle("GET /metrics", app.MetricsHandler())
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		exampleapp.Me(c).Write(w)
	})
	auth := nethttpjwt.Middleware(m)
	mux.Handle("GET /api/me", auth(me))
	mux.Handle("GET /api/admin", auth(nethttpjwt.RequireScope(m, exampleapp.AdminScope)(me)))
	mux.Handle("GET /api/sensitive", auth(nethttpjwt.RequireStepUp(m, exampleapp.RecentLogin)(me)))
	mux.Handle("GET /api/sessions", auth(nethttpjwt.SessionsHandler(m)))
	mux.Handle("DELETE /api/sessions/{id}", auth(nethttpjwt.EndSessionHandler(m, "id")))
	mux.Handle("DELETE /api/sessions", auth(nethttpjwt.EndOtherSessionsHandler(m)))
	mux.Handle("GET /api/events", auth(nethttpjwt.Events(m, exampleapp.Events)))
	mux.Handle("GET /api/ws", auth(wsjwt.Handler(m, exampleapp.Socket)))
	mux.Handle("GET /", web.Handler())
	return mux
}
