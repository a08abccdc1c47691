package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// RunSessionsSuite is the HTTP conformance table of the session handlers, run by every adapter
// through its router. Besides the routes of RunHTTPSuite, the router mounts, behind
// Middleware(m):
//
//	GET    /api/sessions       -> SessionsHandler(m)
//	DELETE /api/sessions/{id}  -> EndSessionHandler(m, "id")
//	DELETE /api/sessions       -> EndOtherSessionsHandler(m)
func RunSessionsSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	type env struct {
		t     *testing.T
		do    Doer
		m     *core.Manager
		clock *Clock
	}
	req := func(method, path, access string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		if access != "" {
			r.Header.Set("Authorization", "Bearer "+access)
		}
		return r
	}
	login := func(e env) *core.TokenPair {
		e.t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/login",
			strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)))
		req.Header.Set("Content-Type", "application/json")
		resp := e.do(req)
		body := readJSON(e.t, resp)
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("login: got %d %v", resp.StatusCode, body)
		}
		p := &core.TokenPair{AccessToken: str(body["access_token"]), RefreshToken: str(body["refresh_token"])}
		c, err := e.m.Verify(context.Background(), p.AccessToken)
		if err != nil {
			e.t.Fatalf("login: access token does not verify: %v", err)
		}
		p.Subject, p.SessionID = c.Subject, c.SessionID
		e.clock.Advance(time.Second)
		return p
	}
	type listed struct {
		ID         string  `json:"id"`
		CreatedAt  float64 `json:"created_at"`
		LastUsedAt float64 `json:"last_used_at"`
		ExpiresAt  float64 `json:"expires_at"`
		Current    bool    `json:"current"`
		Client     *string `json:"client"`
	}
	list := func(e env, access string) []listed {
		e.t.Helper()
		resp := e.do(req(http.MethodGet, "/api/sessions", access))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			e.t.Fatalf("GET /api/sessions: got %d %q %s, want 200 no-store JSON", resp.StatusCode, resp.Header, b)
		}
		var body struct {
			Sessions []listed `json:"sessions"`
		}
		var raw map[string][]map[string]json.RawMessage
		if err := json.Unmarshal(b, &body); err != nil || json.Unmarshal(b, &raw) != nil {
			e.t.Fatalf("GET /api/sessions: body %s is not {\"sessions\": [...]}", b)
		}
		for _, s := range raw["sessions"] {
			if len(s) != 6 {
				e.t.Errorf("GET /api/sessions: session %v: got %d members, want id, created_at, last_used_at, expires_at, current, client", s, len(s))
			}
		}
		return body.Sessions
	}
	notFound := Answer{http.StatusNotFound, "", map[string]string{"error": "not_found", "error_description": "session not found"}}
	noContent := Answer{Status: http.StatusNoContent}
	revoked := invalidToken("session revoked")
	me := Answer{200, "", map[string]string{"sub": "alice"}}

	cases := []struct {
		name string
		run  func(e env)
	}{
		{"list marks the current session", func(e env) {
			start := e.clock.Now().Unix()
			a, b := login(e), login(e)
			got := list(e, b.AccessToken)
			if len(got) != 2 || got[0].ID != b.SessionID || !got[0].Current || got[1].ID != a.SessionID || got[1].Current {
				e.t.Fatalf("sessions: got %+v, want %s (current) then %s", got, b.SessionID, a.SessionID)
			}
			if got[1].CreatedAt != float64(start) || got[1].LastUsedAt != float64(start) ||
				got[1].ExpiresAt != float64(start)+core.DefaultMaxSessionAge.Seconds() || got[1].Client != nil {
				e.t.Errorf("session %s: got %+v, want created and last used %d, expires after the maximum age, client null", a.SessionID, got[1], start)
			}
		}},
		{"end one", func(e env) {
			a, b := login(e), login(e)
			CheckAnswer(e.t, e.do(req(http.MethodDelete, "/api/sessions/"+a.SessionID, b.AccessToken)), noContent)
			CheckAnswer(e.t, e.do(req(http.MethodGet, "/api/me", a.AccessToken)), revoked)
			CheckAnswer(e.t, e.do(refreshRequest(a.RefreshToken)), invalidGrant("session ended"))
			CheckAnswer(e.t, e.do(req(http.MethodGet, "/api/me", b.AccessToken)), me)
			if got := list(e, b.AccessToken); len(got) != 1 || got[0].ID != b.SessionID {
				e.t.Errorf("sessions after ending one: got %+v, want only %s", got, b.SessionID)
			}
			CheckAnswer(e.t, e.do(req(http.MethodDelete, "/api/sessions/"+a.SessionID, b.AccessToken)), notFound)
		}},
		{"end an unknown id", func(e env) {
			a := login(e)
			CheckAnswer(e.t, e.do(req(http.MethodDelete, "/api/sessions/not-a-session", a.AccessToken)), notFound)
		}},
		{"end another subject's session", func(e env) {
			a := login(e)
			bob, err := e.m.Issue(context.Background(), "bob", nil)
			if err != nil {
				e.t.Fatal(err)
			}
			CheckAnswer(e.t, e.do(req(http.MethodDelete, "/api/sessions/"+bob.SessionID, a.AccessToken)), notFound)
			resp := e.do(req(http.MethodGet, "/api/me", bob.AccessToken))
			CheckAnswer(e.t, resp, Answer{200, "", map[string]string{"sub": "bob"}})
		}},
		{"end the others", func(e env) {
			a, b, c := login(e), login(e), login(e)
			CheckAnswer(e.t, e.do(req(http.MethodDelete, "/api/sessions", c.AccessToken)), noContent)
			for _, p := range []*core.TokenPair{a, b} {
				CheckAnswer(e.t, e.do(req(http.MethodGet, "/api/me", p.AccessToken)), revoked)
			}
			CheckAnswer(e.t, e.do(req(http.MethodGet, "/api/me", c.AccessToken)), me)
			if got := list(e, c.AccessToken); len(got) != 1 || got[0].ID != c.SessionID || !got[0].Current {
				e.t.Errorf("sessions after ending the others: got %+v, want only %s", got, c.SessionID)
			}
		}},
		{"without a token", func(e env) {
			for _, r := range []*http.Request{
				req(http.MethodGet, "/api/sessions", ""),
				req(http.MethodDelete, "/api/sessions/x", ""),
				req(http.MethodDelete, "/api/sessions", ""),
			} {
				CheckAnswer(e.t, e.do(r), answerMissing)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			m := SuiteManager(t, clock)
			tc.run(env{t: t, do: build(t, m), m: m, clock: clock})
		})
	}
}

// refreshRequest is a JSON refresh request with token.
func refreshRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+token+`"}`))
	r.Header.Set("Content-Type", "application/json")
	return r
}
