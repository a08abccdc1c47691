package fiberjwt

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/jwtexp/jwtexp/core"
)

// SessionsHandler answers "list my sessions" for the claims Middleware verified (mount it behind
// the middleware): 200 JSON {"sessions": [...]}, the request's own session marked current (see
// core.HTTP.ServeSessions). It returns nil: the answer is written.
func SessionsHandler(m *core.Manager) fiber.Handler {
	core.MustManager(m, "fiberjwt.SessionsHandler")
	return func(c *fiber.Ctx) error {
		claims, _ := Claims(c)
		return WriteResponse(c, m.HTTP().ServeSessions(c.UserContext(), claims))
	}
}

// EndSessionHandler answers "end session {id}" behind Middleware, the id being the path
// parameter named param (c.Params, as in the route "/api/sessions/:id"): 204, or 404 not_found
// when the id is not one of the caller's live sessions (see core.HTTP.ServeEndSession). It
// returns nil: the answer is written.
func EndSessionHandler(m *core.Manager, param string) fiber.Handler {
	core.MustManager(m, "fiberjwt.EndSessionHandler")
	core.MustRouteParam("fiberjwt.EndSessionHandler", param)
	return func(c *fiber.Ctx) error {
		claims, _ := Claims(c)
		// A copy: the id reaches the store and event hooks, which may keep it after fasthttp
		// reuses the request's buffer.
		id := utils.CopyString(c.Params(param))
		return WriteResponse(c, m.HTTP().ServeEndSession(c.UserContext(), claims, id))
	}
}

// EndOtherSessionsHandler answers "sign out other devices" behind Middleware: every session of
// the caller but its own ends, 204 (see core.HTTP.ServeEndOtherSessions). It returns nil: the
// answer is written.
func EndOtherSessionsHandler(m *core.Manager) fiber.Handler {
	core.MustManager(m, "fiberjwt.EndOtherSessionsHandler")
	return func(c *fiber.Ctx) error {
		claims, _ := Claims(c)
		return WriteResponse(c, m.HTTP().ServeEndOtherSessions(c.UserContext(), claims, c.Path()))
	}
}
