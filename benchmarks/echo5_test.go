package benchmarks_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/echo5jwt"
)

// echo5Peers builds the Echo v5 peer implementations; peers_echo5_test.go (build tag ignore,
// see BENCHMARKS.md) sets it when labstack/echo-jwt/v5 can be fetched.
var echo5Peers func(b *testing.B, fx *fixture, route func(...echo.MiddlewareFunc) target) []impl

// echo5Impls: bare, jwtexp (echo5jwt.Middleware, with and without the verified-token cache) and
// the peers of echo5Peers, each on its own echo.New() with the one route GET /api/me and Echo's
// default HTTPErrorHandler (which renders echo5jwt's refusals).
func echo5Impls(b *testing.B, fx *fixture) []impl {
	ok := func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) }
	route := func(mw ...echo.MiddlewareFunc) target {
		e := echo.New()
		e.GET("/api/me", ok, mw...)
		return httpTarget(e)
	}
	impls := []impl{
		{"bare", route()},
		{"jwtexp", route(echo5jwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(echo5jwt.Middleware(noCache(fx)))},
	}
	if echo5Peers != nil {
		impls = append(impls, echo5Peers(b, fx, route)...)
	}
	return impls
}
