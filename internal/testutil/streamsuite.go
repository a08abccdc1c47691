package testutil

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The conformance suite of bound connections: every adapter's Server-Sent Events helper and
// every WebSocket helper, over real connections to a real server, against the wire contract:
// ticks while the token lives; "event: end" {"reason":"token_expired"|"token_revoked"} or close
// 4001 "token expired" / 4003 "token revoked" within a second of the expiry (by the fake clock)
// or of the revocation; reauthentication of a socket by a token of the same session only.

// StreamTick is how often the suite's streams tick: often, so that the suite runs fast.
const StreamTick = 50 * time.Millisecond

// StreamServerTimeout is the read and write timeout of the suite's servers (net/http's
// ReadTimeout and WriteTimeout, Fiber's): short, so that the suite sees a stream outlive them.
const StreamServerTimeout = 300 * time.Millisecond

// streamWait bounds every wait of the suite for an event, far above what a pass needs.
const streamWait = 10 * time.Second

// Tick is the data of a tick: the subject and the exp of the token the connection is bound to.
type Tick struct {
	Type string `json:"type,omitempty"` // "tick" on a WebSocket
	Sub  string `json:"sub"`
	Exp  int64  `json:"exp"`
}

// TickOf is the tick of a bound connection now.
func TickOf(conn *core.Connection, typ string) Tick {
	c := conn.Claims()
	return Tick{Type: typ, Sub: c.Subject, Exp: c.ExpiresAt.Unix()}
}

// TickEvents is the stream the suite's servers serve at GET /api/events: an event "tick" every
// StreamTick with data {"sub","exp"}, until the connection ends.
func TickEvents(ctx context.Context, conn *core.Connection, sse *core.SSE) error {
	tick := time.NewTicker(StreamTick)
	defer tick.Stop()
	for {
		if err := sse.Send("tick", TickOf(conn, "")); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// StreamServer starts a server of the adapter under test on a new Manager m and returns its
// base URL ("http://127.0.0.1:port"), with read and write timeouts of StreamServerTimeout. It serves GET /api/events (TickEvents, through the
// adapter's Events) and, for the WebSocket suite, GET /api/ws (ticks {"type":"tick","sub","exp"}
// every StreamTick through the WebSocket helper), both behind the adapter's Middleware; the
// server stops when the test ends.
type StreamServer func(t *testing.T, m *core.Manager) string

// streamEnv is one case's Manager, clock and server.
type streamEnv struct {
	t     *testing.T
	m     *core.Manager
	clock *Clock
	url   string
}

func newStreamEnv(t *testing.T, start StreamServer) *streamEnv {
	clock := NewClockNow()
	m := SuiteManager(t, clock, core.WithWebSocketProtocolToken())
	return &streamEnv{t: t, m: m, clock: clock, url: start(t, m)}
}

func (e *streamEnv) login(subject string) *core.TokenPair {
	e.t.Helper()
	p, err := e.m.Issue(context.Background(), subject, nil)
	if err != nil {
		e.t.Fatalf("Issue: %v", err)
	}
	return p
}

// expire moves the clock to the token's exp plus the leeway and returns the wall time it did.
func (e *streamEnv) expire(p *core.TokenPair) time.Time {
	e.clock.Set(p.AccessExpiresAt.Add(SuiteLeeway))
	return time.Now()
}

// sseEvent is one event of a stream.
type sseEvent struct{ name, data string }

// sseStream reads the events of a stream in a goroutine of its own.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
}

func (e *streamEnv) openEvents(token string) *sseStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET /api/events: %v", err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		e.t.Fatalf("GET /api/events: got %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1024)}
	go func() {
		defer close(s.events)
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case line == "":
				if ev.name != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	return s
}

// next returns the next event; ok false when the stream ended.
func (s *sseStream) next(t *testing.T) (ev sseEvent, ok bool) {
	t.Helper()
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(streamWait):
		t.Fatalf("no event within %v", streamWait)
		return sseEvent{}, false
	}
}

// expectTick reads one event and checks it is a tick of subject with exp.
func (s *sseStream) expectTick(t *testing.T, subject string, exp time.Time) {
	t.Helper()
	ev, ok := s.next(t)
	if !ok || ev.name != "tick" {
		t.Fatalf("got event %+v (open %v), want a tick", ev, ok)
	}
	var tick Tick
	if err := json.Unmarshal([]byte(ev.data), &tick); err != nil || tick.Sub != subject || tick.Exp != exp.Unix() {
		t.Fatalf("tick data %s: want sub %q, exp %d", ev.data, subject, exp.Unix())
	}
}

// expectEnd skips ticks until the event "end", checks its reason, and that the stream then
// closes; it returns when "end" arrived.
func (s *sseStream) expectEnd(t *testing.T, reason string) time.Time {
	t.Helper()
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatalf("the stream closed without the event end")
		}
		if ev.name == "tick" {
			continue
		}
		at := time.Now()
		if ev.name != "end" || ev.data != fmt.Sprintf(`{"reason":%q}`, reason) {
			t.Fatalf("got event %q data %s, want end with reason %q", ev.name, ev.data, reason)
		}
		if ev, ok := s.next(t); ok {
			t.Fatalf("after end: got event %+v, want the stream closed", ev)
		}
		return at
	}
}

// within checks that the end came less than a second after since.
func within(t *testing.T, what string, since, at time.Time) {
	t.Helper()
	if d := at.Sub(since); d > time.Second {
		t.Errorf("%s: the connection ended %v after, want within 1s", what, d)
	} else {
		t.Logf("%s: ended %v after", what, d.Round(time.Microsecond))
	}
}

// ServeStreams serves h on a loopback port until the test ends, with the read and write timeouts
// of StreamServerTimeout, and returns its base URL: the StreamServer body for http.Handler
// routers (net/http, Gin, Echo).
func ServeStreams(t *testing.T, h http.Handler) string {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = StreamServerTimeout, StreamServerTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// waitReleased waits until the Manager holds no bound connection: the server noticed every
// client that left and released its connection.
func (e *streamEnv) waitReleased(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(streamWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for e.m.Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Connections: %d bound %v after the clients left, want 0", e.m.Connections(), streamWait)
		}
		<-tick.C
	}
}

// EventsSuite runs the Server-Sent Events cases against the adapter's server.
func EventsSuite(t *testing.T, start StreamServer) {
	t.Helper()
	t.Run("ticks then ends at expiry", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		s := e.openEvents(p.AccessToken)
		s.expectTick(t, "alice", p.AccessExpiresAt)
		s.expectTick(t, "alice", p.AccessExpiresAt)
		since := e.expire(p)
		within(t, "expiry", since, s.expectEnd(t, core.EndTokenExpired))
	})
	t.Run("ends at logout", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		s := e.openEvents(p.AccessToken)
		s.expectTick(t, "alice", p.AccessExpiresAt)
		since := time.Now()
		if err := e.m.Logout(context.Background(), p.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		within(t, "logout", since, s.expectEnd(t, core.EndTokenRevoked))
	})
	t.Run("ends at log out everywhere", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		s := e.openEvents(p.AccessToken)
		s.expectTick(t, "alice", p.AccessExpiresAt)
		since := time.Now()
		if err := e.m.RevokeSubject(context.Background(), "alice"); err != nil {
			t.Fatal(err)
		}
		within(t, "log out everywhere", since, s.expectEnd(t, core.EndTokenRevoked))
	})
	t.Run("outlives the server's timeouts", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		s := e.openEvents(p.AccessToken)
		for end := time.Now().Add(4 * StreamServerTimeout); time.Now().Before(end); {
			s.expectTick(t, "alice", p.AccessExpiresAt)
		}
		e.expire(p)
		s.expectEnd(t, core.EndTokenExpired)
	})
	t.Run("refused without a token", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		resp, err := http.Get(e.url + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET /api/events without a token: got %d, want 401", resp.StatusCode)
		}
	})
	t.Run("the client leaving releases the connection", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		s := e.openEvents(p.AccessToken)
		s.expectTick(t, "alice", p.AccessExpiresAt)
		s.resp.Body.Close()
		e.waitReleased(t)
	})
}

// WSConn is a client's WebSocket, as the WebSocket library under test dials it.
type WSConn interface {
	// Read returns the next text message, or the error that ended the socket.
	Read(ctx context.Context) (string, error)
	Write(ctx context.Context, msg string) error
	// Subprotocol is the subprotocol the server selected.
	Subprotocol() string
	Close()
}

// WSClient is the WebSocket library under test: Dial opens a socket (header: handshake
// headers; protocols: subprotocols offered), CloseStatus reads the code and reason of a close
// error Read returned (-1 when it is none).
type WSClient struct {
	Dial        func(ctx context.Context, url string, header http.Header, protocols []string) (WSConn, *http.Response, error)
	CloseStatus func(err error) (code int, reason string)
}

func (e *streamEnv) dial(c WSClient, header http.Header, protocols []string) WSConn {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.url, "http") + "/api/ws"
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	conn, _, err := c.Dial(ctx, u, header, protocols)
	if err != nil {
		e.t.Fatalf("dial %s: %v", u, err)
	}
	e.t.Cleanup(conn.Close)
	return conn
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// readWS reads the next message as JSON into v; it fails the test on an error.
func readWS(t *testing.T, conn WSConn, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	msg, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal([]byte(msg), v); err != nil {
		t.Fatalf("message %s: %v", msg, err)
	}
}

func expectWSTick(t *testing.T, conn WSConn, subject string, exp time.Time) {
	t.Helper()
	var tick Tick
	readWS(t, conn, &tick)
	if tick.Type != "tick" || tick.Sub != subject || tick.Exp != exp.Unix() {
		t.Fatalf("got %+v, want a tick of %q with exp %d", tick, subject, exp.Unix())
	}
}

// expectWSClose reads until the socket closes and checks the close code and reason; it returns
// when the close arrived.
func expectWSClose(t *testing.T, c WSClient, conn WSConn, code int, reason string) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	for {
		msg, err := conn.Read(ctx)
		if err == nil {
			if !strings.Contains(msg, `"tick"`) {
				t.Fatalf("got message %s, want ticks then the close", msg)
			}
			continue
		}
		at := time.Now()
		if got, why := c.CloseStatus(err); got != code || why != reason {
			t.Fatalf("socket ended with %d %q (%v), want %d %q", got, why, err, code, reason)
		}
		return at
	}
}

// WebSocketSuite runs the WebSocket cases against the adapter's server with the library's
// client.
func WebSocketSuite(t *testing.T, start StreamServer, client WSClient) {
	t.Helper()
	t.Run("ticks then closes 4001 at expiry", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conn := e.dial(client, bearerHeader(p.AccessToken), nil)
		expectWSTick(t, conn, "alice", p.AccessExpiresAt)
		since := e.expire(p)
		within(t, "expiry", since, expectWSClose(t, client, conn, core.CloseTokenExpired, "token expired"))
	})
	t.Run("closes 4003 at logout", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conn := e.dial(client, bearerHeader(p.AccessToken), nil)
		expectWSTick(t, conn, "alice", p.AccessExpiresAt)
		since := time.Now()
		if err := e.m.Logout(context.Background(), p.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		within(t, "logout", since, expectWSClose(t, client, conn, core.CloseTokenRevoked, "token revoked"))
	})
	t.Run("outlives the server's timeouts", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conn := e.dial(client, bearerHeader(p.AccessToken), nil)
		for end := time.Now().Add(4 * StreamServerTimeout); time.Now().Before(end); {
			expectWSTick(t, conn, "alice", p.AccessExpiresAt)
		}
		e.expire(p)
		expectWSClose(t, client, conn, core.CloseTokenExpired, "token expired")
	})
	t.Run("the client leaving releases the connection", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conns := make([]WSConn, 20)
		for i := range conns {
			conns[i] = e.dial(client, bearerHeader(p.AccessToken), nil)
			expectWSTick(t, conns[i], "alice", p.AccessExpiresAt)
		}
		if n := e.m.Connections(); n != len(conns) {
			t.Fatalf("Connections with %d sockets open: got %d", len(conns), n)
		}
		for _, c := range conns {
			c.Close()
		}
		e.waitReleased(t)
	})
	t.Run("the token as a subprotocol", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conn := e.dial(client, nil, []string{core.WebSocketProtocol, p.AccessToken})
		if got := conn.Subprotocol(); got != core.WebSocketProtocol {
			t.Fatalf("subprotocol selected: got %q, want %q", got, core.WebSocketProtocol)
		}
		expectWSTick(t, conn, "alice", p.AccessExpiresAt)
	})
	t.Run("refused without a token", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		u := "ws" + strings.TrimPrefix(e.url, "http") + "/api/ws"
		ctx, cancel := context.WithTimeout(context.Background(), streamWait)
		defer cancel()
		conn, resp, err := client.Dial(ctx, u, nil, nil)
		if err == nil {
			conn.Close()
			t.Fatal("dial without a token: got a socket, want 401")
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial without a token: got %v (%v), want 401", resp, err)
		}
	})
	t.Run("reauthentication moves the deadline", func(t *testing.T) {
		t.Parallel()
		e := newStreamEnv(t, start)
		p := e.login("alice")
		conn := e.dial(client, bearerHeader(p.AccessToken), nil)
		expectWSTick(t, conn, "alice", p.AccessExpiresAt)
		e.clock.Advance(SuiteAccessTTL - time.Minute)
		next, err := e.m.Refresh(context.Background(), p.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), streamWait)
		defer cancel()
		if err := conn.Write(ctx, fmt.Sprintf(`{"type":"reauth","access_token":%q}`, next.AccessToken)); err != nil {
			t.Fatal(err)
		}
		for {
			var answer struct {
				Type string `json:"type"`
				Exp  int64  `json:"exp"`
			}
			readWS(t, conn, &answer)
			if answer.Type == "tick" {
				continue
			}
			if answer.Type != "reauth" || answer.Exp != next.AccessExpiresAt.Unix() {
				t.Fatalf("answer to reauth: got %+v, want reauth with exp %d", answer, next.AccessExpiresAt.Unix())
			}
			break
		}
		e.expire(p) // the first token's deadline: the socket lives on
		for {
			var tick Tick
			readWS(t, conn, &tick)
			if tick.Exp == next.AccessExpiresAt.Unix() {
				break // ticking with the new token's exp
			}
		}
		since := e.expire(next)
		within(t, "expiry of the second token", since, expectWSClose(t, client, conn, core.CloseTokenExpired, "token expired"))
	})
	for _, tc := range []struct {
		name  string
		token func(e *streamEnv) string
	}{
		{"reauthentication with another session closes 4003", func(e *streamEnv) string { return e.login("alice").AccessToken }},
		{"reauthentication with another user closes 4003", func(e *streamEnv) string { return e.login("bob").AccessToken }},
		{"reauthentication with garbage closes 4003", func(*streamEnv) string { return "garbage" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newStreamEnv(t, start)
			p := e.login("alice")
			conn := e.dial(client, bearerHeader(p.AccessToken), nil)
			expectWSTick(t, conn, "alice", p.AccessExpiresAt)
			ctx, cancel := context.WithTimeout(context.Background(), streamWait)
			defer cancel()
			if err := conn.Write(ctx, fmt.Sprintf(`{"type":"reauth","access_token":%q}`, tc.token(e))); err != nil {
				t.Fatal(err)
			}
			expectWSClose(t, client, conn, core.CloseTokenRevoked, "reauthentication refused")
		})
	}
}
