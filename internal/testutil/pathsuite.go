package testutil

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jwtexp/jwtexp/core"
)

// RunPathSafetySuite checks that a mangled "end session" request never ends the caller's other
// sessions, whatever the router does with it. serve starts the adapter's router on m with the
// framework's DEFAULT settings and the session routes mounted as the adapter's docs say
// (POST /login, GET /api/sessions, DELETE /api/sessions/{id}, DELETE /api/sessions), and returns
// its base URL. The user logs in twice; with the first session's token the suite sends
// DELETE /api/sessions/ (an empty id), /api//sessions, /api/sessions/. and /api/./sessions,
// following every redirect with the same method and Authorization header, as browsers and
// curl -L do; after each the second session must still be live. A plain DELETE /api/sessions
// then ends it (the route itself still works).
func RunPathSafetySuite(t *testing.T, serve func(t *testing.T, m *core.Manager) string) {
	t.Helper()
	m := SuiteManager(t, NewClockNow())
	base := serve(t, m)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func() string {
		resp, err := client.Post(base+"/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("login: got %d, %v", resp.StatusCode, err)
		}
		return body.AccessToken
	}
	// send issues method on path (sent as written, unclean as it is) and follows redirects with
	// the same method and Authorization header.
	send := func(method, path, token string) (int, []string) {
		var trail []string
		for range 5 {
			req, err := http.NewRequest(method, base, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = path
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			trail = append(trail, fmt.Sprintf("%s %d", path, resp.StatusCode))
			loc := resp.Header.Get("Location")
			if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
				return resp.StatusCode, trail
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			path = u.RequestURI()
		}
		return 0, trail
	}
	sessions := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Sessions []json.RawMessage `json:"sessions"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/sessions: got %d, %v", resp.StatusCode, err)
		}
		return len(body.Sessions)
	}
	first := login()
	login() // the other device
	if n := sessions(first); n != 2 {
		t.Fatalf("after two logins: %d sessions, want 2", n)
	}
	for _, path := range []string{"/api/sessions/", "/api//sessions", "/api/sessions/.", "/api/./sessions"} {
		status, trail := send(http.MethodDelete, path, first)
		if n := sessions(first); n != 2 {
			t.Fatalf("DELETE %s (%s): the other session ended (%d sessions left), want it live", path, strings.Join(trail, " -> "), n)
		}
		if status == http.StatusNoContent {
			t.Errorf("DELETE %s (%s): got 204, want a refusal", path, strings.Join(trail, " -> "))
		}
	}
	if status, trail := send(http.MethodDelete, "/api/sessions", first); status != http.StatusNoContent || sessions(first) != 1 {
		t.Fatalf("DELETE /api/sessions (%s): got %d, want 204 and one session left", strings.Join(trail, " -> "), status)
	}
}
