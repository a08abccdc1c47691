// Package wsjwt serves WebSockets that end when their token does, on github.com/coder/websocket,
// for net/http and every router that hands its handlers an http.ResponseWriter and an
// *http.Request: the standard ServeMux, chi, gorilla, Gin (gin.WrapH) and Echo v4 and v5
// (echo.WrapHandler). It is a module of its own, so that only applications serving WebSockets
// build a WebSocket library. For Fiber (fasthttp), see the module fastwsjwt.
//
//	go get github.com/jwtexp/jwtexp/wsjwt
//
// Put Handler behind the adapter's Middleware: the socket is bound to the token the middleware
// verified (core.Manager.Bind). Every second, say, serve writes; when the token expires the
// socket closes with 4001 "token expired", when it (its session, its user) is revoked with 4003
// "token revoked". A client keeps a socket past its token's expiry by sending
// {"type":"reauth","access_token":"<fresher token of the same session>"}, answered
// {"type":"reauth","exp":<its exp>}; any other token closes the socket with 4003.
//
//	mux.Handle("GET /api/ws", nethttpjwt.Middleware(m)(wsjwt.Handler(m, func(ctx context.Context, s *wsjwt.Socket) error {
//		tick := time.NewTicker(time.Second)
//		defer tick.Stop()
//		for {
//			if err := s.WriteJSON(ctx, map[string]any{"type": "tick", "exp": s.Connection().Claims().ExpiresAt.Unix()}); err != nil {
//				return err
//			}
//			select {
//			case <-ctx.Done():
//				return nil
//			case <-tick.C:
//			}
//		}
//	})))
//
// # Browsers
//
// A browser cannot set an Authorization header on a WebSocket. Build the Manager with
// core.WithWebSocketProtocolToken and open the socket with
// new WebSocket(url, ["jwtexp.bearer", accessToken]): the token travels in the
// Sec-WebSocket-Protocol header, not in the URL (which access logs and proxies record); Handler
// answers with the subprotocol "jwtexp.bearer" alone, never echoing the token. A server that logs
// every request header logs it there. The other way is an access-token cookie
// (core.WithTokenCookie), which puts nothing in the handshake to log; the browser then sends the
// cookie with a WebSocket any page opens, so keep the origin check (on by default: only the
// request's own host, plus WithOriginPatterns).
package wsjwt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/jwtexp/jwtexp/core"
)

// DefaultReadLimit is the largest message a client may send, in bytes: 32 KiB, room for a
// reauthentication message with a token of the largest size the Manager accepts by default.
const DefaultReadLimit = 32 << 10

// Option configures Handler.
type Option func(*options)

type options struct {
	origins   []string
	readLimit int64
	queue     int
}

// WithOriginPatterns also accepts handshakes from pages of these origins (host patterns, as
// websocket.AcceptOptions.OriginPatterns); by default only pages of the request's own host may
// open the socket, which matters most when the token is a cookie.
func WithOriginPatterns(patterns ...string) Option {
	return func(o *options) { o.origins = append(o.origins, patterns...) }
}

// WithReadLimit sets the largest message a client may send (default DefaultReadLimit); a larger
// one closes the socket with 1009.
func WithReadLimit(n int64) Option { return func(o *options) { o.readLimit = n } }

// ServeFunc serves a bound WebSocket until ctx (the bound connection's context) ends, then
// returns; Handler then closes the socket with the code the end calls for. An error it returns
// closes the socket with 1011 (internal error) unless the token ended it first.
type ServeFunc func(ctx context.Context, s *Socket) error

// Socket is a WebSocket bound to the token of the request that opened it.
type Socket struct {
	life     context.Context // ends when the client goes away or the handler returns
	conn     *websocket.Conn
	bound    *core.Connection
	messages chan Message
}

// Message is a message the client sent (other than reauthentication, which Socket handles).
type Message struct {
	Type websocket.MessageType
	Data []byte
}

// Conn is the underlying WebSocket. Do not Read from it: Socket reads it, to handle
// reauthentication; read Messages instead.
func (s *Socket) Conn() *websocket.Conn { return s.conn }

// Connection is the bound connection: its Claims are those of the token the socket is bound to
// now (the last reauthentication's), and its Deadline when the socket ends without another.
func (s *Socket) Connection() *core.Connection { return s.bound }

// Messages delivers the client's messages but reauthentication, in order; it is closed when
// the client stops sending (the socket closed). Socket stops reading - and so stops handling
// reauthentication - while a message waits here unread: read it, or send none.
func (s *Socket) Messages() <-chan Message { return s.messages }

// WriteText writes one text message, unless ctx has ended (then it returns ctx's error). Safe
// for concurrent use. A write under way is not abandoned when ctx ends: the WebSocket library
// tears the whole connection down when a write's context ends, which would cut the close frame
// that tells the client why the socket ends; the socket's own life bounds it instead.
func (s *Socket) WriteText(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.conn.Write(s.life, websocket.MessageText, msg)
}

// WriteJSON writes v as one JSON text message. Safe for concurrent use.
func (s *Socket) WriteJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.WriteText(ctx, b)
}

// Handler returns a handler that accepts a WebSocket on a request Middleware authenticated,
// binds it to the request's token (core.Manager.Bind) and runs serve; see the package
// documentation for the close codes and reauthentication. A request without claims (no
// Middleware, or an anonymous one) is answered as core.ErrNoClaims (500); a request that is no
// WebSocket handshake, or from a page of another origin, as websocket.Accept answers it.
func Handler(m *core.Manager, serve ServeFunc, opts ...Option) http.Handler {
	core.MustManager(m, "wsjwt.Handler")
	o := options{readLimit: DefaultReadLimit, queue: 16}
	for _, opt := range opts {
		opt(&o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := core.ClaimsFromContext(r.Context())
		if !ok {
			m.HTTP().Problem(core.ErrNoClaims).Write(w)
			return
		}
		// A socket outlives the server's ReadTimeout and WriteTimeout, whose deadlines stay on a
		// hijacked connection; its token's lifetime bounds it.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			Subprotocols:   []string{core.WebSocketProtocol},
			OriginPatterns: o.origins,
		})
		if err != nil {
			return // Accept answered the request
		}
		conn.SetReadLimit(o.readLimit)
		run(m, r.Context(), conn, claims, serve, o.queue)
	})
}

// run serves one accepted socket and closes it.
func run(m *core.Manager, parent context.Context, conn *websocket.Conn, claims *core.Claims, serve ServeFunc, queue int) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	bound, err := m.Bind(ctx, claims)
	if err != nil {
		conn.Close(websocket.StatusInternalError, "")
		return
	}
	defer bound.Close()
	s := &Socket{life: ctx, conn: conn, bound: bound, messages: make(chan Message, queue)}
	done := make(chan struct{})
	go s.read(ctx, cancel, done) // a WebSocket needs a reader anyway: it answers pings and closes
	err = serve(bound.Context(), s)
	code, reason := websocket.StatusNormalClosure, ""
	switch {
	case core.Ended(bound.Context()):
		c, r := core.WebSocketClose(context.Cause(bound.Context()))
		code, reason = websocket.StatusCode(c), r
	case err != nil:
		code = websocket.StatusInternalError
	}
	if ctx.Err() == nil { // else the client is gone: nobody to tell
		conn.Close(code, reason)
	}
	conn.CloseNow()
	cancel(nil)
	<-done
}

// read reads the client's messages: reauthentication goes to the bound connection, the rest to
// Messages. A read error (the client closed or went away) cancels ctx, which ends the bound
// connection.
func (s *Socket) read(ctx context.Context, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	defer close(s.messages)
	for {
		typ, msg, err := s.conn.Read(ctx)
		if err != nil {
			cancel(err)
			return
		}
		if typ == websocket.MessageText {
			if token, ok := core.ParseReauth(msg); ok {
				claims, err := s.bound.Reauthenticate(ctx, token)
				if err != nil {
					continue // the bound connection ended: serve returns and the socket closes with 4003
				}
				if err := s.conn.Write(ctx, websocket.MessageText, core.ReauthAnswer(claims)); err != nil {
					cancel(err)
					return
				}
				continue
			}
		}
		select {
		case s.messages <- Message{Type: typ, Data: msg}:
		case <-ctx.Done():
			return
		}
	}
}

// CloseStatus returns the close code and reason of err, an error of a client's Read; -1 when
// err is no close frame. For tests and clients written in Go.
func CloseStatus(err error) (code int, reason string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason
	}
	return -1, ""
}
