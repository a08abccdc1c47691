package fiberjwt

import (
	"bufio"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtexp/jwtexp/core"
)

// Events returns a handler that serves a Server-Sent Events stream bound to the token of the
// request (see core.Manager.Bind), for a route behind Middleware: serve sends events until its
// context ends, and when the token expires or is revoked the stream ends with the event "end"
// and data {"reason":"token_expired"} or {"reason":"token_revoked"} (core.HTTP.ServeEvents). A
// request without claims is answered as core.ErrNoClaims (500).
//
// fasthttp writes the stream after the handler returned (a body stream writer), so serve must
// not touch c; it notices a client that went away when a write (a flush) fails. For
// WebSocket, see the module fastwsjwt.
func Events(m *core.Manager, serve core.StreamFunc) fiber.Handler {
	core.MustManager(m, "fiberjwt.Events")
	return func(c *fiber.Ctx) error {
		claims, ok := Claims(c)
		if !ok {
			return WriteError(c, m, core.ErrNoClaims)
		}
		for _, h := range core.EventStreamHeaders {
			c.Set(h[0], h[1])
		}
		ctx := c.UserContext() // a context of its own, not c: it outlives the handler
		conn := c.Context().Conn()
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			_ = m.HTTP().ServeEvents(ctx, claims, w, flusher(w, conn), serve)
		})
		return nil
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
