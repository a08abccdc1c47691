package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
)

// JWKSHandler serves m's JSON Web Key Set (RFC 7517 §5): the public keys that verify its access
// tokens, never an HMAC secret or a private member, with Cache-Control: public, max-age=300 - or, with
// core.WithKeyRotation, the key ring (Next, Current, Previous) with the max-age of its
// publish-ahead (see core.HTTP.ServeJWKS). Mount it at GET /.well-known/jwks.json.
func JWKSHandler(m *core.Manager) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.JWKSHandler")
	return func(c *gin.Context) { m.HTTP().ServeJWKS().Write(c.Writer) }
}
