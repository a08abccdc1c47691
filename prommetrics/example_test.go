package prommetrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/prommetrics"
)

func Example() {
	metrics := prommetrics.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	m, err := core.New(core.WithEventHook(metrics.Hook),
		core.WithHMAC([]byte("an access secret of 32 bytes or more!"), []byte("a refresh secret of 32 bytes or more")),
		core.WithIssuer("example"), core.WithAudience("api"))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	_, err = m.Verify(context.Background(), "not.a.token")
	fmt.Println(err)

	// What GET /metrics would answer (promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if strings.HasPrefix(line, "jwtexp_auth_decisions_total") && !strings.HasSuffix(line, " 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// jwtexp: token malformed: malformed token header
	// jwtexp_auth_decisions_total{outcome="rejected",reason="malformed"} 1
}
