package testutil

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// DPoPSuiteBase is the scheme and host the DPoP suite's requests are made to (httptest's
// default): the proofs name it.
const DPoPSuiteBase = "http://example.com"

// dpopAnswer is a DPoP refusal on a protected route (RFC 9449 §7.1).
func dpopAnswer(code, desc string) Answer {
	return Answer{http.StatusUnauthorized,
		fmt.Sprintf(`DPoP realm="jwtexp", error=%q, error_description=%q, algs="ES256 EdDSA Ed25519 RS256 PS256"`, code, desc),
		map[string]string{"error": code, "error_description": desc}}
}

// RunDPoPSuite runs the DPoP cases (RFC 9449) against one adapter, mounted as for RunHTTPSuite
// (build is called once per case with a fresh Manager): the adapter must hand core the request's
// method and URL and the DPoP header, and copy the answer's DPoP challenge and DPoP-Nonce.
func RunDPoPSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer) {
	type env struct {
		t     *testing.T
		do    Doer
		clock *Clock
		key   *DPoPKey
	}
	newEnv := func(t *testing.T, opts ...core.Option) env {
		clock := NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
		m := SuiteManager(t, clock, opts...)
		return env{t: t, do: build(t, m), clock: clock, key: NewDPoPKey(t)}
	}
	request := func(method, path string, hdr ...string) *http.Request {
		var body string
		switch path {
		case "/login":
			body = fmt.Sprintf(`{"username":%q,"password":%q}`, SuiteUser, SuitePassword)
		}
		r := httptest.NewRequest(method, path, strings.NewReader(body)) // Host: example.com

		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		return r
	}
	refreshReq := func(token string, hdr ...string) *http.Request {
		r := request(http.MethodPost, "/refresh", hdr...)
		r.Body = nopCloser{strings.NewReader(`{"refresh_token":"` + token + `"}`)}
		r.ContentLength = int64(len(`{"refresh_token":""}`) + len(token))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	login := func(e env, nonce string) (access, refresh string) {
		e.t.Helper()
		resp := e.do(request(http.MethodPost, "/login", "DPoP", e.key.Proof(e.t, "POST", DPoPSuiteBase+"/login", "", nonce, e.clock.Now())))
		body := readJSON(e.t, resp)
		if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
			e.t.Fatalf("login with a DPoP proof: %d %v", resp.StatusCode, body)
		}
		return str(body["access_token"]), str(body["refresh_token"])
	}
	me := func(e env, access string) *http.Request {
		return request(http.MethodGet, "/api/me", "Authorization", "DPoP "+access,
			"DPoP", e.key.Proof(e.t, "GET", DPoPSuiteBase+"/api/me", access, "", e.clock.Now()))
	}

	cases := []struct {
		name string
		opts []core.Option
		run  func(e env) (*http.Response, Answer)
	}{
		{"login binds, me with a fresh proof", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(me(e, access)), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"replayed proof", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			r := me(e, access)
			if resp := e.do(r); resp.StatusCode != 200 {
				e.t.Fatalf("first use: %d", resp.StatusCode)
			}
			return e.do(request(http.MethodGet, "/api/me", "Authorization", "DPoP "+access, "DPoP", r.Header.Get("DPoP"))),
				dpopAnswer("invalid_dpop_proof", "DPoP proof replayed")
		}},
		{"proof for another URL", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(request(http.MethodGet, "/api/me", "Authorization", "DPoP "+access,
					"DPoP", e.key.Proof(e.t, "GET", DPoPSuiteBase+"/api/admin", access, "", e.clock.Now()))),
				dpopAnswer("invalid_dpop_proof", "DPoP proof for another URL")
		}},
		{"proof for another method", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(request(http.MethodGet, "/api/me", "Authorization", "DPoP "+access,
					"DPoP", e.key.Proof(e.t, "DELETE", DPoPSuiteBase+"/api/me", access, "", e.clock.Now()))),
				dpopAnswer("invalid_dpop_proof", "DPoP proof for another method")
		}},
		{"proof by another key", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(request(http.MethodGet, "/api/me", "Authorization", "DPoP "+access,
					"DPoP", NewDPoPKey(e.t).Proof(e.t, "GET", DPoPSuiteBase+"/api/me", access, "", e.clock.Now()))),
				dpopAnswer("invalid_dpop_proof", "DPoP proof key does not match the token")
		}},
		{"bound token as Bearer", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(request(http.MethodGet, "/api/me", "Authorization", "Bearer "+access)),
				dpopAnswer("invalid_token", "DPoP-bound token sent without DPoP")
		}},
		{"refresh without the key's proof", nil, func(e env) (*http.Response, Answer) {
			_, refresh := login(e, "")
			return e.do(refreshReq(refresh)), invalidGrant("refresh token is bound to another DPoP key")
		}},
		{"refresh with the key's proof", nil, func(e env) (*http.Response, Answer) {
			_, refresh := login(e, "")
			resp := e.do(refreshReq(refresh, "DPoP", e.key.Proof(e.t, "POST", DPoPSuiteBase+"/refresh", "", "", e.clock.Now())))
			body := readJSON(e.t, resp)
			if resp.StatusCode != 200 || body["token_type"] != "DPoP" {
				e.t.Fatalf("refresh: %d %v", resp.StatusCode, body)
			}
			return e.do(me(e, str(body["access_token"]))), Answer{200, "", map[string]string{"sub": SuiteUser}}
		}},
		{"DPoP required: no token is challenged with the DPoP scheme", []core.Option{core.WithDPoPRequired()}, func(e env) (*http.Response, Answer) {
			// RFC 9449 §7.1: a Bearer challenge would send the client off to get a Bearer token,
			// which this server never accepts.
			return e.do(request(http.MethodGet, "/api/me")), Answer{http.StatusUnauthorized,
				`DPoP realm="jwtexp", algs="ES256 EdDSA Ed25519 RS256 PS256"`,
				map[string]string{"error": "unauthorized", "error_description": "missing bearer token"}}
		}},
		{"DPoP required: an expired bound token is challenged with the DPoP scheme", []core.Option{core.WithDPoPRequired()}, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			e.clock.Advance(SuiteAccessTTL + SuiteLeeway + time.Second)
			return e.do(me(e, access)), dpopAnswer("invalid_token", "token expired")
		}},
		{"expired bound token sent with DPoP: a DPoP challenge", nil, func(e env) (*http.Response, Answer) {
			// RFC 9449 §7.1: the refusal of a DPoP request names the DPoP scheme, whatever the
			// reason; a Bearer challenge would tell the client to use a scheme it did not.
			access, _ := login(e, "")
			e.clock.Advance(SuiteAccessTTL + SuiteLeeway + time.Second)
			return e.do(me(e, access)), dpopAnswer("invalid_token", "token expired")
		}},
		{"revoked bound token sent with DPoP: a DPoP challenge", nil, func(e env) (*http.Response, Answer) {
			access, refresh := login(e, "")
			logout := refreshReq(refresh)
			logout.URL.Path, logout.RequestURI = "/logout", "/logout"
			if resp := e.do(logout); resp.StatusCode != http.StatusNoContent {
				e.t.Fatalf("logout: %d", resp.StatusCode)
			}
			return e.do(me(e, access)), dpopAnswer("invalid_token", "session revoked")
		}},
		{"bound token without the route's scope: a DPoP challenge", nil, func(e env) (*http.Response, Answer) {
			access, _ := login(e, "")
			return e.do(request(http.MethodGet, "/api/admin", "Authorization", "DPoP "+access,
					"DPoP", e.key.Proof(e.t, "GET", DPoPSuiteBase+"/api/admin", access, "", e.clock.Now()))),
				Answer{http.StatusForbidden,
					`DPoP realm="jwtexp", error="insufficient_scope", error_description="insufficient scope", scope="admin", algs="ES256 EdDSA Ed25519 RS256 PS256"`,
					map[string]string{"error": "insufficient_scope"}}
		}},
		{"DPoP allowed: no token is still challenged with Bearer", nil, func(e env) (*http.Response, Answer) {
			return e.do(request(http.MethodGet, "/api/me")), Answer{http.StatusUnauthorized, `Bearer realm="jwtexp"`,
				map[string]string{"error": "unauthorized", "error_description": "missing bearer token"}}
		}},
		{"nonce required at login", []core.Option{core.WithDPoPNonce()}, func(e env) (*http.Response, Answer) {
			resp := e.do(request(http.MethodPost, "/login", "DPoP", e.key.Proof(e.t, "POST", DPoPSuiteBase+"/login", "", "", e.clock.Now())))
			nonce := resp.Header.Get("DPoP-Nonce")
			if resp.StatusCode != http.StatusBadRequest || nonce == "" {
				e.t.Fatalf("login without nonce: %d, DPoP-Nonce %q", resp.StatusCode, nonce)
			}
			access, _ := login(e, nonce)
			// A resource request without a nonce: 401 use_dpop_nonce with the nonce.
			resp = e.do(me(e, access))
			if resp.Header.Get("DPoP-Nonce") != nonce {
				e.t.Fatalf("DPoP-Nonce of the 401: %q, want %q", resp.Header.Get("DPoP-Nonce"), nonce)
			}
			return resp, dpopAnswer("use_dpop_nonce", "DPoP nonce required")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			resp, want := tc.run(e)
			CheckAnswer(t, resp, want)
		})
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
