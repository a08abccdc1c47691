package fiberjwt_test

import (
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fiberjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		app := fiber.New()
		app.Get(testutil.JWKSPath, fiberjwt.JWKSHandler(m))
		return doer(t, app)
	})
}
