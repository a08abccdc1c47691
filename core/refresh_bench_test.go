package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

type benchUser struct {
	Role string `json:"role"`
}

// BenchmarkRefresh measures one refresh with rotation in the memory store: parse and verify the
// refresh token, rotate the family, mint and sign the new pair (HS256); "hook" adds a refresh hook
// that only returns the claims it was given (the decode and encode it costs).
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []core.Option
	}{
		{"nohook", nil},
		{"hook", []core.Option{core.WithRefreshHook(func(_ context.Context, _ string, u benchUser) (benchUser, error) { return u, nil })}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := testutil.SuiteManager(b, testutil.NewClockNow(), tc.opts...)
			p, err := m.Issue(ctx, "alice", benchUser{Role: "user"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if p, err = m.Refresh(ctx, p.RefreshToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthorize measures the checks after authentication on verified claims: scopes (from
// scope or scp), a predicate on the custom claims, and step-up.
func BenchmarkAuthorize(b *testing.B) {
	ctx := context.Background()
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(b, clock)
	p, err := m.Issue(ctx, "alice", map[string]string{"scope": "profile read write admin", "role": "admin"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := m.Verify(ctx, p.AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *core.Requirement
	}{
		{"scope", core.MustRequirement(core.RequireScope("admin"))},
		{"anyscope", core.MustRequirement(core.RequireAnyScope("billing", "admin"))},
		{"claims", core.MustRequirement(core.RequireClaims(func(u benchUser) bool { return u.Role == "admin" }))},
		{"stepup", core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: 5 * time.Minute}))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Authorize(ctx, c, tc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
