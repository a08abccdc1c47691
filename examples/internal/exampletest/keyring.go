package exampletest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// KeyRotation checks JWT_SIGNING_ALG with JWT_KEY_ROTATION: two instances on one Redis share one
// key ring rotating every 2 s (5 s access tokens, no leeway: whole-second iat and exp would leave
// a 1 s token a moment), in real time. Every token one
// instance issues is accepted by the other, its kid is in both instances' JWK Sets, served with
// Cache-Control max-age=1 (the publish-ahead), and a refresh token of one refreshes on the other.
func KeyRotation(t *testing.T, start Starter) {
	if testing.Short() {
		t.Skip("rotates keys in real time")
	}
	rs := testutil.StartRedis(t)
	env := map[string]string{"REDIS_URL": rs.URL(), "JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "2s",
		"JWT_ACCESS_TTL": "5s", "JWT_LEEWAY": "0s", "JWT_REFRESH_TTL": "1m",
		"JWT_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("example-kek-for-tests-only-00032"))}
	a, b := StartLive(t, start, env), StartLive(t, start, env)
	kids := map[string]bool{}
	end := time.Now().Add(7 * time.Second)
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i := 0; time.Now().Before(end); i++ {
		<-pace.C
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		code, _, body := from.Do(t, "POST", "/login", "", demo, nil)
		access, _ := body["access_token"].(string)
		if code != 200 || access == "" {
			t.Fatalf("login: got %d %v", code, body)
		}
		kid, _ := tokenHeader(t, access)["kid"].(string)
		kids[kid] = true
		if code, _, body := to.Do(t, "GET", "/api/me", access, nil, nil); code != 200 {
			t.Fatalf("token %d (kid %s) on the other instance: got %d %v", i, kid, code, body)
		}
		for _, s := range []*Server{a, b} {
			published, cc := jwksKIDs(t, s)
			if cc != "public, max-age=1" || !slices.Contains(published, kid) {
				t.Fatalf("JWKS %v (Cache-Control %q) lacks the signing key %s", published, cc, kid)
			}
		}
		if i%10 == 0 {
			refresh, _ := body["refresh_token"].(string)
			if code, _, body := to.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, nil); code != 200 {
				t.Fatalf("refresh on the other instance: got %d %v", code, body)
			}
		}
	}
	if len(kids) < 3 {
		t.Fatalf("%d signing keys in 7 s of 2 s rotations, want at least 3", len(kids))
	}
}

// jwksKIDs returns the kids of the example's JWK Set and its Cache-Control.
func jwksKIDs(t *testing.T, s *Server) ([]string, string) {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS %q: %v", raw, err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out, resp.Header.Get("Cache-Control")
}

// JoseKeyRing checks that a JWKS consumer nobody here wrote follows a rotating key ring: Node's
// jose (createRemoteJWKSet, caching the JWK Set for the max-age of its Cache-Control and never
// refetching early on an unknown kid) verifies a token every 50 ms, logged in alternately on two
// instances sharing a ring on one Redis that rotates every 2 s, for five rotations, the JWK Set
// fetched from both in turn as behind a load balancer: zero unknown-kid failures. Skipped without
// node/npm or registry access unless JWTEXP_REQUIRE_NODE=1.
func JoseKeyRing(t *testing.T, start Starter) {
	dir := installNode(t, "jose", "follow.mjs")
	rs := testutil.StartRedis(t)
	env := map[string]string{"REDIS_URL": rs.URL(), "JWT_SIGNING_ALG": "ES256", "JWT_KEY_ROTATION": "2s",
		"JWT_ACCESS_TTL": "5s", "JWT_LEEWAY": "0s", "JWT_REFRESH_TTL": "1m",
		"JWT_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("example-kek-for-tests-only-00032"))}
	a, b := StartLive(t, start, env), StartLive(t, start, env)
	var turn atomic.Int64
	var fetches atomic.Int64
	balancer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		s := []*Server{a, b}[turn.Add(1)%2]
		resp, err := http.Get(s.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("Cache-Control", resp.Header.Get("Cache-Control"))
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(balancer.Close)
	cfg, _ := json.Marshal(map[string]any{
		"jwks": balancer.URL + "/.well-known/jwks.json", "login": []string{a.URL + "/login", b.URL + "/login"},
		"issuer": a.App.Issuer, "audience": a.App.Audience, "ms": 10_500, "every": 50,
		"username": demo["username"], "password": demo["password"],
	})
	cmd := exec.Command("node", "follow.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node follow.mjs: %v\n%s", err, stderr.Bytes())
	}
	var res struct {
		Tokens, UnknownKid, Failed, MaxAge int
		Kids, Errors                       []string
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("follow.mjs output %q: %v", raw, err)
	}
	t.Logf("jose: %d tokens, %d signing keys, %d JWKS fetches (max-age %d s), %d unknown-kid failures, %d other failures %v",
		res.Tokens, len(res.Kids), fetches.Load(), res.MaxAge, res.UnknownKid, res.Failed, res.Errors)
	if res.UnknownKid != 0 || res.Failed != 0 {
		t.Fatalf("jose: %d unknown-kid and %d other failures of %d tokens: %v", res.UnknownKid, res.Failed, res.Tokens, res.Errors)
	}
	if res.MaxAge != 1 || len(res.Kids) < 5 {
		t.Fatalf("jose: max-age %d, %d signing keys: want 1 s and at least 5 (five rotations)", res.MaxAge, len(res.Kids))
	}
}
