package otelmetrics_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/otelmetrics"
)

func Example() {
	reader := sdkmetric.NewManualReader() // in an application: a periodic reader and an exporter
	metrics, err := otelmetrics.New(otelmetrics.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		panic(err)
	}
	m, err := core.New(core.WithEventHook(metrics.Hook),
		core.WithHMAC([]byte("an access secret of 32 bytes or more!"), []byte("a refresh secret of 32 bytes or more")),
		core.WithIssuer("example"), core.WithAudience("api"))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	_, err = m.Verify(context.Background(), "not.a.token")
	fmt.Println(err)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name == "jwtexp.auth.decisions" {
				for _, dp := range mt.Data.(metricdata.Sum[int64]).DataPoints {
					if dp.Value != 0 { // every reason reports, most at zero
						reason, _ := dp.Attributes.Value("jwtexp.auth.reason")
						fmt.Println(mt.Name, reason.AsString(), dp.Value)
					}
				}
			}
		}
	}
	// Output:
	// jwtexp: token malformed: malformed token header
	// jwtexp.auth.decisions malformed 1
}
