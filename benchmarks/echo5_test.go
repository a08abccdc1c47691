package benchmarks_test

import (
	"net/http"
	"testing"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	echojwtpeer "github.com/labstack/echo-jwt/v5"
	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/echo5jwt"
)

// echo5Impls: bare, jwtexp (echo5jwt.Middleware, with and without the verified-token cache) and
// labstack/echo-jwt/v5, each on its own echo.New() with the one route GET /api/me and Echo's
// default HTTPErrorHandler (which renders echo5jwt's refusals).
func echo5Impls(b *testing.B, fx *fixture) []impl {
	ok := func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) }
	route := func(mw ...echo.MiddlewareFunc) target {
		e := echo.New()
		e.GET("/api/me", ok, mw...)
		return httpTarget(e)
	}
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route()},
		{"jwtexp", route(echo5jwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(echo5jwt.Middleware(noCache(fx)))},
		{"echo-jwt", route(echo5JWTPeer(b, fx))},
		{"ref-copy", route(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c *echo.Context) error {
				ctx, _ := withRefClaims(c.Request().Context(), tmpl)
				c.SetRequest(c.Request().WithContext(ctx))
				return next(c)
			}
		})},
		{"ref-spin", route(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c *echo.Context) error { refSpin(); return next(c) }
		})},
	}
}

// echo5JWTPeer configures labstack/echo-jwt v5 (golang-jwt v5) as strictly as it allows, as for
// v4: SigningMethod pins the algorithm and NewClaimsFunc decodes into strictClaims (exp, iss and
// aud required).
func echo5JWTPeer(b *testing.B, fx *fixture) echo.MiddlewareFunc {
	mw, err := echojwtpeer.Config{
		SigningKey:    fx.verifyKey,
		SigningMethod: fx.alg,
		NewClaimsFunc: func(*echo.Context) jwtv5.Claims { return new(strictClaims) },
	}.ToMiddleware()
	if err != nil {
		b.Fatal(err)
	}
	return mw
}
