package benchmarks_test

import (
	"net/http"
	"testing"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	echojwtpeer "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/jwtexp/jwtexp/echojwt"
)

// echoImpls: bare, jwtexp (echojwt.Middleware, with and without the verified-token cache) and
// labstack/echo-jwt, each on its own echo.New() with the one route GET /api/me and Echo's default
// error handler.
func echoImpls(b *testing.B, fx *fixture) []impl {
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	route := func(mw ...echo.MiddlewareFunc) target {
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.GET("/api/me", ok, mw...)
		return httpTarget(e)
	}
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route()},
		{"jwtexp", route(echojwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(echojwt.Middleware(noCache(fx)))},
		{"echo-jwt", route(echoJWTPeer(b, fx))},
		{"ref-copy", route(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				ctx, _ := withRefClaims(c.Request().Context(), tmpl)
				c.SetRequest(c.Request().WithContext(ctx))
				return next(c)
			}
		})},
		{"ref-spin", route(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { refSpin(); return next(c) }
		})},
	}
}

// echoJWTPeer configures labstack/echo-jwt v4 (golang-jwt v5) as strictly as it allows:
// SigningMethod pins the algorithm (its default key func refuses any other), and NewClaimsFunc
// decodes into strictClaims, whose Validate requires exp, iss and aud (echo-jwt passes no parser
// options, so golang-jwt alone would accept a token without exp and ignore iss and aud).
func echoJWTPeer(b *testing.B, fx *fixture) echo.MiddlewareFunc {
	mw, err := echojwtpeer.Config{
		SigningKey:    fx.verifyKey,
		SigningMethod: fx.alg,
		NewClaimsFunc: func(echo.Context) jwtv5.Claims { return new(strictClaims) },
	}.ToMiddleware()
	if err != nil {
		b.Fatal(err)
	}
	return mw
}
