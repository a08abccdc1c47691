package prommetrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/prommetrics"
)

// TestKeyRingMetrics: a Manager with a key ring counts its rotations (created, emergency) and
// the tokens of a retired key that come back.
func TestKeyRingMetrics(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	met := prommetrics.New()
	reg.MustRegister(met)
	m, err := core.New(core.WithKeyRotation("EdDSA", time.Hour), core.WithIssuer("i"), core.WithAudience("a"),
		core.WithEventHook(met.Hook), core.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.RetireCompromisedKey(ctx, core.KeyRoleAccess); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, p.AccessToken); !errors.Is(err, core.ErrSignature) {
		t.Fatalf("token of the retired key: got %v, want ErrSignature", err)
	}
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"jwtexp_key_rotations_total", "reason", "created", 1}, // one series per ring
		{"jwtexp_key_rotations_total", "reason", "emergency", 1},
		{"jwtexp_retired_keys_presented_total", "ring", "access", 1},
	} {
		if got := counterValue(t, reg, c.name, c.label, c.value); got != c.want {
			t.Errorf("%s{%s=%q}: got %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
}
