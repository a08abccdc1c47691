package exampletest

import (
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// Sessions checks the session routes of an example, on the in-memory store and on a real
// redis-server: GET /api/sessions lists the caller's sessions (the caller's marked current, the
// client described from its User-Agent and network), DELETE /api/sessions/{id} ends one (204; 404
// for an id that is not one of the caller's live sessions, another user's included) and
// DELETE /api/sessions ends all but the caller's (204); JWT_IDLE_TIMEOUT ends a session nobody
// refreshed in time.
func Sessions(t *testing.T, start Starter) {
	t.Run("memory", func(t *testing.T) { sessionsContract(t, Start(t, start, sessionEnv(nil))) })
	t.Run("redis", func(t *testing.T) {
		rs := testutil.StartRedis(t)
		sessionsContract(t, Start(t, start, sessionEnv(map[string]string{"REDIS_URL": rs.URL()})))
	})
	t.Run("churn limit", func(t *testing.T) {
		churnContract(t, Start(t, start, map[string]string{"JWT_SESSION_CHURN_LIMIT": "32"}))
	})
}

// churnContract: with JWT_SESSION_CHURN_LIMIT=32 (the session limit, 32, is the least it may
// be), 32 logins fill the sessions and 32 more each end the least recently used one; the next
// login is 429 temporarily_unavailable with Retry-After, and a logout still works.
func churnContract(t *testing.T, s *Server) {
	var access string
	for i := range 64 {
		code, _, body := s.Do(t, "POST", "/login", "", demo, nil)
		if code != 200 {
			t.Fatalf("login %d: got %d %v, want 200", i+1, code, body)
		}
		access, _ = body["access_token"].(string)
	}
	code, h, body := s.Do(t, "POST", "/login", "", demo, nil)
	if code != 429 || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" || body["access_token"] != nil {
		t.Fatalf("login after 32 ended sessions: got %d %v (Retry-After %q), want 429 temporarily_unavailable with Retry-After and no tokens",
			code, body, h.Get("Retry-After"))
	}
	if code, _, body := s.Do(t, "POST", "/logout", access, nil, nil); code != 204 {
		t.Fatalf("logout past the churn limit: got %d %v, want 204", code, body)
	}
}

func sessionEnv(extra map[string]string) map[string]string {
	env := map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s", "JWT_IDLE_TIMEOUT": "10m"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// login logs the demo user in with the given User-Agent and returns the tokens.
func (s *Server) login(t *testing.T, ua string) (access, refresh string) {
	t.Helper()
	code, _, body := s.Do(t, "POST", "/login", "", demo, map[string]string{"User-Agent": ua})
	access, _ = body["access_token"].(string)
	refresh, _ = body["refresh_token"].(string)
	if code != 200 || access == "" || refresh == "" {
		t.Fatalf("login: got %d %v", code, body)
	}
	s.Clock.Advance(time.Second)
	return access, refresh
}

func sessionsContract(t *testing.T, s *Server) {
	// Whatever an earlier run left: start from the caller's session only.
	laptop, laptopRefresh := s.login(t, firefoxUA)
	if code, _, _ := s.Do(t, "DELETE", "/api/sessions", laptop, nil, nil); code != 204 {
		t.Fatalf("DELETE /api/sessions: got %d, want 204", code)
	}
	phone, _ := s.login(t, "curl/8.5.0")

	code, hdr, body := s.Do(t, "GET", "/api/sessions", phone, nil, nil)
	list, _ := body["sessions"].([]any)
	if code != 200 || hdr.Get("Cache-Control") != "no-store" || len(list) != 2 || len(body) != 1 {
		t.Fatalf("GET /api/sessions: got %d %v, want 200 with two sessions", code, body)
	}
	now := float64(s.Clock.Now().Unix())
	var laptopID string
	for i, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["id"].(string)
		created, _ := m["created_at"].(float64)
		used, _ := m["last_used_at"].(float64)
		expires, _ := m["expires_at"].(float64)
		if len(m) != 6 || id == "" || created == 0 || created > now || used < created || expires < now+29*24*3600 {
			t.Errorf("session %d: got %v, want id, NumericDate times, current, client", i, m)
		}
		switch i {
		case 0: // most recently used first: the caller's
			if m["current"] != true || m["client"] != "curl, 127.0.0.0/24" {
				t.Errorf("the caller's session: got %v, want current, client \"curl, 127.0.0.0/24\"", m)
			}
		case 1:
			laptopID = id
			if m["current"] != false || m["client"] != "Firefox on Linux, 127.0.0.0/24" {
				t.Errorf("the other session: got %v, want not current, client \"Firefox on Linux, 127.0.0.0/24\"", m)
			}
		}
	}

	code, _, body = s.Do(t, "DELETE", "/api/sessions/"+laptopID, phone, nil, nil)
	if code != 204 || body != nil {
		t.Errorf("DELETE /api/sessions/{id}: got %d %v, want 204 without a body", code, body)
	}
	if code, _, body = s.Do(t, "GET", "/api/me", laptop, nil, nil); code != 401 || body["error_description"] != "session revoked" {
		t.Errorf("the ended session's access token: got %d %v, want 401 session revoked", code, body)
	}
	if code, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": laptopRefresh}, nil); code != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the ended session's refresh token: got %d %v, want 400 invalid_grant", code, body)
	}
	for _, id := range []string{laptopID, "not-a-session"} {
		code, hdr, body = s.Do(t, "DELETE", "/api/sessions/"+id, phone, nil, nil)
		if code != 404 || body["error"] != "not_found" || body["error_description"] != "session not found" || hdr.Get("WWW-Authenticate") != "" {
			t.Errorf("DELETE /api/sessions/%s (not a live session): got %d %v, want 404 not_found", id, code, body)
		}
	}
	// An empty id names no session: the request must not reach "end all other sessions" through
	// a framework's trailing-slash routing (a lenient match, or a redirect the client follows).
	if code, _, _ = s.Do(t, "DELETE", "/api/sessions/", phone, nil, nil); code != 404 && code != 405 {
		t.Errorf("DELETE /api/sessions/ (no id): got %d, want 404 or 405", code)
	}

	// Another user's session is "not found" too, and stays alive.
	other, err := s.App.Manager.Issue(t.Context(), "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body = s.Do(t, "DELETE", "/api/sessions/"+other.SessionID, phone, nil, nil); code != 404 {
		t.Errorf("DELETE another user's session: got %d %v, want 404", code, body)
	}
	if code, _, _ = s.Do(t, "GET", "/api/me", other.AccessToken, nil, nil); code != 200 {
		t.Errorf("the other user's token after the refused DELETE: got %d, want 200", code)
	}

	// Sign out other devices.
	tablet, tabletRefresh := s.login(t, firefoxUA)
	if code, _, _ = s.Do(t, "DELETE", "/api/sessions", phone, nil, nil); code != 204 {
		t.Errorf("DELETE /api/sessions: got %d, want 204", code)
	}
	if code, _, _ = s.Do(t, "GET", "/api/me", tablet, nil, nil); code != 401 {
		t.Errorf("another device after DELETE /api/sessions: got %d, want 401", code)
	}
	if code, _, _ = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": tabletRefresh}, nil); code != 400 {
		t.Errorf("another device's refresh after DELETE /api/sessions: got %d, want 400", code)
	}
	code, _, body = s.Do(t, "GET", "/api/sessions", phone, nil, nil)
	if list, _ := body["sessions"].([]any); code != 200 || len(list) != 1 {
		t.Errorf("GET /api/sessions after signing out the others: got %d %v, want only the caller's", code, body)
	}

	// Without a token: the middleware's 401.
	for _, r := range [][2]string{{"GET", "/api/sessions"}, {"DELETE", "/api/sessions/x"}, {"DELETE", "/api/sessions"}} {
		if code, hdr, _ := s.Do(t, r[0], r[1], "", nil, nil); code != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="jwtexp"` {
			t.Errorf("%s %s without a token: got %d, want 401", r[0], r[1], code)
		}
	}

	// Idle timeout (10m): refreshed within it the session lives on, after it the refresh is refused.
	_, idle := s.login(t, firefoxUA)
	s.Clock.Advance(9 * time.Minute)
	code, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": idle}, nil)
	if code != 200 {
		t.Fatalf("refresh within the idle timeout: got %d %v, want 200", code, body)
	}
	idle, _ = body["refresh_token"].(string)
	s.Clock.Advance(10*time.Minute + time.Second)
	if code, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": idle}, nil); code != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh after the idle timeout: got %d %v, want 400 invalid_grant", code, body)
	}
}
