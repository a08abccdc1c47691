package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// exampleManager is the Manager of the examples below, on a fixed clock.
func exampleManager(clock *testutil.Clock, opts ...core.Option) *core.Manager {
	m, err := core.New(append([]core.Option{
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
		core.WithClock(clock.Now), core.WithLogger(nil),
	}, opts...)...)
	if err != nil {
		panic(err)
	}
	return m
}

// The application's own claims, with a role checked on a route.
func ExampleRequireClaims() {
	type User struct {
		Role string `json:"role"`
	}
	ctx := context.Background()
	m := exampleManager(testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)))
	defer m.Close()
	adminOnly := core.MustRequirement(core.RequireClaims(func(u User) bool { return u.Role == "admin" }))

	for _, role := range []string{"admin", "viewer"} {
		pair, _ := m.Issue(ctx, "alice", User{Role: role})
		claims, _ := m.Verify(ctx, pair.AccessToken)
		u, _ := core.CustomClaims[User](claims)
		err := m.Authorize(ctx, claims, adminOnly)
		fmt.Printf("%s: %v", u.Role, err)
		if err != nil {
			fmt.Printf(" -> %d", m.HTTP().Problem(err).Status)
		}
		fmt.Println()
	}
	// Output:
	// admin: <nil>
	// viewer: jwtexp: insufficient scope: insufficient privileges -> 403
}

// A scope check: the scopes come from scope (space-separated) or scp (string or array), and the
// refusal names the scope the client needs.
func ExampleRequireScope() {
	ctx := context.Background()
	m := exampleManager(testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)))
	defer m.Close()
	admin := core.MustRequirement(core.RequireScope("admin"))

	for _, scope := range []string{"profile admin", "profile"} {
		pair, _ := m.Issue(ctx, "alice", map[string]string{"scope": scope})
		claims, _ := m.Verify(ctx, pair.AccessToken)
		err := m.Authorize(ctx, claims, admin)
		fmt.Printf("%q: %v\n", claims.Scopes(), err)
		if err != nil {
			p := m.HTTP().Problem(err)
			fmt.Println(p.Status, p.WWWAuthenticate)
		}
	}
	// Output:
	// ["profile" "admin"]: <nil>
	// ["profile"]: jwtexp: insufficient scope
	// 403 Bearer realm="jwtexp", error="insufficient_scope", error_description="insufficient scope", scope="admin"
}

// Step-up (RFC 9470): a route that wants a login at most five minutes old. Refreshing keeps the
// login time, so only logging in again passes.
func ExampleRequireStepUp() {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m := exampleManager(clock)
	defer m.Close()
	recent := core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: 5 * time.Minute}))

	pair, _ := m.Issue(ctx, "alice", nil)
	claims, _ := m.Verify(ctx, pair.AccessToken)
	fmt.Println("logged in at", claims.AuthTime.UTC().Format(time.TimeOnly), "->", m.Authorize(ctx, claims, recent))

	clock.Advance(10 * time.Minute)
	pair, _ = m.Refresh(ctx, pair.RefreshToken)
	claims, _ = m.Verify(ctx, pair.AccessToken)
	err := m.Authorize(ctx, claims, recent)
	fmt.Println("refreshed 10 minutes later:", errors.Is(err, core.ErrInsufficientUserAuthentication))
	p := m.HTTP().Problem(err)
	fmt.Println(p.Status, p.WWWAuthenticate)
	// Output:
	// logged in at 12:00:00 -> <nil>
	// refreshed 10 minutes later: true
	// 401 Bearer realm="jwtexp", error="insufficient_user_authentication", error_description="more recent authentication is required", max_age="300"
}

// A login endpoint: the application checks the credentials against its user store and returns
// core.ErrInvalidCredentials when they are wrong; ServeLogin answers.
func ExampleHTTP_ServeLogin() {
	ctx := context.Background()
	m := exampleManager(testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)))
	defer m.Close()
	users := map[string]string{"alice": "wonderland"} // a real store keeps password hashes

	for _, body := range []string{`{"username":"alice","password":"wonderland"}`, `{"username":"alice","password":"guess"}`} {
		r := core.HTTPRequest(httptest.NewRequest("POST", "/login", strings.NewReader(body)))
		resp := m.HTTP().ServeLogin(ctx, r, func() (string, any, error) {
			c, err := core.ReadCredentials(r)
			if err != nil {
				return "", nil, err
			}
			if pw, ok := users[c.Username]; !ok || pw != c.Password {
				return "", nil, core.ErrInvalidCredentials
			}
			return c.Username, map[string]string{"scope": "profile"}, nil
		})
		fmt.Println(resp.Status, strings.Contains(string(resp.Body), `"access_token"`))
		if resp.Status != 200 {
			fmt.Println(string(resp.Body))
		}
	}
	// Output:
	// 200 true
	// 401 false
	// {"error":"invalid_grant","error_description":"invalid username or password"}
}

// The refresh hook keeps claims current: a demotion is in the next access token, and a disabled
// user's session ends at the next refresh.
func ExampleWithRefreshHook() {
	type User struct {
		Role string `json:"role"`
	}
	ctx := context.Background()
	roles := map[string]string{"alice": "admin"} // the application's user store
	errDisabled := errors.New("user disabled")
	m := exampleManager(testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)),
		core.WithRefreshHook(func(ctx context.Context, subject string, current User) (User, error) {
			role, ok := roles[subject]
			if !ok {
				return current, errDisabled
			}
			current.Role = role
			return current, nil
		}))
	defer m.Close()

	pair, _ := m.Issue(ctx, "alice", User{Role: "admin"})
	roles["alice"] = "viewer"
	pair, _ = m.Refresh(ctx, pair.RefreshToken)
	claims, _ := m.Verify(ctx, pair.AccessToken)
	u, _ := core.CustomClaims[User](claims)
	fmt.Println("after refresh:", u.Role)

	delete(roles, "alice")
	_, err := m.Refresh(ctx, pair.RefreshToken)
	fmt.Println("disabled:", core.Reason(err), errors.Is(err, errDisabled))
	_, err = m.Verify(ctx, pair.AccessToken)
	fmt.Println("access token:", err)
	// Output:
	// after refresh: viewer
	// disabled: session revoked true
	// access token: jwtexp: token revoked: session revoked
}
