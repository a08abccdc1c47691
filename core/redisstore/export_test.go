package redisstore

import (
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

var serverClients sync.Map // *testutil.RedisServer -> *redis.Client

// serverClient returns the one client of srv the tests share, created on first use and closed
// when the test that created it ends.
func serverClient(tb testing.TB, srv *testutil.RedisServer) *redis.Client {
	if c, ok := serverClients.Load(srv); ok {
		return c.(*redis.Client)
	}
	c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr})
	if prev, loaded := serverClients.LoadOrStore(srv, c); loaded {
		_ = c.Close()
		return prev.(*redis.Client)
	}
	tb.Cleanup(func() {
		serverClients.Delete(srv)
		_ = c.Close()
	})
	return c
}

// ServerClient is serverClient for the external test package.
var ServerClient = serverClient

// withFreshMarkers makes New create missing loss markers without recording a loss: each test
// works under a prefix of its own, which is new, not a Redis that lost its data.
func withFreshMarkers() Option { return func(c *config) { c.freshMarkers = true } }

// WithFreshMarkers is withFreshMarkers for the external test package.
var WithFreshMarkers = withFreshMarkers
