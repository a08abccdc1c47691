package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func parseUnverified(t testing.TB, tok string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	return c
}

func TestIssueClaims(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	type profile struct {
		Role  string   `json:"role"`
		Teams []string `json:"teams"`
	}
	p, err := m.Issue(context.Background(), "alice", profile{Role: "admin", Teams: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	a, r := parseUnverified(t, p.AccessToken), parseUnverified(t, p.RefreshToken)
	for _, name := range []string{"iss", "sub", "aud", "iat", "exp", "jti", "sid"} {
		if a[name] == nil || r[name] == nil {
			t.Errorf("claim %s missing: access %v refresh %v", name, a, r)
		}
	}
	if a["jti"] == r["jti"] || a["sid"] != r["sid"] || len(a["jti"].(string)) != 22 {
		t.Errorf("jti must be 128 random bits per token and sid shared: access %v refresh %v", a, r)
	}
	if exp := int64(a["exp"].(float64)) - int64(a["iat"].(float64)); exp != int64(core.DefaultAccessTTL/time.Second) {
		t.Errorf("access lifetime: got %ds", exp)
	}
	if exp := int64(r["exp"].(float64)) - int64(r["iat"].(float64)); exp != int64(core.DefaultRefreshTTL/time.Second) {
		t.Errorf("refresh lifetime: got %ds", exp)
	}
	if p.ExpiresIn != 900 {
		t.Errorf("ExpiresIn: got %d, want 900", p.ExpiresIn)
	}
	c, err := m.Verify(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	got, err := core.CustomClaims[profile](c)
	if err != nil || got.Role != "admin" || len(got.Teams) != 2 {
		t.Fatalf("custom claims: got %+v, %v", got, err)
	}
	// Custom claims survive a refresh.
	clock.Advance(time.Minute)
	p2, err := m.Refresh(context.Background(), p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := m.Verify(context.Background(), p2.AccessToken)
	if got, _ := core.CustomClaims[profile](c2); got.Role != "admin" {
		t.Fatalf("custom claims after refresh: got %+v", got)
	}
	if _, err := m.Issue(context.Background(), "alice", map[string]any{"exp": 1}); !errors.Is(err, core.ErrReservedClaim) || !errors.Is(err, core.ErrClaims) {
		t.Fatalf("reserved custom claim: got %v", err)
	}
	if _, err := m.Issue(context.Background(), "alice", []int{1}); err == nil {
		t.Fatalf("custom claims that are not an object: got no error")
	}
	if _, err := m.Issue(context.Background(), "", nil); !errors.Is(err, core.ErrSubjectEmpty) {
		t.Fatalf("empty subject: got %v", err)
	}
	if _, err := m.Verify(context.Background(), p.RefreshToken); !errors.Is(err, core.ErrTokenType) {
		t.Fatalf("refresh token as access: got %v", err)
	}
	if _, err := m.Refresh(context.Background(), p2.AccessToken); !errors.Is(err, core.ErrTokenType) || !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("access token as refresh: got %v", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	var events []core.EventKind
	var mu sync.Mutex
	m := newManager(t, clock, core.WithEventHook(func(_ context.Context, e core.Event) {
		mu.Lock()
		events = append(events, e.Kind)
		mu.Unlock()
	}))
	p1, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(time.Minute)
	p2, err := m.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.RefreshToken == p1.RefreshToken || p2.SessionID != p1.SessionID {
		t.Fatalf("rotation must hand out a new refresh token of the same session")
	}
	// Inside the grace window a second refresh with the retired token is the same client's burst:
	// the session's current refresh token again, no second rotation.
	clock.Advance(time.Second)
	again, err := m.Refresh(ctx, p1.RefreshToken)
	if err != nil || again.RefreshToken != p2.RefreshToken {
		t.Fatalf("replay inside the grace window: got %v, same token %v; want the current token", err, err == nil && again.RefreshToken == p2.RefreshToken)
	}
	clock.Advance(core.DefaultRefreshGrace)
	// Past the window, reuse of the retired token revokes the session...
	if _, err := m.Refresh(ctx, p1.RefreshToken); !errors.Is(err, core.ErrRefreshReused) || !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("reuse: got %v, want ErrRefreshReused", err)
	}
	// ...including the token the legitimate client holds and its access tokens.
	if _, err := m.Refresh(ctx, p2.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("after reuse: got %v, want ErrInvalidGrant", err)
	}
	if _, err := m.Verify(ctx, p2.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("access token after reuse: got %v, want ErrTokenRevoked", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !containsKind(events, core.EventReuseDetected) {
		t.Fatalf("no reuse event in %v", events)
	}
}

func containsKind(ks []core.EventKind, k core.EventKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestGraceWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithRefreshGrace(5*time.Second))
	p1, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(time.Minute)
	p2, err := m.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Second)
	p3, err := m.Refresh(ctx, p1.RefreshToken) // second tab, inside the grace window
	if err != nil {
		t.Fatalf("replay within grace: %v", err)
	}
	if p3.RefreshToken != p2.RefreshToken {
		t.Fatalf("grace replay must return the current refresh token, not a fork")
	}
	if p3.AccessToken == p2.AccessToken {
		t.Fatalf("grace replay must mint a new access token")
	}
	clock.Advance(2 * time.Second)
	if _, err := m.Refresh(ctx, p1.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
		t.Fatalf("replay after grace: got %v, want ErrRefreshReused", err)
	}
}

func TestMaxSessionAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithRefreshTTL(time.Hour), core.WithMaxSessionAge(3*time.Hour))
	p, _ := m.Issue(ctx, "alice", nil)
	var err error
	for i := 0; i < 10; i++ {
		clock.Advance(50 * time.Minute)
		var next *core.TokenPair
		next, err = m.Refresh(ctx, p.RefreshToken)
		if err != nil {
			break
		}
		if next.RefreshExpiresAt.After(t0.Add(3 * time.Hour)) {
			t.Fatalf("rotation extended the session to %v", next.RefreshExpiresAt)
		}
		if next.AccessExpiresAt.After(t0.Add(3 * time.Hour)) {
			t.Fatalf("access token outlives the session: %v", next.AccessExpiresAt)
		}
		p = next
	}
	if !errors.Is(err, core.ErrInvalidGrant) || clock.Now().Sub(t0) > 3*time.Hour+50*time.Minute {
		t.Fatalf("session must end at its maximum age: got %v at +%v", err, clock.Now().Sub(t0))
	}
}

func TestRotationOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithoutRotation())
	p, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(time.Minute)
	for i := 0; i < 2; i++ {
		p2, err := m.Refresh(ctx, p.RefreshToken)
		if err != nil || p2.RefreshToken != "" || p2.AccessToken == "" {
			t.Fatalf("refresh without rotation: got %+v, %v", p2, err)
		}
	}
	if err := m.Logout(ctx, "", p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("after logout: got %v, want ErrTokenRevoked", err)
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	defer store.Close()
	m := newManager(t, clock, core.WithStore(store))

	a, _ := m.Issue(ctx, "alice", nil)
	b, _ := m.Issue(ctx, "alice", nil)
	c, _ := m.Verify(ctx, a.AccessToken)
	if err := m.RevokeToken(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, a.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("revoked jti: got %v", err)
	}
	if _, err := m.Verify(ctx, b.AccessToken); err != nil {
		t.Fatalf("other session: %v", err)
	}
	if err := m.RevokeSession(ctx, "alice", b.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, b.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("revoked session: got %v", err)
	}
	if _, err := m.Refresh(ctx, b.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("refresh of revoked session: got %v", err)
	}

	c1, _ := m.Issue(ctx, "carol", nil)
	c2, _ := m.Issue(ctx, "carol", nil)
	if err := m.RevokeSubject(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*core.TokenPair{c1, c2} {
		if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
			t.Fatalf("cut-off access: got %v", err)
		}
		if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrTokenRevoked) {
			t.Fatalf("cut-off refresh: got %v", err)
		}
	}
	clock.Advance(time.Second)
	c3, _ := m.Issue(ctx, "carol", nil)
	if _, err := m.Verify(ctx, c3.AccessToken); err != nil {
		t.Fatalf("login after cut-off: %v", err)
	}

	// Records expire with the tokens they guard: the store ends empty.
	clock.Advance(core.DefaultMaxSessionAge + time.Hour)
	store.Sweep()
	if n := store.Len(); n != 0 {
		t.Fatalf("store holds %d records after every token expired, want 0", n)
	}

	// Stateless mode never asks the store.
	m2 := newManager(t, clock, core.WithoutRevocationCheck(), core.WithStore(store))
	p, _ := m2.Issue(ctx, "dave", nil)
	m2.RevokeSession(ctx, "dave", p.SessionID)
	if _, err := m2.Verify(ctx, p.AccessToken); err != nil {
		t.Fatalf("without revocation check: %v", err)
	}
}

func TestLogoutAcceptsJustExpiredToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	p, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(core.DefaultAccessTTL + time.Second)
	if err := m.Logout(ctx, p.AccessToken, ""); err != nil {
		t.Fatalf("logout with just-expired token: %v", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Fatalf("refresh after logout: got %v", err)
	}
	if err := m.Logout(ctx, p.AccessToken, ""); err != nil {
		t.Fatalf("second logout must succeed too: %v", err)
	}
	if err := m.Logout(ctx, testutil.Tamper(p.AccessToken), ""); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("logout with forged token: got %v", err)
	}
	clock.Advance(core.DefaultRefreshTTL)
	if err := m.Logout(ctx, p.AccessToken, ""); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("logout with long-dead token: got %v", err)
	}
}

// failingStore fails every call, as a store whose server is down does. It is not a mock of a
// store's behaviour: it stands for "the network is gone", which the real-Redis tests also cover.
type failingStore struct{ core.Store }

var errDown = errors.New("connection refused")

func (failingStore) CreateFamily(context.Context, core.Family, core.SessionLimit) ([]string, error) {
	return nil, errDown
}
func (failingStore) Sessions(context.Context, string) ([]core.Family, error) { return nil, errDown }
func (failingStore) EndSessions(context.Context, string, string, time.Time) ([]string, error) {
	return nil, errDown
}
func (failingStore) Rotate(context.Context, core.RotateRequest) (core.Family, core.RotateResult, error) {
	return core.Family{}, 0, errDown
}
func (failingStore) Revoked(context.Context, string, string, string) (core.Revocation, error) {
	return core.Revocation{}, errDown
}
func (failingStore) RevokeFamily(context.Context, string, string, time.Time) error { return errDown }
func (failingStore) Close() error                                                  { return nil }

func TestStoreFailureFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testutil.NewClock(t0)
	good := newManager(t, clock)
	p, _ := good.Issue(ctx, "alice", nil)
	m := newManager(t, clock, core.WithStore(failingStore{}))
	for name, err := range map[string]error{
		"verify":  func() error { _, err := m.Verify(ctx, p.AccessToken); return err }(),
		"refresh": func() error { _, err := m.Refresh(ctx, p.RefreshToken); return err }(),
		"issue":   func() error { _, err := m.Issue(ctx, "alice", nil); return err }(),
		"logout":  m.Logout(ctx, p.AccessToken, ""),
	} {
		if !errors.Is(err, core.ErrStoreUnavailable) || !errors.Is(err, errDown) {
			t.Errorf("%s: got %v, want ErrStoreUnavailable wrapping the store error", name, err)
		}
		if errors.Is(err, core.ErrInvalidGrant) {
			t.Errorf("%s: a store failure is not a refused grant", name)
		}
		if r := m.HTTP().Problem(err); r.Status != 503 || !strings.Contains(string(r.Body), "temporarily_unavailable") {
			t.Errorf("%s: got %d %s, want 503", name, r.Status, r.Body)
		}
	}
}

// A cookie-mode client that still sends an empty JSON object gets its cookie read.
func TestServeRefreshEmptyBodyUsesCookie(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	p, _ := m.Issue(context.Background(), "alice", nil)
	r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(&http.Cookie{Name: core.DefaultRefreshCookie, Value: p.RefreshToken})
	resp := m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(r))
	if resp.Status != http.StatusOK || len(resp.SetCookie) != 1 || strings.Contains(string(resp.Body), "refresh_token") {
		t.Fatalf("got %d %s %v, want 200 in cookie mode", resp.Status, resp.Body, resp.SetCookie)
	}
	r = httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{}`))
	if resp := m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(r)); resp.Status != http.StatusBadRequest || resp.WWWAuthenticate != "" {
		t.Fatalf("empty body without cookie: got %d %q, want 400 without a challenge", resp.Status, resp.WWWAuthenticate)
	}
}

func TestCustomClaimsErrors(t *testing.T) {
	t.Parallel()
	type wrong struct {
		Sub int `json:"sub"`
	}
	if v, err := core.CustomClaims[wrong](nil); err == nil || v.Sub != 0 {
		t.Fatalf("nil claims: got %+v, %v", v, err)
	}
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	p, _ := m.Issue(context.Background(), "alice", map[string]int{"n": 1})
	c, _ := m.Verify(context.Background(), p.AccessToken)
	type half struct {
		N   int `json:"n"`
		Sub int `json:"sub"` // "alice" does not fit
	}
	if v, err := core.CustomClaims[half](c); err == nil || v != (half{}) {
		t.Fatalf("claims not fitting T: got %+v, %v; want the zero value and an error", v, err)
	}
}
