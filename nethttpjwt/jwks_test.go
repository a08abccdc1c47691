package nethttpjwt_test

import (
	"net/http"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		mux := http.NewServeMux()
		mux.Handle("GET "+testutil.JWKSPath, nethttpjwt.JWKSHandler(m))
		return testutil.HandlerDoer(mux)
	})
}
