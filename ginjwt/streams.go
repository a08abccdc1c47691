package ginjwt

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
)

// Events returns a handler that serves a Server-Sent Events stream bound to the token of the
// request (see core.Manager.Bind), for a route behind Middleware: serve sends events until its
// context ends, and when the token expires or is revoked the stream ends with the event "end"
// and data {"reason":"token_expired"} or {"reason":"token_revoked"} (core.HTTP.ServeEvents). A
// request without claims is answered as core.ErrNoClaims (500). For WebSocket, see the module
// wsjwt (its Handler serves Gin through gin.WrapH).
func Events(m *core.Manager, serve core.StreamFunc) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.Events")
	return func(c *gin.Context) {
		claims, ok := Claims(c)
		if !ok {
			WriteError(c, m, core.ErrNoClaims)
			return
		}
		w := c.Writer
		// A stream outlives the server's WriteTimeout; its token's lifetime bounds it.
		// ReadTimeout would cancel the request's context (net/http's background read fails).
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		_ = rc.SetReadDeadline(time.Time{})
		for _, h := range core.EventStreamHeaders {
			w.Header().Set(h[0], h[1])
		}
		w.WriteHeader(http.StatusOK)
		w.Flush()
		flush := func() error { w.Flush(); return c.Request.Context().Err() }
		_ = m.HTTP().ServeEvents(c.Request.Context(), claims, w, flush, serve)
	}
}
