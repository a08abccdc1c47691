package exampleapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/jwks"
)

// Keys beyond the shared secret. Three modes, chosen by the environment:
//
//   - default: access and refresh tokens are HS256 with JWT_ACCESS_SECRET and JWT_REFRESH_SECRET
//     (random per start when both are unset); /.well-known/jwks.json serves an empty set, since
//     an HMAC secret is never published.
//   - JWT_SIGNING_KEY_FILE: a PEM private key (RSA, EC P-256 or Ed25519; see
//     core.LoadSigningKeyFile) signs the access tokens instead of JWT_ACCESS_SECRET, with the
//     algorithm that follows the key (RS256, ES256, EdDSA) and the key's RFC 7638 thumbprint as
//     kid; /.well-known/jwks.json publishes its public key, so other services (and other
//     ecosystems' JWT libraries) verify the tokens without holding any secret. Refresh tokens,
//     which only this service reads, stay HS256 with JWT_REFRESH_SECRET (random when unset).
//   - JWT_JWKS_URL: a verification-only resource server for access tokens signed by the keys of
//     that JWK Set (another example started with JWT_SIGNING_KEY_FILE, or an identity provider).
//     JWT_ISSUER and JWT_AUDIENCE are required (no defaults: they must name that issuer and
//     this API); the access-token lifetime cap is JWT_ACCESS_TTL. GET /api/me works as usual,
//     POST /logout revokes the session in this server's own store; POST /login and POST
//     /refresh answer 501 {"error":"not_implemented"}: tokens come from the issuer, not from
//     here. The URL must be https (http only on loopback).

// keysFromEnv reads JWT_SIGNING_KEY_FILE and JWT_JWKS_URL into c. It reports whether one of them
// is set; FromEnv then leaves the secrets to it. The error is one line naming the variable.
func keysFromEnv(c *Config, getenv func(string) string) (bool, error) {
	c.SigningKeyFile, c.JWKSURL = getenv("JWT_SIGNING_KEY_FILE"), getenv("JWT_JWKS_URL")
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	switch {
	case c.JWKSURL != "" && c.SigningKeyFile != "":
		return true, errors.New("set JWT_JWKS_URL (verify another issuer's tokens) or JWT_SIGNING_KEY_FILE (issue tokens), not both")
	case c.JWKSURL != "":
		if access != "" || refresh != "" {
			return true, errors.New("JWT_JWKS_URL makes a verification-only server: unset JWT_ACCESS_SECRET and JWT_REFRESH_SECRET")
		}
		if getenv("JWT_ISSUER") == "" || getenv("JWT_AUDIENCE") == "" {
			return true, errors.New("JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE: the iss and aud of the tokens to accept")
		}
		return true, nil
	case c.SigningKeyFile != "":
		if access != "" {
			return true, errors.New("JWT_SIGNING_KEY_FILE signs access tokens instead of JWT_ACCESS_SECRET: unset one of them")
		}
		if refresh == "" {
			c.RefreshSecret, c.randomRefresh = randomSecret(), true
		} else {
			c.RefreshSecret = []byte(refresh)
		}
		return true, nil
	}
	return false, nil
}

// keyOptions returns the Manager's key options for c and, in JWT_JWKS_URL mode, the key source
// to close with the App.
func (c Config) keyOptions(logger *slog.Logger, hook core.Hook) ([]core.Option, *jwks.Source, error) {
	switch {
	case c.JWKSURL != "":
		src, err := jwks.New(context.Background(), c.JWKSURL, jwks.WithEventHook(hook))
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_JWKS_URL: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return []core.Option{core.WithKeySource(src)}, src, nil
	case c.SigningKeyFile != "":
		key, err := core.LoadSigningKeyFile(c.SigningKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_SIGNING_KEY_FILE: %v", err)
		}
		if c.randomRefresh {
			logger.Warn("JWT_REFRESH_SECRET is unset: using a random refresh secret, so refresh tokens die with this process")
		}
		logger.Info("signing access tokens with JWT_SIGNING_KEY_FILE", "alg", key.Algorithm, "kid", key.ID)
		return []core.Option{core.WithAccessKeys(key), core.WithRefreshKeys(core.Key{Secret: c.RefreshSecret})}, nil, nil
	}
	return []core.Option{core.WithHMAC(c.AccessSecret, c.RefreshSecret)}, nil, nil
}
