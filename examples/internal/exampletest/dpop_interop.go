package exampletest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dpopInteropAlgs are the algorithms panva's dpop package offers; every one must work.
var dpopInteropAlgs = []string{"ES256", "Ed25519", "RS256", "PS256"}

type dpopInteropResult struct {
	Thumbprint string `json:"thumbprint"`
	JKT        string `json:"jkt"`
	Login      struct {
		Status    int    `json:"status"`
		TokenType string `json:"token_type"`
	} `json:"login"`
	Me     int `json:"me"`
	Replay struct {
		Status    int    `json:"status"`
		Challenge string `json:"challenge"`
	} `json:"replay"`
	Bearer struct {
		Status    int    `json:"status"`
		Challenge string `json:"challenge"`
	} `json:"bearer"`
	Refresh struct {
		Status    int    `json:"status"`
		TokenType string `json:"token_type"`
	} `json:"refresh"`
	MeAfterRefresh int `json:"meAfterRefresh"`
	Nonces         int `json:"nonces"`
}

// DPoPInterop runs a DPoP client nobody here wrote - panva's dpop package on Node, pinned in
// testdata/dpop (package.json + package-lock.json, npm ci) - against the example, with and
// without server nonces (JWT_DPOP_NONCE=1), for each algorithm the package offers: its proofs
// bind the session (cnf.jkt is its own thumbprint computation), reach /api/me, refresh; a
// replayed proof and the bound token as Bearer are refused with a DPoP challenge; with nonces,
// the client's nonce retry succeeds. Node and npm are required in CI (JWTEXP_REQUIRE_NODE=1).
func DPoPInterop(t *testing.T, start Starter) {
	dir := installNode(t, "dpop", "interop.mjs")
	for _, nonce := range []bool{false, true} {
		env := map[string]string{}
		if nonce {
			env["JWT_DPOP_NONCE"] = "1"
		}
		s := StartLive(t, start, env)
		in, _ := json.Marshal(map[string]any{"base": s.URL, "username": DemoUser, "password": DemoPassword, "algs": dpopInteropAlgs})
		cmd := exec.Command("node", "interop.mjs")
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		began := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node interop.mjs: %v\n%s", err, stderr.Bytes())
		}
		t.Logf("dpop interop (nonces %v): %v", nonce, time.Since(began).Round(time.Millisecond))
		var results map[string]dpopInteropResult
		if err := json.Unmarshal(out, &results); err != nil {
			t.Fatalf("interop.mjs output %q: %v", out, err)
		}
		for _, alg := range dpopInteropAlgs {
			r, ok := results[alg]
			switch {
			case !ok:
				t.Errorf("%s: no result", alg)
			case r.Login.Status != 200 || r.Login.TokenType != "DPoP":
				t.Errorf("%s, nonces %v: login %+v", alg, nonce, r.Login)
			case r.JKT == "" || r.JKT != r.Thumbprint:
				t.Errorf("%s: cnf.jkt %q, the client's thumbprint %q", alg, r.JKT, r.Thumbprint)
			case r.Me != 200 || r.MeAfterRefresh != 200:
				t.Errorf("%s: /api/me %d, after the refresh %d", alg, r.Me, r.MeAfterRefresh)
			case r.Replay.Status != 401 || !strings.HasPrefix(r.Replay.Challenge, "DPoP ") || !strings.Contains(r.Replay.Challenge, `error="invalid_dpop_proof"`):
				t.Errorf("%s: replayed proof %+v", alg, r.Replay)
			case r.Bearer.Status != 401 || !strings.Contains(r.Bearer.Challenge, `error="invalid_token"`):
				t.Errorf("%s: bound token as Bearer %+v", alg, r.Bearer)
			case r.Refresh.Status != 200 || r.Refresh.TokenType != "DPoP":
				t.Errorf("%s: refresh %+v", alg, r.Refresh)
			case nonce && r.Nonces == 0:
				t.Errorf("%s: nonces on, but the client was never asked for one", alg)
			case !nonce && r.Nonces != 0:
				t.Errorf("%s: nonces off, but the client was asked for one %d times", alg, r.Nonces)
			}
		}
	}
}
