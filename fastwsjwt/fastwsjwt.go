// Package fastwsjwt serves WebSockets that end when their token does, on
// github.com/fasthttp/websocket, for fasthttp and the frameworks built on it: Fiber v2
// (c.Context()) and Fiber v3 (c.RequestCtx()). It is a module of its own, so that only
// applications serving WebSockets build a WebSocket library. For net/http, Gin and Echo, see the
// module wsjwt; both speak the same wire contract.
//
//	go get github.com/jwtexp/jwtexp/fastwsjwt
//
// Call Upgrade in a handler behind the adapter's Middleware, with the claims it verified: the
// socket is bound to that token (core.Manager.Bind). When the token expires the socket closes
// with 4001 "token expired", when it (its session, its user) is revoked with 4003 "token
// revoked". A client keeps a socket past its token's expiry by sending
// {"type":"reauth","access_token":"<fresher token of the same session>"}, answered
// {"type":"reauth","exp":<its exp>}; any other token closes the socket with 4003.
//
//	app.Get("/api/ws", fiberjwt.Middleware(m), func(c *fiber.Ctx) error {
//		claims, _ := fiberjwt.Claims(c)
//		return fastwsjwt.Upgrade(m, c.Context(), claims, serve)
//	})
//
// # Browsers
//
// A browser cannot set an Authorization header on a WebSocket. Build the Manager with
// core.WithWebSocketProtocolToken and open the socket with
// new WebSocket(url, ["jwtexp.bearer", accessToken]): the token travels in the
// Sec-WebSocket-Protocol header, not in the URL (which access logs and proxies record); Upgrade
// answers with the subprotocol "jwtexp.bearer" alone, never echoing the token. A server that
// logs every request header logs it there. The other way is an access-token cookie
// (core.WithTokenCookie), which puts nothing in the handshake to log; the browser then sends the
// cookie with a WebSocket any page opens, so keep the origin check (on by default: a handshake
// whose Origin is not the request's host is refused; WithCheckOrigin replaces it).
package fastwsjwt

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/core"
)

// DefaultReadLimit is the largest message a client may send, in bytes: 32 KiB, room for a
// reauthentication message with a token of the largest size the Manager accepts by default.
const DefaultReadLimit = 32 << 10

// closeWait bounds the wait for the client's answer to the server's close frame.
const closeWait = time.Second

// Option configures Upgrade.
type Option func(*options)

type options struct {
	checkOrigin func(*fasthttp.RequestCtx) bool
	readLimit   int64
}

// WithCheckOrigin replaces the origin check (by default a handshake whose Origin header names
// another host than the request's is refused), to let pages of other origins open the socket.
func WithCheckOrigin(check func(*fasthttp.RequestCtx) bool) Option {
	return func(o *options) { o.checkOrigin = check }
}

// WithReadLimit sets the largest message a client may send (default DefaultReadLimit); a larger
// one closes the socket.
func WithReadLimit(n int64) Option { return func(o *options) { o.readLimit = n } }

// ServeFunc serves a bound WebSocket until ctx (the bound connection's context) ends, then
// returns; Upgrade then closes the socket with the code the end calls for. An error it returns
// closes the socket with 1011 (internal error) unless the token ended it first.
type ServeFunc func(ctx context.Context, s *Socket) error

// Message is a message the client sent (other than reauthentication, which Socket handles):
// its type (websocket.TextMessage or websocket.BinaryMessage) and data.
type Message struct {
	Type int
	Data []byte
}

// Socket is a WebSocket bound to the token of the request that opened it.
type Socket struct {
	conn     *websocket.Conn
	bound    *core.Connection
	messages chan Message
	writeMu  sync.Mutex // the library allows one writer at a time
}

// Conn is the underlying WebSocket. Do not read from it: Socket reads it, to handle
// reauthentication; read Messages instead. Write through Socket, which serializes writers.
func (s *Socket) Conn() *websocket.Conn { return s.conn }

// Connection is the bound connection: its Claims are those of the token the socket is bound to
// now (the last reauthentication's), and its Deadline when the socket ends without another.
func (s *Socket) Connection() *core.Connection { return s.bound }

// Messages delivers the client's messages but reauthentication, in order; it is closed when
// the client stops sending. Socket stops reading - and so stops handling reauthentication -
// while a message waits here unread: read it, or send none.
func (s *Socket) Messages() <-chan Message { return s.messages }

// WriteText writes one text message, unless ctx has ended (then it returns ctx's error). Safe
// for concurrent use; ctx's deadline, if any, bounds the write.
func (s *Socket) WriteText(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	deadline, _ := ctx.Deadline() // zero: none
	s.conn.SetWriteDeadline(deadline)
	return s.conn.WriteMessage(websocket.TextMessage, msg)
}

// WriteJSON writes v as one JSON text message. Safe for concurrent use.
func (s *Socket) WriteJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.WriteText(ctx, b)
}

// Upgrade accepts the WebSocket handshake of ctx, binds the socket to claims (the claims the
// adapter's Middleware verified for this request; core.Manager.Bind) and serves it with serve
// once the handler has returned (fasthttp hijacks the connection then). Nil claims are answered
// as core.ErrNoClaims (500) and returned. A request that is no WebSocket handshake (400, or 405
// for another method than GET) or comes from a page of another origin (403) is answered by the
// upgrader and Upgrade returns nil: a handler returning Upgrade's result must not hand the
// framework an error for a request already answered, since Fiber's error handler would replace
// that answer with a 500. serve runs with a context that does not derive from the request's:
// fasthttp reuses the request when the handler returns.
func Upgrade(m *core.Manager, ctx *fasthttp.RequestCtx, claims *core.Claims, serve ServeFunc, opts ...Option) error {
	core.MustManager(m, "fastwsjwt.Upgrade")
	if claims == nil {
		resp := m.HTTP().Problem(core.ErrNoClaims)
		ctx.SetStatusCode(resp.Status)
		ctx.SetBody(resp.Body)
		return core.ErrNoClaims
	}
	o := options{readLimit: DefaultReadLimit}
	for _, opt := range opts {
		opt(&o)
	}
	up := websocket.FastHTTPUpgrader{
		Subprotocols: []string{core.WebSocketProtocol},
		CheckOrigin:  o.checkOrigin,
	}
	err := up.Upgrade(ctx, func(conn *websocket.Conn) {
		// A socket outlives the server's ReadTimeout and WriteTimeout; its token bounds it.
		_ = conn.NetConn().SetDeadline(time.Time{})
		conn.SetReadLimit(o.readLimit)
		run(m, conn, claims, serve)
	})
	var refused websocket.HandshakeError
	if errors.As(err, &refused) {
		return nil // the upgrader wrote the refusal (its status and text)
	}
	return err
}

// run serves one accepted socket and closes it.
func run(m *core.Manager, conn *websocket.Conn, claims *core.Claims, serve ServeFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	bound, err := m.Bind(ctx, claims)
	if err != nil {
		conn.Close()
		return
	}
	defer bound.Close()
	s := &Socket{conn: conn, bound: bound, messages: make(chan Message, 16)}
	done := make(chan struct{})
	go s.read(ctx, cancel, done) // a WebSocket needs a reader anyway: it answers pings and closes
	err = serve(bound.Context(), s)
	code, reason := websocket.CloseNormalClosure, ""
	switch {
	case core.Ended(bound.Context()):
		code, reason = core.WebSocketClose(context.Cause(bound.Context()))
	case err != nil:
		code = websocket.CloseInternalServerErr
	}
	if ctx.Err() == nil { // else the client is gone: nobody to tell
		s.writeMu.Lock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWait))
		s.writeMu.Unlock()
		// Wait for the client's close frame (the reader then returns), briefly.
		select {
		case <-done:
		case <-time.After(closeWait):
		}
	}
	conn.Close()
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
		typ, msg, err := s.conn.ReadMessage()
		if err != nil {
			cancel(err)
			return
		}
		if typ == websocket.TextMessage {
			if token, ok := core.ParseReauth(msg); ok {
				claims, err := s.bound.Reauthenticate(ctx, token)
				if err != nil {
					continue // the bound connection ended: serve returns and the socket closes with 4003
				}
				if err := s.WriteText(ctx, core.ReauthAnswer(claims)); err != nil {
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

// CloseStatus returns the close code and reason of err, an error of a client's read; -1 when
// err is no close frame. For tests and clients written in Go.
func CloseStatus(err error) (code int, reason string) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Text
	}
	return -1, ""
}
