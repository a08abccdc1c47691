package fiber3jwt_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/fiber3jwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// The stream conformance suites through a listening Fiber app: Events, and fastwsjwt.Upgrade.
func TestStreams(t *testing.T) {
	t.Parallel()
	start := func(t *testing.T, m *core.Manager) string {
		app := fiber.New(fiber.Config{ReadTimeout: testutil.StreamServerTimeout, WriteTimeout: testutil.StreamServerTimeout})
		app.Get("/api/events", fiber3jwt.Middleware(m), fiber3jwt.Events(m, testutil.TickEvents))
		app.Get("/api/ws", fiber3jwt.Middleware(m), func(c fiber.Ctx) error {
			claims, _ := fiber3jwt.Claims(c)
			return fastwsjwt.Upgrade(m, c.RequestCtx(), claims, ticks)
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
		t.Cleanup(func() {
			if err := app.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-served
		})
		return "http://" + ln.Addr().String()
	}
	t.Run("events", func(t *testing.T) { t.Parallel(); testutil.EventsSuite(t, start) })
	t.Run("websocket", func(t *testing.T) { t.Parallel(); testutil.WebSocketSuite(t, start, wsClient) })
}

// ticks is the socket the suite's servers serve: a tick every testutil.StreamTick.
func ticks(ctx context.Context, s *fastwsjwt.Socket) error {
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

// wsClient is fasthttp/websocket's client, for testutil.WebSocketSuite.
var wsClient = testutil.WSClient{
	Dial: func(ctx context.Context, url string, header http.Header, protocols []string) (testutil.WSConn, *http.Response, error) {
		d := websocket.Dialer{Subprotocols: protocols}
		c, resp, err := d.DialContext(ctx, url, header)
		if err != nil {
			return nil, resp, err
		}
		return wsConn{c}, resp, nil
	},
	CloseStatus: fastwsjwt.CloseStatus,
}

type wsConn struct{ c *websocket.Conn }

func (c wsConn) Read(ctx context.Context) (string, error) {
	deadline, _ := ctx.Deadline()
	c.c.SetReadDeadline(deadline)
	_, b, err := c.c.ReadMessage()
	return string(b), err
}
func (c wsConn) Write(ctx context.Context, msg string) error {
	return c.c.WriteMessage(websocket.TextMessage, []byte(msg))
}
func (c wsConn) Subprotocol() string { return c.c.Subprotocol() }
func (c wsConn) Close()              { c.c.Close() }
