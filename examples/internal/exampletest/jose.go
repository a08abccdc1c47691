package exampletest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// RequireNodeEnv makes JoseInterop fail instead of skip when node, npm or the npm registry is
// unavailable. CI sets it (JWTEXP_REQUIRE_NODE=1) where the registry is reachable.
const RequireNodeEnv = "JWTEXP_REQUIRE_NODE"

// nodeUnavailable skips the test, or fails it when RequireNodeEnv is 1.
func nodeUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	testutil.Missing(t, RequireNodeEnv, format, args...)
}

// installJose installs the pinned jose of testdata/jose (package.json + package-lock.json, npm ci)
// into a temp dir and returns the dir, which holds verify.mjs and node_modules.
func installJose(t *testing.T) string {
	t.Helper()
	return installNode(t, "jose", "verify.mjs")
}

// installNode installs the pinned packages of testdata/<name> (package.json + package-lock.json,
// npm ci) into a temp dir with the given scripts and returns the dir.
func installNode(t *testing.T, name string, scripts ...string) string {
	t.Helper()
	if testing.Short() && os.Getenv(RequireNodeEnv) != "1" {
		t.Skip("-short: skipping a Node test (npm install)")
	}
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			nodeUnavailable(t, "%s not found in PATH", bin)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "testdata", name)
	dir := t.TempDir()
	for _, name := range append([]string{"package.json", "package-lock.json"}, scripts...) {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		nodeUnavailable(t, "npm ci of %s failed (npm registry unreachable?): %v\n%s", name, err, out)
	}
	t.Logf("npm ci (%s) took %v", name, time.Since(began).Round(time.Millisecond))
	return dir
}

// joseCase is one token for verify.mjs to check.
type joseCase struct {
	JWKS     string `json:"jwks"`
	Token    string `json:"token"`
	Issuer   string `json:"issuer"`
	Audience string `json:"audience"`
}

// joseResult is verify.mjs's answer for one case.
type joseResult struct {
	OK              bool           `json:"ok"`
	Payload         map[string]any `json:"payload"`
	ProtectedHeader map[string]any `json:"protectedHeader"`
	Error           string         `json:"error"`
}

// joseVerify runs verify.mjs once for all cases: jose's jwtVerify with createRemoteJWKSet.
func joseVerify(t *testing.T, dir string, cases []joseCase) []joseResult {
	t.Helper()
	in, _ := json.Marshal(cases)
	cmd := exec.Command("node", "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.Bytes())
	}
	var res []joseResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("verify.mjs output %q: %v", out, err)
	}
	return res
}

// JoseInterop checks that another ecosystem's standard client accepts the tokens an example signs
// with JWT_SIGNING_KEY_FILE: Node's jose (jwtVerify + createRemoteJWKSet) fetches the example's
// /.well-known/jwks.json over HTTP and verifies a token of each key kind; a tampered token and a
// wrong audience are refused. Skipped without node/npm or registry access unless
// JWTEXP_REQUIRE_NODE=1.
func JoseInterop(t *testing.T, start Starter) {
	dir := installJose(t)
	type issued struct {
		alg, kid, iss string
	}
	var cases []joseCase
	var want []issued
	for _, kk := range KeyKinds {
		s, access, kid := Issuer(t, start, kk.Name, nil)
		cfg := s.App
		jwksURL := s.URL + testutil.JWKSPath
		cases = append(cases,
			joseCase{jwksURL, access, cfg.Issuer, cfg.Audience},
			joseCase{jwksURL, testutil.Tamper(access), cfg.Issuer, cfg.Audience},
			joseCase{jwksURL, access, cfg.Issuer, "another-api"})
		want = append(want, issued{kk.Alg, kid, cfg.Issuer})
	}
	began := time.Now()
	res := joseVerify(t, dir, cases)
	t.Logf("jose verified %d tokens in %v", len(cases), time.Since(began).Round(time.Millisecond))
	for i, w := range want {
		good, tampered, otherAud := res[3*i], res[3*i+1], res[3*i+2]
		if !good.OK {
			t.Errorf("%s: jose refused the token: %s", w.alg, good.Error)
		} else if good.Payload["sub"] != "alice" || good.Payload["iss"] != w.iss || good.ProtectedHeader["alg"] != w.alg || good.ProtectedHeader["kid"] != w.kid {
			t.Errorf("%s: jose got %v %v, want sub alice, alg %s, kid %s", w.alg, good.Payload, good.ProtectedHeader, w.alg, w.kid)
		}
		if tampered.OK || !strings.Contains(tampered.Error, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") {
			t.Errorf("%s: tampered token: got %+v, want a signature failure", w.alg, tampered)
		}
		if otherAud.OK || !strings.Contains(otherAud.Error, "ERR_JWT_CLAIM_VALIDATION_FAILED") {
			t.Errorf("%s: other audience: got %+v, want a claim failure", w.alg, otherAud)
		}
	}
}
