package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

type account struct {
	Role string `json:"role"`
}

// directory is a user store the refresh hook reads.
type directory struct {
	mu       sync.Mutex
	role     map[string]string
	disabled map[string]bool
	down     bool
	calls    int
}

var errDisabled = errors.New("user disabled")

func (d *directory) hook(_ context.Context, sub string, cur account) (account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	switch {
	case d.down:
		return cur, fmt.Errorf("%w: user store: connection refused", core.ErrStoreUnavailable)
	case d.disabled[sub]:
		return cur, errDisabled
	}
	cur.Role = d.role[sub]
	return cur, nil
}

func (d *directory) set(f func(d *directory)) {
	d.mu.Lock()
	f(d)
	d.mu.Unlock()
}

func TestRefreshHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, rotation := range []bool{true, false} {
		t.Run(fmt.Sprint("rotation=", rotation), func(t *testing.T) {
			d := &directory{role: map[string]string{"alice": "user"}, disabled: map[string]bool{}}
			var events []core.Event
			var mu sync.Mutex
			opts := []core.Option{core.WithRefreshHook(d.hook),
				core.WithEventHook(func(_ context.Context, e core.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })}
			if !rotation {
				opts = append(opts, core.WithoutRotation())
			}
			m := newManager(t, testutil.NewClock(t0), opts...)
			role := func(tok string) string {
				c, err := m.Verify(ctx, tok)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				a, _ := core.CustomClaims[account](c)
				return a.Role
			}
			p, err := m.Issue(ctx, "alice", account{Role: "user"})
			if err != nil {
				t.Fatal(err)
			}
			refresh := func(tok string) (*core.TokenPair, error) {
				next, err := m.Refresh(ctx, tok)
				if err == nil && next.RefreshToken == "" {
					next.RefreshToken = tok // without rotation the refresh token stays
				}
				return next, err
			}

			d.set(func(d *directory) { d.role["alice"] = "admin" })
			next, err := refresh(p.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if got := role(next.AccessToken); got != "admin" {
				t.Errorf("role right after refresh: got %q, want admin", got)
			}

			// The user store is down: 503, the session stays, the same token works later.
			d.set(func(d *directory) { d.down = true })
			_, err = refresh(next.RefreshToken)
			if !errors.Is(err, core.ErrStoreUnavailable) || m.HTTP().Problem(err).Status != 503 {
				t.Fatalf("user store down: got %v, want ErrStoreUnavailable", err)
			}
			d.set(func(d *directory) { d.down = false })
			if next, err = refresh(next.RefreshToken); err != nil {
				t.Fatalf("after the user store came back: %v", err)
			}

			// A disabled user: the refresh is refused and the session ends, access token included.
			d.set(func(d *directory) { d.disabled["alice"] = true })
			_, err = refresh(next.RefreshToken)
			if !errors.Is(err, core.ErrInvalidGrant) || !errors.Is(err, errDisabled) || core.Reason(err) != "session revoked" {
				t.Fatalf("disabled: got %v, want invalid grant, session revoked, errDisabled in the chain", err)
			}
			if p := m.HTTP().Problem(err); p.Status != 400 || !strings.Contains(string(p.Body), `"invalid_grant"`) {
				t.Errorf("disabled: got %d %s", p.Status, p.Body)
			}
			if _, err := m.Verify(ctx, next.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
				t.Errorf("access token of the ended session: got %v, want ErrTokenRevoked", err)
			}
			d.set(func(d *directory) { d.disabled["alice"] = false })
			if _, err := refresh(next.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
				t.Errorf("refresh after the session ended: got %v, want invalid grant", err)
			}
			mu.Lock()
			found := false
			for _, e := range events {
				if e.Kind == core.EventRevoked && e.Reason == "refresh refused" && errors.Is(e.Err, errDisabled) && e.SessionID == p.SessionID {
					found = true
				}
			}
			mu.Unlock()
			if !found {
				t.Errorf("no EventRevoked for the refused refresh in %+v", events)
			}
		})
	}
}

func TestRefreshHookClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Claims that do not decode into T end the session.
	m := newManager(t, testutil.NewClock(t0), core.WithRefreshHook(func(_ context.Context, _ string, a account) (account, error) { return a, nil }))
	p, _ := m.Issue(ctx, "alice", map[string]any{"role": 7})
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Errorf("undecodable claims: got %v, want invalid grant", err)
	}
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("undecodable claims: access token got %v, want revoked", err)
	}

	// A hook writing a reserved name is a bug: 500, nothing rotated.
	type bad struct {
		Sub string `json:"sub"`
	}
	m = newManager(t, testutil.NewClock(t0), core.WithRefreshHook(func(_ context.Context, s string, b bad) (bad, error) { return bad{Sub: "mallory"}, nil }))
	p, _ = m.Issue(ctx, "alice", nil)
	_, err := m.Refresh(ctx, p.RefreshToken)
	if !errors.Is(err, core.ErrReservedClaim) || m.HTTP().Problem(err).Status != 500 {
		t.Errorf("reserved name from the hook: got %v", err)
	}

	// A hook growing the claims over the size limit: refused before rotation, so the refresh
	// token still works once the claims shrink again.
	var pad int // the hook runs on the goroutine calling Refresh
	m = newManager(t, testutil.NewClock(t0), core.WithMaxTokenSize(1024),
		core.WithRefreshHook(func(_ context.Context, _ string, v map[string]any) (map[string]any, error) {
			return map[string]any{"pad": strings.Repeat("x", pad)}, nil
		}))
	p, _ = m.Issue(ctx, "alice", nil)
	pad = 1000
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, core.ErrTokenTooLarge) {
		t.Fatalf("hook over the limit: got %v, want ErrTokenTooLarge", err)
	}
	pad = 10
	if _, err := m.Refresh(ctx, p.RefreshToken); err != nil {
		t.Errorf("the refused refresh must not have retired the token: %v", err)
	}
}

func TestReadCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ct, body string
		want           core.Credentials // zero: refused
	}{
		{"json", "application/json", `{"username":"alice","password":"wonderland"}`, core.Credentials{Username: "alice", Password: "wonderland"}},
		{"json no type", "", ` {"password":"p","username":"u"} `, core.Credentials{Username: "u", Password: "p"}},
		{"form", "application/x-www-form-urlencoded", "grant_type=password&username=alice&password=w%20l", core.Credentials{Username: "alice", Password: "w l"}},
		{"form without grant_type", "application/x-www-form-urlencoded; charset=utf-8", "username=a&password=b", core.Credentials{Username: "a", Password: "b"}},
		{"form other grant", "application/x-www-form-urlencoded", "grant_type=client_credentials&username=a&password=b", core.Credentials{}},
		{"form twice", "application/x-www-form-urlencoded", "username=a&username=b&password=c", core.Credentials{}},
		{"empty", "", "", core.Credentials{}},
		{"not an object", "application/json", `"alice"`, core.Credentials{}},
		{"wrong case", "application/json", `{"Username":"alice","Password":"w"}`, core.Credentials{}},
		{"duplicate", "application/json", `{"username":"alice","username":"bob","password":"w"}`, core.Credentials{}},
		{"number", "application/json", `{"username":1,"password":"w"}`, core.Credentials{}},
		{"empty password", "application/json", `{"username":"alice","password":""}`, core.Credentials{}},
		{"huge", "application/json", `{"username":"` + strings.Repeat("a", core.MaxBodySize) + `","password":"w"}`, core.Credentials{}},
	} {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(tc.body))
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		got, err := core.ReadCredentials(core.HTTPRequest(r))
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
		if (tc.want == core.Credentials{}) && (!errors.Is(err, core.ErrInvalidRequest) || core.Reason(err) != "malformed login request") {
			t.Errorf("%s: got %v, want malformed login request", tc.name, err)
		}
	}
}

func TestServeLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newManager(t, testutil.NewClock(t0))
	req := func(cookie bool) core.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if cookie {
			r.Header.Set(core.RefreshTransportHeader, "cookie")
		}
		return core.HTTPRequest(r)
	}
	ok := func() (string, any, error) { return "alice", account{Role: "user"}, nil }
	fail := func(err error) func() (string, any, error) {
		return func() (string, any, error) { return "", nil, err }
	}

	r := m.HTTP().ServeLogin(ctx, req(false), ok)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"refresh_token"`) || r.CacheControl != "no-store" || len(r.SetCookie) != 0 {
		t.Errorf("login: got %d %s %v", r.Status, r.Body, r.SetCookie)
	}
	r = m.HTTP().ServeLogin(ctx, req(true), ok)
	if r.Status != 200 || strings.Contains(string(r.Body), `"refresh_token"`) || len(r.SetCookie) != 1 || !strings.Contains(r.SetCookie[0], "HttpOnly") {
		t.Errorf("cookie login: got %d %s %v", r.Status, r.Body, r.SetCookie)
	}
	for name, tc := range map[string]struct {
		auth      func() (string, any, error)
		status    int
		challenge string
		body      string
	}{
		"bad credentials": {fail(fmt.Errorf("%w: no user bob", core.ErrInvalidCredentials)), 401, `Bearer realm="jwtexp"`,
			`{"error":"invalid_grant","error_description":"invalid username or password"}`},
		"bad body": {fail(second(core.ReadCredentials(req(false)))), 400,
			`Bearer realm="jwtexp", error="invalid_request", error_description="malformed login request"`,
			`{"error":"invalid_request","error_description":"malformed login request"}`},
		"user store down": {fail(fmt.Errorf("%w: db", core.ErrStoreUnavailable)), 503, "",
			`{"error":"temporarily_unavailable","error_description":"service temporarily unavailable"}`},
		"app bug": {fail(errors.New("secret detail")), 500, "", `{"error":"server_error","error_description":"internal error"}`},
		"empty subject": {func() (string, any, error) { return "", nil, nil }, 500, "",
			`{"error":"server_error","error_description":"internal error"}`},
	} {
		r := m.HTTP().ServeLogin(ctx, req(false), tc.auth)
		if r.Status != tc.status || r.WWWAuthenticate != tc.challenge || string(r.Body) != tc.body {
			t.Errorf("%s: got %d %q %s, want %d %q %s", name, r.Status, r.WWWAuthenticate, r.Body, tc.status, tc.challenge, tc.body)
		}
	}
	if !errors.Is(core.ErrInvalidCredentials, core.ErrInvalidGrant) {
		t.Error("ErrInvalidCredentials must match ErrInvalidGrant")
	}
}
