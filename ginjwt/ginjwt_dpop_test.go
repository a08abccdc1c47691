package ginjwt_test

import (
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestDPoP: see testutil.RunDPoPSuite.
func TestDPoP(t *testing.T) {
	testutil.RunDPoPSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		return testutil.HandlerDoer(router(m))
	})
}
