package core

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

func keyFormatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrKeyFormat, fmt.Sprintf(format, args...))
}

// ParsePrivateKeyPEM reads the first private key of a PEM document: PKCS#1 ("RSA PRIVATE KEY"),
// SEC 1 ("EC PRIVATE KEY", an "EC PARAMETERS" block before it is skipped) or PKCS#8 ("PRIVATE
// KEY", holding RSA, ECDSA or Ed25519), as written by openssl genpkey, openssl ecparam -genkey,
// ssh-keygen -m PEM and most key management systems. The key is checked as New would check it:
// RSA at least 2048 bits (RFC 7518 §3.3), ECDSA on P-256, P-384 or P-521 (RFC 7518 §3.4), or
// Ed25519 (RFC 8037 §3.1). Encrypted keys are refused (decrypt them first, for example with
// openssl pkey). Every failure matches ErrKeyFormat; the message never contains key material.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, err := firstKeyBlock(data)
	if err != nil {
		return nil, err
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, keyFormatError("the private key is encrypted: decrypt it first (openssl pkey -in key.pem -out plain.pem)")
	}
	if isPublicBlock(block.Type) {
		return nil, keyFormatError("PEM block %q holds a public key or certificate, not a private key", block.Type)
	}
	var parsed any
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, keyFormatError("PEM block %q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		// Labels are sometimes wrong (PKCS#8 bytes under an RSA label): try the other encodings
		// before giving up, and report the label's own error.
		if alt, altErr := parseAnyPrivate(block.Bytes); altErr == nil {
			parsed, err = alt, nil
		} else {
			return nil, keyFormatError("PEM block %q: %v", block.Type, err)
		}
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, keyFormatError("unsupported private key type %T (use RSA, ECDSA P-256/P-384 or Ed25519)", parsed)
	}
	if _, err := asymmetricAlg(signer.Public(), ""); err != nil {
		return nil, keyFormatError("%v", err)
	}
	return signer, nil
}

func parseAnyPrivate(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return x509.ParseECPrivateKey(der)
}

// ParsePublicKeyPEM reads the first public key of a PEM document: PKIX ("PUBLIC KEY", RFC 5280
// §4.1.2.7, what openssl pkey -pubout writes), PKCS#1 ("RSA PUBLIC KEY") or the subject key of an
// X.509 "CERTIFICATE" (the certificate itself is not validated: it is only a container for the key
// here). The result is an *rsa.PublicKey of at least 2048 bits, an *ecdsa.PublicKey on P-256,
// P-384 or P-521, or an ed25519.PublicKey, ready for Key.Public. Private keys are refused: pass
// their Public() instead. Every failure matches ErrKeyFormat.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, err := firstKeyBlock(data)
	if err != nil {
		return nil, err
	}
	var parsed any
	switch block.Type {
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		parsed, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			parsed = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, keyFormatError("PEM block %q holds a private key: publish and configure only its public half", block.Type)
		}
		return nil, keyFormatError("PEM block %q is not a public key (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
	}
	if err != nil {
		return nil, keyFormatError("PEM block %q: %v", block.Type, err)
	}
	if _, err := asymmetricAlg(parsed, ""); err != nil {
		return nil, keyFormatError("%v", err)
	}
	return parsed, nil
}

// firstKeyBlock returns the first PEM block that is not EC parameters.
func firstKeyBlock(data []byte) (*pem.Block, error) {
	rest := data
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, keyFormatError("no PEM block found (want -----BEGIN ... KEY-----)")
		}
		if block.Type != "EC PARAMETERS" {
			return block, nil
		}
		rest = next
	}
}

func isPublicBlock(t string) bool {
	return t == "PUBLIC KEY" || t == "RSA PUBLIC KEY" || t == "CERTIFICATE"
}

// LoadSigningKeyFile reads a PEM private key (see ParsePrivateKeyPEM) from path and returns a Key
// that signs with it. The algorithm follows the key (RFC 7518 §3.1, RFC 8037 §3.1): RS256 for RSA,
// ES256 for P-256, ES384 for P-384, ES512 for P-521, EdDSA for Ed25519; set Key.Algorithm
// afterwards for PS256. The key ID is the key's RFC 7638 JWK thumbprint (see Thumbprint), so it is
// the same on every instance and every restart and changes exactly when the key does. Errors name
// the file and match ErrKeyFormat when the content is not a usable key.
func LoadSigningKeyFile(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("jwtexp: read signing key: %w", err)
	}
	signer, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	alg, err := asymmetricAlg(signer.Public(), "")
	if err != nil { // checked by ParsePrivateKeyPEM already
		return Key{}, keyFormatError("%s: %v", path, err)
	}
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return Key{}, keyFormatError("%s: %v", path, err)
	}
	return Key{ID: kid, Algorithm: alg, Private: signer}, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of a public key: base64url(SHA-256) of the JWK's
// required members in lexicographic order (RFC 7638 §3.2: e, kty, n for RSA; crv, kty, x, y for
// EC; crv, kty, x for OKP, RFC 8037 §2). It makes a good key ID: derived from the key alone, so
// every instance computes the same one.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	var b []byte
	switch j.Kty {
	case "RSA":
		b = fmt.Appendf(nil, `{"e":%q,"kty":"RSA","n":%q}`, j.E, j.N)
	case "EC":
		b = fmt.Appendf(nil, `{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j.Crv, j.X, j.Y)
	default:
		b = fmt.Appendf(nil, `{"crv":%q,"kty":"OKP","x":%q}`, j.Crv, j.X)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
