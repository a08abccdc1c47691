package exampleapp

import (
	"context"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/wsjwt"
)

// The long-lived routes every example serves behind its middleware: GET /api/events, a
// Server-Sent Events stream, and GET /api/ws, a WebSocket, both bound to the token that opened
// them (see the README, "Long-lived connections"). They tick every TickInterval with the subject
// and the exp of the token they are bound to now; the adapters end them when that token expires
// or is revoked.

// TickInterval is how often /api/events and /api/ws tick.
const TickInterval = time.Second

// tick is the data of a tick: {"sub":...,"exp":...} on the stream, with "type":"tick" on the socket.
type tick struct {
	Type string `json:"type,omitempty"`
	Sub  string `json:"sub"`
	Exp  int64  `json:"exp"`
}

func tickOf(conn *core.Connection, typ string) tick {
	c := conn.Claims()
	return tick{Type: typ, Sub: c.Subject, Exp: c.ExpiresAt.Unix()}
}

// every calls send now and then every TickInterval until ctx ends (nil) or send fails (its error).
func every(ctx context.Context, send func() error) error {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	for {
		if err := send(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Events serves GET /api/events through each adapter's Events: an event "tick" every second
// with data {"sub","exp"}; the adapter ends it with "event: end" {"reason":"token_expired"} or
// {"reason":"token_revoked"}.
func Events(ctx context.Context, conn *core.Connection, sse *core.SSE) error {
	return every(ctx, func() error { return sse.Send("tick", tickOf(conn, "")) })
}

// Socket serves GET /api/ws through wsjwt (net/http, Gin, Echo): a message
// {"type":"tick","sub","exp"} every second; wsjwt closes it with 4001 "token expired" or 4003
// "token revoked", and answers {"type":"reauth","access_token"} itself.
func Socket(ctx context.Context, s *wsjwt.Socket) error {
	return every(ctx, func() error { return s.WriteJSON(ctx, tickOf(s.Connection(), "tick")) })
}

// FastSocket is Socket for fastwsjwt (Fiber v2 and v3).
func FastSocket(ctx context.Context, s *fastwsjwt.Socket) error {
	return every(ctx, func() error { return s.WriteJSON(ctx, tickOf(s.Connection(), "tick")) })
}
