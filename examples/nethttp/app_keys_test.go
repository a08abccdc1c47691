package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
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

// TestKeyRingEnv: JWT_SIGNING_ALG and JWT_KEY_ROTATION, their refusals (one line naming what to
// change, the minimum period included), and the JWK Set of each mode.
func TestKeyRingEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"rotation without alg", map[string]string{"JWT_KEY_ROTATION": "20s"}, "JWT_KEY_ROTATION needs JWT_SIGNING_ALG"},
		{"unknown alg", map[string]string{"JWT_SIGNING_ALG": "HS256"}, "use EdDSA, ES256 or RS256"},
		{"alg with access secret", map[string]string{"JWT_SIGNING_ALG": "EdDSA", "JWT_ACCESS_SECRET": strings.Repeat("a", 32)}, "unset one of them"},
		{"rotation with refresh secret", map[string]string{"JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "1h", "JWT_REFRESH_SECRET": strings.Repeat("r", 32)}, "unset JWT_REFRESH_SECRET"},
		{"bad rotation", map[string]string{"JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "soon"}, "not a positive duration"},
		{"redis without KEK", map[string]string{"JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "1h", "REDIS_URL": "redis://127.0.0.1:1"}, "needs JWT_KEY_ENCRYPTION_KEY"},
		{"short KEK", map[string]string{"JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "1h", "JWT_KEY_ENCRYPTION_KEY": "c2hvcnQ="}, "must be 32 random bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromEnv(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tc.want)
			}
		})
	}
	// A 20 s period with the default 15 min access TTL is refused at start, naming the minimum;
	// with 10 s access tokens it works.
	c, err := FromEnv(env(map[string]string{"JWT_SIGNING_ALG": "ES256", "JWT_KEY_ROTATION": "20s"}))
	if err != nil {
		t.Fatal(err)
	}
	c.Logger = slog.New(slog.DiscardHandler)
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "use at least 1m6s") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("20 s rotation, 15 min tokens: got %v, want one line naming the minimum 1m6s", err)
	}
	for _, e := range []map[string]string{
		{"JWT_SIGNING_ALG": "ES256", "JWT_KEY_ROTATION": "20s", "JWT_ACCESS_TTL": "10s"},
		{"JWT_SIGNING_ALG": "RS256"},
	} {
		c, err := FromEnv(env(e))
		if err != nil {
			t.Fatal(err)
		}
		c.Logger = slog.New(slog.DiscardHandler)
		app, err := New(c)
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		var set struct {
			Keys []struct{ Alg string } `json:"keys"`
		}
		if err := json.Unmarshal(app.Manager.JWKS(), &set); err != nil || len(set.Keys) == 0 || set.Keys[0].Alg != e["JWT_SIGNING_ALG"] {
			t.Fatalf("%v: JWKS %s", e, app.Manager.JWKS())
		}
		app.Close()
	}
}
