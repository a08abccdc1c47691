// Command nethttp is the net/http example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout; behind the middleware GET /api/me,
// GET /api/admin (scope "admin"), GET /api/sensitive (a login at most 5 minutes old, RFC
// 9470), the /api/sessions routes, GET /api/events (SSE) and GET /api/ws (WebSocket), which
// end with their token; and the browser client at /. Configure it with the
// environment variables of the README.
//
//	go run ./examples/nethttp
//
// To start a project from it, copy main.go and app.go into a new directory, then
//
//	go mod init example.com/myapp && go mod tidy && go run .
package main

import (
	"context"
	"net"
	"net/http"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/nethttpjwt"
	"github.com/jwtexp/jwtexp/webclient"
	"github.com/jwtexp/jwtexp/wsjwt"
)

func main() {
	Main("nethttp", func(app *App, ln net.Listener) Serving {
		srv := Server(app.Config.Addr, newApp(app))
		return Serving{Run: func() error { return srv.Serve(ln) }, Shutdown: srv.Shutdown}
	})
}

// newApp returns the example's routes.
func newApp(app *App) http.Handler {
	m := app.Manager
	mux := http.NewServeMux()
	mux.Handle("POST /login", nethttpjwt.LoginHandler(m, func(r *http.Request) (string, UserClaims, error) {
		return Authenticate(core.HTTPRequest(r))
	}))
	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
	mux.Handle("GET /.well-known/jwks.json", nethttpjwt.JWKSHandler(m))
	mux.Handle("GET /metrics", app.MetricsHandler())
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		Me(c).Write(w)
	})
	auth := nethttpjwt.Middleware(m)
	mux.Handle("GET /api/me", auth(me))
	mux.Handle("GET /api/admin", auth(nethttpjwt.RequireScope(m, AdminScope)(me)))
	mux.Handle("GET /api/sensitive", auth(nethttpjwt.RequireStepUp(m, RecentLogin)(me)))
	mux.Handle("GET /api/sessions", auth(nethttpjwt.SessionsHandler(m)))
	mux.Handle("DELETE /api/sessions/{id}", auth(nethttpjwt.EndSessionHandler(m, "id")))
	mux.Handle("DELETE /api/sessions", auth(nethttpjwt.EndOtherSessionsHandler(m)))
	mux.Handle("GET /api/events", auth(nethttpjwt.Events(m, Events)))
	mux.Handle("GET /api/ws", auth(wsjwt.Handler(m, socket)))
	mux.Handle("GET /", webclient.Handler())
	// No redirect of an unclean path ("DELETE /api//sessions") to its clean form, which a
	// browser would follow with the same method and so end every other session.
	return nethttpjwt.StrictPaths(mux)
}

// socket serves GET /api/ws: a message {"type":"tick","sub","exp"} every second (Ticks); wsjwt
// closes it with 4001 "token expired" or 4003 "token revoked" and answers {"type":"reauth"}.
func socket(ctx context.Context, s *wsjwt.Socket) error {
	return Ticks(ctx, func() error { return s.WriteJSON(ctx, TickOf(s.Connection(), "tick")) })
}
