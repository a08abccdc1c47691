package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

const dpopBase = "http://example.com"

func dpopLogin(t *testing.T, m *core.Manager, proof string) map[string]any {
	t.Helper()
	r := httptest.NewRequest("POST", dpopBase+"/login", nil)
	r.Header.Set("DPoP", proof)
	resp := m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	var b map[string]any
	if err := json.Unmarshal(resp.Body, &b); err != nil || resp.Status != 200 {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	return b
}

func dpopMe(m *core.Manager, access, proof string) error {
	r := httptest.NewRequest("GET", dpopBase+"/api/me", nil)
	r.Header.Set("Authorization", "DPoP "+access)
	r.Header.Set("DPoP", proof)
	_, err := m.Authenticate(context.Background(), core.HTTPRequest(r))
	return err
}

// TestDPoPReplayAcrossInstances: a proof accepted by one instance is refused by another sharing
// the Redis store; nonces of one instance are taken by the other; a bound session refreshes at
// either with the key's proof only. It also measures what a replay record costs in Redis.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	rs := testutil.StartRedis(t)
	ms := managers(t, rs, 2, core.WithDPoPNonce())
	a, b := ms[0], ms[1]
	key := testutil.NewDPoPKey(t)

	// The nonce comes from instance a's refusal; b accepts it (stateless nonces).
	r := httptest.NewRequest("POST", dpopBase+"/login", nil)
	r.Header.Set("DPoP", key.Proof(t, "POST", dpopBase+"/login", "", "", time.Now()))
	refusal := a.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	nonce := refusal.DPoPNonce
	if refusal.Status != 400 || nonce == "" {
		t.Fatalf("login without nonce: %d %s", refusal.Status, refusal.Body)
	}
	body := dpopLogin(t, b, key.Proof(t, "POST", dpopBase+"/login", "", nonce, time.Now()))
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)

	proof := key.Proof(t, "GET", dpopBase+"/api/me", access, nonce, time.Now())
	if err := dpopMe(a, access, proof); err != nil {
		t.Fatalf("me at a: %v", err)
	}
	err := dpopMe(b, access, proof)
	if !errors.Is(err, core.ErrDPoPProof) || core.Reason(err) != "DPoP proof replayed" {
		t.Fatalf("the proof replayed at b: %v", err)
	}
	if err := dpopMe(b, access, key.Proof(t, "GET", dpopBase+"/api/me", access, nonce, time.Now())); err != nil {
		t.Fatalf("a fresh proof at b: %v", err)
	}

	// Refresh at a of the session b created: the key's proof is needed.
	refreshAt := func(m *core.Manager, proof string) core.Response {
		r := httptest.NewRequest("POST", dpopBase+"/refresh", strings.NewReader(`{"refresh_token":"`+refresh+`"}`))
		r.Header.Set("Content-Type", "application/json")
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		return m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(r))
	}
	if resp := refreshAt(a, ""); resp.Status != 400 || !strings.Contains(string(resp.Body), "invalid_grant") {
		t.Fatalf("refresh without a proof: %d %s", resp.Status, resp.Body)
	}
	if resp := refreshAt(a, key.Proof(t, "POST", dpopBase+"/refresh", "", nonce, time.Now())); resp.Status != 200 ||
		!strings.Contains(string(resp.Body), `"token_type":"DPoP"`) {
		t.Fatalf("refresh with the key's proof: %d %s", resp.Status, resp.Body)
	}
	list, err := a.Sessions(context.Background(), "alice", "")
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions: %v %v", list, err)
	}

	// The size of one replay record.
	client := redisstore.ServerClient(t, rs)
	keys, err := client.Keys(context.Background(), "jwtexp:dpop:*").Result()
	// The login at b, two accepted requests and the refresh: the login refused for its nonce
	// and the replay wrote nothing.
	if err != nil || len(keys) != 4 {
		t.Fatalf("replay records: %d (%v), want 4", len(keys), err)
	}
	usage, err := client.MemoryUsage(context.Background(), keys[0]).Result()
	if err != nil || usage <= 0 || usage > 256 {
		t.Fatalf("MEMORY USAGE of a replay record: %d %v", usage, err)
	}
	ttl, err := client.PTTL(context.Background(), keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > core.DefaultDPoPProofWindow+2*testutil.SuiteLeeway+2e9 {
		t.Fatalf("PTTL of a replay record: %v %v", ttl, err)
	}
	t.Logf("one DPoP replay record in Redis: %d bytes (MEMORY USAGE), key %q, PTTL %v", usage, keys[0], ttl)
}
