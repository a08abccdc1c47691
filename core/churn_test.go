package core_test

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// A subject's revocation marks are bounded whatever its login rate: with a session limit of 2 and
// a churn limit of 4, the fourth ended session is the last; the next login is answered 429 with
// Retry-After until the window of the first mark is over, and a logout is never refused. Without
// the bound (WithoutSessionChurnLimit) the logins go on ending sessions.
func TestSessionChurnLimit(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithMaxSessions(2), core.WithSessionChurnLimit(4))
	ctx := t.Context()
	login := func() core.Response {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(`{}`))
		return m.HTTP().ServeLogin(ctx, core.HTTPRequest(req), func() (string, any, error) { return "alice", nil, nil })
	}
	for i := range 6 { // two sessions, then four logins that each end one
		if r := login(); r.Status != 200 {
			t.Fatalf("login %d: got %d %s, want 200", i+1, r.Status, r.Body)
		}
		clock.Advance(time.Second)
	}
	r := login()
	if r.Status != 429 || !strings.Contains(string(r.Body), `"error":"temporarily_unavailable"`) {
		t.Fatalf("login after 4 ended sessions: got %d %s, want 429 temporarily_unavailable", r.Status, r.Body)
	}
	// The window began with the first ended session, at the third login (t0+2s), and lasts as
	// long as its mark: at least one access-token lifetime plus leeway. Four seconds of it have
	// passed.
	window := m.AccessTTL() + m.Leeway()
	retry, _ := strconv.Atoi(r.RetryAfter)
	if min := int((window - 4*time.Second) / time.Second); retry < min || retry > min+2 {
		t.Errorf("Retry-After: got %q, want about %d (seconds until the first mark expires)", r.RetryAfter, min)
	}
	_, err := m.Issue(ctx, "alice", nil)
	var churn *core.SessionChurnError
	if !errors.As(err, &churn) || !errors.Is(err, core.ErrSessionChurn) {
		t.Fatalf("Issue: got %v, want a *core.SessionChurnError", err)
	}
	if code, _ := core.RPCStatus(err); code != 8 {
		t.Errorf("RPCStatus: got %d, want 8 ResourceExhausted", code)
	}
	if _, err := m.Issue(ctx, "bob", nil); err != nil {
		t.Errorf("another subject's login: got %v, want nil", err)
	}
	sessions, err := m.Sessions(ctx, "alice", "")
	if err != nil || len(sessions) != 2 {
		t.Fatalf("alice's sessions: got %d (%v), want the 2 live ones", len(sessions), err)
	}
	if err := m.EndSession(ctx, "alice", sessions[0].ID); err != nil {
		t.Errorf("a logout past the bound: got %v, want nil (revocations are never refused)", err)
	}
	clock.Advance(time.Duration(retry-1) * time.Second)
	if r := login(); r.Status != 429 {
		t.Errorf("login a second before Retry-After: got %d %s, want 429", r.Status, r.Body)
	}
	clock.Advance(time.Second)
	if r := login(); r.Status != 200 {
		t.Errorf("login once the window is over: got %d %s, want 200", r.Status, r.Body)
	}

	free := newManager(t, testutil.NewClock(t0), core.WithMaxSessions(2), core.WithoutSessionChurnLimit())
	for i := range 50 {
		if _, err := free.Issue(ctx, "alice", nil); err != nil {
			t.Fatalf("login %d without the bound: %v", i+1, err)
		}
	}
}

func TestSessionChurnLimitConfig(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]core.Option{
		{core.WithSessionChurnLimit(0)},
		{core.WithSessionChurnLimit(-1)},
		{core.WithSessionChurnLimit(10)}, // below the default session limit, 32
		{core.WithMaxSessions(100), core.WithSessionChurnLimit(99)},
	} {
		_, err := core.New(append([]core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLogger(nil)}, opts...)...)
		if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "WithSessionChurnLimit") {
			t.Errorf("got %v, want an ErrInvalidConfig naming WithSessionChurnLimit", err)
		}
	}
}
