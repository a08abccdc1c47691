package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestKeyEnvErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both modes", map[string]string{"JWT_JWKS_URL": "https://idp.example/jwks.json", "JWT_SIGNING_KEY_FILE": "k.pem"}, "JWT_JWKS_URL (verify another issuer's tokens) or JWT_SIGNING_KEY_FILE"},
		{"jwks without issuer", map[string]string{"JWT_JWKS_URL": "https://idp.example/jwks.json", "JWT_AUDIENCE": "api"}, "needs JWT_ISSUER and JWT_AUDIENCE"},
		{"jwks without audience", map[string]string{"JWT_JWKS_URL": "https://idp.example/jwks.json", "JWT_ISSUER": "idp"}, "needs JWT_ISSUER and JWT_AUDIENCE"},
		{"jwks with secrets", map[string]string{"JWT_JWKS_URL": "https://idp.example/jwks.json", "JWT_ISSUER": "idp", "JWT_AUDIENCE": "api", "JWT_REFRESH_SECRET": strings.Repeat("r", 32)}, "unset JWT_ACCESS_SECRET and JWT_REFRESH_SECRET"},
		{"key file with access secret", map[string]string{"JWT_SIGNING_KEY_FILE": "k.pem", "JWT_ACCESS_SECRET": strings.Repeat("a", 32)}, "unset one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromEnv(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestKeyEnvNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub := filepath.Join(dir, "public.pem")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(priv.Public())
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing key file", map[string]string{"JWT_SIGNING_KEY_FILE": filepath.Join(dir, "nope.pem")}, "JWT_SIGNING_KEY_FILE: "},
		{"public key file", map[string]string{"JWT_SIGNING_KEY_FILE": pub}, "not a private key"},
		{"plain http jwks", map[string]string{"JWT_JWKS_URL": "http://idp.example/jwks.json", "JWT_ISSUER": "idp", "JWT_AUDIENCE": "api"}, "JWT_JWKS_URL: "},
		{"unreachable jwks", map[string]string{"JWT_JWKS_URL": "http://127.0.0.1:1/jwks.json", "JWT_ISSUER": "idp", "JWT_AUDIENCE": "api"}, "JWT_JWKS_URL: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := FromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			app, err := New(cfg)
			if err == nil {
				app.Close()
				t.Fatalf("got no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %q, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestKeyFileRandomRefreshSecret(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.pem")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	cfg, err := FromEnv(env(map[string]string{"JWT_SIGNING_KEY_FILE": path}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SigningKeyFile != path || len(cfg.RefreshSecret) != 32 || cfg.AccessSecret != nil || cfg.RandomSecrets {
		t.Fatalf("got %+v, want the key file, a random 32-byte refresh secret and no access secret", cfg)
	}
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if app.Manager.VerificationOnly() || !strings.Contains(string(app.Manager.JWKS()), `"alg":"EdDSA"`) {
		t.Fatalf("got JWKS %s, want the Ed25519 key published", app.Manager.JWKS())
	}
}
