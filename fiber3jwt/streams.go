package fiber3jwt

import (
	"bufio"
	"context"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
)

// Events returns a handler that serves a Server-Sent Events stream bound to the token of the
// request (see core.Manager.Bind), for a route behind Middleware: serve sends events until its
// context ends, and when the token expires or is revoked the stream ends with the event "end"
// and data {"reason":"token_expired"} or {"reason":"token_revoked"} (core.HTTP.ServeEvents). A
// request without claims is answered as core.ErrNoClaims (500).
//
// Fiber writes the stream after the handler returned (SendStreamWriter), so serve must not
// touch c; it notices a client that went away when a write (a flush) fails. For WebSocket,
// see the module fastwsjwt.
func Events(m *core.Manager, serve core.StreamFunc) fiber.Handler {
	core.MustManager(m, "fiber3jwt.Events")
	return func(c fiber.Ctx) error {
		claims, ok := Claims(c)
		if !ok {
			return WriteError(c, m, core.ErrNoClaims)
		}
		for _, h := range core.EventStreamHeaders {
			c.Set(h[0], h[1])
		}
		// The stream outlives the handler, and c with it: a context of its own, without
		// the Ctx's cancellation (Fiber reuses the Ctx for the next request).
		ctx := context.WithoutCancel(c.Context())
		conn := c.RequestCtx().Conn()
		return c.SendStreamWriter(func(w *bufio.Writer) {
			_ = m.HTTP().ServeEvents(ctx, claims, w, flusher(w, conn), serve)
		})
	}
}

// flusher flushes w and clears the connection's write deadline: a stream outlives the server's
// WriteTimeout (its token's lifetime bounds it), and fasthttp sets that deadline when it starts
// sending the response, which may be after the stream's first write, so every flush clears it.
func flusher(w *bufio.Writer, conn net.Conn) func() error {
	return func() error {
		if conn != nil {
			_ = conn.SetWriteDeadline(time.Time{})
		}
		return w.Flush()
	}
}
