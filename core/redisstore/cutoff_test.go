package redisstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// TestLoginInTheSecondOfALoss: Redis restarted without its data; the store finds the loss and
// from then on refuses every token issued up to that second (iat has whole seconds). A login in
// that same second used to answer 200 with tokens refused at once ("token revoked"); it is now
// refused with ErrIssuedUnderCutOff (503, Retry-After) and records no session, without counting
// as a store failure, and a login one second later gives tokens that work.
func TestLoginInTheSecondOfALoss(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	st := newStore(t, client)
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock, core.WithStore(st), core.WithStoreTimeout(5*time.Second),
		core.WithStoreBreaker(2, time.Minute))
	ctx := context.Background()
	old, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Start()
	if _, err := m.Verify(ctx, old.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("a token issued before the loss: got %v, want ErrTokenRevoked", err)
	}
	v, err := client.Get(ctx, st.markerKey("alice")).Result()
	if err != nil {
		t.Fatalf("loss marker: %v", err)
	}
	lossAt, err := strconv.ParseInt(strings.SplitN(v, ":", 2)[0], 10, 64)
	if err != nil || lossAt == 0 {
		t.Fatalf("loss marker %q: no loss recorded", v)
	}

	// The login's clock in the second the loss was found in, as on any instance whose clock
	// agrees with the Redis server's.
	clock.Set(time.UnixMilli(lossAt))
	for range 3 { // more refusals than the breaker's threshold (2): none counts as a failure
		p, err := m.Issue(ctx, "alice", nil)
		if !errors.Is(err, core.ErrIssuedUnderCutOff) {
			t.Fatalf("login in the second of the loss: got %v (pair %v), want ErrIssuedUnderCutOff", err, p != nil)
		}
		resp := m.HTTP().Problem(err)
		if resp.Status != http.StatusServiceUnavailable || resp.RetryAfter == "" {
			t.Fatalf("answer: got %d Retry-After %q, want 503 with Retry-After", resp.Status, resp.RetryAfter)
		}
	}
	if list, err := st.Sessions(ctx, "alice"); err != nil || len(list) != 0 {
		t.Fatalf("sessions after refused logins: got %d (%v), want none recorded", len(list), err)
	}

	clock.Set(time.UnixMilli(lossAt).Truncate(time.Second).Add(time.Second))
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatalf("login a second later: %v (the breaker must not have opened)", err)
	}
	if _, err := m.Verify(ctx, p.AccessToken); err != nil {
		t.Errorf("access token of the login a second later: %v", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); err != nil {
		t.Errorf("refresh token of the login a second later: %v", err)
	}
}

// TestLoginHandlerInTheSecondOfALoss: the same through the login handler: 503 with Retry-After,
// not 200 with dead tokens.
func TestLoginHandlerInTheSecondOfALoss(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	st := newStore(t, client)
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock, core.WithStore(st), core.WithStoreTimeout(5*time.Second))
	srv.Stop()
	srv.Start()
	if _, err := st.Revoked(context.Background(), "alice", "x", "y"); err != nil { // finds the loss
		t.Fatal(err)
	}
	v, err := client.Get(context.Background(), st.markerKey("alice")).Result()
	if err != nil {
		t.Fatal(err)
	}
	lossAt, _ := strconv.ParseInt(strings.SplitN(v, ":", 2)[0], 10, 64)
	clock.Set(time.UnixMilli(lossAt))
	login := nethttpjwtLogin(m)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(`{"username":"alice","password":"wonderland"}`))
	r.Header.Set("Content-Type", "application/json")
	login.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "access_token") {
		t.Fatalf("login in the second of the loss: got %d Retry-After %q %s, want 503 with Retry-After and no tokens",
			w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

func nethttpjwtLogin(m *core.Manager) http.Handler {
	return nethttpjwt.LoginHandler(m, func(r *http.Request) (string, testutil.SuiteClaims, error) {
		return testutil.SuiteAuthenticate(core.HTTPRequest(r))
	})
}
