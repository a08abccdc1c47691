// Command nethttp is the net/http example of jwtexp: POST /login (demo user
// alice/wonderland), POST /refresh, POST /logout, GET /api/me behind the middleware, and the
// browser client at /. Configure it with the environment variables of the README.
//
//	go run ./examples/nethttp
package main

import (
	"net/http"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/web"
	"github.com/jwtexp/jwtexp/nethttpjwt"
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
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		app.Login(r.Context(), core.HTTPRequest(r)).Write(w)
	})
	mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
	mux.Handle("POST /logout", nethttpjwt.LogoutHandler(m))
	mux.Handle("GET /.well-known/jwks.json", nethttpjwt.JWKSHandler(m))
	mux.Handle("GET /metrics", app.MetricsHandler())
	mux.Handle("GET /api/me", nethttpjwt.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		exampleapp.Me(c).Write(w)
	})))
	mux.Handle("GET /", web.Handler())
	return mux
}
