package echo5jwt_test

import (
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echo5jwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		e := echo.New()
		e.GET(testutil.JWKSPath, echo5jwt.JWKSHandler(m))
		return testutil.HandlerDoer(e)
	})
}
