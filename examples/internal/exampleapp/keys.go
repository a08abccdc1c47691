package exampleapp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

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

//   - JWT_SIGNING_ALG (EdDSA, ES256 or RS256): access tokens are signed with a key of that
//     algorithm, random per start (with a warning), and published at /.well-known/jwks.json;
//     refresh tokens stay HS256 with JWT_REFRESH_SECRET (random when unset).
//   - JWT_SIGNING_ALG with JWT_KEY_ROTATION (a duration, e.g. 24h, or 20s for a demo with
//     JWT_ACCESS_TTL=10s): the key ring of core.WithKeyRotation creates, publishes ahead,
//     rotates and retires the access and refresh keys by itself; with REDIS_URL every instance
//     on that Redis shares the ring, and JWT_KEY_ENCRYPTION_KEY (32 random bytes in base64,
//     `openssl rand -base64 32`, the same on every instance) seals its private keys in Redis.
//     JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must be unset. A period too short for the token
//     lifetimes stops the example with a message naming the minimum.

// keysFromEnv reads JWT_SIGNING_KEY_FILE, JWT_JWKS_URL, JWT_SIGNING_ALG and JWT_KEY_ROTATION into
// c. It reports whether one of them is set; FromEnv then leaves the secrets to it. The error is
// one line naming the variable.
func keysFromEnv(c *Config, getenv func(string) string) (bool, error) {
	c.SigningKeyFile, c.JWKSURL = getenv("JWT_SIGNING_KEY_FILE"), getenv("JWT_JWKS_URL")
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	if set, err := ringFromEnv(c, getenv); set || err != nil {
		return set, err
	}
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

// ringFromEnv reads JWT_SIGNING_ALG, JWT_KEY_ROTATION and JWT_KEY_ENCRYPTION_KEY.
func ringFromEnv(c *Config, getenv func(string) string) (bool, error) {
	c.SigningAlg = getenv("JWT_SIGNING_ALG")
	rotation, kek := getenv("JWT_KEY_ROTATION"), getenv("JWT_KEY_ENCRYPTION_KEY")
	if c.SigningAlg == "" {
		if rotation != "" {
			return true, errors.New("JWT_KEY_ROTATION needs JWT_SIGNING_ALG (EdDSA, ES256 or RS256): rotated keys are published, so they are asymmetric")
		}
		if kek != "" {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY seals the keys of JWT_KEY_ROTATION: set that too, or unset it")
		}
		return false, nil
	}
	switch c.SigningAlg {
	case "EdDSA", "ES256", "RS256":
	default:
		return true, fmt.Errorf("JWT_SIGNING_ALG=%q: use EdDSA, ES256 or RS256 (unset: HS256 with JWT_ACCESS_SECRET)", c.SigningAlg)
	}
	if c.SigningKeyFile != "" || c.JWKSURL != "" {
		return true, errors.New("JWT_SIGNING_ALG makes the example's own keys: unset JWT_SIGNING_KEY_FILE and JWT_JWKS_URL")
	}
	access, refresh := getenv("JWT_ACCESS_SECRET"), getenv("JWT_REFRESH_SECRET")
	if access != "" {
		return true, errors.New("JWT_SIGNING_ALG signs access tokens instead of JWT_ACCESS_SECRET: unset one of them")
	}
	if rotation == "" {
		if kek != "" {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY seals the keys of JWT_KEY_ROTATION: set that too, or unset it")
		}
		if refresh == "" {
			c.RefreshSecret, c.randomRefresh = randomSecret(), true
		} else {
			c.RefreshSecret = []byte(refresh)
		}
		return true, nil
	}
	d, err := time.ParseDuration(rotation)
	if err != nil || d <= 0 {
		return true, fmt.Errorf("JWT_KEY_ROTATION=%q is not a positive duration (examples: 24h, 20s)", rotation)
	}
	c.KeyRotation = d
	if refresh != "" {
		return true, errors.New("JWT_KEY_ROTATION rotates the refresh key too: unset JWT_REFRESH_SECRET")
	}
	if kek != "" {
		b, err := base64.StdEncoding.DecodeString(kek)
		if err != nil || len(b) != 32 {
			return true, errors.New("JWT_KEY_ENCRYPTION_KEY must be 32 random bytes in base64 (openssl rand -base64 32)")
		}
		c.KeyEncryptionKey = b
	} else if c.RedisURL != "" {
		return true, errors.New("JWT_KEY_ROTATION with REDIS_URL needs JWT_KEY_ENCRYPTION_KEY, the same on every instance, to seal the private keys in Redis (openssl rand -base64 32)")
	}
	return true, nil
}

// keyOptions returns the Manager's key options for c and, in JWT_JWKS_URL mode, the key source
// to close with the App.
func (c Config) keyOptions(logger *slog.Logger, hook core.Hook) ([]core.Option, *jwks.Source, error) {
	switch {
	case c.KeyRotation != 0:
		opts := []core.Option{core.WithKeyRotation(c.SigningAlg, c.KeyRotation)}
		if c.KeyEncryptionKey != nil {
			opts = append(opts, core.WithKeyEncryptionKey("example-kek", c.KeyEncryptionKey))
		}
		logger.Info("signing with a key ring", "alg", c.SigningAlg, "rotation", c.KeyRotation)
		return opts, nil, nil
	case c.SigningAlg != "":
		signer, err := generateSigner(c.SigningAlg)
		if err != nil {
			return nil, nil, fmt.Errorf("JWT_SIGNING_ALG: %v", err)
		}
		logger.Warn("JWT_SIGNING_ALG without JWT_KEY_ROTATION: using a random signing key, so tokens die with this process and other instances do not verify them; set JWT_KEY_ROTATION to share a key ring")
		if c.randomRefresh {
			logger.Warn("JWT_REFRESH_SECRET is unset: using a random refresh secret, so refresh tokens die with this process")
		}
		return []core.Option{core.WithAccessKeys(core.Key{ID: "example-" + c.SigningAlg, Private: signer}),
			core.WithRefreshKeys(core.Key{Secret: c.RefreshSecret})}, nil, nil
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

// generateSigner returns a new private key for alg.
func generateSigner(alg string) (crypto.Signer, error) {
	switch alg {
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("no key for %q", alg)
}
