package wsjwt_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
	"github.com/jwtexp/jwtexp/wsjwt"
)

// Ticks is the socket the suite's servers serve: a tick every testutil.StreamTick.
func Ticks(ctx context.Context, s *wsjwt.Socket) error {
	tick := time.NewTicker(testutil.StreamTick)
	defer tick.Stop()
	for {
		if err := s.WriteJSON(ctx, testutil.TickOf(s.Connection(), "tick")); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Client is coder/websocket's client, for testutil.WebSocketSuite.
var Client = testutil.WSClient{
	Dial: func(ctx context.Context, url string, header http.Header, protocols []string) (testutil.WSConn, *http.Response, error) {
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, Subprotocols: protocols})
		if err != nil {
			return nil, resp, err
		}
		return clientConn{c}, resp, nil
	},
	CloseStatus: wsjwt.CloseStatus,
}

type clientConn struct{ c *websocket.Conn }

func (c clientConn) Read(ctx context.Context) (string, error) {
	_, b, err := c.c.Read(ctx)
	return string(b), err
}
func (c clientConn) Write(ctx context.Context, msg string) error {
	return c.c.Write(ctx, websocket.MessageText, []byte(msg))
}
func (c clientConn) Subprotocol() string { return c.c.Subprotocol() }
func (c clientConn) Close()              { c.c.CloseNow() }

func TestWebSocketNetHTTP(t *testing.T) {
	t.Parallel()
	testutil.WebSocketSuite(t, func(t *testing.T, m *core.Manager) string {
		mux := http.NewServeMux()
		mux.Handle("GET /api/ws", nethttpjwt.Middleware(m)(wsjwt.Handler(m, Ticks)))
		return testutil.ServeStreams(t, mux)
	}, Client)
}
