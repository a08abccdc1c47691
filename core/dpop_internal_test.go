package core

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// TestDPoPThumbprintVectors checks the thumbprint of a proof's jwk against the examples of the
// RFCs: RFC 7638 §3.1 (RSA) and RFC 9449 §6.1 (EC P-256), and that the key's members in another
// order or with extra members give the same thumbprint.
func TestDPoPThumbprintVectors(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		jwk  dpopJWK
		want string
	}{
		{"RS256", dpopJWK{Kty: "RSA", E: "AQAB", N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
			"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"ES256", dpopJWK{Kty: "EC", Crv: "P-256", X: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", Y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"},
			"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
	} {
		_, input, err := proofKey(tc.alg, &tc.jwk)
		if err != nil {
			t.Fatalf("%s: %v", tc.alg, err)
		}
		sum := sha256.Sum256(input)
		if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("%s: thumbprint %s, want %s", tc.alg, got, tc.want)
		}
	}
	// Non-canonical base64url (non-zero padding bits) is refused: one key, one thumbprint.
	bad := dpopJWK{Kty: "EC", Crv: "P-256", X: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFt", Y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
	if _, _, err := proofKey("ES256", &bad); err == nil {
		t.Error("x with non-zero padding bits accepted")
	}
	// A point off the curve is refused.
	off := dpopJWK{Kty: "EC", Crv: "P-256", X: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", Y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDE"}
	if _, _, err := proofKey("ES256", &off); err == nil {
		t.Error("a point off the curve accepted")
	}
}
