package main

import (
	"testing"

	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
)

// TestSigningKeys: JWT_SIGNING_KEY_FILE (RSA, P-256, Ed25519), /.well-known/jwks.json, and
// JWT_JWKS_URL (a verification-only instance trusting the first one's JWKS).
func TestSigningKeys(t *testing.T) { exampletest.SigningKeys(t, start) }

// TestJoseInterop: Node's jose verifies the example's tokens with its remote JWKS.
func TestJoseInterop(t *testing.T) { exampletest.JoseInterop(t, start) }

// TestKeyRotation: JWT_SIGNING_ALG and JWT_KEY_ROTATION, two instances sharing the key ring on
// one Redis.
func TestKeyRotation(t *testing.T) { exampletest.KeyRotation(t, start) }

// TestJoseKeyRing: Node's jose, caching the JWKS as its Cache-Control says, follows five
// rotations of a ring two instances share with zero unknown-kid failures.
func TestJoseKeyRing(t *testing.T) { exampletest.JoseKeyRing(t, start) }
