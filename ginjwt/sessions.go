package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
)

// SessionsHandler answers "list my sessions" for the claims Middleware verified (mount it behind
// the middleware): 200 JSON {"sessions": [...]}, the request's own session marked current (see
// core.HTTP.ServeSessions).
func SessionsHandler(m *core.Manager) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.SessionsHandler")
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		m.HTTP().ServeSessions(c.Request.Context(), claims).Write(c.Writer)
	}
}

// EndSessionHandler answers "end session {id}" behind Middleware, the id being the path
// parameter named param (c.Param): 204, or 404 not_found when the id is not one of the caller's
// live sessions (see core.HTTP.ServeEndSession). Mount it with a catch-all parameter,
// "/api/sessions/*id": then "DELETE /api/sessions/" (an empty id) reaches it and gets 404. With
// "/api/sessions/:id" Gin's default RedirectTrailingSlash answers that request with a 307 to
// "/api/sessions", which browsers and curl -L follow with DELETE: every other session ends.
func EndSessionHandler(m *core.Manager, param string) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.EndSessionHandler")
	core.MustRouteParam("ginjwt.EndSessionHandler", param)
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		m.HTTP().ServeEndSession(c.Request.Context(), claims, c.Param(param)).Write(c.Writer)
	}
}

// EndOtherSessionsHandler answers "sign out other devices" behind Middleware: every session of
// the caller but its own ends, 204 (see core.HTTP.ServeEndOtherSessions).
func EndOtherSessionsHandler(m *core.Manager) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.EndOtherSessionsHandler")
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		m.HTTP().ServeEndOtherSessions(c.Request.Context(), claims, c.Request.URL.Path).Write(c.Writer)
	}
}
