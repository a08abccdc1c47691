package benchmarks_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/fiber3jwt"
)

// fiber3Peers builds the Fiber v3 peer implementations; peers_fiber3_test.go (build tag ignore,
// see BENCHMARKS.md) sets it when gofiber/contrib/v3/jwt can be fetched.
var fiber3Peers func(b *testing.B, fx *fixture, route func(...any) target) []impl

// fiber3Impls: bare, jwtexp (fiber3jwt.Middleware, with and without the verified-token cache)
// and the peers of fiber3Peers, each on its own fiber.New() app with the one route GET /api/me,
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
	impls := []impl{
		{"bare", route()},
		{"jwtexp", route(fiber3jwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(fiber3jwt.Middleware(noCache(fx)))},
	}
	if fiber3Peers != nil {
		impls = append(impls, fiber3Peers(b, fx, route)...)
	}
	return impls
}
