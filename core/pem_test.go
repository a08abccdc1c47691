package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// Test keys, generated once per run (RSA generation is slow).
var testKeys = sync.OnceValue(func() (k struct {
	rsa   *rsa.PrivateKey
	rsa2  *rsa.PrivateKey
	p256  *ecdsa.PrivateKey
	p384  *ecdsa.PrivateKey
	ed    ed25519.PrivateKey
	ed2   ed25519.PrivateKey
	small *rsa.PrivateKey
	p224  *ecdsa.PrivateKey
}) {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.small, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.p224, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.ed2, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func pkixPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func sec1(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("EC PRIVATE KEY", der)
}

func TestParsePrivateKeyPEM(t *testing.T) {
	t.Parallel()
	k := testKeys()
	ecParams := append(pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), sec1(t, k.p256)...)
	for _, tc := range []struct {
		name string
		pem  []byte
		want crypto.PublicKey
		alg  string
	}{
		{"PKCS#1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa)), k.rsa.Public(), "RS256"},
		{"PKCS#8 RSA", pkcs8(t, k.rsa), k.rsa.Public(), "RS256"},
		{"PKCS#8 under an RSA label", pemBlock("RSA PRIVATE KEY", pkcs8Der(t, k.rsa)), k.rsa.Public(), "RS256"},
		{"SEC1 P-256", sec1(t, k.p256), k.p256.Public(), "ES256"},
		{"SEC1 P-256 after EC PARAMETERS", ecParams, k.p256.Public(), "ES256"},
		{"PKCS#8 P-384", pkcs8(t, k.p384), k.p384.Public(), "ES384"},
		{"PKCS#8 Ed25519", pkcs8(t, k.ed), k.ed.Public(), "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := core.ParsePrivateKeyPEM(tc.pem)
			if err != nil {
				t.Fatalf("got %v", err)
			}
			if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want) {
				t.Fatalf("got another key")
			}
			// The parsed key signs tokens of the algorithm that follows the key.
			m := asymManager(t, testutil.NewClock(t0), core.Key{ID: "k", Private: s})
			p, err := m.Issue(context.Background(), "alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := headerAlg(t, p.AccessToken); got != tc.alg {
				t.Fatalf("alg: got %s, want %s", got, tc.alg)
			}
		})
	}
}

func pkcs8Der(t testing.TB, k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePEMErrors(t *testing.T) {
	t.Parallel()
	k := testKeys()
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}})
	for _, tc := range []struct {
		name    string
		private bool
		pem     []byte
		want    string
	}{
		{"private: empty", true, nil, "no PEM block"},
		{"private: not PEM", true, []byte("hello"), "no PEM block"},
		{"private: RSA 1024", true, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.small)), "1024 bits, needs at least 2048"},
		{"private: P-224", true, sec1(t, k.p224), "unsupported ECDSA curve"},
		{"private: public key given", true, pkixPEM(t, k.rsa.Public()), "public key or certificate, not a private key"},
		{"private: encrypted PKCS#8", true, pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}), "encrypted"},
		{"private: encrypted legacy", true, encrypted, "encrypted"},
		{"private: garbage DER", true, pemBlock("PRIVATE KEY", []byte{1, 2, 3}), `"PRIVATE KEY"`},
		{"private: other block", true, pemBlock("OPENSSH PRIVATE KEY", []byte{1}), "is not a private key"},
		{"public: private key given", false, pkcs8(t, k.rsa), "holds a private key"},
		{"public: RSA 1024", false, pkixPEM(t, k.small.Public()), "1024 bits"},
		{"public: P-224", false, pkixPEM(t, k.p224.Public()), "unsupported ECDSA curve"},
		{"public: garbage", false, pemBlock("PUBLIC KEY", []byte{1}), `"PUBLIC KEY"`},
		{"public: empty", false, nil, "no PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.private {
				_, err = core.ParsePrivateKeyPEM(tc.pem)
			} else {
				_, err = core.ParsePublicKeyPEM(tc.pem)
			}
			if !errors.Is(err, core.ErrKeyFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrKeyFormat mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	t.Parallel()
	k := testKeys()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.p256.Public(), k.p256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pem  []byte
		want crypto.PublicKey
	}{
		{"PKIX RSA", pkixPEM(t, k.rsa.Public()), k.rsa.Public()},
		{"PKCS#1 RSA", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)), k.rsa.Public()},
		{"PKIX P-256", pkixPEM(t, k.p256.Public()), k.p256.Public()},
		{"PKIX Ed25519", pkixPEM(t, k.ed.Public()), k.ed.Public()},
		{"certificate", pemBlock("CERTIFICATE", certDER), k.p256.Public()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := core.ParsePublicKeyPEM(tc.pem)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want) {
				t.Fatal("got another key")
			}
		})
	}
}

func TestLoadSigningKeyFile(t *testing.T) {
	t.Parallel()
	k := testKeys()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		pem  []byte
		pub  crypto.PublicKey
		alg  string
	}{
		{"rsa", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa)), k.rsa.Public(), "RS256"},
		{"p256", sec1(t, k.p256), k.p256.Public(), "ES256"},
		{"ed25519", pkcs8(t, k.ed), k.ed.Public(), "EdDSA"},
	} {
		path := filepath.Join(dir, tc.name+".pem")
		if err := os.WriteFile(path, tc.pem, 0o600); err != nil {
			t.Fatal(err)
		}
		key, err := core.LoadSigningKeyFile(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		thumb, _ := core.Thumbprint(tc.pub)
		if key.Algorithm != tc.alg || key.ID != thumb || key.ID == "" || key.Private == nil {
			t.Fatalf("%s: got alg %q kid %q, want %s and the thumbprint %q", tc.name, key.Algorithm, key.ID, tc.alg, thumb)
		}
	}
	if _, err := core.LoadSigningKeyFile(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v", err)
	}
	bad := filepath.Join(dir, "pub.pem")
	os.WriteFile(bad, pkixPEM(t, k.rsa.Public()), 0o600)
	if _, err := core.LoadSigningKeyFile(bad); !errors.Is(err, core.ErrKeyFormat) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("public key file: got %v, want ErrKeyFormat naming the file", err)
	}
}

// TestThumbprintRFC7638 checks the RSA example of RFC 7638 §3.1 and the Ed25519 example of
// RFC 8037 §A.3.
func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rsaPub := &rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, n)), E: 65537}
	if got, err := core.Thumbprint(rsaPub); err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("RFC 7638 §3.1: got %q, %v", got, err)
	}
	edPub := ed25519.PublicKey(mustB64(t, rfc8037X))
	if got, err := core.Thumbprint(edPub); err != nil || got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("RFC 8037 §A.3: got %q, %v", got, err)
	}
	if _, err := core.Thumbprint([]byte("secret")); err == nil {
		t.Fatal("a secret has no thumbprint")
	}
}
