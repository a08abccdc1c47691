package nethttpjwt

import (
	"net/http"

	"github.com/jwtexp/jwtexp/core"
)

// SessionsHandler answers "list my sessions" for the claims Middleware verified (mount it behind
// the middleware): 200 JSON {"sessions": [...]}, the request's own session marked current (see
// core.HTTP.ServeSessions).
func SessionsHandler(m *core.Manager) http.Handler {
	core.MustManager(m, "nethttpjwt.SessionsHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Claims(r)
		m.HTTP().ServeSessions(r.Context(), c).Write(w)
	})
}

// EndSessionHandler answers "end session {id}" behind Middleware, the id being the path
// parameter named param (r.PathValue, as set by http.ServeMux patterns such as
// "DELETE /api/sessions/{id}"): 204, or 404 not_found when the id is not one of the caller's live
// sessions (see core.HTTP.ServeEndSession).
func EndSessionHandler(m *core.Manager, param string) http.Handler {
	core.MustManager(m, "nethttpjwt.EndSessionHandler")
	core.MustRouteParam("nethttpjwt.EndSessionHandler", param)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Claims(r)
		m.HTTP().ServeEndSession(r.Context(), c, r.PathValue(param)).Write(w)
	})
}

// EndOtherSessionsHandler answers "sign out other devices" behind Middleware: every session of
// the caller but its own ends, 204 (see core.HTTP.ServeEndOtherSessions).
func EndOtherSessionsHandler(m *core.Manager) http.Handler {
	core.MustManager(m, "nethttpjwt.EndOtherSessionsHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Claims(r)
		m.HTTP().ServeEndOtherSessions(r.Context(), c).Write(w)
	})
}
