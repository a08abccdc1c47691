package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// On Redis Cluster the replay records of DPoP proofs spread over the masters (their keys carry
// no hash tag), and each proof id is new exactly once through any client of the cluster.
func TestDPoPReplayCluster(t *testing.T) {
	addrs := startCluster(t)
	newClient := func() *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, err := New(newClient())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(newClient())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Minute)
	slots := map[int]bool{}
	for i := range 30 {
		var raw [16]byte
		binary.BigEndian.PutUint64(raw[:], uint64(i))
		id := base64.RawURLEncoding.EncodeToString(raw[:])
		first, err := a.MarkDPoPProof(ctx, id, until, now)
		if err != nil || !first {
			t.Fatalf("mark %d at a: %v %v", i, first, err)
		}
		again, err := b.MarkDPoPProof(ctx, id, until, now)
		if err != nil || again {
			t.Fatalf("mark %d again at b: %v %v", i, again, err)
		}
		slots[keySlot(a.dpopKey(id))*3/16384] = true
	}
	if len(slots) != 3 {
		t.Fatalf("replay records on %d of 3 masters, want all", len(slots))
	}
}
