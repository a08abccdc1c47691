package redisstore

import (
	"context"
	"strings"
	"testing"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// A script called with another number of KEYS or ARGV than it names fails with an error naming
// the script and both counts, instead of running with nil arguments.
func TestScriptArgumentCount(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	ctx := context.Background()
	err := denyScript.Run(ctx, client, []string{"jwtexp-test:{x}:deny:1"}, "1", "c").Err()
	want := "jwtexp deny script: wants 1 KEYS and 3 ARGV, got 1 and 2"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	if err := denyScript.Run(ctx, client, []string{"jwtexp-test:{x}:deny:1"}, "1", "c", "t").Err(); err != nil {
		t.Fatalf("with the right counts: got %v, want nil", err)
	}
}
