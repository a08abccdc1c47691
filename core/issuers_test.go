package core_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

const (
	issA = "https://a.idp.example/"
	issB = "https://b.idp.example/"
)

// downSource is a KeySource whose provider is down past the time it keeps its last keys.
type downSource struct{}

func (downSource) VerificationKey(context.Context, string) (crypto.PublicKey, string, error) {
	return nil, "", fmt.Errorf("%w: key set expired", core.ErrKeysUnavailable)
}

// tenantResolver trusts https://<tenant>.tenants.example/ for the tenants it knows, with keys
// of its own; it counts its calls.
type tenantResolver struct {
	src     core.KeySource
	calls   atomic.Int64
	trusted func(iss string) bool
}

func (r *tenantResolver) ResolveIssuer(_ context.Context, iss string) (core.TrustedIssuer, error) {
	r.calls.Add(1)
	if !r.trusted(iss) {
		return core.TrustedIssuer{}, fmt.Errorf("%w: %q is not a tenant", core.ErrIssuer, iss)
	}
	return core.TrustedIssuer{Issuer: iss, Keys: r.src}, nil
}

func issuerClaims(iss string, iat time.Time, over jwt.MapClaims) jwt.MapClaims {
	c := idpClaims(iat, over)
	if _, ok := over["iss"]; !ok {
		c["iss"] = iss
	}
	return c
}

func TestTrustedIssuers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testKeys()
	srcA := &fakeSource{keys: map[string]fakeKey{"a1": {k.rsa.Public(), "RS256"}}}
	srcB := &fakeSource{keys: map[string]fakeKey{"b1": {k.p256.Public(), "ES256"}}}
	clock := testutil.NewClock(t0)
	m, err := core.New(
		core.WithTrustedIssuers(
			core.TrustedIssuer{Issuer: issA, Keys: srcA},
			core.TrustedIssuer{Issuer: issB, Keys: srcB, Audiences: []string{"https://api.example/", "api"},
				Algorithms: []string{"ES256"}, RequireATJWT: true, Leeway: 30 * time.Second},
		),
		core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.VerificationOnly() {
		t.Fatal("trusted issuers make a verification-only Manager")
	}
	at := map[string]any{"typ": "at+jwt"}
	mint := func(method jwt.SigningMethod, key any, kid, iss string, over jwt.MapClaims, h map[string]any) string {
		hh := map[string]any{"kid": kid}
		for n, v := range h {
			hh[n] = v
		}
		return testutil.Mint(t, method, key, issuerClaims(iss, clock.Now(), over), hh)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"issuer A", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, nil, nil), nil},
		{"issuer A, typ at+jwt", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, nil, at), nil},
		{"issuer B, at+jwt", mint(jwt.SigningMethodES256, k.p256, "b1", issB, nil, at), nil},
		{"issuer B, application/at+jwt, resource audience only", mint(jwt.SigningMethodES256, k.p256, "b1", issB, jwt.MapClaims{"aud": "https://api.example/"}, map[string]any{"typ": "application/at+jwt"}), nil},
		{"issuer B within its own leeway", mint(jwt.SigningMethodES256, k.p256, "b1", issB, jwt.MapClaims{"exp": t0.Add(-20 * time.Second).Unix(), "iat": t0.Add(-5 * time.Minute).Unix()}, at), nil},
		{"issuer A past the Manager's leeway", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, jwt.MapClaims{"exp": t0.Add(-20 * time.Second).Unix(), "iat": t0.Add(-5 * time.Minute).Unix()}, nil), core.ErrTokenExpired},
		{"issuer B, ID token (typ JWT)", mint(jwt.SigningMethodES256, k.p256, "b1", issB, nil, map[string]any{"typ": "JWT"}), core.ErrTokenType},
		{"issuer B, no typ", mint(jwt.SigningMethodES256, k.p256, "b1", issB, nil, map[string]any{"typ": nil}), core.ErrTokenType},
		{"A's claims signed with B's key", mint(jwt.SigningMethodES256, k.p256, "b1", issA, nil, at), core.ErrSignature},
		{"B's claims signed with A's key", mint(jwt.SigningMethodRS256, k.rsa, "a1", issB, nil, at), core.ErrSignature},
		{"A's claims, B's kid, A's key", mint(jwt.SigningMethodRS256, k.rsa, "b1", issA, nil, nil), core.ErrSignature},
		{"untrusted issuer", mint(jwt.SigningMethodRS256, k.rsa, "a1", "https://evil.example/", nil, nil), core.ErrIssuer},
		{"no issuer", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, jwt.MapClaims{"iss": nil}, nil), core.ErrIssuer},
		{"issuer with a trailing difference", mint(jwt.SigningMethodRS256, k.rsa, "a1", strings.TrimSuffix(issA, "/"), nil, nil), core.ErrIssuer},
		{"issuer A, audience of B only", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, jwt.MapClaims{"aud": "https://api.example/"}, nil), core.ErrAudience},
		{"issuer B, no listed audience", mint(jwt.SigningMethodES256, k.p256, "b1", issB, jwt.MapClaims{"aud": []string{"x", "y"}}, at), core.ErrAudience},
		{"iss not a string", mint(jwt.SigningMethodRS256, k.rsa, "a1", issA, jwt.MapClaims{"iss": 7}, nil), core.ErrClaims},
		{"garbage", "a.b.c", core.ErrTokenMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.Verify(ctx, tc.token)
			if tc.want == nil {
				if err != nil || c.Subject != "user-1" {
					t.Fatalf("got %v, %v; want accepted", c, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
}

func TestTrustedIssuerAlgorithms(t *testing.T) {
	t.Parallel()
	k := testKeys()
	// The key set declares no alg for the RSA key: RS256 by default, PS256 too when the JWK says
	// so. The issuer's list narrows what its keys allow.
	src := &fakeSource{keys: map[string]fakeKey{"ps": {k.rsa.Public(), "PS256"}}}
	clock := testutil.NewClock(t0)
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src, Algorithms: []string{"RS256"}}),
		core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok := testutil.Mint(t, jwt.SigningMethodPS256, k.rsa, issuerClaims(issA, t0, nil), map[string]any{"kid": "ps"})
	if _, err := m.Verify(context.Background(), tok); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("PS256 from an issuer allowed RS256 only: %v; want ErrSignature", err)
	}
}

func TestTrustedIssuerKeysUnavailable(t *testing.T) {
	t.Parallel()
	k := testKeys()
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: downSource{}}),
		core.WithAudience("api"), core.WithClock(testutil.NewClock(t0).Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok := testutil.Mint(t, jwt.SigningMethodRS256, k.rsa, issuerClaims(issA, t0, nil), map[string]any{"kid": "a1"})
	_, err = m.Verify(context.Background(), tok)
	if !errors.Is(err, core.ErrKeysUnavailable) || core.ReasonCode(err) != "keys_unavailable" {
		t.Fatalf("got %v (%s); want ErrKeysUnavailable", err, core.ReasonCode(err))
	}
	r := m.HTTP().Problem(err)
	if r.Status != http.StatusServiceUnavailable || r.RetryAfter == "" || !strings.Contains(string(r.Body), "temporarily_unavailable") {
		t.Fatalf("answer %d %q %s; want 503 temporarily_unavailable with Retry-After", r.Status, r.RetryAfter, r.Body)
	}
	// An untrusted issuer is still a 401, whatever the state of the trusted one's keys.
	tok = testutil.Mint(t, jwt.SigningMethodRS256, k.rsa, issuerClaims("https://evil.example/", t0, nil), map[string]any{"kid": "a1"})
	if _, err := m.Verify(context.Background(), tok); !errors.Is(err, core.ErrIssuer) {
		t.Fatalf("untrusted issuer: %v; want ErrIssuer", err)
	}
}

func TestIssuerResolver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testKeys()
	src := &fakeSource{keys: map[string]fakeKey{"t1": {k.ed.Public(), ""}}}
	r := &tenantResolver{src: src, trusted: func(iss string) bool {
		return strings.HasSuffix(iss, ".tenants.example/") && strings.HasPrefix(iss, "https://")
	}}
	clock := testutil.NewClock(t0)
	m, err := core.New(core.WithIssuerResolver(r), core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src}),
		core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mint := func(iss string) string {
		return testutil.Mint(t, jwt.SigningMethodEdDSA, k.ed, issuerClaims(iss, clock.Now(), nil), map[string]any{"kid": "t1"})
	}
	if _, err := m.Verify(ctx, mint(issA)); err != nil || r.calls.Load() != 0 {
		t.Fatalf("static issuer: %v, %d resolver calls; want accepted without asking the resolver", err, r.calls.Load())
	}
	for range 3 {
		if _, err := m.Verify(ctx, mint("https://acme.tenants.example/")); err != nil {
			t.Fatalf("tenant: %v", err)
		}
	}
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("resolver called %d times for one tenant; want 1 (the Manager keeps its answer)", n)
	}

	// 10 000 distinct unknown issuers: each refused, none kept, memory flat.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tok := mint("https://evil.example/x")
	parts := strings.Split(tok, ".") // reuse one signature: it is never checked
	for i := range 10_000 {
		claims := testutil.B64(fmt.Sprintf(`{"iss":"https://evil-%d.example/","sub":"x","aud":"api","exp":%d}`, i, t0.Add(time.Minute).Unix()))
		if _, err := m.Verify(ctx, parts[0]+"."+claims+"."+parts[2]); !errors.Is(err, core.ErrIssuer) {
			t.Fatalf("unknown issuer %d: %v; want ErrIssuer", i, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Fatalf("heap grew by %d bytes after 10 000 unknown issuers; want flat (nothing kept)", grown)
	}

	// Resolved issuers are bounded: a resolver trusting every tenant cannot grow the Manager.
	for i := range core.MaxResolvedIssuers + 50 {
		if _, err := m.Verify(ctx, mint(fmt.Sprintf("https://t%d.tenants.example/", i))); err != nil {
			t.Fatalf("tenant %d: %v", i, err)
		}
	}
	calls := r.calls.Load()
	// The first tenants may have been dropped; the latest one is kept.
	if _, err := m.Verify(ctx, mint(fmt.Sprintf("https://t%d.tenants.example/", core.MaxResolvedIssuers+49))); err != nil || r.calls.Load() != calls {
		t.Fatalf("latest tenant: %v, %d new resolver calls; want kept", err, r.calls.Load()-calls)
	}
}

func TestTrustedIssuersConfig(t *testing.T) {
	t.Parallel()
	src := &fakeSource{keys: map[string]fakeKey{}}
	ok := core.TrustedIssuer{Issuer: issA, Keys: src}
	for _, tc := range []struct {
		name string
		opts []core.Option
		want string
	}{
		{"empty list", []core.Option{core.WithTrustedIssuers(), core.WithAudience("api")}, "no issuer given"},
		{"no issuer", []core.Option{core.WithTrustedIssuers(core.TrustedIssuer{Keys: src}), core.WithAudience("api")}, "Issuer is empty"},
		{"no keys", []core.Option{core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA}), core.WithAudience("api")}, "Keys is nil"},
		{"no audience", []core.Option{core.WithTrustedIssuers(ok)}, "no audience"},
		{"without audience", []core.Option{core.WithTrustedIssuers(ok), core.WithoutAudience()}, "WithoutAudience"},
		{"HMAC algorithm", []core.Option{core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src, Algorithms: []string{"HS256"}}), core.WithAudience("api")}, "not a public-key"},
		{"huge leeway", []core.Option{core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src, Leeway: time.Hour}), core.WithAudience("api")}, "leeway"},
		{"twice", []core.Option{core.WithTrustedIssuers(ok, ok), core.WithAudience("api")}, "listed twice"},
		{"with WithIssuer", []core.Option{core.WithTrustedIssuers(ok), core.WithIssuer(issA), core.WithAudience("api")}, "drop WithIssuer"},
		{"with HMAC", []core.Option{core.WithTrustedIssuers(ok), core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithAudience("api")}, "drop WithHMAC"},
		{"nil resolver", []core.Option{core.WithIssuerResolver(nil)}, "resolver is nil"},
		{"bad resource metadata URL", []core.Option{core.WithTrustedIssuers(ok), core.WithAudience("api"), core.WithResourceMetadata(`https://x/"`)}, "WithResourceMetadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.New(tc.opts...)
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want ErrInvalidConfig saying %q", err, tc.want)
			}
		})
	}
}

func TestResourceMetadata(t *testing.T) {
	t.Parallel()
	u, err := core.ResourceMetadataURL("https://api.example/mcp")
	if err != nil || u != "https://api.example/.well-known/oauth-protected-resource/mcp" {
		t.Fatalf("ResourceMetadataURL = %q, %v", u, err)
	}
	if u, _ := core.ResourceMetadataURL("https://api.example/"); u != "https://api.example/.well-known/oauth-protected-resource" {
		t.Fatalf("ResourceMetadataURL of the root = %q", u)
	}
	for _, bad := range []string{"", "api.example", "https://api.example/#x", "https://api.example/?q=1", "ftp://api.example/"} {
		if _, err := core.ResourceMetadataURL(bad); !errors.Is(err, core.ErrInvalidConfig) {
			t.Fatalf("ResourceMetadataURL(%q): %v; want ErrInvalidConfig", bad, err)
		}
	}
	k := testKeys()
	src := &fakeSource{keys: map[string]fakeKey{"a1": {k.rsa.Public(), ""}}}
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src}),
		core.WithAudience("https://api.example/mcp"), core.WithResourceMetadata(u), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := `, resource_metadata="` + u + `"`
	_, malformed := m.Verify(context.Background(), "a.b.c")
	for _, e := range []error{core.ErrTokenMissing, malformed, core.ErrInsufficientScope} {
		if r := m.HTTP().Problem(e); !strings.HasPrefix(r.WWWAuthenticate, `Bearer realm="jwtexp"`+want) {
			t.Fatalf("%v: challenge %q; want resource_metadata after the realm", e, r.WWWAuthenticate)
		}
	}
	md := core.ProtectedResourceMetadata{Resource: "https://api.example/mcp", AuthorizationServers: []string{issA}, ScopesSupported: []string{"admin"}}
	srv := httptest.NewServer(md.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		string(body) != `{"resource":"https://api.example/mcp","authorization_servers":["https://a.idp.example/"],"scopes_supported":["admin"],"bearer_methods_supported":["header"]}` {
		t.Fatalf("metadata: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d; want 405", resp.StatusCode)
	}
}

// Provider claim shapes through the claims predicates, as the README shows them: Auth0's
// permissions array, Keycloak's realm_access.roles.
func TestProviderClaimShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testKeys()
	src := &fakeSource{keys: map[string]fakeKey{"a1": {k.rsa.Public(), ""}}}
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: src}),
		core.WithAudience("api"), core.WithClock(testutil.NewClock(t0).Now), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	type Auth0 struct {
		Permissions []string `json:"permissions"`
	}
	type Keycloak struct {
		RealmAccess struct {
			Roles []string `json:"roles"`
		} `json:"realm_access"`
	}
	canOrder, _ := core.RequireClaims(func(c Auth0) bool { return slices.Contains(c.Permissions, "create:orders") })
	isAdmin, _ := core.RequireClaims(func(c Keycloak) bool { return slices.Contains(c.RealmAccess.Roles, "admin") })
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		req    *core.Requirement
		ok     bool
	}{
		{"permission present", jwt.MapClaims{"permissions": []string{"read:orders", "create:orders"}}, canOrder, true},
		{"permission absent", jwt.MapClaims{"permissions": []string{"read:orders"}}, canOrder, false},
		{"no permissions", nil, canOrder, false},
		{"realm role present", jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"user", "admin"}}}, isAdmin, true},
		{"realm role absent", jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"user"}}}, isAdmin, false},
		{"client role is no realm role", jwt.MapClaims{"resource_access": map[string]any{"api": map[string]any{"roles": []string{"admin"}}}}, isAdmin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := testutil.Mint(t, jwt.SigningMethodRS256, k.rsa, issuerClaims(issA, t0, tc.claims), map[string]any{"kid": "a1"})
			c, err := m.Verify(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Authorize(ctx, c, tc.req)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, core.ErrInsufficientScope)) {
				t.Fatalf("Authorize: %v; want ok=%v (else ErrInsufficientScope)", err, tc.ok)
			}
		})
	}
}

// FuzzTrustedIssuers: arbitrary tokens never panic in the trusted-issuer path (the unverified
// iss read before anything is verified), and nothing is accepted but what one of the two issuers
// signed: the signing input of an accepted token is one of the seeds'.
func FuzzTrustedIssuers(f *testing.F) {
	k := testKeys()
	clock := testutil.NewClock(t0)
	srcA := &fakeSource{keys: map[string]fakeKey{"a1": {k.p256.Public(), "ES256"}}}
	srcB := &fakeSource{keys: map[string]fakeKey{"b1": {k.ed.Public(), ""}}}
	m, err := core.New(core.WithTrustedIssuers(core.TrustedIssuer{Issuer: issA, Keys: srcA},
		core.TrustedIssuer{Issuer: issB, Keys: srcB, RequireATJWT: true, Audiences: []string{"api", "other"}}),
		core.WithAudience("api"), core.WithClock(clock.Now), core.WithLogger(nil))
	if err != nil {
		f.Fatal(err)
	}
	signed := map[string]bool{}
	seed := func(tok string) {
		signed[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	seed(testutil.Mint(f, jwt.SigningMethodES256, k.p256, issuerClaims(issA, t0, nil), map[string]any{"kid": "a1"}))
	seed(testutil.Mint(f, jwt.SigningMethodEdDSA, k.ed, issuerClaims(issB, t0, nil), map[string]any{"kid": "b1", "typ": "at+jwt"}))
	seed(testutil.Mint(f, jwt.SigningMethodEdDSA, k.ed, issuerClaims(issA, t0, nil), map[string]any{"kid": "b1"}))
	f.Add(testutil.Unsigned(`{"alg":"none","kid":"a1"}`, `{"iss":"`+issA+`","exp":1}`))
	f.Add("e30.e30.e30")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := m.Verify(context.Background(), tok)
		if err == nil {
			if !signed[tok[:strings.LastIndexByte(tok, '.')]] || (c.Issuer != issA && c.Issuer != issB) {
				t.Fatalf("accepted a token no issuer signed: %q -> %+v", tok, c)
			}
			return
		}
		if c != nil {
			t.Fatalf("claims returned with error %v", err)
		}
		if r := m.HTTP().Problem(err); r.Status != 401 {
			t.Fatalf("status %d for %v", r.Status, err)
		}
	})
}
