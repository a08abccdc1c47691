package core_test

import (
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestKeyRingMemoryStore(t *testing.T) {
	t.Parallel()
	testutil.KeyRingSuite(t, func(t *testing.T, clock *testutil.Clock) core.Store {
		s := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
