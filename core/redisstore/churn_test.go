package redisstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/redisstore"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// One subject logging in over and over (a credential holder's flood) no longer grows Redis with
// every login: with the defaults (32 sessions, churn limit 256) the subject's keys stay within
// what 2 x 256 marks and 32 families take, and logins past the bound are refused with
// ErrSessionChurn. Without the bound the same flood leaves one mark per login.
func TestLoginFloodMemoryBounded(t *testing.T) {
	rs := testutil.StartRedis(t)
	client := redisstore.ServerClient(t, rs)
	const logins = 1500
	flood := func(t *testing.T, prefix string, opts ...core.Option) (bytes int64, keys, refused int) {
		st, err := redisstore.New(client, redisstore.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		m := testutil.SuiteManager(t, testutil.NewClockNow(), append([]core.Option{core.WithStore(st)}, opts...)...)
		ctx := context.Background()
		for i := range logins {
			_, err := m.Issue(ctx, "alice", nil)
			switch {
			case errors.Is(err, core.ErrSessionChurn):
				refused++
			case err != nil:
				t.Fatalf("login %d: %v", i+1, err)
			}
		}
		for _, k := range client.Keys(ctx, prefix+"{*}:*").Val() {
			n, err := client.MemoryUsage(ctx, k).Result()
			if err != nil {
				t.Fatalf("MEMORY USAGE %s: %v", k, err)
			}
			bytes += n
			keys++
		}
		return bytes, keys, refused
	}
	bounded, bkeys, refused := flood(t, "churn-bounded:")
	unbounded, ukeys, urefused := flood(t, "churn-free:", core.WithoutSessionChurnLimit())
	t.Logf("%d logins of one subject: %d bytes in %d keys with the churn limit (%d logins refused), %d bytes in %d keys without",
		logins, bounded, bkeys, refused, unbounded, ukeys)
	if wantRefused := logins - core.DefaultMaxSessions - core.DefaultSessionChurnLimit; refused != wantRefused {
		t.Errorf("refused logins: got %d, want %d (all past 32 sessions + 256 ended)", refused, wantRefused)
	}
	if urefused != 0 {
		t.Errorf("refused logins without the bound: got %d, want 0", urefused)
	}
	// 256 marks + the count + 32 families and their index, with room to spare.
	if maxKeys := core.DefaultSessionChurnLimit + core.DefaultMaxSessions + 3; bkeys > maxKeys {
		t.Errorf("keys with the churn limit: got %d, want at most %d", bkeys, maxKeys)
	}
	if ukeys < logins-core.DefaultMaxSessions {
		t.Errorf("keys without the bound: got %d, want one mark per ended session (>= %d): is the flood measured?", ukeys, logins-core.DefaultMaxSessions)
	}
	if bounded*3 > unbounded {
		t.Errorf("bytes: %d with the bound, %d without: want the bound to save most of them", bounded, unbounded)
	}
}
