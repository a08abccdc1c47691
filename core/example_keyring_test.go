package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/jwtexptest"
)

// A key ring rotating every 20 s for 10 s access tokens: each key is Next (published), then
// Current (signing), then Previous (verifying) until its tokens have expired, then retired.
func ExampleWithKeyRotation() {
	ctx := context.Background()
	clock := jwtexptest.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	m, err := core.New(
		core.WithKeyRotation("EdDSA", 20*time.Second),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
		core.WithAccessTTL(10*time.Second), core.WithRefreshTTL(time.Hour), core.WithLeeway(5*time.Second),
		core.WithClock(clock.Now), core.WithLogger(nil),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	fmt.Println("sync interval", m.KeyRingSync(), "JWKS max-age", m.JWKSMaxAge())
	states := func() {
		var out []string
		for _, k := range m.SigningKeys() {
			if k.Role == core.KeyRoleAccess {
				out = append(out, string(k.State))
			}
		}
		fmt.Println(strings.Join(out, " "))
	}
	pair, _ := m.Issue(ctx, "alice", nil)
	states()
	for range 2 { // two rotations
		clock.Advance(20 * time.Second)
		_ = m.SyncKeys(ctx)
		states()
	}
	// The first key stopped signing at 20 s and retired at 39 s (10 s tokens + 5 s leeway + 2
	// sync intervals): the rotation at 40 s dropped it, and its tokens are refused.
	_, err = m.Verify(ctx, pair.AccessToken)
	fmt.Println("first token at 40 s:", errors.Is(err, core.ErrSignature), err)
	// Output:
	// sync interval 2s JWKS max-age 8s
	// next current
	// next current previous
	// next current previous
	// first token at 40 s: true jwtexp: signature invalid: unknown key id
}
