// Command nethttp is the net/http example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout, GET /api/me and /api/sessions behind the middleware, and the
// browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/nethttp
package main

import (
	"net/http"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

func main() {
	exampleapp.Main("nethttp", func(app *exampleapp.App) error {
		srv := &http.Server{Addr: app.Config.Addr, Handler: newApp(app), ReadHeaderTimeout: 10 * time.Second}
		return srv.ListenAndServe()
	})
}

// newApp returns the example's routes.
func newApp(app *exampleapp.App) http.Handler {
	m := app.Manager
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		app.LoginFrom(r.Context(), core.HTTPRequest(r), r.RemoteAddr).Write(w)
	})
	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
	mux.Handle("GET /.well-known/jwks.json", nethttpjwt.JWKSHandler(m))
	mux.Handle("GET /api/me", nethttpjwt.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		exampleapp.Me(c).Write(w)
	})))
	auth := nethttpjwt.Middleware(m)
	mux.Handle("GET /api/sessions", auth(nethttpjwt.SessionsHandler(m)))
	mux.Handle("DELETE /api/sessions/{id}", auth(nethttpjwt.EndSessionHandler(m, "id")))
	mux.Handle("DELETE /api/sessions", auth(nethttpjwt.EndOtherSessionsHandler(m)))
	mux.Handle("GET /", web.Handler())
	return mux
}
