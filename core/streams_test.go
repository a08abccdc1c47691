package core_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestSSE(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	flushes := 0
	s := core.NewSSE(&buf, func() error { flushes++; return nil })
	if err := s.Send("tick", struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}{"alice", 1700000000}); err != nil {
		t.Fatal(err)
	}
	s.Comment("keep-alive")
	s.End(core.ErrTokenRevoked)
	want := "event: tick\ndata: {\"sub\":\"alice\",\"exp\":1700000000}\n\n: keep-alive\n\nevent: end\ndata: {\"reason\":\"token_revoked\"}\n\n"
	if got := buf.String(); got != want {
		t.Fatalf("SSE output:\ngot  %q\nwant %q", got, want)
	}
	if flushes != 3 {
		t.Errorf("flushes: got %d, want 3", flushes)
	}
}

func TestEndReasonAndClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cause  error
		reason string
		code   int
	}{
		{core.ErrTokenExpired, core.EndTokenExpired, 4001},
		{core.ErrTokenRevoked, core.EndTokenRevoked, 4003},
		{core.ErrReauthRefused, core.EndTokenRevoked, 4003},
		{core.ErrStoreUnavailable, core.EndUnavailable, 1013},
		{context.Canceled, core.EndClosed, 1000},
		{errors.New("other"), core.EndClosed, 1000},
	} {
		if got := core.EndReason(tc.cause); got != tc.reason {
			t.Errorf("EndReason(%v): got %q, want %q", tc.cause, got, tc.reason)
		}
		if got, _ := core.WebSocketClose(tc.cause); got != tc.code {
			t.Errorf("WebSocketClose(%v): got %d, want %d", tc.cause, got, tc.code)
		}
	}
}

func TestParseReauth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		msg   string
		token string
		ok    bool
	}{
		{`{"type":"reauth","access_token":"a.b.c"}`, "a.b.c", true},
		{`{"access_token":"a.b.c","type":"reauth","extra":1}`, "a.b.c", true},
		{`{"type":"reauth"}`, "", true},
		{`{"type":"hello"}`, "", false},
		{`not json`, "", false},
		{`{"type":"reauth","type":"x"}`, "", false},
	} {
		token, ok := core.ParseReauth([]byte(tc.msg))
		if token != tc.token || ok != tc.ok {
			t.Errorf("ParseReauth(%s): got (%q, %v), want (%q, %v)", tc.msg, token, ok, tc.token, tc.ok)
		}
	}
}

// WithWebSocketProtocolToken reads the token a browser offers as the second subprotocol.
func TestWebSocketProtocolToken(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(connEpoch)
	m := testutil.SuiteManager(t, clock, core.WithWebSocketProtocolToken())
	plain := testutil.SuiteManager(t, clock)
	p, _ := login(t, m, "alice")
	ctx := context.Background()
	for _, tc := range []struct {
		header string
		err    error
	}{
		{"jwtexp.bearer, " + p.AccessToken, nil},
		{"jwtexp.bearer," + p.AccessToken + ", other", nil},
		{"other, " + p.AccessToken, core.ErrTokenMissing},
		{"jwtexp.bearer", core.ErrTokenMissing},
	} {
		r := httptest.NewRequest("GET", "/api/ws", nil)
		r.Header.Set("Sec-WebSocket-Protocol", tc.header)
		_, err := m.Authenticate(ctx, core.HTTPRequest(r))
		if (tc.err == nil && err != nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("Sec-WebSocket-Protocol %.20q: got %v, want %v", tc.header, err, tc.err)
		}
		if _, err := plain.Authenticate(ctx, core.HTTPRequest(r)); !errors.Is(err, core.ErrTokenMissing) {
			t.Errorf("without the option: got %v, want ErrTokenMissing", err)
		}
	}
	r := httptest.NewRequest("GET", "/api/ws", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "jwtexp.bearer, "+p.AccessToken)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	if _, err := m.Authenticate(ctx, core.HTTPRequest(r)); !errors.Is(err, core.ErrInvalidRequest) {
		t.Errorf("header and subprotocol: got %v, want ErrInvalidRequest", err)
	}
}
