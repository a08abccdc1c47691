package ginjwt_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/ginjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/wsjwt"
)

// The stream conformance suites through ginjwt's router: Events, and wsjwt.Handler wrapped.
func TestStreams(t *testing.T) {
	t.Parallel()
	start := func(t *testing.T, m *core.Manager) string {
		r := gin.New()
		r.GET("/api/events", ginjwt.Middleware(m), ginjwt.Events(m, testutil.TickEvents))
		r.GET("/api/ws", ginjwt.Middleware(m), gin.WrapH(wsjwt.Handler(m, ticks)))
		h := r
		return testutil.ServeStreams(t, h)
	}
	t.Run("events", func(t *testing.T) { t.Parallel(); testutil.EventsSuite(t, start) })
	t.Run("websocket", func(t *testing.T) { t.Parallel(); testutil.WebSocketSuite(t, start, wsClient) })
}

// ticks is the socket the suite's servers serve: a tick every testutil.StreamTick.
func ticks(ctx context.Context, s *wsjwt.Socket) error {
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

// wsClient is coder/websocket's client, for testutil.WebSocketSuite.
var wsClient = testutil.WSClient{
	Dial: func(ctx context.Context, url string, header http.Header, protocols []string) (testutil.WSConn, *http.Response, error) {
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header, Subprotocols: protocols})
		if err != nil {
			return nil, resp, err
		}
		return wsConn{c}, resp, nil
	},
	CloseStatus: wsjwt.CloseStatus,
}

type wsConn struct{ c *websocket.Conn }

func (c wsConn) Read(ctx context.Context) (string, error) {
	_, b, err := c.c.Read(ctx)
	return string(b), err
}
func (c wsConn) Write(ctx context.Context, msg string) error {
	return c.c.Write(ctx, websocket.MessageText, []byte(msg))
}
func (c wsConn) Subprotocol() string { return c.c.Subprotocol() }
func (c wsConn) Close()              { c.c.CloseNow() }
