package core

import (
	"net/http/httptest"
	"testing"
)

// ServeLogin adds its own option without writing into spare capacity of the caller's slice,
// which concurrent requests may share.
func TestServeLoginKeepsCallerOptions(t *testing.T) {
	m := testManager(t, WithSessionClients())
	opts := make([]IssueOption, 0, 4)
	req := httptest.NewRequest("POST", "/login", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
	resp := m.HTTP().ServeLogin(t.Context(), HTTPRequest(req), func() (string, any, error) { return "alice", nil, nil }, opts...)
	if resp.Status != 200 {
		t.Fatalf("login: status %d", resp.Status)
	}
	if spare := opts[:cap(opts)]; spare[0] != nil {
		t.Fatal("ServeLogin wrote its option into the caller's slice")
	}
}

// A nil RefreshOption is skipped, as a nil IssueOption is.
func TestRefreshNilOption(t *testing.T) {
	m := testManager(t)
	p, err := m.Issue(t.Context(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(t.Context(), p.RefreshToken, nil); err != nil {
		t.Fatal(err)
	}
}
