package echo5jwt

import (
	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
)

// JWKSHandler serves m's JSON Web Key Set (RFC 7517 §5): the public keys that verify its access
// tokens, never an HMAC secret or a private member, with Cache-Control: public, max-age=300 - or, with
// core.WithKeyRotation, the key ring (Next, Current, Previous) with the max-age of its
// publish-ahead (see core.HTTP.ServeJWKS). Mount it at GET /.well-known/jwks.json. It returns nil: the answer is
// written.
func JWKSHandler(m *core.Manager) echo.HandlerFunc {
	core.MustManager(m, "echo5jwt.JWKSHandler")
	return func(c *echo.Context) error {
		m.HTTP().ServeJWKS().Write(c.Response())
		return nil
	}
}
