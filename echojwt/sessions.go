package echojwt

import (
	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/core"
)

// SessionsHandler answers "list my sessions" for the claims Middleware verified (mount it behind
// the middleware): 200 JSON {"sessions": [...]}, the request's own session marked current (see
// core.HTTP.ServeSessions). It always returns nil: the answer is written.
func SessionsHandler(m *core.Manager) echo.HandlerFunc {
	core.MustManager(m, "echojwt.SessionsHandler")
	return func(c echo.Context) error {
		claims, _ := Claims(c)
		m.HTTP().ServeSessions(c.Request().Context(), claims).Write(c.Response())
		return nil
	}
}

// EndSessionHandler answers "end session {id}" behind Middleware, the id being the path
// parameter named param (c.Param, as in the route "/api/sessions/:id"): 204, or 404 not_found
// when the id is not one of the caller's live sessions (see core.HTTP.ServeEndSession). It
// always returns nil: the answer is written.
func EndSessionHandler(m *core.Manager, param string) echo.HandlerFunc {
	core.MustManager(m, "echojwt.EndSessionHandler")
	core.MustRouteParam("echojwt.EndSessionHandler", param)
	return func(c echo.Context) error {
		claims, _ := Claims(c)
		m.HTTP().ServeEndSession(c.Request().Context(), claims, c.Param(param)).Write(c.Response())
		return nil
	}
}

// EndOtherSessionsHandler answers "sign out other devices" behind Middleware: every session of
// the caller but its own ends, 204 (see core.HTTP.ServeEndOtherSessions). It always returns
// nil: the answer is written.
func EndOtherSessionsHandler(m *core.Manager) echo.HandlerFunc {
	core.MustManager(m, "echojwt.EndOtherSessionsHandler")
	return func(c echo.Context) error {
		claims, _ := Claims(c)
		m.HTTP().ServeEndOtherSessions(c.Request().Context(), claims, c.Request().URL.Path).Write(c.Response())
		return nil
	}
}
