package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/jwtexptest"
)

// Fixed test secrets, long enough for HS256, shared with the public test kit (jwtexptest). Never
// use them outside tests.
var (
	AccessSecret  = jwtexptest.AccessSecret
	RefreshSecret = jwtexptest.RefreshSecret
)

// Issuer and Audience are what the test managers are configured with, as the kit's are.
const (
	Issuer   = jwtexptest.Issuer
	Audience = jwtexptest.Audience
)

// B64 is base64url without padding, as JWS uses it.
func B64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// HS256 signs the exact header and claims JSON given (which may be hostile: duplicate names,
// odd types, wrong case) with secret, so tests control every byte of the token.
func HS256(secret []byte, headerJSON, claimsJSON string) string {
	in := B64(headerJSON) + "." + B64(claimsJSON)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Unsigned returns header.claims. plus a junk signature: what an alg "none" attack sends when the
// server insists on three non-empty segments.
func Unsigned(headerJSON, claimsJSON string) string {
	return B64(headerJSON) + "." + B64(claimsJSON) + "." + B64("junk-signature")
}

// Mint signs claims with golang-jwt, as another service would: method and key as golang-jwt takes
// them, extra header members set on top of alg and typ.
func Mint(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return s
}

// Tamper flips one character in the middle of the signature segment, keeping the token well
// formed, so only the signature check can catch it.
func Tamper(token string) string {
	parts := strings.Split(token, ".")
	p := []byte(parts[2])
	i := len(p) / 2
	if p[i] == 'A' {
		p[i] = 'B'
	} else {
		p[i] = 'A'
	}
	parts[2] = string(p)
	return strings.Join(parts, ".")
}
