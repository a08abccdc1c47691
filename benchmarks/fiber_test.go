package benchmarks_test

import (
	"net"
	"net/http"
	"testing"

	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/jwtexp/jwtexp/fiberjwt"
)

// fiberImpls: bare, jwtexp (fiberjwt.Middleware, with and without the verified-token cache) and
// gofiber/contrib/jwt, each on its own fiber.New() app with the one route GET /api/me, driven
// through app.Handler() on a reused fasthttp.RequestCtx (not app.Test, which goes through a
// connection).
func fiberImpls(b *testing.B, fx *fixture) []impl {
	ok := func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }
	route := func(mw ...fiber.Handler) target {
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Get("/api/me", append(mw, ok)...)
		return target{
			newRunner: func(auth string) runner { return fiberRunner(app.Handler(), auth) },
			listen: func(ln net.Listener) func() {
				done := make(chan error, 1)
				go func() { done <- app.Listener(ln) }()
				return func() { _ = app.Shutdown(); <-done }
			},
		}
	}
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route()},
		{"jwtexp", route(fiberjwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(fiberjwt.Middleware(noCache(fx)))},
		{"gofiber-jwt", route(fiberJWTPeer(fx))},
		{"ref-copy", route(func(c *fiber.Ctx) error {
			ctx, claims := withRefClaims(c.UserContext(), tmpl)
			c.Locals(refKey{}, claims)
			c.SetUserContext(ctx)
			return c.Next()
		})},
		{"ref-spin", route(func(c *fiber.Ctx) error { refSpin(); return c.Next() })},
	}
}

// fiberRunner serves GET /api/me with the given Authorization header through h, reusing one
// RequestCtx. Before each request the response and the user values are reset, as fasthttp's
// server does between requests: fiber keeps c.UserContext() in the user values, so without the
// reset every request would wrap the previous request's context and lookups would slow down
// with the iteration count.
func fiberRunner(h fasthttp.RequestHandler, authorization string) runner {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(http.MethodGet)
	ctx.Request.SetRequestURI("/api/me")
	ctx.Request.Header.SetHost("bench.example")
	ctx.Request.Header.Set("Authorization", authorization)
	return runner{
		serve: func() {
			ctx.ResetUserValues()
			ctx.Response.Reset()
			h(ctx)
		},
		status: func() int { return ctx.Response.StatusCode() },
	}
}

// fiberJWTPeer configures gofiber/contrib/jwt v1 (golang-jwt v5) as strictly as it allows:
// SigningKey.JWTAlg pins the algorithm, and Claims decodes into strictClaims, whose Validate
// requires exp, iss and aud (the middleware passes no parser options to golang-jwt).
func fiberJWTPeer(fx *fixture) fiber.Handler {
	return jwtware.New(jwtware.Config{
		SigningKey: jwtware.SigningKey{JWTAlg: fx.alg, Key: fx.verifyKey},
		Claims:     new(strictClaims),
	})
}
