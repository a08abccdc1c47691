package core_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestTokenEndpointProofWithoutTarget: a login or refresh whose request cannot tell the URL its
// DPoP proof names has the proof ignored where DPoP is allowed (Bearer tokens) and refused with
// the token endpoint's 400 where it is required; a request that can tell it has it checked.
func TestTokenEndpointProofWithoutTarget(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	ctx := context.Background()
	key := testutil.NewDPoPKey(t)
	proof := key.Proof(t, "POST", "https://api.example.com/login", "", "", clock.Now())
	with := viewRequest{method: "POST", path: "/login", host: "api.example.com", header: http.Header{"Dpop": {proof}}}

	allowed := testutil.SuiteManager(t, clock)
	if jkt, err := allowed.TokenEndpointProof(ctx, with.withoutTarget()); jkt != "" || err != nil {
		t.Fatalf("DPoP allowed, no target: %q %v, want the proof ignored", jkt, err)
	}
	if jkt, err := allowed.TokenEndpointProof(ctx, with); jkt == "" || err != nil {
		t.Fatalf("DPoP allowed, with its target: %q %v, want the proof's thumbprint", jkt, err)
	}
	bad := viewRequest{method: "POST", path: "/login", host: "api.example.com", header: http.Header{"Dpop": {"not-a-proof"}}}
	if _, err := allowed.TokenEndpointProof(ctx, bad); !errors.Is(err, core.ErrDPoPProof) {
		t.Fatalf("DPoP allowed, a malformed proof with its target: %v, want ErrDPoPProof", err)
	}

	required := testutil.SuiteManager(t, clock, core.WithDPoPRequired())
	_, err := required.TokenEndpointProof(ctx, with.withoutTarget())
	if !errors.Is(err, core.ErrDPoPProof) || required.HTTP().Problem(err).Status != http.StatusBadRequest {
		t.Fatalf("DPoP required, no target: %v (status %d), want ErrDPoPProof and 400", err, required.HTTP().Problem(err).Status)
	}
}
