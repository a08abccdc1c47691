package nethttpjwt

import (
	"net/http"
	"strings"

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
// the caller but its own ends, 204 (see core.HTTP.ServeEndOtherSessions). A request whose path is
// not clean ("/api/sessions/", "/api//sessions") is refused with 404 and ends nothing; wrap the
// ServeMux in StrictPaths so that the mux does not redirect such a request to the clean path,
// which a browser or curl -L would follow with the same method.
func EndOtherSessionsHandler(m *core.Manager) http.Handler {
	core.MustManager(m, "nethttpjwt.EndOtherSessionsHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Claims(r)
		m.HTTP().ServeEndOtherSessions(r.Context(), c, r.URL.Path).Write(w)
	})
}

// StrictPaths answers 404 Not Found, as the mux answers an unknown route, to a request with an
// unsafe method (anything but GET, HEAD and OPTIONS) whose path has an empty, "." or ".."
// segment ("/api//sessions", "/api/sessions/."), instead of letting next redirect it. ServeMux
// answers such a path with a redirect to its clean form, and browsers and curl -L follow it with
// the same method: DELETE /api//sessions, meant for nothing, would end every other session of
// the caller at DELETE /api/sessions. Wrap the mux that mounts the session routes:
//
//	http.ListenAndServe(addr, nethttpjwt.StrictPaths(mux))
func StrictPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if p := strings.TrimSuffix(r.URL.Path, "/"); p != "" && !core.CanonicalPath(p) {
				http.NotFound(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
