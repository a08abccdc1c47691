package echojwt_test

import (
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echojwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		e := echo.New()
		e.GET(testutil.JWKSPath, echojwt.JWKSHandler(m))
		return testutil.HandlerDoer(e)
	})
}
