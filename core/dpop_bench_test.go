package core_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// BenchmarkDPoPRequest is the cost of one request with a DPoP-bound token and a fresh ES256
// proof (parse, ES256 signature check, ath, replay record in the memory store), against the
// same request with a Bearer token: the difference is the proof verification per request.
// Proofs are made before the timer starts.
func BenchmarkDPoPRequest(b *testing.B) {
	for _, dpop := range []bool{false, true} {
		name := "bearer"
		if dpop {
			name = "dpop"
		}
		b.Run(name, func(b *testing.B) {
			clock := testutil.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
			m := testutil.SuiteManager(b, clock)
			key := testutil.NewDPoPKey(b)
			var opts []core.IssueOption
			if dpop {
				opts = append(opts, core.WithDPoPKey(key.Thumbprint))
			}
			p, err := m.Issue(context.Background(), "alice", nil, opts...)
			if err != nil {
				b.Fatal(err)
			}
			reqs := make([]core.Request, b.N)
			for i := range reqs {
				r := httptest.NewRequest("GET", "http://example.com/api/me", nil)
				if dpop {
					r.Header.Set("Authorization", "DPoP "+p.AccessToken)
					r.Header.Set("DPoP", key.Proof(b, "GET", "http://example.com/api/me", p.AccessToken, "", clock.Now()))
				} else {
					r.Header.Set("Authorization", "Bearer "+p.AccessToken)
				}
				reqs[i] = core.HTTPRequest(r)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := m.HTTP().AuthenticateContext(ctx, reqs[i], false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDPoPReplayMemory measures what a replay record costs the memory store (reported in the
// log; the bound guards against a regression that would, say, keep the proof itself).
func TestDPoPReplayMemory(t *testing.T) {
	const n = 100_000
	clock := testutil.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	store := core.NewMemoryStore(core.WithMemoryClock(clock.Now))
	defer store.Close()
	ctx := context.Background()
	until := clock.Now().Add(time.Minute)
	var id [16]byte
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(id[:], uint64(i))
		if first, err := store.MarkDPoPProof(ctx, base64.RawURLEncoding.EncodeToString(id[:]), until, clock.Now()); !first || err != nil {
			t.Fatalf("mark %d: %v %v", i, first, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("memory store: %.1f bytes per DPoP replay record (%d records)", per, store.DPoPProofs())
	if per > 128 {
		t.Errorf("%.1f bytes per replay record, want at most 128", per)
	}
}
