package echojwt

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/core"
)

// Events returns a handler that serves a Server-Sent Events stream bound to the token of the
// request (see core.Manager.Bind), for a route behind Middleware: serve sends events until its
// context ends, and when the token expires or is revoked the stream ends with the event "end"
// and data {"reason":"token_expired"} or {"reason":"token_revoked"} (core.HTTP.ServeEvents). A
// request without claims is answered as core.ErrNoClaims (500). For WebSocket, see the module
// wsjwt (its Handler serves Echo through echo.WrapHandler).
func Events(m *core.Manager, serve core.StreamFunc) echo.HandlerFunc {
	core.MustManager(m, "echojwt.Events")
	return func(c echo.Context) error {
		claims, ok := Claims(c)
		if !ok {
			return WriteError(c, m, core.ErrNoClaims)
		}
		w := c.Response()
		for _, h := range core.EventStreamHeaders {
			w.Header().Set(h[0], h[1])
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's timeouts; its token bounds it
		_ = rc.SetReadDeadline(time.Time{})  // else net/http cancels the request at ReadTimeout
		if rc.Flush() != nil {
			return nil
		}
		_ = m.HTTP().ServeEvents(c.Request().Context(), claims, w, rc.Flush, serve)
		return nil
	}
}
