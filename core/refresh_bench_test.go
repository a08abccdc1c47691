package core_test

import (
	"context"
	"testing"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// BenchmarkRefresh measures one refresh with rotation in the memory store: parse and verify the
// refresh token, rotate the family, mint and sign the new pair (HS256).
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(b, clock)
	p, err := m.Issue(ctx, "alice", map[string]string{"role": "user"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p, err = m.Refresh(ctx, p.RefreshToken); err != nil {
			b.Fatal(err)
		}
	}
}
