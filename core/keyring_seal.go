package core

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// Key material of a key ring at rest, and signing with keys kept outside the store.
//
// A private key (PKCS #8 DER) or HMAC secret of a ring is stored sealed: a random 96-bit nonce
// followed by its AES-256-GCM encryption (NIST SP 800-38D) under the application's key-encryption
// key, with the additional data "jwtexp key ring", the ring's name, the kid and the KEK id, so a
// sealed key copied to another kid, ring or KEK id does not open.

func ringAAD(ringName, kid, kekID string) []byte {
	return []byte("jwtexp key ring\x00" + ringName + "\x00" + kid + "\x00" + kekID)
}

func sealKey(kek []byte, kekID, ringName, kid string, plain []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, ringAAD(ringName, kid, kekID)), nil
}

func openKey(kek []byte, kekID, ringName, kid string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("jwtexp: sealed key too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], ringAAD(ringName, kid, kekID))
}

func newGCM(kek []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// signExternal signs signingInput with a crypto.Signer that is not one of the standard library's
// private key types (a KMS key of WithKeySigners), returning the JWS signature segment: the
// signer hashes nothing for EdDSA (RFC 8037 §3.1), gets the SHA-256/384 digest otherwise, and an
// ECDSA signature comes back as ASN.1 and is turned into R || S (RFC 7518 §3.4).
func (k *key) signExternal(signingInput string) (string, error) {
	s, ok := k.signKey.(crypto.Signer)
	if !ok {
		return "", fmt.Errorf("jwtexp: key %q can only verify", k.kid)
	}
	var (
		sig []byte
		err error
	)
	switch k.alg {
	case "EdDSA":
		sig, err = s.Sign(rand.Reader, []byte(signingInput), crypto.Hash(0))
	case "ES256", "RS256", "PS256":
		d := sha256.Sum256([]byte(signingInput))
		var opts crypto.SignerOpts = crypto.SHA256
		if k.alg == "PS256" {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		}
		sig, err = s.Sign(rand.Reader, d[:], opts)
		if err == nil && k.alg == "ES256" {
			sig, err = ecdsaRS(sig, 32)
		}
	case "ES384":
		d := sha512.Sum384([]byte(signingInput))
		sig, err = s.Sign(rand.Reader, d[:], crypto.SHA384)
		if err == nil {
			sig, err = ecdsaRS(sig, 48)
		}
	default:
		return "", fmt.Errorf("jwtexp: key %q: no external signing for %s", k.kid, k.alg)
	}
	if err != nil {
		return "", fmt.Errorf("jwtexp: key %q: signer: %w", k.kid, err)
	}
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// ecdsaRS turns an ASN.1 ECDSA signature into the fixed-size R || S of JWS.
func ecdsaRS(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.R == nil || v.S == nil || v.R.Sign() <= 0 || v.S.Sign() <= 0 ||
		v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}
