package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// A whole session: login, an authenticated call, expiry, refresh with rotation, logout.
func Example() {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m, err := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
		core.WithClock(clock.Now), core.WithLogger(nil),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	pair, _ := m.Issue(ctx, "alice", nil) // after the application checked alice's password
	claims, err := m.Verify(ctx, pair.AccessToken)
	fmt.Println("verify:", claims.Subject, err)

	clock.Advance(16 * time.Minute)
	_, err = m.Verify(ctx, pair.AccessToken)
	fmt.Println("16 minutes later:", err)

	next, err := m.Refresh(ctx, pair.RefreshToken)
	fmt.Println("refresh:", err, next.RefreshToken != pair.RefreshToken)

	err = m.Logout(ctx, next.AccessToken, "")
	_, verr := m.Verify(ctx, next.AccessToken)
	fmt.Println("logout:", err, "then:", verr)
	// Output:
	// verify: alice <nil>
	// 16 minutes later: jwtexp: token expired
	// refresh: <nil> true
	// logout: <nil> then: jwtexp: token revoked: session revoked
}

// Configuration is checked once, at construction, with a message naming what to change.
func ExampleNew() {
	_, err := core.New(
		core.WithHMAC([]byte("too-short"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
	)
	fmt.Println(err)
	fmt.Println(errors.Is(err, core.ErrInvalidConfig))
	// Output:
	// jwtexp: invalid config: access secret (WithHMAC) or active access key (WithAccessKeys): HS256 secret is 9 bytes, needs at least 32 (RFC 7518 §3.2)
	// true
}

// Telling failures apart with errors.Is; golang-jwt's sentinels are in the chain too.
func ExampleManager_Verify_errors() {
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m, _ := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
		core.WithClock(clock.Now), core.WithLogger(nil),
	)
	defer m.Close()
	pair, _ := m.Issue(context.Background(), "alice", nil)
	clock.Advance(time.Hour)

	for _, tok := range []string{pair.AccessToken, pair.RefreshToken, "not-a-token"} {
		_, err := m.Verify(context.Background(), tok)
		switch {
		case errors.Is(err, core.ErrTokenExpired):
			fmt.Println("expired: ask the client to refresh")
		case errors.Is(err, core.ErrTokenType):
			fmt.Println("wrong type:", core.Reason(err))
		case errors.Is(err, core.ErrTokenMalformed):
			fmt.Println("malformed:", core.Reason(err))
		}
	}
	// Output:
	// expired: ask the client to refresh
	// wrong type: refresh token used as access token
	// malformed: malformed token
}

// Rotation: each refresh token works once; presenting a used one revokes the whole session.
func ExampleManager_Refresh() {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	m, _ := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
		core.WithClock(func() time.Time { return now }),
	)
	defer m.Close()
	first, _ := m.Issue(ctx, "alice", nil)
	second, err := m.Refresh(ctx, first.RefreshToken)
	fmt.Println("rotate:", err)
	// The same client's other calls, refreshing with the old token a moment later (inside the
	// grace window, 30 s by default), get the session's current refresh token: no second rotation.
	now = now.Add(2 * time.Second)
	burst, _ := m.Refresh(ctx, first.RefreshToken)
	fmt.Println("burst:", burst.RefreshToken == second.RefreshToken)
	now = now.Add(time.Minute)
	_, err = m.Refresh(ctx, first.RefreshToken) // a stolen copy replayed after the window
	fmt.Println("replay:", errors.Is(err, core.ErrRefreshReused), errors.Is(err, core.ErrInvalidGrant))
	_, err = m.Refresh(ctx, second.RefreshToken)
	fmt.Println("legitimate client:", core.Reason(err))
	// Output:
	// rotate: <nil>
	// burst: true
	// replay: true true
	// legitimate client: session ended
}

// A middleware of one's own for a router the adapters do not cover: AuthenticateContext returns
// the request's context carrying the claims (read back with ClaimsFromContext), or the refusal
// to answer with Problem.
func ExampleHTTP_AuthenticateContext() {
	m, err := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	middleware := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, _, err := m.HTTP().AuthenticateContext(r.Context(), core.HTTPRequest(r), false)
			if err != nil {
				m.HTTP().Problem(err).Write(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	me := middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := core.ClaimsFromContext(r.Context())
		fmt.Fprint(w, claims.Subject)
	}))

	pair, _ := m.Issue(context.Background(), "alice", nil)
	for _, auth := range []string{"Bearer " + pair.AccessToken, ""} {
		r := httptest.NewRequest(http.MethodGet, "/me", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		me.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 alice
	// 401 {"error":"unauthorized","error_description":"missing bearer token"}
}
