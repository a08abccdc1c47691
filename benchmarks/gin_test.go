package benchmarks_test

import (
	"fmt"
	"net/http"
	"testing"

	ginjwtpeer "github.com/appleboy/gin-jwt/v2"
	"github.com/gin-gonic/gin"
	jwtv4 "github.com/golang-jwt/jwt/v4"

	"github.com/jwtexp/jwtexp/ginjwt"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// ginImpls: bare, jwtexp (ginjwt.Middleware, with and without the verified-token cache) and
// appleboy/gin-jwt, each on its own gin.New() engine (no logger or recovery middleware) with the
// one route GET /api/me.
func ginImpls(b *testing.B, fx *fixture) []impl {
	ok := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	route := func(mw ...gin.HandlerFunc) target {
		r := gin.New()
		r.GET("/api/me", append(mw, ok)...)
		return httpTarget(r)
	}
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route()},
		{"jwtexp", route(ginjwt.Middleware(fx.m))},
		{"jwtexp-nocache", route(ginjwt.Middleware(noCache(fx)))},
		{"gin-jwt", route(ginJWTPeer(b, fx))},
		{"ref-copy", route(func(c *gin.Context) {
			ctx, _ := withRefClaims(c.Request.Context(), tmpl)
			c.Request = c.Request.WithContext(ctx)
			c.Next()
		})},
		{"ref-spin", route(func(c *gin.Context) { refSpin(); c.Next() })},
	}
}

// ginJWTPeer configures appleboy/gin-jwt v2 (golang-jwt v4) as strictly as it allows:
//   - the algorithm is pinned: HS256 and RS256 through its built-in SigningAlgorithm with Key or
//     the PEM keys; ES256 and EdDSA, which the built-in configuration does not cover, through
//     KeyFunc, which checks the alg itself; ParseOptions WithValidMethods pins it once more;
//   - exp is required by gin-jwt itself (a token without exp is answered 400);
//   - iss and aud are not checked by gin-jwt: the Authorizator hook (the only place it offers)
//     checks them with golang-jwt v4's MapClaims.VerifyIssuer/VerifyAudience.
func ginJWTPeer(b *testing.B, fx *fixture) gin.HandlerFunc {
	alg := fx.alg
	cfg := &ginjwtpeer.GinJWTMiddleware{
		Realm:            "bench",
		SigningAlgorithm: alg,
		ParseOptions:     []jwtv4.ParserOption{jwtv4.WithValidMethods([]string{alg})},
		Authorizator: func(_ any, c *gin.Context) bool {
			claims := jwtv4.MapClaims(ginjwtpeer.ExtractClaims(c))
			return claims.VerifyIssuer(issuer, true) && claims.VerifyAudience(audience, true)
		},
	}
	switch alg {
	case "HS256":
		cfg.Key = fx.verifyKey.([]byte)
	case "RS256":
		cfg.PrivKeyBytes, cfg.PubKeyBytes = fx.privatePEM, fx.publicPEM
	default:
		cfg.KeyFunc = func(t *jwtv4.Token) (any, error) {
			if t.Method.Alg() != alg {
				return nil, fmt.Errorf("unexpected alg %q", t.Method.Alg())
			}
			return fx.verifyKey, nil
		}
	}
	mw, err := ginjwtpeer.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return mw.MiddlewareFunc()
}
