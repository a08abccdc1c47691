package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// MarkDPoPProof implements core.DPoPReplayStore: one SET NX with a relative expiry (PX), one
// round trip. The record's key, "<prefix>dpop:<id>", carries no hash tag, so the records of a
// Cluster spread over its slots (a single-key command is Cluster-safe wherever the key lands).
// The expiry is until - now by the caller's clock, applied by the server's: instances whose
// clocks differ do not shorten it (the Manager adds its leeway to until for them).
//
// After a data loss (a restarted Redis without persistence, a failover that lost writes) the
// records of the last proof window are gone and a proof seen just before could be accepted once
// more within that window; the proofs' short window bounds this, and tokens stay bound to their
// key. Nothing else of the store depends on these records.
func (s *Store) MarkDPoPProof(ctx context.Context, id string, until, now time.Time) (bool, error) {
	ttl := until.Sub(now)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ok, err := s.client.SetNX(ctx, s.dpopKey(id), "1", ttl).Result()
	if err != nil {
		if cc, ok := s.client.(*redis.ClusterClient); ok && topologyError(err) {
			s.reload.maybe(ctx, cc)
		}
		return false, opError("record DPoP proof", err)
	}
	return ok, nil
}
