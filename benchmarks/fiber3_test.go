package benchmarks_test

import (
	"net"
	"net/http"
	"testing"

	jwtware3 "github.com/gofiber/contrib/v3/jwt"
	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/fiber3jwt"
)

// fiber3Impls: bare, jwtexp (fiber3jwt.Middleware, with and without the verified-token cache)
// and gofiber/contrib/v3/jwt, each on its own fiber.New() app with the one route GET /api/me,
// driven through app.Handler() on a reused fasthttp.RequestCtx (see fiberRunner).
func fiber3Impls(b *testing.B, fx *fixture) []impl {
	ok := func(c fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }
	route := func(mw ...any) target {
		app := fiber.New()
		handlers := append(mw, ok)
		app.Get("/api/me", handlers[0], handlers[1:]...)
		return target{
			newRunner: func(auth string) runner { return fiberRunner(app.Handler(), auth) },
			listen: func(ln net.Listener) func() {
				done := make(chan error, 1)
				go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
				return func() { _ = app.Shutdown(); <-done }
			},
		}
	}
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route()},
		{"jwtexp", route(fiber3jwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(fiber3jwt.Middleware(noCache(fx)))},
		{"gofiber-jwt", route(jwtware3.New(jwtware3.Config{
			SigningKey: jwtware3.SigningKey{JWTAlg: fx.alg, Key: fx.verifyKey},
			Claims:     new(strictClaims),
		}))},
		{"ref-copy", route(func(c fiber.Ctx) error {
			ctx, claims := withRefClaims(c.Context(), tmpl)
			c.(*fiber.DefaultCtx).Locals(refKey{}, claims) // as fiber3jwt: no variadic slice on the heap
			c.SetContext(ctx)
			return c.Next()
		})},
		{"ref-spin", route(func(c fiber.Ctx) error { refSpin(); return c.Next() })},
	}
}
