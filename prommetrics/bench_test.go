package prommetrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/prommetrics"
)

// BenchmarkAuthenticate authenticates a valid HS256 token (memory store, revocation check on)
// without a hook and with this module's hook: the difference is the module's cost per request.
func BenchmarkAuthenticate(b *testing.B) {
	metrics := prommetrics.New()
	prometheus.NewRegistry().MustRegister(metrics)
	testutil.BenchHookCost(b, "prometheus", metrics.Hook)
}

// BenchmarkHook is the hook alone, fed the two events an accepted request with a revocation
// check on a network store produces (a store call and an acceptance).
func BenchmarkHook(b *testing.B) {
	testutil.BenchHookEvents(b, prommetrics.New().Hook)
}
