package core_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// The DPoP tests drive core.HTTP directly with net/http requests; proofs come from
// testutil.DPoPKey, which assembles them without core's code.

const (
	dpopBase  = "http://example.com"
	dpopAlgs  = `algs="ES256 EdDSA Ed25519 RS256 PS256"`
	dpopRealm = `DPoP realm="jwtexp"`
)

type dpopEnv struct {
	t     *testing.T
	m     *core.Manager
	clock *testutil.Clock
}

func newDPoPEnv(t *testing.T, opts ...core.Option) *dpopEnv {
	t.Helper()
	clock := testutil.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	return &dpopEnv{t: t, m: testutil.SuiteManager(t, clock, opts...), clock: clock}
}

func (e *dpopEnv) req(method, path string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, dpopBase+path, strings.NewReader(""))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// login answers POST /login with the given proof ("" for none).
func (e *dpopEnv) login(proof string) (core.Response, map[string]any) {
	e.t.Helper()
	h := map[string]string{}
	if proof != "" {
		h["DPoP"] = proof
	}
	r := e.req("POST", "/login", h)
	resp := e.m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	return resp, body(e.t, resp)
}

func (e *dpopEnv) refresh(refreshToken, proof string) (core.Response, map[string]any) {
	e.t.Helper()
	r := httptest.NewRequest("POST", dpopBase+"/refresh", strings.NewReader(`{"refresh_token":"`+refreshToken+`"}`))
	r.Header.Set("Content-Type", "application/json")
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	resp := e.m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(r))
	return resp, body(e.t, resp)
}

// me authenticates GET /api/me with the Authorization value and proof given.
func (e *dpopEnv) me(auth, proof string) (*core.Claims, error) {
	h := map[string]string{"Authorization": auth}
	if proof != "" {
		h["DPoP"] = proof
	}
	_, c, err := e.m.HTTP().AuthenticateContext(context.Background(), core.HTTPRequest(e.req("GET", "/api/me", h)), false)
	return c, err
}

func body(t *testing.T, r core.Response) map[string]any {
	t.Helper()
	if r.Body == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// cnfJKT reads cnf.jkt from a token's payload without core's parser.
func cnfJKT(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf.JKT
}

// wantProblem checks the answer Problem gives err: status, error code and the challenge.
func (e *dpopEnv) wantProblem(err error, sentinel error, status int, code, desc, challenge string) {
	e.t.Helper()
	if !errors.Is(err, sentinel) {
		e.t.Fatalf("error %v, want %v", err, sentinel)
	}
	p := e.m.HTTP().Problem(err)
	b := body(e.t, p)
	if p.Status != status || b["error"] != code || b["error_description"] != desc || p.WWWAuthenticate != challenge {
		e.t.Fatalf("answer %d %s %q, want %d %s %s / %q", p.Status, p.Body, p.WWWAuthenticate, status, code, desc, challenge)
	}
}

func dpopChallenge(code, desc string) string {
	return dpopRealm + `, error="` + code + `", error_description="` + desc + `", ` + dpopAlgs
}

func TestDPoPSession(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t)
	key, other := testutil.NewDPoPKey(t), testutil.NewDPoPKey(t)
	now := e.clock.Now()

	resp, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", now))
	if resp.Status != 200 || b["token_type"] != "DPoP" {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	access, refresh := b["access_token"].(string), b["refresh_token"].(string)
	if got := cnfJKT(t, access); got != key.Thumbprint {
		t.Fatalf("access cnf.jkt %q, want the key's thumbprint %q", got, key.Thumbprint)
	}
	if got := cnfJKT(t, refresh); got != key.Thumbprint {
		t.Fatalf("refresh cnf.jkt %q, want %q", got, key.Thumbprint)
	}

	proof := key.Proof(t, "GET", dpopBase+"/api/me", access, "", now)
	c, err := e.me("DPoP "+access, proof)
	if err != nil || c.Subject != "alice" || c.DPoPThumbprint() != key.Thumbprint {
		t.Fatalf("me with a fresh proof: %v %+v", err, c)
	}
	// The same proof again: replay.
	_, err = e.me("DPoP "+access, proof)
	e.wantProblem(err, core.ErrDPoPProof, 401, "invalid_dpop_proof", "DPoP proof replayed", dpopChallenge("invalid_dpop_proof", "DPoP proof replayed"))

	cases := []struct {
		name, auth, proof string
		sentinel          error
		code, desc        string
	}{
		{"other URL", "DPoP " + access, key.Proof(t, "GET", dpopBase+"/api/admin", access, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof for another URL"},
		{"other host", "DPoP " + access, key.Proof(t, "GET", "http://evil.example/api/me", access, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof for another URL"},
		{"other scheme", "DPoP " + access, key.Proof(t, "GET", "https://example.com/api/me", access, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof for another URL"},
		{"other method", "DPoP " + access, key.Proof(t, "POST", dpopBase+"/api/me", access, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof for another method"},
		{"other key", "DPoP " + access, other.Proof(t, "GET", dpopBase+"/api/me", access, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof key does not match the token"},
		{"no ath", "DPoP " + access, key.Proof(t, "GET", dpopBase+"/api/me", "", "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof ath does not match the token"},
		{"ath of another token", "DPoP " + access, key.Proof(t, "GET", dpopBase+"/api/me", refresh, "", now), core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof ath does not match the token"},
		{"no proof", "DPoP " + access, "", core.ErrDPoPProof, "invalid_dpop_proof", "DPoP proof required"},
		{"bound token as Bearer", "Bearer " + access, key.Proof(t, "GET", dpopBase+"/api/me", access, "", now), core.ErrDPoPBinding, "invalid_token", "DPoP-bound token sent without DPoP"},
		{"bound token as Bearer without proof", "Bearer " + access, "", core.ErrDPoPBinding, "invalid_token", "DPoP-bound token sent without DPoP"},
	}
	for _, tc := range cases {
		_, err := e.me(tc.auth, tc.proof)
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.wantProblem(err, tc.sentinel, 401, tc.code, tc.desc, dpopChallenge(tc.code, tc.desc))
		})
	}
	e.t = t
	// Query and fragment of htu are not compared (RFC 9449 §4.3).
	if _, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me?x=1#frag", access, "", now)); err != nil {
		t.Fatalf("htu with query and fragment: %v", err)
	}
	// Scheme and host case and the default port do not matter.
	if _, err := e.me("DPoP "+access, key.Proof(t, "GET", "HTTP://Example.COM:80/api/me", access, "", now)); err != nil {
		t.Fatalf("htu in another case with the default port: %v", err)
	}
	// Verify has no request, so no proof: a bound token is refused.
	if _, err := e.m.Verify(context.Background(), access); !errors.Is(err, core.ErrDPoPBinding) {
		t.Fatalf("Verify of a bound token: %v", err)
	}

	// Refresh: without a proof, or with another key's, is refused and leaves the session alive.
	for name, proof := range map[string]string{
		"no proof":  "",
		"other key": other.Proof(t, "POST", dpopBase+"/refresh", "", "", now),
	} {
		resp, b := e.refresh(refresh, proof)
		if resp.Status != 400 || b["error"] != "invalid_grant" || b["error_description"] != "refresh token is bound to another DPoP key" {
			t.Fatalf("refresh with %s: %d %s", name, resp.Status, resp.Body)
		}
	}
	resp, b = e.refresh(refresh, key.Proof(t, "POST", dpopBase+"/refresh", "", "", now))
	if resp.Status != 200 || b["token_type"] != "DPoP" || cnfJKT(t, b["access_token"].(string)) != key.Thumbprint ||
		cnfJKT(t, b["refresh_token"].(string)) != key.Thumbprint {
		t.Fatalf("refresh with the key's proof: %d %s", resp.Status, resp.Body)
	}
	// Logout takes the bound token with the DPoP scheme (no proof needed to end a session).
	refreshed := b["access_token"].(string)
	lr := httptest.NewRequest("POST", dpopBase+"/logout", nil)
	lr.Header.Set("Authorization", "DPoP "+refreshed)
	if resp := e.m.HTTP().ServeLogout(context.Background(), core.HTTPRequest(lr)); resp.Status != 204 {
		t.Fatalf("logout: %d %s", resp.Status, resp.Body)
	}
	if _, err := e.me("DPoP "+refreshed, key.Proof(t, "GET", dpopBase+"/api/me", refreshed, "", now)); !errors.Is(err, core.ErrTokenRevoked) {
		t.Fatalf("me after logout: %v", err)
	}
	if _, err := e.m.Issue(context.Background(), "alice", nil, core.WithDPoPKey("not-a-thumbprint")); !errors.Is(err, core.ErrDPoPProof) {
		t.Fatalf("WithDPoPKey with a bad thumbprint: %v", err)
	}
	// A refresh proof bound to another URL is a bad proof: 400 invalid_dpop_proof.
	resp, b = e.refresh(b["refresh_token"].(string), key.Proof(t, "POST", dpopBase+"/login", "", "", now))
	if resp.Status != 400 || b["error"] != "invalid_dpop_proof" || b["error_description"] != "DPoP proof for another URL" || resp.WWWAuthenticate != "" {
		t.Fatalf("refresh with a proof for /login: %d %s %q", resp.Status, resp.Body, resp.WWWAuthenticate)
	}
}

func TestDPoPBearerAndUnbound(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t)
	key := testutil.NewDPoPKey(t)
	resp, b := e.login("")
	if resp.Status != 200 || b["token_type"] != "Bearer" {
		t.Fatalf("login without proof: %d %s", resp.Status, resp.Body)
	}
	access := b["access_token"].(string)
	if _, err := e.me("Bearer "+access, ""); err != nil {
		t.Fatalf("Bearer token: %v", err)
	}
	_, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, "", e.clock.Now()))
	e.wantProblem(err, core.ErrDPoPBinding, 401, "invalid_token", "token is not DPoP-bound", dpopChallenge("invalid_token", "token is not DPoP-bound"))
	// A bad login proof is refused before the password is checked.
	called := false
	r := e.req("POST", "/login", map[string]string{"DPoP": "not.a.proof"})
	lr := e.m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { called = true; return "alice", nil, nil })
	if lr.Status != 400 || called || body(t, lr)["error"] != "invalid_dpop_proof" {
		t.Fatalf("login with a malformed proof: %d %s, authenticate called: %v", lr.Status, lr.Body, called)
	}
	// The DPoP scheme is matched case-insensitively; "DPoP" alone is a malformed header.
	if _, err := e.me("dpop", ""); !errors.Is(err, core.ErrInvalidRequest) {
		t.Fatalf("bare DPoP scheme: %v", err)
	}
}

func TestDPoPAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "EdDSA", "Ed25519", "RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newDPoPEnv(t)
			key := testutil.NewDPoPKeyAlg(t, alg)
			resp, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
			if resp.Status != 200 || cnfJKT(t, b["access_token"].(string)) != key.Thumbprint {
				t.Fatalf("login: %d %s", resp.Status, resp.Body)
			}
			access := b["access_token"].(string)
			if _, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, "", e.clock.Now())); err != nil {
				t.Fatal(err)
			}
			got, err := core.DPoPThumbprint(key.Proof(t, "GET", "http://x/", "", "", e.clock.Now()))
			if err != nil || got != key.Thumbprint {
				t.Fatalf("DPoPThumbprint: %q %v, want %q", got, err, key.Thumbprint)
			}
		})
	}
}

// TestDPoPProofWindow checks iat at the window's edges: at most the window plus the leeway in
// the past, at most DPoPFutureSkew plus the leeway ahead.
func TestDPoPProofWindow(t *testing.T) {
	t.Parallel()
	const window = 30 * time.Second
	e := newDPoPEnv(t, core.WithDPoPProofWindow(window))
	key := testutil.NewDPoPKey(t)
	now := e.clock.Now()
	resp, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", now))
	if resp.Status != 200 {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	access := b["access_token"].(string)
	me := func(iat time.Time) error {
		_, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, "", iat))
		return err
	}
	past := window + testutil.SuiteLeeway
	future := core.DPoPFutureSkew + testutil.SuiteLeeway
	for _, tc := range []struct {
		iat  time.Time
		want error
	}{
		{now.Add(-past), nil},
		{now.Add(-past - time.Second), core.ErrDPoPProof},
		{now.Add(future), nil},
		{now.Add(future + time.Second), core.ErrDPoPProof},
	} {
		if err := me(tc.iat); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("iat now%+v: %v, want %v", tc.iat.Sub(now), err, tc.want)
		}
	}
	// A proof accepted at the very end of its window is refused one second later, also as a
	// replay would be: its record has expired by then and the window alone refuses it.
	iat := now
	proof := key.Proof(t, "GET", dpopBase+"/api/me", access, "", iat)
	e.clock.Advance(past)
	if _, err := e.me("DPoP "+access, proof); err != nil {
		t.Fatalf("at the window's end: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err := e.me("DPoP "+access, proof)
	e.wantProblem(err, core.ErrDPoPProof, 401, "invalid_dpop_proof", "DPoP proof too old", dpopChallenge("invalid_dpop_proof", "DPoP proof too old"))
}

func TestDPoPNonce(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t, core.WithDPoPNonce())
	key := testutil.NewDPoPKey(t)
	// No nonce: 400 use_dpop_nonce with a nonce to use.
	resp, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
	if resp.Status != 400 || b["error"] != "use_dpop_nonce" || resp.DPoPNonce == "" || resp.WWWAuthenticate != "" {
		t.Fatalf("login without nonce: %d %s nonce %q", resp.Status, resp.Body, resp.DPoPNonce)
	}
	w := httptest.NewRecorder()
	resp.Write(w)
	if w.Header().Get("DPoP-Nonce") != resp.DPoPNonce {
		t.Fatalf("DPoP-Nonce header %q, want %q", w.Header().Get("DPoP-Nonce"), resp.DPoPNonce)
	}
	nonce := resp.DPoPNonce
	resp, b = e.login(key.Proof(t, "POST", dpopBase+"/login", "", nonce, e.clock.Now()))
	if resp.Status != 200 || b["token_type"] != "DPoP" || resp.DPoPNonce == "" {
		t.Fatalf("login with nonce: %d %s nonce %q", resp.Status, resp.Body, resp.DPoPNonce)
	}
	access := b["access_token"].(string)
	me := func(nonce string) error {
		_, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, nonce, e.clock.Now()))
		return err
	}
	if err := me(nonce); err != nil {
		t.Fatalf("me with the nonce: %v", err)
	}
	// A forged nonce, and the nonce two steps later, are refused with a fresh nonce.
	if err := me("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, core.ErrDPoPNonce) {
		t.Fatalf("forged nonce: %v", err)
	}
	e.clock.Advance(core.DefaultDPoPNonceStep) // the next step: still accepted
	if err := me(nonce); err != nil {
		t.Fatalf("nonce of the previous step: %v", err)
	}
	// Two steps later the access token has expired (5 minutes); the refresh with the old nonce
	// is refused with a fresh nonce, the one with the fresh nonce succeeds.
	e.clock.Advance(core.DefaultDPoPNonceStep)
	refresh := b["refresh_token"].(string)
	resp, b = e.refresh(refresh, key.Proof(t, "POST", dpopBase+"/refresh", "", nonce, e.clock.Now()))
	fresh := resp.DPoPNonce
	if resp.Status != 400 || b["error"] != "use_dpop_nonce" || fresh == "" || fresh == nonce {
		t.Fatalf("refresh with a stale nonce: %d %s nonce %q (was %q)", resp.Status, resp.Body, fresh, nonce)
	}
	resp, b = e.refresh(refresh, key.Proof(t, "POST", dpopBase+"/refresh", "", fresh, e.clock.Now()))
	if resp.Status != 200 {
		t.Fatalf("refresh with the fresh nonce: %d %s", resp.Status, resp.Body)
	}
	access = b["access_token"].(string)
	err := me(nonce)
	e.wantProblem(err, core.ErrDPoPNonce, 401, "use_dpop_nonce", "DPoP nonce expired or invalid", dpopChallenge("use_dpop_nonce", "DPoP nonce expired or invalid"))
	if got := e.m.HTTP().Problem(err).DPoPNonce; got != fresh {
		t.Fatalf("nonce of the 401 %q, want the current %q", got, fresh)
	}
	if err := me(fresh); err != nil {
		t.Fatalf("me with the rotated nonce: %v", err)
	}
	// Stateless: another Manager with the same keys (another instance) takes the nonce.
	other := newDPoPEnv(t, core.WithDPoPNonce())
	other.clock.Set(e.clock.Now())
	if _, err := other.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, fresh, e.clock.Now())); err != nil {
		t.Fatalf("nonce at another instance: %v", err)
	}
}

func TestDPoPRequiredAndOff(t *testing.T) {
	t.Parallel()
	key := testutil.NewDPoPKey(t)
	t.Run("required", func(t *testing.T) {
		e := newDPoPEnv(t, core.WithDPoPRequired())
		resp, b := e.login("")
		if resp.Status != 400 || b["error"] != "invalid_dpop_proof" || b["error_description"] != "DPoP proof required" {
			t.Fatalf("login without proof: %d %s", resp.Status, resp.Body)
		}
		if _, err := e.m.Issue(context.Background(), "alice", nil); !errors.Is(err, core.ErrDPoPProof) {
			t.Fatalf("Issue without a DPoP key: %v", err)
		}
		// Tokens of a Manager where DPoP is allowed, with the same keys.
		p, err := newDPoPEnv(t).m.Issue(context.Background(), "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.me("Bearer "+p.AccessToken, "")
		e.wantProblem(err, core.ErrDPoPBinding, 401, "invalid_token", "DPoP-bound token required", dpopChallenge("invalid_token", "DPoP-bound token required"))
		resp, b = e.refresh(p.RefreshToken, "")
		if resp.Status != 400 || b["error"] != "invalid_dpop_proof" || b["error_description"] != "DPoP proof required" {
			t.Fatalf("refresh without proof: %d %s", resp.Status, resp.Body)
		}
		resp, b = e.refresh(p.RefreshToken, key.Proof(t, "POST", dpopBase+"/refresh", "", "", e.clock.Now()))
		if resp.Status != 400 || b["error"] != "invalid_grant" || b["error_description"] != "DPoP-bound token required" {
			t.Fatalf("refresh of an unbound session: %d %s", resp.Status, resp.Body)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := newDPoPEnv(t, core.WithoutDPoP())
		resp, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
		if resp.Status != 200 || b["token_type"] != "Bearer" || cnfJKT(t, b["access_token"].(string)) != "" {
			t.Fatalf("login with proof, DPoP off: %d %s", resp.Status, resp.Body)
		}
		// A token bound elsewhere (same keys, DPoP on) is refused here: its proof cannot be checked.
		on := newDPoPEnv(t)
		_, b = on.login(key.Proof(t, "POST", dpopBase+"/login", "", "", on.clock.Now()))
		bound := b["access_token"].(string)
		if _, err := e.me("Bearer "+bound, ""); !errors.Is(err, core.ErrDPoPBinding) {
			t.Fatalf("bound token, DPoP off: %v", err)
		}
		if _, err := e.me("DPoP "+bound, key.Proof(t, "GET", dpopBase+"/api/me", bound, "", e.clock.Now())); !errors.Is(err, core.ErrTokenMissing) {
			t.Fatalf("DPoP scheme, DPoP off: %v", err)
		}
	})
	t.Run("store without replay records", func(t *testing.T) {
		clock := testutil.NewClockNow()
		store := plainStore{core.NewMemoryStore()}
		t.Cleanup(func() { store.Close() })
		m := testutil.SuiteManager(t, clock, core.WithStore(store))
		if m.DPoPEnabled() {
			t.Fatal("DPoP enabled with a store that keeps no replay records")
		}
		_, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer("i"),
			core.WithAudience("a"), core.WithStore(store), core.WithDPoPRequired())
		if !errors.Is(err, core.ErrInvalidConfig) {
			t.Fatalf("WithDPoPRequired with a store without replay records: %v", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for name, opt := range map[string]core.Option{
			"window 0":       core.WithDPoPProofWindow(0),
			"window 6m":      core.WithDPoPProofWindow(6 * time.Minute),
			"short key":      core.WithDPoPNonceKey([]byte("short")),
			"url with path":  core.WithDPoPPublicURL("https://api.example.com/v1"),
			"url with query": core.WithDPoPPublicURL("https://api.example.com?x"),
			"not a url":      core.WithDPoPPublicURL("api.example.com"),
		} {
			_, err := core.New(core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer("i"), core.WithAudience("a"), opt)
			if !errors.Is(err, core.ErrInvalidConfig) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// plainStore hides MemoryStore's optional interfaces.
type plainStore struct{ core.Store }

func TestDPoPPublicURL(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t, core.WithDPoPPublicURL("https://api.example.com"))
	key := testutil.NewDPoPKey(t)
	now := e.clock.Now()
	// The server sees http://example.com (behind a proxy); the client called https://api.example.com.
	resp, _ := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", now))
	if resp.Status != 400 {
		t.Fatalf("proof for the internal URL: %d %s", resp.Status, resp.Body)
	}
	resp, b := e.login(key.Proof(t, "POST", "https://api.example.com:443/login", "", "", now))
	if resp.Status != 200 {
		t.Fatalf("proof for the public URL: %d %s", resp.Status, resp.Body)
	}
	access := b["access_token"].(string)
	// Forwarded headers are never read.
	h := map[string]string{"Authorization": "DPoP " + access, "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http",
		"DPoP": key.Proof(t, "GET", "http://evil.example/api/me", access, "", now)}
	_, _, err := e.m.HTTP().AuthenticateContext(context.Background(), core.HTTPRequest(e.req("GET", "/api/me", h)), false)
	if !errors.Is(err, core.ErrDPoPProof) {
		t.Fatalf("proof for the forwarded host: %v", err)
	}
}

// TestDPoPCache: a bound token in the verified-token cache is still checked for its proof on
// every request.
func TestDPoPCache(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t, core.WithVerifiedCache(64))
	key := testutil.NewDPoPKey(t)
	_, b := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
	access := b["access_token"].(string)
	for i := 0; i < 3; i++ {
		if _, err := e.me("DPoP "+access, key.Proof(t, "GET", dpopBase+"/api/me", access, "", e.clock.Now())); err != nil {
			t.Fatal(err)
		}
		if _, err := e.me("Bearer "+access, ""); !errors.Is(err, core.ErrDPoPBinding) {
			t.Fatalf("cached bound token as Bearer: %v", err)
		}
		if _, err := e.me("DPoP "+access, ""); !errors.Is(err, core.ErrDPoPProof) {
			t.Fatalf("cached bound token without proof: %v", err)
		}
	}
}

// TestDPoPReplayAcrossManagers: two Managers sharing one store refuse each other's proofs.
func TestDPoPReplayAcrossManagers(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	t.Cleanup(func() { store.Close() })
	a := &dpopEnv{t: t, m: testutil.SuiteManager(t, clock, core.WithStore(store)), clock: clock}
	b := &dpopEnv{t: t, m: testutil.SuiteManager(t, clock, core.WithStore(store)), clock: clock}
	key := testutil.NewDPoPKey(t)
	_, tb := a.login(key.Proof(t, "POST", dpopBase+"/login", "", "", clock.Now()))
	access := tb["access_token"].(string)
	proof := key.Proof(t, "GET", dpopBase+"/api/me", access, "", clock.Now())
	if _, err := a.me("DPoP "+access, proof); err != nil {
		t.Fatal(err)
	}
	if _, err := b.me("DPoP "+access, proof); !errors.Is(err, core.ErrDPoPProof) {
		t.Fatalf("proof replayed at the other instance: %v", err)
	}
	if store.DPoPProofs() != 2 { // the login's proof and /api/me's
		t.Fatalf("%d replay records, want 2", store.DPoPProofs())
	}
	clock.Advance(core.DefaultDPoPProofWindow + 2*testutil.SuiteLeeway + time.Second) // records live a leeway past the window
	store.Sweep()
	if store.DPoPProofs() != 0 {
		t.Fatalf("%d replay records after the window, want 0", store.DPoPProofs())
	}
}

func TestDPoPReplayCacheBound(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now), core.WithMaxDPoPProofs(2))
	t.Cleanup(func() { store.Close() })
	e := &dpopEnv{t: t, m: testutil.SuiteManager(t, clock, core.WithStore(store)), clock: clock}
	key := testutil.NewDPoPKey(t)
	for i := 0; i < 2; i++ {
		if resp, _ := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", clock.Now())); resp.Status != 200 {
			t.Fatalf("login %d: %d", i, resp.Status)
		}
	}
	// Full of live records: refused (503), never a record dropped.
	if resp, _ := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", clock.Now())); resp.Status != 503 {
		t.Fatalf("login with a full replay cache: %d %s", resp.Status, resp.Body)
	}
	clock.Advance(core.DefaultDPoPProofWindow + 2*testutil.SuiteLeeway + time.Second) // records live a leeway past the window
	if resp, _ := e.login(key.Proof(t, "POST", dpopBase+"/login", "", "", clock.Now())); resp.Status != 200 {
		t.Fatalf("login once the records expired: %d %s", resp.Status, resp.Body)
	}
}

// TestDPoPAdversarialProofs: proofs a careless verifier would accept.
func TestDPoPAdversarialProofs(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t)
	key := testutil.NewDPoPKey(t)
	now := e.clock.Now().Unix()
	claims := func() map[string]any {
		return map[string]any{"jti": testutil.RandomID(), "htm": "POST", "htu": dpopBase + "/login", "iat": now}
	}
	hdr := func(mod func(h map[string]any)) map[string]any {
		h := key.Header()
		mod(h)
		return h
	}
	rsaBig := testutil.NewDPoPKeyAlg(t, "RS256")
	huge := map[string]any{"kty": "RSA", "e": "AQAB", "n": testutil.B64Bytes(new(big.Int).Lsh(big.NewInt(1), 8191).Bytes())}
	hugeJWK := key.PrivateJWK()
	delete(hugeJWK, "d")
	hugeJWK["pad"] = strings.Repeat("A", 5000)
	b64 := testutil.B64
	for _, tc := range []struct {
		name, proof, desc string
	}{
		{"alg none", b64(`{"typ":"dpop+jwt","alg":"none","jwk":`+mustJSON(key.JWK)+`}`) + "." + b64(mustJSON(claims())) + ".", "malformed DPoP proof"},
		{"alg none with signature", key.Sign(t, hdr(func(h map[string]any) { h["alg"] = "none" }), claims()), "DPoP proof algorithm not allowed"},
		{"HMAC", testutil.HS256([]byte(strings.Repeat("k", 32)), `{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"a2tr"}}`, mustJSON(claims())), "DPoP proof algorithm not allowed"},
		{"typ JWT", key.Sign(t, hdr(func(h map[string]any) { h["typ"] = "JWT" }), claims()), "DPoP proof typ is not dpop+jwt"},
		{"no typ", key.Sign(t, hdr(func(h map[string]any) { delete(h, "typ") }), claims()), "DPoP proof typ is not dpop+jwt"},
		{"private key in jwk", key.Sign(t, hdr(func(h map[string]any) { h["jwk"] = key.PrivateJWK() }), claims()), "private key in DPoP proof"},
		{"no jwk", key.Sign(t, hdr(func(h map[string]any) { delete(h, "jwk") }), claims()), "unusable DPoP proof key"},
		{"jwk of another type", key.Sign(t, hdr(func(h map[string]any) { h["alg"] = "RS256" }), claims()), "unusable DPoP proof key"},
		{"RSA modulus over 4096 bits", rsaBig.Sign(t, map[string]any{"typ": "dpop+jwt", "alg": "RS256", "jwk": huge}, claims()), "unusable DPoP proof key"},
		{"huge jwk", key.Sign(t, hdr(func(h map[string]any) { h["jwk"] = hugeJWK }), claims()), "DPoP proof too large"},
		{"crit", key.Sign(t, hdr(func(h map[string]any) { h["crit"] = []string{"exp"} }), claims()), "unsupported critical header in DPoP proof"},
		{"duplicate header member", key.SignRaw(t, `{"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256","jwk":`+mustJSON(key.JWK)+`}`, mustJSON(claims())), "malformed DPoP proof"},
		{"signature of another key", func() string {
			p := testutil.NewDPoPKey(t).Sign(t, key.Header(), claims())
			return p
		}(), "invalid DPoP proof signature"},
		{"iat as string", key.Sign(t, key.Header(), map[string]any{"jti": "x", "htm": "POST", "htu": dpopBase + "/login", "iat": "1"}), "invalid DPoP proof claims"},
		{"no jti", key.Sign(t, key.Header(), map[string]any{"htm": "POST", "htu": dpopBase + "/login", "iat": now}), "invalid DPoP proof claims"},
		{"padding", key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()) + "=", "malformed DPoP proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.login(tc.proof)
			if resp.Status != 400 || b["error"] != "invalid_dpop_proof" || b["error_description"] != tc.desc {
				t.Fatalf("%d %s, want 400 invalid_dpop_proof %q", resp.Status, resp.Body, tc.desc)
			}
		})
	}
	// Two DPoP headers.
	r := e.req("POST", "/login", nil)
	r.Header.Add("DPoP", key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
	r.Header.Add("DPoP", key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now()))
	resp := e.m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	if b := body(t, resp); resp.Status != 400 || b["error_description"] != "more than one DPoP proof" {
		t.Fatalf("two DPoP headers: %d %s", resp.Status, resp.Body)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestDPoPCustomCnf: an application cannot put its own cnf in a token, and a token with a cnf
// this package cannot check is refused.
func TestDPoPCustomCnf(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t)
	if _, err := e.m.Issue(context.Background(), "alice", map[string]any{"cnf": map[string]string{"jkt": "x"}}); !errors.Is(err, core.ErrReservedClaim) {
		t.Fatalf("custom cnf: %v", err)
	}
	now := e.clock.Now().Unix()
	for name, cnf := range map[string]string{
		"x5t#S256":  `{"x5t#S256":"abc"}`,
		"short jkt": `{"jkt":"abc"}`,
		"not obj":   `"jkt"`,
	} {
		tok := testutil.HS256(testutil.AccessSecret, `{"alg":"HS256","typ":"JWT"}`,
			`{"iss":"`+testutil.Issuer+`","aud":"`+testutil.Audience+`","sub":"a","iat":`+itoa(now)+`,"exp":`+itoa(now+60)+`,"cnf":`+cnf+`}`)
		if _, err := e.m.Verify(context.Background(), tok); !errors.Is(err, core.ErrClaims) {
			t.Errorf("cnf %s: %v", name, err)
		}
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

// TestDPoPLoginRetry: a login retried with its Idempotency-Key gets the first attempt's session,
// bound to the first attempt's key whatever key the retry proves (the store keeps the session's
// thumbprint).
func TestDPoPLoginRetry(t *testing.T) {
	t.Parallel()
	e := newDPoPEnv(t)
	first, second := testutil.NewDPoPKey(t), testutil.NewDPoPKey(t)
	login := func(key *testutil.DPoPKey) map[string]any {
		r := e.req("POST", "/login", map[string]string{"Idempotency-Key": "login-attempt-1",
			"DPoP": key.Proof(t, "POST", dpopBase+"/login", "", "", e.clock.Now())})
		resp := e.m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
		if resp.Status != 200 {
			t.Fatalf("login: %d %s", resp.Status, resp.Body)
		}
		return body(t, resp)
	}
	a, b := login(first), login(second)
	if a["refresh_token"] != b["refresh_token"] {
		t.Fatal("the retried login started another session")
	}
	if got := cnfJKT(t, b["access_token"].(string)); got != first.Thumbprint {
		t.Fatalf("retry's access token bound to %q, want the first attempt's key %q", got, first.Thumbprint)
	}
}
