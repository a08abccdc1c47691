package exampletest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// KeyRotation checks JWT_SIGNING_ALG with JWT_KEY_ROTATION: two instances on one Redis share one
// key ring rotating every 2 s (1 s access tokens, no leeway), in real time. Every token one
// instance issues is accepted by the other, its kid is in both instances' JWK Sets, served with
// Cache-Control max-age=1 (the publish-ahead), and a refresh token of one refreshes on the other.
func KeyRotation(t *testing.T, start Starter) {
	if testing.Short() {
		t.Skip("rotates keys in real time")
	}
	rs := testutil.StartRedis(t)
	env := map[string]string{"REDIS_URL": rs.URL(), "JWT_SIGNING_ALG": "EdDSA", "JWT_KEY_ROTATION": "2s",
		"JWT_ACCESS_TTL": "1s", "JWT_LEEWAY": "0s", "JWT_REFRESH_TTL": "1m",
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
