package benchmarks_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// callgrindClients is how many keep-alive connections the client of callgrind.sh drives at once.
const callgrindClients = 16

// e2eClientEnv tells BenchmarkE2EClient what to do: "<address> <requests>".
const e2eClientEnv = "JWTEXP_E2E_CLIENT"

// BenchmarkE2EClient is the client process of callgrind.sh; run directly, it skips. It sends the
// given number of requests GET /api/me with one valid HS256 token (issued here with the keys,
// issuer and audience every server of BenchmarkE2EServer verifies with) over callgrindClients
// keep-alive connections to the address, and fails unless every answer is 204. The server runs
// under callgrind in a process of its own, so this process's own work is not counted.
func BenchmarkE2EClient(b *testing.B) {
	spec := os.Getenv(e2eClientEnv)
	if spec == "" {
		b.Skip("the client process of callgrind.sh, started by it")
	}
	var addr string
	var n int64
	if _, err := fmt.Sscan(spec, &addr, &n); err != nil || n < callgrindClients {
		b.Fatalf("%s=%q: want \"<address> <requests>\", at least %d requests (%v)", e2eClientEnv, spec, callgrindClients, err)
	}
	fx := newFixture(b, "HS256")
	req := e2eRequests(b, fx, 1)[0]
	var sent atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range callgrindClients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			for sent.Add(1) <= n {
				if err := roundTrip(c, r, req); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("e2e-client-done %d\n", n)
}
