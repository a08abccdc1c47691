package benchmarks_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v3"
	"github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/go-chi/jwtauth/v5"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// nethttpImpls: bare, jwtexp (nethttpjwt.Middleware, with and without the verified-token cache),
// auth0/go-jwt-middleware and go-chi/jwtauth, each wrapping the same http.HandlerFunc directly (no
// router, as the middlewares are written for any http.Handler).
func nethttpImpls(b *testing.B, fx *fixture) []impl {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	route := httpTarget
	ja := jwtauthPeer(fx)
	tmpl := refClaims(b, fx)
	return []impl{
		{"bare", route(ok)},
		{"jwtexp", route(nethttpjwt.Middleware(fx.m)(ok))},
		{"jwtexp-nocache", route(nethttpjwt.Middleware(noCache(fx))(ok))},
		{"auth0", route(auth0Peer(b, fx).CheckJWT(ok))},
		{"jwtauth", route(jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(ok)))},
		{"ref-copy", route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, _ := withRefClaims(r.Context(), tmpl)
			ok.ServeHTTP(w, r.WithContext(ctx))
		}))},
		{"ref-spin", route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			refSpin()
			ok.ServeHTTP(w, r)
		}))},
	}
}

// expRequired makes auth0's validator require exp: its own claim checks verify exp only when
// present. It is the validator's documented custom-claims hook, so the payload is decoded twice.
type expRequired struct {
	Exp *float64 `json:"exp"`
}

// Validate implements validator.CustomClaims.
func (c *expRequired) Validate(context.Context) error {
	if c.Exp == nil {
		return errors.New("exp is required")
	}
	return nil
}

// auth0Peer configures auth0/go-jwt-middleware v3 (lestrrat-go/jwx v3), as its README shows:
// validator.New with the key, the algorithm pinned, issuer and audience (the validator insists on
// both), exp required through expRequired; jwtmiddleware.New with that validator. DPoP stays at
// the middleware's default (allowed: Bearer tokens pass), as in jwtexp.
func auth0Peer(b *testing.B, fx *fixture) *jwtmiddleware.JWTMiddleware {
	v, err := validator.New(
		validator.WithKeyFunc(func(context.Context) (any, error) { return fx.verifyKey, nil }),
		validator.WithAlgorithm(validator.SignatureAlgorithm(fx.alg)),
		validator.WithIssuer(issuer),
		validator.WithAudience(audience),
		validator.WithCustomClaims(func() *expRequired { return new(expRequired) }),
	)
	if err != nil {
		b.Fatal(err)
	}
	m, err := jwtmiddleware.New(jwtmiddleware.WithValidator(v))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// jwtauthPeer configures go-chi/jwtauth v5 (lestrrat-go/jwx v2): the algorithm pinned by
// jwtauth.New (jwx verifies with that algorithm only), and jwx validation told to require exp and
// to check iss and aud. Used as documented: Verifier then Authenticator.
func jwtauthPeer(fx *fixture) *jwtauth.JWTAuth {
	opts := []jwt.ValidateOption{jwt.WithIssuer(issuer), jwt.WithAudience(audience), jwt.WithRequiredClaim("exp")}
	if fx.alg == "HS256" {
		return jwtauth.New(fx.alg, fx.verifyKey, nil, opts...)
	}
	return jwtauth.New(fx.alg, nil, fx.verifyKey, opts...)
}
