package fiber3jwt_test

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fiber3jwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		app := fiber.New()
		app.Get(testutil.JWKSPath, fiber3jwt.JWKSHandler(m))
		return doer(t, app)
	})
}
