package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// benchFamily is a family of subject as the Manager records it at login.
func benchFamily(subject, sid string, now time.Time) core.Family {
	return core.Family{SessionID: sid, Subject: subject, Current: "jti-0000000000000000000", CurrentIssuedAt: now,
		CurrentExpires: now.Add(7 * 24 * time.Hour), Expires: now.Add(30 * 24 * time.Hour), CreatedAt: now, LastUsed: now,
		Client: "Firefox on Linux, 192.0.2.0/24"}
}

// BenchmarkStoreRotate: one rotation of a live family per iteration (one script).
func BenchmarkStoreRotate(b *testing.B) {
	srv := testutil.StartRedis(b)
	s := newStore(b, serverClient(b, srv))
	ctx := context.Background()
	now := time.Now()
	if _, err := s.CreateFamily(ctx, benchFamily("alice", "sid-bench-000000000000", now), core.SessionLimit{Max: core.DefaultMaxSessions}); err != nil {
		b.Fatal(err)
	}
	cur := "jti-0000000000000000000"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		next := fmt.Sprintf("jti-%019d", i+1)
		_, res, err := s.Rotate(ctx, core.RotateRequest{Subject: "alice", SessionID: "sid-bench-000000000000",
			Presented: cur, PresentedIssuedAt: now, Next: next, NextIssuedAt: now, NextExpires: now.Add(7 * 24 * time.Hour),
			Now: now, RevokeUntil: now.Add(16 * time.Minute)})
		if err != nil || res != core.RotateOK {
			b.Fatalf("Rotate: %v %v", res, err)
		}
		cur = next
	}
}

// BenchmarkStoreSessions: listing a subject's sessions, one round trip, for 1, 8 and 32 sessions.
func BenchmarkStoreSessions(b *testing.B) {
	srv := testutil.StartRedis(b)
	client := serverClient(b, srv)
	ctx := context.Background()
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s := newStore(b, client)
			now := time.Now()
			for i := range n {
				if _, err := s.CreateFamily(ctx, benchFamily("alice", fmt.Sprintf("sid-%018d", i), now), core.SessionLimit{Max: core.DefaultMaxSessions}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if fams, err := s.Sessions(ctx, "alice"); err != nil || len(fams) != n {
					b.Fatalf("Sessions: %d %v", len(fams), err)
				}
			}
		})
	}
}

// BenchmarkStoreCreateFamilyAtLimit: a login of a subject already at the bound (each ends the
// least recently used session), and the Redis memory one session takes.
func BenchmarkStoreCreateFamilyAtLimit(b *testing.B) {
	srv := testutil.StartRedis(b)
	client := serverClient(b, srv)
	s := newStore(b, client)
	ctx := context.Background()
	now := time.Now()
	limit := core.SessionLimit{Max: core.DefaultMaxSessions, RevokeUntil: now.Add(16 * time.Minute)}
	for i := range core.DefaultMaxSessions {
		if _, err := s.CreateFamily(ctx, benchFamily("alice", fmt.Sprintf("sid-%018d", i), now), limit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ended, err := s.CreateFamily(ctx, benchFamily("alice", fmt.Sprintf("sid-new-%014d", i), now.Add(time.Duration(i+1)*time.Millisecond)), limit)
		if err != nil || len(ended) != 1 {
			b.Fatalf("CreateFamily: %v %v", ended, err)
		}
	}
	if n, _ := client.ZCard(ctx, s.indexKey("alice")).Result(); n != int64(core.DefaultMaxSessions) {
		b.Fatalf("index holds %d sessions, want %d", n, core.DefaultMaxSessions)
	}
	// What one session costs in Redis (MEMORY USAGE): its family hash and its share of the index.
	sids, _ := client.ZRange(ctx, s.indexKey("alice"), 0, 0).Result()
	if len(sids) == 1 {
		fam, _ := client.MemoryUsage(ctx, s.familyKey("alice", sids[0]), 0).Result()
		b.ReportMetric(float64(fam), "family-bytes")
	}
	idx, _ := client.MemoryUsage(ctx, s.indexKey("alice"), 0).Result()
	b.ReportMetric(float64(idx)/float64(core.DefaultMaxSessions), "index-bytes/session")
}
