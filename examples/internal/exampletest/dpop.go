package exampletest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// dpopChallenge is the WWW-Authenticate of a DPoP refusal (RFC 9449 §7.1).
func dpopChallenge(code, desc string) string {
	return `DPoP realm="jwtexp", error="` + code + `", error_description="` + desc + `", algs="ES256 EdDSA Ed25519 RS256 PS256"`
}

// dpopLogin logs in with a proof of key (and nonce, if not empty) and returns the token response.
func (s *Server) dpopLogin(t *testing.T, key *testutil.DPoPKey, nonce string) (int, http.Header, map[string]any) {
	t.Helper()
	return s.Do(t, "POST", "/login", "", demo, map[string]string{"DPoP": key.Proof(t, "POST", s.URL+"/login", "", nonce, s.now())})
}

// dpopGet sends GET path with "Authorization: DPoP access" and the given proof ("" for none).
func (s *Server) dpopGet(t *testing.T, path, access, proof string) (int, http.Header, map[string]any) {
	t.Helper()
	h := map[string]string{"Authorization": "DPoP " + access}
	if proof != "" {
		h["DPoP"] = proof
	}
	return s.Do(t, "GET", path, "", nil, h)
}

// now is the example's clock.
func (s *Server) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// DPoP checks the example contract for DPoP (RFC 9449) with proofs made by testutil.DPoPKey (an
// independent assembly of the JWS): JWT_DPOP allowed (the default), required and off, and
// JWT_DPOP_NONCE=1.
func DPoP(t *testing.T, start Starter) {
	t.Run("allowed", func(t *testing.T) {
		s := Start(t, start, map[string]string{})
		key := testutil.NewDPoPKey(t)
		status, _, body := s.dpopLogin(t, key, "")
		if status != 200 || body["token_type"] != "DPoP" {
			t.Fatalf("login with a proof: %d %v", status, body)
		}
		access, refresh := body["access_token"].(string), body["refresh_token"].(string)
		proof := key.Proof(t, "GET", s.URL+"/api/me", access, "", s.now())
		if status, _, body := s.dpopGet(t, "/api/me", access, proof); status != 200 || body["sub"] != DemoUser {
			t.Fatalf("/api/me with a fresh proof: %d %v", status, body)
		}
		other := testutil.NewDPoPKey(t)
		for _, tc := range []struct {
			name, auth, proof, code, desc string
		}{
			{"replayed proof", "DPoP " + access, proof, "invalid_dpop_proof", "DPoP proof replayed"},
			{"proof for another URL", "DPoP " + access, key.Proof(t, "GET", s.URL+"/api/admin", access, "", s.now()), "invalid_dpop_proof", "DPoP proof for another URL"},
			{"proof for another method", "DPoP " + access, key.Proof(t, "POST", s.URL+"/api/me", access, "", s.now()), "invalid_dpop_proof", "DPoP proof for another method"},
			{"proof by another key", "DPoP " + access, other.Proof(t, "GET", s.URL+"/api/me", access, "", s.now()), "invalid_dpop_proof", "DPoP proof key does not match the token"},
			{"no proof", "DPoP " + access, "", "invalid_dpop_proof", "DPoP proof required"},
			{"bound token as Bearer", "Bearer " + access, "", "invalid_token", "DPoP-bound token sent without DPoP"},
		} {
			h := map[string]string{"Authorization": tc.auth}
			if tc.proof != "" {
				h["DPoP"] = tc.proof
			}
			status, hdr, body := s.Do(t, "GET", "/api/me", "", nil, h)
			if status != 401 || hdr.Get("WWW-Authenticate") != dpopChallenge(tc.code, tc.desc) || body["error"] != tc.code {
				t.Errorf("%s: %d %q %v", tc.name, status, hdr.Get("WWW-Authenticate"), body)
			}
		}
		// Refresh: without a proof, or with another key's, 400 invalid_grant (RFC 6749 §5.2,
		// as every refused refresh of this library); with the key's proof, new bound tokens.
		for name, h := range map[string]map[string]string{
			"no proof":  nil,
			"other key": {"DPoP": other.Proof(t, "POST", s.URL+"/refresh", "", "", s.now())},
		} {
			status, _, body := s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh}, h)
			if status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("refresh with %s: %d %v", name, status, body)
			}
		}
		status, _, body = s.Do(t, "POST", "/refresh", "", map[string]string{"refresh_token": refresh},
			map[string]string{"DPoP": key.Proof(t, "POST", s.URL+"/refresh", "", "", s.now())})
		if status != 200 || body["token_type"] != "DPoP" {
			t.Fatalf("refresh with the key's proof: %d %v", status, body)
		}
		access = body["access_token"].(string)
		if status, _, body := s.dpopGet(t, "/api/me", access, key.Proof(t, "GET", s.URL+"/api/me", access, "", s.now())); status != 200 {
			t.Fatalf("/api/me after the refresh: %d %v", status, body)
		}
		// A login without a proof still gets Bearer tokens.
		status, _, body = s.Do(t, "POST", "/login", "", demo, nil)
		if status != 200 || body["token_type"] != "Bearer" {
			t.Fatalf("login without a proof: %d %v", status, body)
		}
	})
	t.Run("required", func(t *testing.T) {
		s := Start(t, start, map[string]string{"JWT_DPOP": "required"})
		status, _, body := s.Do(t, "POST", "/login", "", demo, nil)
		if status != 400 || body["error"] != "invalid_dpop_proof" {
			t.Fatalf("login without a proof: %d %v", status, body)
		}
		key := testutil.NewDPoPKey(t)
		if status, _, body := s.dpopLogin(t, key, ""); status != 200 || body["token_type"] != "DPoP" {
			t.Fatalf("login with a proof: %d %v", status, body)
		}
		// No Bearer token is accepted: the challenge names the DPoP scheme (RFC 9449 §7.1).
		status, hdr, body := s.Do(t, "GET", "/api/me", "", nil, nil)
		if want := `DPoP realm="jwtexp", algs="ES256 EdDSA Ed25519 RS256 PS256"`; status != 401 || hdr.Get("WWW-Authenticate") != want {
			t.Errorf("GET /api/me without a token: %d %q %v, want 401 with %s", status, hdr.Get("WWW-Authenticate"), body, want)
		}
	})
	t.Run("off", func(t *testing.T) {
		s := Start(t, start, map[string]string{"JWT_DPOP": "off"})
		status, _, body := s.dpopLogin(t, testutil.NewDPoPKey(t), "")
		if status != 200 || body["token_type"] != "Bearer" {
			t.Fatalf("login with a proof, DPoP off: %d %v", status, body)
		}
	})
	t.Run("nonce", func(t *testing.T) {
		s := Start(t, start, map[string]string{"JWT_DPOP_NONCE": "1"})
		key := testutil.NewDPoPKey(t)
		status, hdr, body := s.dpopLogin(t, key, "")
		nonce := hdr.Get("DPoP-Nonce")
		if status != 400 || body["error"] != "use_dpop_nonce" || nonce == "" {
			t.Fatalf("login without a nonce: %d %v nonce %q", status, body, nonce)
		}
		status, _, body = s.dpopLogin(t, key, nonce)
		if status != 200 || body["token_type"] != "DPoP" {
			t.Fatalf("login with the nonce: %d %v", status, body)
		}
		access := body["access_token"].(string)
		status, hdr, _ = s.dpopGet(t, "/api/me", access, key.Proof(t, "GET", s.URL+"/api/me", access, "", s.now()))
		if status != 401 || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) || hdr.Get("DPoP-Nonce") != nonce {
			t.Fatalf("/api/me without a nonce: %d %q nonce %q", status, hdr.Get("WWW-Authenticate"), hdr.Get("DPoP-Nonce"))
		}
		if status, _, body := s.dpopGet(t, "/api/me", access, key.Proof(t, "GET", s.URL+"/api/me", access, nonce, s.now())); status != 200 {
			t.Fatalf("/api/me with the nonce: %d %v", status, body)
		}
	})
	t.Run("redis", func(t *testing.T) {
		// Two instances on one Redis behind one public origin: a proof accepted by one is
		// refused by the other, and a nonce of one is taken by the other.
		rs := testutil.StartRedis(t)
		const origin = "https://api.example.com"
		env := map[string]string{"REDIS_URL": rs.URL(), "JWT_DPOP_NONCE": "1", "JWT_DPOP_PUBLIC_URL": origin,
			"JWT_ACCESS_SECRET": strings.Repeat("a", 32), "JWT_REFRESH_SECRET": strings.Repeat("r", 32)}
		a, b := Start(t, start, env), Start(t, start, env)
		key := testutil.NewDPoPKey(t)
		_, hdr, _ := a.Do(t, "POST", "/login", "", demo, map[string]string{"DPoP": key.Proof(t, "POST", origin+"/login", "", "", a.now())})
		nonce := hdr.Get("DPoP-Nonce")
		status, _, body := b.Do(t, "POST", "/login", "", demo, map[string]string{"DPoP": key.Proof(t, "POST", origin+"/login", "", nonce, b.now())})
		if nonce == "" || status != 200 || body["token_type"] != "DPoP" {
			t.Fatalf("login at b with a's nonce %q: %d %v", nonce, status, body)
		}
		access := body["access_token"].(string)
		proof := key.Proof(t, "GET", origin+"/api/me", access, nonce, a.now())
		if status, _, body := a.dpopGet(t, "/api/me", access, proof); status != 200 {
			t.Fatalf("/api/me at a: %d %v", status, body)
		}
		status, hdr, _ = b.dpopGet(t, "/api/me", access, proof)
		if status != 401 || hdr.Get("WWW-Authenticate") != dpopChallenge("invalid_dpop_proof", "DPoP proof replayed") {
			t.Fatalf("the proof replayed at b: %d %q", status, hdr.Get("WWW-Authenticate"))
		}
	})
}
