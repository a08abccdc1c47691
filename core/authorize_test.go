package core_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// foreign mints an HS256 access token of the test issuer with extra claims (raw JSON members).
func foreign(now time.Time, over map[string]string) string {
	return testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","typ":"JWT"}`, claimsJSON(now, over))
}

func TestScopes(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	cases := []struct {
		name   string
		over   map[string]string
		scopes []string // nil: the token is refused with "invalid scope claim"
	}{
		{"none", map[string]string{}, []string{}},
		{"scope string", map[string]string{"scope": `"profile admin"`}, []string{"profile", "admin"}},
		{"extra spaces", map[string]string{"scope": `" profile  admin "`}, []string{"profile", "admin"}},
		{"scp array", map[string]string{"scp": `["admin", "write"]`}, []string{"admin", "write"}},
		{"scp empty array", map[string]string{"scp": `[]`}, []string{}},
		{"scp string", map[string]string{"scp": `"read write"`}, []string{"read", "write"}},
		{"both", map[string]string{"scope": `"profile"`, "scp": `["admin"]`}, []string{"profile", "admin"}},
		{"escaped", map[string]string{"scope": `"\u0061dmin"`}, []string{"admin"}},
		{"array element is one scope", map[string]string{"scp": `["a b"]`}, []string{"a b"}},
		{"scope number", map[string]string{"scope": `5`}, nil},
		{"scope array", map[string]string{"scope": `["admin"]`}, nil},
		{"scope null", map[string]string{"scope": `null`}, nil},
		{"scp number element", map[string]string{"scp": `["admin", 1]`}, nil},
		{"scp object", map[string]string{"scp": `{"admin":true}`}, nil},
		{"scp unterminated", map[string]string{"scp": `["admin"`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.Verify(context.Background(), foreign(clock.Now(), tc.over))
			if tc.scopes == nil {
				if !errors.Is(err, core.ErrClaims) || core.Reason(err) != "invalid scope claim" {
					t.Fatalf("got %v, want invalid scope claim", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Scopes(); !slices.Equal(got, tc.scopes) && !(len(got) == 0 && len(tc.scopes) == 0) {
				t.Errorf("Scopes: got %q, want %q", got, tc.scopes)
			}
			for _, s := range tc.scopes {
				if !c.HasScope(s) {
					t.Errorf("HasScope(%q) = false", s)
				}
			}
			for _, s := range []string{"Admin", "adm", "admin:read", "", "profile admin"} {
				if c.HasScope(s) {
					t.Errorf("HasScope(%q) = true for %q", s, c.Scopes())
				}
			}
		})
	}
}

func TestAuthorizeScopes(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	ctx := context.Background()
	all := core.MustRequirement(core.RequireScope("admin", "write"))
	anyOf := core.MustRequirement(core.RequireAnyScope("admin", "write"))
	verify := func(over map[string]string) *core.Claims {
		c, err := m.Verify(ctx, foreign(clock.Now(), over))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	both := verify(map[string]string{"scope": `"admin write"`})
	one := verify(map[string]string{"scp": `["write"]`})
	none := verify(map[string]string{"scope": `"profile"`})
	for _, tc := range []struct {
		name string
		c    *core.Claims
		req  *core.Requirement
		ok   bool
	}{
		{"all: both", both, all, true}, {"all: one", one, all, false}, {"all: none", none, all, false},
		{"any: both", both, anyOf, true}, {"any: one", one, anyOf, true}, {"any: none", none, anyOf, false},
	} {
		err := m.Authorize(ctx, tc.c, tc.req)
		if tc.ok != (err == nil) {
			t.Errorf("%s: got %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, core.ErrInsufficientScope) {
			t.Errorf("%s: got %v, want ErrInsufficientScope", tc.name, err)
		}
	}
	p := m.HTTP().Problem(m.Authorize(ctx, none, all))
	if want := `Bearer realm="jwtexp", error="insufficient_scope", error_description="insufficient scope", scope="admin write"`; p.Status != 403 || p.WWWAuthenticate != want {
		t.Errorf("problem: got %d %q, want 403 %q", p.Status, p.WWWAuthenticate, want)
	}
	if string(p.Body) != `{"error":"insufficient_scope","error_description":"insufficient scope"}` {
		t.Errorf("body: got %s", p.Body)
	}
	if err := m.Authorize(ctx, nil, all); !errors.Is(err, core.ErrTokenMissing) {
		t.Errorf("anonymous: got %v, want ErrTokenMissing", err)
	}
	if err := m.Authorize(ctx, both, nil); err == nil || m.HTTP().Problem(err).Status != 500 {
		t.Errorf("nil requirement: got %v, want a 500", err)
	}
}

// TestScopeCheckAllocs: checking scopes on a request allocates nothing (not parallel:
// AllocsPerRun needs the process to itself).
func TestScopeCheckAllocs(t *testing.T) {
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	ctx := context.Background()
	all := core.MustRequirement(core.RequireScope("admin", "write"))
	anyOf := core.MustRequirement(core.RequireAnyScope("admin", "write"))
	for _, over := range []map[string]string{{"scope": `"profile admin write"`}, {"scp": `["profile", "admin", "write"]`}} {
		c, err := m.Verify(ctx, foreign(clock.Now(), over))
		if err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(100, func() {
			if m.Authorize(ctx, c, all, anyOf) != nil {
				t.Fatal("refused")
			}
		}); allocs != 0 {
			t.Errorf("%v: scope check allocates %v times, want 0", over, allocs)
		}
	}
}

func TestRequirementConfig(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"no scope":      second(core.RequireScope()),
		"space":         second(core.RequireScope("a b")),
		"quote":         second(core.RequireAnyScope(`a"b`)),
		"empty":         second(core.RequireScope("")),
		"nil predicate": second(core.RequireClaims[struct{}](nil)),
		"empty step-up": second(core.RequireStepUp(core.StepUp{})),
		"negative age":  second(core.RequireStepUp(core.StepUp{MaxAge: -time.Second})),
		"fractional":    second(core.RequireStepUp(core.StepUp{MaxAge: 1500 * time.Millisecond})),
		"bad acr":       second(core.RequireStepUp(core.StepUp{ACRValues: []string{"two words"}})),
		"nil hook":      second(core.New(core.WithRefreshHook[struct{}](nil))),
	} {
		if !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "RequireScope: no scope given") {
			t.Errorf("MustRequirement: got panic %v", r)
		}
	}()
	core.MustRequirement(core.RequireScope())
}

func second[T any](_ T, err error) error { return err }

func TestRequireClaims(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	ctx := context.Background()
	type user struct {
		Role string `json:"role"`
	}
	admin := core.MustRequirement(core.RequireClaims(func(u user) bool { return u.Role == "admin" }))
	for _, tc := range []struct {
		role string
		ok   bool
	}{{`"admin"`, true}, {`"user"`, false}, {`"Admin"`, false}, {`["admin"]`, false}} {
		c, err := m.Verify(ctx, foreign(clock.Now(), map[string]string{"role": tc.role}))
		if err != nil {
			t.Fatal(err)
		}
		err = m.Authorize(ctx, c, admin)
		if tc.ok != (err == nil) {
			t.Errorf("role %s: got %v", tc.role, err)
		}
		if err != nil {
			p := m.HTTP().Problem(err)
			if want := `Bearer realm="jwtexp", error="insufficient_scope", error_description="insufficient privileges"`; p.Status != 403 || p.WWWAuthenticate != want {
				t.Errorf("role %s: got %d %q", tc.role, p.Status, p.WWWAuthenticate)
			}
		}
	}
	// Case-sensitive names: ROLE is not role.
	c, _ := m.Verify(ctx, foreign(clock.Now(), map[string]string{"ROLE": `"admin"`}))
	if err := m.Authorize(ctx, c, admin); err == nil {
		t.Error("ROLE accepted as role")
	}
}

func TestStepUp(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock, core.WithLeeway(5*time.Second))
	ctx := context.Background()
	recent := core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: 5 * time.Minute}))
	mfa := core.MustRequirement(core.RequireStepUp(core.StepUp{ACRValues: []string{"mfa", "hwk"}}))
	check := func(tok string, req *core.Requirement) error {
		t.Helper()
		c, err := m.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return m.Authorize(ctx, c, req)
	}
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Verify(ctx, p.AccessToken); !c.AuthTime.Equal(t0) {
		t.Fatalf("auth_time: got %v, want the login time %v", c.AuthTime, t0)
	}
	if err := check(p.AccessToken, recent); err != nil {
		t.Errorf("fresh login: %v", err)
	}
	clock.Advance(5*time.Minute + 5*time.Second) // max age plus leeway: still accepted
	if err := check(p.AccessToken, recent); err != nil {
		t.Errorf("at max age plus leeway: %v", err)
	}
	clock.Advance(time.Second)
	err = check(p.AccessToken, recent)
	if !errors.Is(err, core.ErrInsufficientUserAuthentication) {
		t.Fatalf("old login: got %v", err)
	}
	pr := m.HTTP().Problem(err)
	want := `Bearer realm="jwtexp", error="insufficient_user_authentication", error_description="more recent authentication is required", max_age="300"`
	if pr.Status != 401 || pr.WWWAuthenticate != want {
		t.Errorf("problem: got %d %q, want 401 %q", pr.Status, pr.WWWAuthenticate, want)
	}
	if string(pr.Body) != `{"error":"insufficient_user_authentication","error_description":"more recent authentication is required"}` {
		t.Errorf("body: got %s", pr.Body)
	}

	// Refresh keeps auth_time: a refreshed token is no more recent a login.
	next, err := m.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Verify(ctx, next.AccessToken); !c.AuthTime.Equal(t0) {
		t.Errorf("refreshed auth_time: got %v, want %v", c.AuthTime, t0)
	}
	if err := check(next.AccessToken, recent); !errors.Is(err, core.ErrInsufficientUserAuthentication) {
		t.Errorf("refreshed token: got %v, want a refusal", err)
	}
	again, _ := m.Refresh(ctx, next.RefreshToken)
	if c, _ := m.Verify(ctx, again.AccessToken); !c.AuthTime.Equal(t0) {
		t.Errorf("second refresh auth_time: got %v, want %v", c.AuthTime, t0)
	}

	now := clock.Now()
	for name, tc := range map[string]struct {
		over map[string]string
		req  *core.Requirement
		ok   bool
	}{
		"no auth_time":     {map[string]string{}, recent, false},
		"recent":           {map[string]string{"auth_time": jsonTime(now.Add(-time.Minute))}, recent, true},
		"future auth_time": {map[string]string{"auth_time": jsonTime(now.Add(time.Hour))}, recent, false},
		"acr mfa":          {map[string]string{"acr": `"mfa"`}, mfa, true},
		"acr pwd":          {map[string]string{"acr": `"pwd"`}, mfa, false},
		"acr missing":      {map[string]string{}, mfa, false},
	} {
		err := check(foreign(now, tc.over), tc.req)
		if tc.ok != (err == nil) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	err = check(foreign(now, map[string]string{"acr": `"pwd"`}), mfa)
	if got := m.HTTP().Problem(err).WWWAuthenticate; got != `Bearer realm="jwtexp", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="mfa hwk"` {
		t.Errorf("acr challenge: got %q", got)
	}
	for _, bad := range []map[string]string{{"auth_time": `"1"`}, {"auth_time": `-1`}, {"acr": `1`}} {
		if _, err := m.Verify(ctx, foreign(now, bad)); !errors.Is(err, core.ErrClaims) {
			t.Errorf("%v: got %v, want ErrClaims", bad, err)
		}
	}
}

func jsonTime(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestIssueCustomClaimChecks(t *testing.T) {
	t.Parallel()
	m := newManager(t, testutil.NewClock(t0))
	ctx := context.Background()
	if _, err := m.Issue(ctx, "alice", map[string]any{"auth_time": 1}); !errors.Is(err, core.ErrReservedClaim) {
		t.Errorf("auth_time in custom claims: got %v, want ErrReservedClaim", err)
	}
	for _, bad := range []map[string]any{{"scope": 5}, {"scope": []string{"a"}}, {"scp": 1}, {"acr": true}} {
		if _, err := m.Issue(ctx, "alice", bad); !errors.Is(err, core.ErrClaims) {
			t.Errorf("%v: got %v, want ErrClaims", bad, err)
		}
	}
	p, err := m.Issue(ctx, "alice", map[string]any{"scope": "profile admin", "acr": "mfa"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.Verify(ctx, p.AccessToken)
	if !c.HasScope("admin") || c.ACR != "mfa" {
		t.Errorf("got scopes %q acr %q", c.Scopes(), c.ACR)
	}
}

func TestTokenSizeCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := core.NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	m := newManager(t, testutil.NewClock(t0), core.WithStore(store), core.WithMaxTokenSize(2048))
	_, err := m.Issue(ctx, "alice", map[string]string{"pad": strings.Repeat("x", 1600)})
	if !errors.Is(err, core.ErrTokenTooLarge) || !strings.Contains(err.Error(), "WithMaxTokenSize") {
		t.Fatalf("got %v, want ErrTokenTooLarge naming WithMaxTokenSize", err)
	}
	if n := store.Len(); n != 0 {
		t.Errorf("a refused Issue left %d records in the store", n)
	}
	if got := m.HTTP().Problem(err).Status; got != http.StatusInternalServerError {
		t.Errorf("status: got %d, want 500", got)
	}
	// Just under the limit passes, and every token issued is accepted back.
	for pad := 1000; pad < 1600; pad += 7 {
		p, err := m.Issue(ctx, "alice", map[string]string{"pad": strings.Repeat("x", pad)})
		if errors.Is(err, core.ErrTokenTooLarge) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(p.AccessToken) > 2048 || len(p.RefreshToken) > 2048 {
			t.Fatalf("pad %d: issued %d/%d bytes over the limit", pad, len(p.AccessToken), len(p.RefreshToken))
		}
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatalf("pad %d: issued token refused: %v", pad, err)
		}
	}
}

func TestTokenSizeCapAsymmetric(t *testing.T) {
	t.Parallel()
	for _, k := range benchKeys(nil) {
		m, err := core.New(core.WithAccessKeys(k.key), core.WithRefreshKeys(core.Key{Secret: testutil.RefreshSecret}),
			core.WithIssuer(testutil.Issuer), core.WithAudience(testutil.Audience), core.WithLogger(nil),
			core.WithMaxTokenSize(1500), core.WithoutSessionChurnLimit()) // hundreds of logins of one user
		if err != nil {
			t.Fatal(err)
		}
		largest := 0
		for pad := 0; pad < 1500; pad += 3 {
			p, err := m.Issue(context.Background(), "alice", map[string]string{"pad": strings.Repeat("x", pad)})
			if errors.Is(err, core.ErrTokenTooLarge) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			largest = max(len(p.AccessToken), len(p.RefreshToken))
			if largest > 1500 {
				t.Fatalf("%s: issued %d bytes, limit 1500", k.name, largest)
			}
		}
		if largest < 1500-8 { // pads step by 3 bytes of JSON, 4 of base64
			t.Errorf("%s: refused at %d bytes, well under the limit: the size estimate is off", k.name, largest)
		}
		m.Close()
	}
}

// A Requirement nobody built (declared and never assigned, or new(Requirement)) asks for
// nothing; Authorize refuses it instead of letting every request through.
func TestZeroRequirementFailsClosed(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(t0)
	m := newManager(t, clock)
	ctx := context.Background()
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Verify(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var unset core.Requirement
	for name, r := range map[string]*core.Requirement{"zero value": &unset, "new": new(core.Requirement), "nil": nil} {
		if err := m.Authorize(ctx, c, r); err == nil {
			t.Errorf("%s requirement: Authorize let the request through", name)
		} else if got := m.HTTP().Problem(err).Status; got != http.StatusInternalServerError {
			t.Errorf("%s requirement: status %d, want 500", name, got)
		}
	}
	if err := m.Authorize(ctx, c, core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: time.Hour}))); err != nil {
		t.Errorf("a built step-up requirement the claims meet: %v", err)
	}
}
