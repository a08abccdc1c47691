package redisstore

import (
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestKeyRing runs the key-ring suite on one real Redis: three Managers share each ring, and
// the swap script decides every rotation by the suite's fake clock (requestClock), as it does by
// the server's TIME in production.
func TestKeyRing(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	testutil.KeyRingSuite(t, func(t *testing.T, _ *testutil.Clock) core.Store {
		s := newStore(t, client)
		s.requestClock = true
		return s
	})
}
