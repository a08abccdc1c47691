package fastwsjwt_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fastwsjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// request is a minimal core.Request over fasthttp, for this module's own tests (the Fiber
// adapters have complete ones): headers only, one value each.
type request struct{ ctx *fasthttp.RequestCtx }

func (r request) Header(name string) (string, int) {
	v := r.ctx.Request.Header.Peek(name)
	if v == nil {
		return "", 0
	}
	return string(v), 1
}
func (r request) Cookie(string) (string, int) { return "", 0 }
func (r request) Query(string) (string, int)  { return "", 0 }
func (r request) Body(int64) ([]byte, error)  { return nil, nil }

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

// serve runs a fasthttp server whose GET /api/ws authenticates as a middleware would and
// upgrades with fastwsjwt.
func serve(t *testing.T, m *core.Manager) string {
	srv := &fasthttp.Server{
		ReadTimeout: testutil.StreamServerTimeout, WriteTimeout: testutil.StreamServerTimeout,
		Handler: func(ctx *fasthttp.RequestCtx) {
			claims, err := m.Authenticate(context.Background(), request{ctx})
			if err != nil {
				p := m.HTTP().Problem(err)
				ctx.SetStatusCode(p.Status)
				return
			}
			_ = fastwsjwt.Upgrade(m, ctx, claims, ticks)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

var client = testutil.WSClient{
	Dial: func(ctx context.Context, url string, header http.Header, protocols []string) (testutil.WSConn, *http.Response, error) {
		d := websocket.Dialer{Subprotocols: protocols}
		c, resp, err := d.DialContext(ctx, url, header)
		if err != nil {
			return nil, resp, err
		}
		return conn{c}, resp, nil
	},
	CloseStatus: fastwsjwt.CloseStatus,
}

type conn struct{ c *websocket.Conn }

func (c conn) Read(ctx context.Context) (string, error) {
	deadline, _ := ctx.Deadline()
	c.c.SetReadDeadline(deadline)
	_, b, err := c.c.ReadMessage()
	return string(b), err
}
func (c conn) Write(_ context.Context, msg string) error {
	return c.c.WriteMessage(websocket.TextMessage, []byte(msg))
}
func (c conn) Subprotocol() string { return c.c.Subprotocol() }
func (c conn) Close()              { c.c.Close() }

func TestWebSocketFastHTTP(t *testing.T) {
	t.Parallel()
	testutil.WebSocketSuite(t, serve, client)
}

func TestUpgradeWithoutClaims(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	var ctx fasthttp.RequestCtx
	if err := fastwsjwt.Upgrade(m, &ctx, nil, ticks); !errors.Is(err, core.ErrNoClaims) {
		t.Fatalf("Upgrade without claims: got %v, want ErrNoClaims", err)
	}
	if ctx.Response.StatusCode() != http.StatusInternalServerError {
		t.Fatalf("status: got %d, want 500", ctx.Response.StatusCode())
	}
}

// TestRefusedHandshakeAnswered: a request the upgrader refuses (no handshake, another origin,
// not GET) keeps the upgrader's answer and Upgrade returns nil, so that a Fiber handler returning
// Upgrade's result does not have its error handler turn the 4xx into a 500.
func TestRefusedHandshakeAnswered(t *testing.T) {
	t.Parallel()
	m := testutil.SuiteManager(t, testutil.NewClockNow())
	claims := &core.Claims{}
	handshake := func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Set("Connection", "Upgrade")
		ctx.Request.Header.Set("Upgrade", "websocket")
		ctx.Request.Header.Set("Sec-WebSocket-Version", "13")
		ctx.Request.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	for _, tc := range []struct {
		name  string
		setup func(ctx *fasthttp.RequestCtx)
		want  int
	}{
		{"plain GET", func(ctx *fasthttp.RequestCtx) {}, http.StatusBadRequest},
		{"another origin", func(ctx *fasthttp.RequestCtx) {
			handshake(ctx)
			ctx.Request.Header.Set("Origin", "https://evil.example")
		}, http.StatusForbidden},
		{"POST", func(ctx *fasthttp.RequestCtx) {
			handshake(ctx)
			ctx.Request.Header.SetMethod(http.MethodPost)
		}, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("http://example.com/api/ws")
			ctx.Request.Header.SetMethod(http.MethodGet)
			tc.setup(&ctx)
			if err := fastwsjwt.Upgrade(m, &ctx, claims, ticks); err != nil {
				t.Fatalf("Upgrade: got %v, want nil (the request is answered)", err)
			}
			if got := ctx.Response.StatusCode(); got != tc.want {
				t.Fatalf("status: got %d, want %d", got, tc.want)
			}
		})
	}
}
