package main

import (
	"testing"

	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
)

// TestSigningKeys: JWT_SIGNING_KEY_FILE (RSA, P-256, Ed25519), /.well-known/jwks.json, and
// JWT_JWKS_URL (a verification-only instance trusting the first one's JWKS). The Node jose
// interop test runs once, in examples/nethttp: every adapter serves the same core answer.
func TestSigningKeys(t *testing.T) { exampletest.SigningKeys(t, start) }

// TestKeyRotation: JWT_SIGNING_ALG and JWT_KEY_ROTATION, two instances sharing the key ring on
// one Redis.
func TestKeyRotation(t *testing.T) { exampletest.KeyRotation(t, start) }
