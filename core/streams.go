package core

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
)

// The wire contract of bound connections (Manager.Bind), the same for every adapter and
// WebSocket library: how a Server-Sent Events stream and a WebSocket tell the client why they
// ended, and the reauthentication message of a WebSocket. The adapters and the WebSocket helper
// modules only carry these bytes.

// Reasons a bound connection ended, as EndReason reports them to the client.
const (
	EndTokenExpired = "token_expired" // the token expired: refresh it and reconnect
	EndTokenRevoked = "token_revoked" // the token, its session or its subject was revoked: log in again
	EndUnavailable  = "unavailable"   // the store could not be asked: reconnect later
	EndClosed       = "closed"        // the application or the client closed the connection
)

// WebSocket close codes of a bound connection (RFC 6455 §7.4.2: 4000-4999 are for applications).
const (
	CloseTokenExpired = 4001 // reason "token expired"
	CloseTokenRevoked = 4003 // reason "token revoked", or "reauthentication refused"
)

// WebSocketProtocol is the WebSocket subprotocol that carries the access token in the
// Sec-WebSocket-Protocol header of the handshake (WithWebSocketProtocolToken). The server selects
// it alone in its answer.
const WebSocketProtocol = "jwtexp.bearer"

// EndReason is what the client is told when a bound connection ends with cause (context.Cause
// of Connection.Context): EndTokenExpired, EndTokenRevoked (a refused reauthentication too: the
// connection's authority was withdrawn), EndUnavailable, or EndClosed for anything else.
func EndReason(cause error) string {
	switch {
	case errors.Is(cause, ErrReauthRefused), errors.Is(cause, ErrTokenRevoked):
		return EndTokenRevoked
	case errors.Is(cause, ErrTokenExpired):
		return EndTokenExpired
	case errors.Is(cause, ErrStoreUnavailable):
		return EndUnavailable
	}
	return EndClosed
}

// WebSocketClose is the close frame a bound WebSocket sends when it ends with cause: 4001 "token
// expired", 4003 "token revoked", 4003 "reauthentication refused", 1013 "try again later" (the
// store could not be asked, RFC 6455 §11.7) or 1000 with no reason when the application ended it.
func WebSocketClose(cause error) (code int, reason string) {
	switch {
	case errors.Is(cause, ErrReauthRefused):
		return CloseTokenRevoked, "reauthentication refused"
	case errors.Is(cause, ErrTokenRevoked):
		return CloseTokenRevoked, "token revoked"
	case errors.Is(cause, ErrTokenExpired):
		return CloseTokenExpired, "token expired"
	case errors.Is(cause, ErrStoreUnavailable):
		return 1013, "try again later"
	}
	return 1000, ""
}

// Ended reports whether a bound connection's context ended because of its token (expiry,
// revocation, a refused reauthentication or a failed check), and not because the application or
// the client ended it: then the server should tell the client why (SSE.End, WebSocketClose)
// before closing.
func Ended(ctx context.Context) bool {
	return EndReason(context.Cause(ctx)) != EndClosed
}

// SSE writes Server-Sent Events (the text/event-stream format of the HTML Living Standard,
// "Server-sent events") to a stream: each event a name and one line of JSON data, flushed at
// once. The adapters build one over their response writer.
type SSE struct {
	w     io.Writer
	flush func() error
	buf   []byte
}

// NewSSE returns an SSE writing to w and calling flush (nil: none) after each event.
func NewSSE(w io.Writer, flush func() error) *SSE {
	return &SSE{w: w, flush: flush}
}

// Send writes the event name with data encoded as JSON, and flushes. name must not contain a
// line break. A write error (the client went away) is returned.
func (s *SSE) Send(name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return s.write(name, b)
}

// Comment writes a comment line (": text"), which clients ignore: a keep-alive for proxies that
// close idle connections.
func (s *SSE) Comment(text string) error {
	s.buf = append(append(append(s.buf[:0], ": "...), text...), "\n\n"...)
	return s.out()
}

// End writes the last event of a bound stream: "end" with data {"reason": EndReason(cause)}.
func (s *SSE) End(cause error) error {
	return s.write("end", endData(cause))
}

func endData(cause error) []byte {
	return []byte(`{"reason":` + strconv.Quote(EndReason(cause)) + `}`)
}

func (s *SSE) write(name string, data []byte) error {
	b := append(s.buf[:0], "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	s.buf = append(b, "\n\n"...)
	return s.out()
}

func (s *SSE) out() error {
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if s.flush != nil {
		return s.flush()
	}
	return nil
}

// EventStreamHeaders are the response headers of a bound Server-Sent Events stream, which the
// adapters set before the first event: the media type, no caching, and no buffering by proxies
// that honor X-Accel-Buffering (nginx), so that every event and the final "end" reach the client
// at once.
var EventStreamHeaders = [...][2]string{
	{"Content-Type", "text/event-stream"},
	{"Cache-Control", "no-store"},
	{"X-Accel-Buffering", "no"},
}

// StreamFunc serves a bound Server-Sent Events stream: it sends events with sse until ctx (the
// Connection's context) ends, then returns. It returns early with the error of a failed write
// (the client went away). conn gives the claims the stream is bound to.
type StreamFunc func(ctx context.Context, conn *Connection, sse *SSE) error

// ServeEvents serves a Server-Sent Events stream bound to claims, the verified claims of the
// request (Manager.Bind), on a response whose headers (EventStreamHeaders) the adapter has
// written: it runs serve with the Connection's context, and when that context ended because of
// the token (expiry, revocation) it writes the final event "end" with data {"reason":
// EndReason(cause)}, for example {"reason":"token_expired"}, before returning. flush pushes
// written bytes to the client (nil: none). Nil claims fail with ErrNoClaims before anything is
// written.
func (h *HTTP) ServeEvents(ctx context.Context, claims *Claims, w io.Writer, flush func() error, serve StreamFunc) error {
	conn, err := h.m.Bind(ctx, claims)
	if err != nil {
		return err
	}
	defer conn.Close()
	sse := NewSSE(w, flush)
	err = serve(conn.Context(), conn, sse)
	if cause := context.Cause(conn.Context()); Ended(conn.Context()) {
		return sse.End(cause)
	}
	return err
}

// reauthMessage is the client's message that hands a bound WebSocket a fresher token.
type reauthMessage struct {
	Type        string `json:"type"`
	AccessToken string `json:"access_token"`
}

// ParseReauth reads a WebSocket text message of a bound connection: ok when it is the
// reauthentication message {"type":"reauth","access_token":"..."}, whose token goes to
// Connection.Reauthenticate. Any other message is the application's (ok false).
func ParseReauth(msg []byte) (accessToken string, ok bool) {
	var m reauthMessage
	if json.Unmarshal(msg, &m, json.RejectUnknownMembers(false)) != nil || m.Type != "reauth" {
		return "", false
	}
	return m.AccessToken, true
}

// ReauthAnswer is the message that confirms a reauthentication: {"type":"reauth","exp":<the new
// token's exp, Unix seconds>}.
func ReauthAnswer(c *Claims) []byte {
	return []byte(`{"type":"reauth","exp":` + strconv.FormatInt(c.ExpiresAt.Unix(), 10) + `}`)
}
