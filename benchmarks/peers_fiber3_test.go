//go:build ignore

// This file is left out of the build (and of go mod tidy) by its build tag: it needs
// github.com/gofiber/contrib/v3/jwt, which this repository's machines cannot fetch. To measure the
// peer where the module proxy serves it: delete the build line above, run go get
// github.com/gofiber/contrib/v3/jwt@v1.1.2 in this module, and run the benchmarks as usual
// (BENCHMARKS.md, "Echo v5 and Fiber v3 peers"). Building with -tags ignore does not work: that
// tag also selects the standard library's generator programs.

package benchmarks_test

import (
	"testing"

	jwtware "github.com/gofiber/contrib/v3/jwt"
)

// gofiber/contrib/v3/jwt (golang-jwt v5), as strictly as it allows: SigningKey.JWTAlg pins the
// algorithm and Claims decodes into strictClaims (exp, iss and aud required), as for v2.
func init() {
	fiber3Peers = func(_ *testing.B, fx *fixture, route func(...any) target) []impl {
		return []impl{{"gofiber-jwt", route(jwtware.New(jwtware.Config{
			SigningKey: jwtware.SigningKey{JWTAlg: fx.alg, Key: fx.verifyKey},
			Claims:     new(strictClaims),
		}))}}
	}
}
