package otelmetrics_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/otelmetrics"
)

func benchMetrics(b *testing.B) *otelmetrics.Metrics {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	metrics, err := otelmetrics.New(otelmetrics.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	return metrics
}

// BenchmarkAuthenticate authenticates a valid HS256 token (memory store, revocation check on)
// without a hook and with this module's hook on the OpenTelemetry SDK (no span in the context):
// the difference is the module's cost per request.
func BenchmarkAuthenticate(b *testing.B) {
	testutil.BenchHookCost(b, "otel", benchMetrics(b).Hook)
}

// BenchmarkHook is the hook alone, fed the two events an accepted request with a revocation
// check on a network store produces (a store call and an acceptance).
func BenchmarkHook(b *testing.B) {
	testutil.BenchHookEvents(b, benchMetrics(b).Hook)
}

// BenchmarkHookNoStoreCall is the hook fed an acceptance only: the part of the cost that is not
// the SDK's synchronous histogram.
func BenchmarkHookNoStoreCall(b *testing.B) {
	metrics := benchMetrics(b)
	ctx := context.Background()
	ok := core.Event{Kind: core.EventAuthenticated, Subject: "u", SessionID: "s", TokenID: "t"}
	b.ReportAllocs()
	for b.Loop() {
		metrics.Hook(ctx, ok)
	}
}
