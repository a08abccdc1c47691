package exampletest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// KeyKinds are the PEM private keys the examples accept in JWT_SIGNING_KEY_FILE, with the
// algorithm that follows each.
var KeyKinds = []struct{ Name, Alg string }{{"rsa", "RS256"}, {"p256", "ES256"}, {"ed25519", "EdDSA"}}

// WriteKeyFile writes a new private key of the kind ("rsa": PKCS#1, "p256": SEC 1, "ed25519":
// PKCS#8, the encodings openssl writes) to a PEM file in a temp dir and returns its path and kid.
func WriteKeyFile(t *testing.T, kind string) (path, kid string) {
	t.Helper()
	var signer crypto.Signer
	var block *pem.Block
	var err error
	switch kind {
	case "rsa":
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			signer, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		}
	case "p256":
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
			var der []byte
			der, err = x509.MarshalECPrivateKey(k)
			signer, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}
	case "ed25519":
		var k ed25519.PrivateKey
		if _, k, err = ed25519.GenerateKey(rand.Reader); err == nil {
			var der []byte
			der, err = x509.MarshalPKCS8PrivateKey(k)
			signer, block = k, &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		}
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), kind+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	kid, err = core.Thumbprint(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return path, kid
}

// tokenHeader decodes the JOSE header of a compact JWS.
func tokenHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	var h map[string]any
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("token header %q: %v", seg, err)
	}
	return h
}

// Issuer starts the example with JWT_SIGNING_KEY_FILE set to a new key of the kind and logs in;
// it returns the server, the access token and the key's kid.
func Issuer(t *testing.T, start Starter, kind string, env map[string]string) (*Server, string, string) {
	t.Helper()
	path, kid := WriteKeyFile(t, kind)
	all := map[string]string{"JWT_SIGNING_KEY_FILE": path}
	for k, v := range env {
		all[k] = v
	}
	s := Start(t, start, all)
	code, _, body := s.Do(t, "POST", "/login", "", demo, nil)
	access, _ := body["access_token"].(string)
	if code != 200 || access == "" {
		t.Fatalf("login with JWT_SIGNING_KEY_FILE: got %d %v", code, body)
	}
	return s, access, kid
}

// SigningKeys checks JWT_SIGNING_KEY_FILE and JWT_JWKS_URL against an example, for each key kind:
// the example signs access tokens with the algorithm that follows the key and the key's
// thumbprint as kid, still refreshes (HMAC refresh tokens), and publishes exactly the public key
// at /.well-known/jwks.json with cache headers; a second instance started with JWT_JWKS_URL
// pointing there accepts the tokens at /api/me, refuses tampered ones and the tokens of another
// key, honours a logout, and answers /login and /refresh with 501.
func SigningKeys(t *testing.T, start Starter) {
	for _, kk := range KeyKinds {
		t.Run(kk.Name, func(t *testing.T) {
			iss, access, kid := Issuer(t, start, kk.Name, nil)
			if h := tokenHeader(t, access); h["alg"] != kk.Alg || h["kid"] != kid {
				t.Fatalf("access token header: got %v, want alg %s kid %s", h, kk.Alg, kid)
			}
			if code, _, body := iss.Do(t, "GET", "/api/me", access, nil, nil); code != 200 || body["sub"] != "alice" {
				t.Fatalf("/api/me on the issuer: got %d %v", code, body)
			}

			code, hdr, body := iss.Do(t, "GET", testutil.JWKSPath, "", nil, nil)
			keys, _ := body["keys"].([]any)
			if code != 200 || hdr.Get("Cache-Control") != core.JWKSCacheControl || len(keys) != 1 {
				t.Fatalf("JWKS: got %d %v %v", code, hdr, body)
			}
			jwk, _ := keys[0].(map[string]any)
			if jwk["kid"] != kid || jwk["alg"] != kk.Alg || jwk["use"] != "sig" || jwk["d"] != nil {
				t.Fatalf("JWKS key: got %v, want the public key with kid %s", jwk, kid)
			}

			rs := Start(t, start, map[string]string{"JWT_JWKS_URL": iss.URL + testutil.JWKSPath,
				"JWT_ISSUER": iss.App.Issuer, "JWT_AUDIENCE": iss.App.Audience})
			if code, _, body := rs.Do(t, "GET", "/api/me", access, nil, nil); code != 200 || body["sub"] != "alice" {
				t.Fatalf("/api/me on the resource server: got %d %v", code, body)
			}
			if code, _, body := rs.Do(t, "GET", "/api/me", testutil.Tamper(access), nil, nil); code != 401 || body["error"] != "invalid_token" {
				t.Fatalf("tampered token on the resource server: got %d %v", code, body)
			}
			_, other, _ := Issuer(t, start, kk.Name, nil) // same issuer name, unpublished key
			if code, _, body := rs.Do(t, "GET", "/api/me", other, nil, nil); code != 401 || body["error_description"] != "unknown key id" {
				t.Fatalf("token of an unpublished key: got %d %v, want 401 unknown key id", code, body)
			}
			for _, path := range []string{"/login", "/refresh"} {
				code, _, body := rs.Do(t, "POST", path, "", demo, nil)
				if code != 501 || body["error"] != "not_implemented" {
					t.Fatalf("%s on the resource server: got %d %v, want 501 not_implemented", path, code, body)
				}
			}
			if code, _, _ := rs.Do(t, "POST", "/logout", access, nil, nil); code != 204 {
				t.Fatalf("logout on the resource server: got %d", code)
			}
			if code, _, body := rs.Do(t, "GET", "/api/me", access, nil, nil); code != 401 || body["error_description"] != "session revoked" {
				t.Fatalf("after logout on the resource server: got %d %v, want 401 session revoked", code, body)
			}

			// The issuer still refreshes: HMAC refresh tokens, access tokens with the key.
			_, _, body = iss.Do(t, "POST", "/login", "", demo, nil)
			refresh, _ := body["refresh_token"].(string)
			code, _, body = iss.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil)
			next, _ := body["access_token"].(string)
			if code != 200 || tokenHeader(t, next)["alg"] != kk.Alg {
				t.Fatalf("refresh on the issuer: got %d %v", code, body)
			}
		})
	}
}
