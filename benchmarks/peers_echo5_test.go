//go:build ignore

// This file is left out of the build (and of go mod tidy) by its build tag: it needs
// github.com/labstack/echo-jwt/v5, which this repository's machines cannot fetch. To measure the
// peer where the module proxy serves it: delete the build line above, run go get
// github.com/labstack/echo-jwt/v5@v5.0.1 in this module, and run the benchmarks as usual
// (BENCHMARKS.md, "Echo v5 and Fiber v3 peers"). Building with -tags ignore does not work: that
// tag also selects the standard library's generator programs.

package benchmarks_test

import (
	"testing"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	echojwtpeer "github.com/labstack/echo-jwt/v5"
	"github.com/labstack/echo/v5"
)

// labstack/echo-jwt v5 (golang-jwt v5), as strictly as it allows: SigningMethod pins the
// algorithm and NewClaimsFunc decodes into strictClaims (exp, iss and aud required), as for v4.
func init() {
	echo5Peers = func(b *testing.B, fx *fixture, route func(...echo.MiddlewareFunc) target) []impl {
		mw, err := echojwtpeer.Config{
			SigningKey:    fx.verifyKey,
			SigningMethod: fx.alg,
			NewClaimsFunc: func(*echo.Context) jwtv5.Claims { return new(strictClaims) },
		}.ToMiddleware()
		if err != nil {
			b.Fatal(err)
		}
		return []impl{{"echo-jwt", route(mw)}}
	}
}
