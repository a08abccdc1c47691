package nethttpjwt_test

import (
	"net/http"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	testutil.EventsSuite(t, func(t *testing.T, m *core.Manager) string {
		mux := http.NewServeMux()
		mux.Handle("GET /api/events", nethttpjwt.Middleware(m)(nethttpjwt.Events(m, testutil.TickEvents)))
		return testutil.ServeStreams(t, mux)
	})
}
