package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// recorder is an event hook that keeps what it receives.
type recorder struct {
	mu     sync.Mutex
	events []core.Event
}

func (r *recorder) hook(_ context.Context, e core.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for _, e := range r.events {
		k := e.Kind.String()
		if e.Op != "" {
			k += ":" + e.Op
		}
		ks = append(ks, k)
	}
	return ks
}

// lifecycle logs in, authenticates, lets the token expire, refreshes, replays a retired refresh
// token (reuse) and logs out.
func lifecycle(t *testing.T, m *core.Manager, clock *testutil.Clock) {
	t.Helper()
	ctx := context.Background()
	p, err := m.Issue(ctx, "u-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	clock.Advance(m.AccessTTL() + m.Leeway() + time.Second)
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenExpired) {
		t.Fatalf("got %v, want ErrTokenExpired", err)
	}
	p2, err := m.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
		t.Fatalf("got %v, want ErrRefreshReused", err)
	}
	if err := m.Logout(ctx, "", p2.RefreshToken); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultLoggingIsQuiet: with no logger configured (slog.Default at Info), a login, a refresh,
// an accepted and an expired token write nothing; reuse detection writes one Warn line without
// the user id. Not parallel: it replaces the default logger.
func TestDefaultLoggingIsQuiet(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() { slog.SetDefault(old) })

	clock := testutil.NewClock(t0)
	m, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret),
		core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	lifecycle(t, m, clock)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "event=reuse_detected") {
		t.Fatalf("got log %q, want exactly one WARN reuse_detected line", buf.String())
	}
	if strings.Contains(buf.String(), "u-1") || strings.Contains(buf.String(), "sub=") {
		t.Errorf("log carries the user id: %q", buf.String())
	}
	if !strings.Contains(lines[0], "sid=") {
		t.Errorf("reuse line lacks the session id: %q", lines[0])
	}
}

func TestLogLevelsAndSubject(t *testing.T) {
	t.Parallel()
	for _, withSub := range []bool{false, true} {
		var buf bytes.Buffer
		clock := testutil.NewClock(t0)
		opts := []core.Option{core.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))}
		if withSub {
			opts = append(opts, core.WithSubjectInLogs())
		}
		m := newManager(t, clock, opts...)
		lifecycle(t, m, clock)
		out := buf.String()
		for _, want := range []string{
			"level=DEBUG msg=\"jwtexp issued\"", "level=DEBUG msg=\"jwtexp authenticated\"",
			"level=DEBUG msg=\"jwtexp rejected\"", "level=DEBUG msg=\"jwtexp refreshed\"",
			"level=WARN msg=\"jwtexp reuse_detected\"", "level=DEBUG msg=\"jwtexp revoked\"",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("withSub=%v: log lacks %q:\n%s", withSub, want, out)
			}
		}
		if strings.Contains(out, "store_call") {
			t.Errorf("store calls are logged:\n%s", out)
		}
		if got := strings.Contains(out, "sub=u-1"); got != withSub {
			t.Errorf("WithSubjectInLogs=%v: sub in log = %v:\n%s", withSub, got, out)
		}
	}
}

func TestEventHooks(t *testing.T) {
	t.Parallel()
	var a, b recorder
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithEventHook(a.hook), core.WithEventHook(b.hook))
	lifecycle(t, m, clock)
	want := []string{
		"store_call:create_family", "issued",
		"authenticated",
		"rejected",
		"store_call:rotate", "refreshed",
		"store_call:rotate", "reuse_detected",
		"store_call:revoke_family", "revoked",
	}
	if got := a.kinds(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got events %v, want %v", got, want)
	}
	if got := b.kinds(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("second hook: got events %v, want %v", got, want)
	}
	for _, e := range a.events {
		if e.Time.IsZero() || e.Duration < 0 {
			t.Errorf("event %v: time %v, duration %v", e.Kind, e.Time, e.Duration)
		}
		if e.Kind == core.EventRejected && e.Reason != "token expired" {
			t.Errorf("rejection reason %q", e.Reason)
		}
		if e.Kind == core.EventAuthenticated && (e.Subject != "u-1" || e.SessionID == "" || e.TokenID == "") {
			t.Errorf("authenticated event %+v", e)
		}
	}
}

func TestStoreFailureEvent(t *testing.T) {
	t.Parallel()
	var r recorder
	clock := testutil.NewClock(t0)
	p, err := newManager(t, clock).Issue(context.Background(), "u-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, clock, core.WithStore(failingStore{}), core.WithEventHook(r.hook))
	if _, err := m.Verify(context.Background(), p.AccessToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("got %v, want ErrStoreUnavailable", err)
	}
	var call, failure bool
	for _, e := range r.events {
		call = call || (e.Kind == core.EventStoreCall && e.Op == core.StoreOpRevoked && e.Err != nil)
		failure = failure || (e.Kind == core.EventStoreFailure && e.Op == core.StoreOpRevoked)
	}
	if !call || !failure {
		t.Errorf("got %v, want a failed and a store_failure:revoked", r.kinds())
	}
}

func TestConfigWarning(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var r recorder
	newManager(t, testutil.NewClock(t0), core.WithInsecureCookie(), core.WithUnsafeLeeway(2*time.Minute),
		core.WithEventHook(r.hook), core.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if got := strings.Count(buf.String(), "level=WARN msg=\"jwtexp config_warning\""); got != 2 {
		t.Errorf("got %d config warnings, want 2:\n%s", got, buf.String())
	}
	if got := r.kinds(); len(got) != 2 || got[0] != "config_warning" {
		t.Errorf("hook got %v", got)
	}
}

func TestCombineHooks(t *testing.T) {
	t.Parallel()
	var a, b recorder
	h := core.CombineHooks(a.hook, nil, b.hook)
	h(context.Background(), core.Event{Kind: core.EventIssued})
	if len(a.events) != 1 || len(b.events) != 1 {
		t.Errorf("got %d and %d events, want 1 each", len(a.events), len(b.events))
	}
	core.CombineHooks()(context.Background(), core.Event{}) // no hooks: no panic
}

func TestReasonCode(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	ctx := context.Background()
	p, _ := m.Issue(ctx, "u-1", nil)
	_, expired := func() (*core.Claims, error) {
		c := testutil.NewClock(t0.Add(time.Hour))
		return newManager(t, c).Verify(ctx, p.AccessToken)
	}()
	_, bad := m.Verify(ctx, testutil.Tamper(p.AccessToken))
	_, wrongType := m.Verify(ctx, p.RefreshToken)
	p2, _ := m.Refresh(ctx, p.RefreshToken)
	clock.Advance(core.DefaultRefreshGrace)
	_, reused := m.Refresh(ctx, p.RefreshToken)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{expired, "expired"}, {bad, "bad_signature"}, {wrongType, "wrong_type"}, {reused, "reused"},
		{core.ErrExpMissing, "exp_missing"}, {errors.New("x"), "other"}, {nil, "other"},
		{fmt.Errorf("login: %w", core.ErrInvalidCredentials), "invalid_credentials"},
		{core.ErrInvalidCredentials, "invalid_credentials"},
		{fmt.Errorf("%w: check revocation: %w", core.ErrRequestCanceled, context.Canceled), "request_canceled"},
		{core.ErrInsufficientUserAuthentication, "insufficient_user_authentication"},
		{core.ErrReauthRefused, "reauth_refused"},
		{core.ErrCrossOrigin, "cross_origin"},
		{fmt.Errorf("create family: %w", core.ErrIssuedUnderCutOff), "cut_off_second"},
		{fmt.Errorf("jwks: %w", core.ErrKeysUnavailable), "keys_unavailable"},
		{&core.SessionChurnError{}, "session_churn"},
		{core.ErrDPoPProof, "dpop_proof"}, {core.ErrDPoPNonce, "dpop_nonce"}, {core.ErrDPoPBinding, "dpop_binding"},
	} {
		if got := core.ReasonCode(tc.err); got != tc.want {
			t.Errorf("ReasonCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	_ = p2
	codes := core.ReasonCodes()
	if n := len(codes); n != 28 {
		t.Errorf("ReasonCodes: %d codes, want 28", n)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Errorf("ReasonCodes lists %q twice", c)
		}
		seen[c] = true
	}
}
