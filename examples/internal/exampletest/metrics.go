package exampletest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Metrics checks GET /metrics, the examples' metrics route: with METRICS=1 it answers the Prometheus text format,
// names prefixed jwtexp_, and a refused token shows up counted under its reason; without
// METRICS=1 it is a 404.
func Metrics(t *testing.T, start Starter) {
	t.Helper()
	s := Start(t, start, map[string]string{"METRICS": "1"})
	if code, _, _ := s.Do(t, "GET", "/api/me", "not-a-jwt", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/me with a malformed token: got %d, want 401", code)
	}
	_, _, body := s.Do(t, "POST", "/login", "", demo, nil)
	access, _ := body["access_token"].(string)
	if code, _, _ := s.Do(t, "GET", "/api/me", access, nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/me: got %d, want 200", code)
	}
	code, ctype, text := get(t, s.URL+"/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /metrics with METRICS=1: got %d %q, want 200 text/plain", code, ctype)
	}
	for _, want := range []string{
		`jwtexp_auth_decisions_total{outcome="rejected",reason="malformed"} 1`,
		`jwtexp_auth_decisions_total{outcome="accepted",reason=""} 1`,
		`jwtexp_sessions_issued_total 1`,
		`jwtexp_store_call_duration_seconds_count{op="create_family"} 1`, // the login's store write
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("GET /metrics lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "jwtexp_") {
			t.Errorf("metric not prefixed jwtexp_: %q", line)
		}
	}

	off := Start(t, start, nil)
	if code, _, _ := get(t, off.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics without METRICS=1: got %d, want 404", code)
	}
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
