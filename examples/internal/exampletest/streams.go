package exampletest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// Streams checks GET /api/events and GET /api/ws of an example, on the in-memory store and on a
// real redis-server (with the local replica): ticks with the token's sub and exp; the stream ends
// with "event: end" {"reason":"token_expired"} at exp + leeway (by the example's clock) and
// {"reason":"token_revoked"} after POST /logout, the socket closes with 4001 "token expired" and
// 4003 "token revoked", each within a second; a socket opened with the token as subprotocol
// survives a refresh by {"type":"reauth"} and closes with 4003 when handed another session's token;
// a GET without a handshake and a handshake from another origin get a 4xx, never a 500.
func Streams(t *testing.T, start Starter) {
	env := map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "10s"}
	t.Run("memory", func(t *testing.T) { streamsContract(t, Start(t, start, env)) })
	t.Run("redis", func(t *testing.T) {
		rs := testutil.StartRedis(t)
		streamsContract(t, Start(t, start, map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "10s", "REDIS_URL": rs.URL()}))
	})
}

// streamWait bounds every wait for a tick or an end: far above the one-second ticks.
const streamWait = 10 * time.Second

type tick struct {
	Type string `json:"type"`
	Sub  string `json:"sub"`
	Exp  int64  `json:"exp"`
}

// expOf is the exp of an access token the example issued, read back through GET /api/me.
func (s *Server) expOf(t *testing.T, access string) int64 {
	t.Helper()
	code, _, body := s.Do(t, "GET", "/api/me", access, nil, nil)
	exp, _ := body["exp"].(float64)
	if code != 200 || exp == 0 {
		t.Fatalf("GET /api/me: got %d %v", code, body)
	}
	return int64(exp)
}

// expire sets the example's clock to exp + the leeway (10 s) and returns when it did.
func (s *Server) expire(exp int64) time.Time {
	s.Clock.Set(time.Unix(exp, 0).Add(10 * time.Second))
	return time.Now()
}

func withinSecond(t *testing.T, what string, since time.Time) {
	t.Helper()
	if d := time.Since(since); d > time.Second {
		t.Errorf("%s: ended %v after, want within 1s", what, d)
	} else {
		t.Logf("%s: ended %v after", what, d.Round(time.Millisecond))
	}
}

// events opens GET /api/events and returns a channel of its events ("name data").
func (s *Server) events(t *testing.T, access string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/events: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("GET /api/events: got %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		r := bufio.NewReader(resp.Body)
		name := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				out <- name + " " + line[len("data: "):]
			}
		}
	}()
	return out
}

func nextEvent(t *testing.T, ch <-chan string) (string, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(streamWait):
		t.Fatalf("no event within %v", streamWait)
		return "", false
	}
}

// expectEnd skips ticks until "end" and checks its data and that the stream then closes.
func expectEnd(t *testing.T, ch <-chan string, reason string) {
	t.Helper()
	for {
		ev, ok := nextEvent(t, ch)
		if !ok {
			t.Fatal("the stream closed without the event end")
		}
		if strings.HasPrefix(ev, "tick ") {
			continue
		}
		if want := fmt.Sprintf(`end {"reason":%q}`, reason); ev != want {
			t.Fatalf("got %q, want %q", ev, want)
		}
		if ev, ok := nextEvent(t, ch); ok {
			t.Fatalf("after end: got %q, want the stream closed", ev)
		}
		return
	}
}

// socket opens GET /api/ws, with the token as the jwtexp.bearer subprotocol (the browser's way)
// or in the Authorization header.
func (s *Server) socket(t *testing.T, access string, subprotocol bool) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	opts := &websocket.DialOptions{}
	if subprotocol {
		opts.Subprotocols = []string{"jwtexp.bearer", access}
	} else {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + access}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/api/ws", opts)
	if err != nil {
		t.Fatalf("GET /api/ws: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if subprotocol && c.Subprotocol() != "jwtexp.bearer" {
		t.Fatalf("subprotocol: got %q, want jwtexp.bearer", c.Subprotocol())
	}
	return c
}

// readSocket reads the next message into v, or returns the error that ended the socket.
func readSocket(t *testing.T, c *websocket.Conn, v any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return nil
}

// expectClose reads until the socket closes and checks the close code and reason.
func expectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	for {
		var m tick
		err := readSocket(t, c, &m)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
			t.Fatalf("socket ended with %v, want %d %q", err, code, reason)
		}
		return
	}
}

func streamsContract(t *testing.T, s *Server) {
	// The stream ends at exp + leeway.
	access, _ := s.login(t, "curl/8.5.0")
	refusedHandshakes(t, s, access)
	exp := s.expOf(t, access)
	ev := s.events(t, access)
	first, _ := nextEvent(t, ev)
	if want := fmt.Sprintf(`tick {"sub":"alice","exp":%d}`, exp); first != want {
		t.Fatalf("first event: got %q, want %q", first, want)
	}
	since := s.expire(exp)
	expectEnd(t, ev, "token_expired")
	withinSecond(t, "SSE at exp + leeway", since)

	// The stream ends at logout.
	access, _ = s.login(t, "curl/8.5.0")
	ev = s.events(t, access)
	nextEvent(t, ev)
	since = time.Now()
	if code, _, _ := s.Do(t, "POST", "/logout", access, nil, nil); code != 204 {
		t.Fatalf("logout: got %d", code)
	}
	expectEnd(t, ev, "token_revoked")
	withinSecond(t, "SSE at logout", since)

	// The socket ticks, survives a refresh by reauthentication, and closes 4003 at logout.
	access, refresh := s.login(t, "curl/8.5.0")
	exp = s.expOf(t, access)
	ws := s.socket(t, access, true)
	var m tick
	if err := readSocket(t, ws, &m); err != nil || m.Type != "tick" || m.Sub != "alice" || m.Exp != exp {
		t.Fatalf("first message: got %+v (%v), want a tick of alice with exp %d", m, err, exp)
	}
	s.Clock.Advance(50 * time.Second)
	code, _, body := s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
	next, _ := body["access_token"].(string)
	if code != 200 || next == "" {
		t.Fatalf("refresh: got %d %v", code, body)
	}
	nextExp := s.expOf(t, next)
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"reauth","access_token":%q}`, next)); err != nil {
		t.Fatal(err)
	}
	for m.Type != "reauth" {
		if err := readSocket(t, ws, &m); err != nil {
			t.Fatalf("waiting for the reauth answer: %v", err)
		}
	}
	if m.Exp != nextExp {
		t.Fatalf("reauth answer: got exp %d, want %d", m.Exp, nextExp)
	}
	s.expire(exp) // the first token's deadline: the socket lives on
	for m.Type != "tick" || m.Exp != nextExp {
		if err := readSocket(t, ws, &m); err != nil {
			t.Fatalf("after the first token's deadline: %v, want ticks with exp %d", err, nextExp)
		}
	}
	since = time.Now()
	if code, _, _ := s.Do(t, "POST", "/logout", next, nil, nil); code != 204 {
		t.Fatalf("logout: got %d", code)
	}
	expectClose(t, ws, 4003, "token revoked")
	withinSecond(t, "WebSocket at logout", since)

	// The socket closes 4001 at exp + leeway; 4003 when handed another session's token.
	access, _ = s.login(t, "curl/8.5.0")
	exp = s.expOf(t, access)
	ws = s.socket(t, access, false)
	since = s.expire(exp)
	expectClose(t, ws, 4001, "token expired")
	withinSecond(t, "WebSocket at exp + leeway", since)
	other, _ := s.login(t, "curl/8.5.0")
	ws2 := s.socket(t, other, true)
	if err := ws2.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"reauth","access_token":%q}`, access)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, ws2, 4003, "reauthentication refused")
}

// refusedHandshakes checks that GET /api/ws with a valid token but no WebSocket handshake, and a
// handshake from a page of another origin, get the WebSocket library's client error (400 or 426,
// and 403), never a 500: the Fiber examples once answered both with 500.
func refusedHandshakes(t *testing.T, s *Server, access string) {
	t.Helper()
	do := func(h ...string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/ws", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /api/ws: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(); code != http.StatusBadRequest && code != http.StatusUpgradeRequired {
		t.Errorf("GET /api/ws without a handshake: got %d, want 400 or 426", code)
	}
	if code := do("Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("WebSocket handshake from another origin: got %d, want 403", code)
	}
}
