package nethttpjwt

import (
	"net/http"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// Events returns a handler that serves a Server-Sent Events stream bound to the token of the
// request (see core.Manager.Bind), for a route behind Middleware: serve sends events until its
// context ends, and when the token expires or is revoked the stream ends with the event "end"
// and data {"reason":"token_expired"} or {"reason":"token_revoked"} (core.HTTP.ServeEvents). A
// request without claims (no Middleware, or an anonymous one) is answered as core.ErrNoClaims
// (500). The stream is exempt from the server's WriteTimeout (its token's lifetime bounds it).
// For WebSocket, see the module wsjwt.
func Events(m *core.Manager, serve core.StreamFunc) http.Handler {
	core.MustManager(m, "nethttpjwt.Events")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveEvents(m, w, r, serve)
	})
}

// serveEvents writes the stream's headers and runs it.
func serveEvents(m *core.Manager, w http.ResponseWriter, r *http.Request, serve core.StreamFunc) {
	claims, ok := core.ClaimsFromContext(r.Context())
	if !ok {
		WriteError(w, m, core.ErrNoClaims)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's timeouts; its token bounds it
	_ = rc.SetReadDeadline(time.Time{})  // else net/http cancels the request at ReadTimeout
	for _, h := range core.EventStreamHeaders {
		w.Header().Set(h[0], h[1])
	}
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return // a writer that cannot flush cannot stream
	}
	_ = m.HTTP().ServeEvents(r.Context(), claims, w, rc.Flush, serve)
}
