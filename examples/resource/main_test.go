package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

const resource = "https://api.example/" // one of testutil.HydraAudiences

// startAPI runs the example against two real identity providers (Ory Hydra) on loopback.
func startAPI(t *testing.T, env map[string]string) (*httptest.Server, *testutil.Hydra, *testutil.Hydra) {
	t.Helper()
	a := testutil.StartHydra(t, testutil.HydraOptions{})
	b := testutil.StartHydra(t, testutil.HydraOptions{})
	vars := map[string]string{"JWT_TRUSTED_ISSUERS": a.Issuer + " " + b.Issuer, "JWT_RESOURCE": resource}
	for k, v := range env {
		vars[k] = v
	}
	c, err := LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	h, m, err := NewHandler(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, a, b
}

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestResource(t *testing.T) {
	t.Parallel()
	srv, a, b := startAPI(t, nil)
	for _, h := range []*testutil.Hydra{a, b} {
		resp, body := get(t, srv.URL+"/api/me", h.Token("read", resource))
		var me struct {
			Iss, Sub, Scope string
			Aud             []string
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &me) != nil {
			t.Fatalf("GET /api/me: %d %s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET /api/me: Cache-Control %q, want no-store", cc)
		}
		if me.Iss != h.Issuer || me.Sub != testutil.HydraClientID || me.Scope != "read" || len(me.Aud) != 1 || me.Aud[0] != resource {
			t.Fatalf("GET /api/me: %s", body)
		}
	}
	// Scope admin.
	if resp, body := get(t, srv.URL+"/api/admin", b.Token("read", resource)); resp.StatusCode != 403 ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="admin"`) {
		t.Fatalf("GET /api/admin without the scope: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	if resp, body := get(t, srv.URL+"/api/admin", b.Token("read admin", resource)); resp.StatusCode != 200 {
		t.Fatalf("GET /api/admin with the scope: %d %s", resp.StatusCode, body)
	}
	// A token for another audience, none, a forged one: 401 pointing to the metadata.
	wantMeta := `resource_metadata="https://api.example/.well-known/oauth-protected-resource"`
	for name, tok := range map[string]string{"other audience": a.Token("read", "api"), "none": "", "garbage": "a.b.c"} {
		resp, body := get(t, srv.URL+"/api/me", tok)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), wantMeta) {
			t.Fatalf("%s: %d %q %s; want 401 with %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body, wantMeta)
		}
	}
	// RFC 9728 metadata.
	resp, body := get(t, srv.URL+"/.well-known/oauth-protected-resource", "")
	var md struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		BearerMethods        []string `json:"bearer_methods_supported"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &md) != nil || md.Resource != resource ||
		len(md.AuthorizationServers) != 2 || md.AuthorizationServers[0] != a.Issuer || md.AuthorizationServers[1] != b.Issuer {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
}

func TestResourceRFC9068(t *testing.T) {
	t.Parallel()
	srv, a, _ := startAPI(t, map[string]string{"JWT_REQUIRE_AT_JWT": "1"})
	// Hydra's JWT access tokens say typ "JWT": refused in RFC 9068 mode.
	if resp, body := get(t, srv.URL+"/api/me", a.Token("read", resource)); resp.StatusCode != 401 || !strings.Contains(string(body), "at+jwt") {
		t.Fatalf("typ JWT in RFC 9068 mode: %d %s", resp.StatusCode, body)
	}
}

func TestResourceConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "JWT_TRUSTED_ISSUERS"},
		{map[string]string{"JWT_TRUSTED_ISSUERS": "https://a.example/"}, "JWT_AUDIENCE"},
		{map[string]string{"JWT_TRUSTED_ISSUERS": "https://a.example/", "JWT_AUDIENCE": "api", "JWT_LEEWAY": "soon"}, "JWT_LEEWAY"},
	} {
		if _, err := LoadConfig(func(k string) string { return tc.env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error naming %s", tc.env, err, tc.want)
		}
	}
	// An issuer that cannot be discovered, or is plain http off loopback: no start.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, iss := range []string{dead.URL + "/", "http://idp.example/"} {
		env := map[string]string{"JWT_TRUSTED_ISSUERS": iss, "JWT_AUDIENCE": "api"}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := run(ctx, func(k string) string { return env[k] })
		cancel()
		if err == nil {
			t.Fatalf("issuer %s: started; want an error", iss)
		}
	}
}
