package core

import (
	"crypto/ed25519"
	"encoding/base64"
	"testing"
)

// TestRFC8037SignatureInternal runs the example of RFC 8037 §A.4 (signing) and §A.5 (validation)
// through core's own key path: the RFC payload "Example of Ed25519 signing" is not a JWT claims
// set, so the Manager rightly refuses the token, but the signature must be exactly the RFC's.
// Ed25519 is deterministic (RFC 8032 §5.1.6), so signing reproduces it byte for byte.
func TestRFC8037SignatureInternal(t *testing.T) {
	t.Parallel()
	const (
		d            = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
		signingInput = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
		signature    = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	)
	seed, err := base64.RawURLEncoding.DecodeString(d)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	signer, err := newKey(Key{Private: priv}, "access")
	if err != nil {
		t.Fatal(err)
	}
	if signer.alg != "EdDSA" {
		t.Fatalf("alg: got %s, want EdDSA", signer.alg)
	}
	got, err := signer.sign(signingInput)
	if err != nil || got != signature {
		t.Fatalf("RFC 8037 §A.4: got %q, %v, want %q", got, err, signature)
	}
	verifier, err := newKey(Key{Public: priv.Public()}, "access")
	if err != nil {
		t.Fatal(err)
	}
	if !verifier.verifySignature(signingInput, signature) {
		t.Fatal("RFC 8037 §A.5: signature does not verify")
	}
	if verifier.verifySignature(signingInput+"x", signature) {
		t.Fatal("a changed payload verifies")
	}
}
