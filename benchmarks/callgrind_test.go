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

// e2eClientEnv tells BenchmarkE2EClient what to do: "<address> <requests> <in flight>", in
// flight being how many requests each connection keeps written and not yet answered: 1 waits
// for each answer before the next request; 2 pipelines them (HTTP/1.1, answers read in order), so
// that when the server finishes one request the next is already in its socket and its goroutine
// need not park waiting for the client. callgrind.sh keeps 2 unless told otherwise (-p).
const e2eClientEnv = "JWTEXP_E2E_CLIENT"

// BenchmarkE2EClient is the client process of callgrind.sh; run directly, it skips. It sends the
// given number of requests GET /api/me with one valid HS256 token (issued here with the keys,
// issuer and audience every server of BenchmarkE2EServer verifies with) over callgrindClients
// keep-alive connections to the address, as many in flight on each as it is told, and fails
// unless every answer is 204. The server runs under callgrind in a process of its own, so this
// process's own work is not counted.
func BenchmarkE2EClient(b *testing.B) {
	spec := os.Getenv(e2eClientEnv)
	if spec == "" {
		b.Skip("the client process of callgrind.sh, started by it")
	}
	var addr string
	var n int64
	var ahead int
	if _, err := fmt.Sscan(spec, &addr, &n, &ahead); err != nil || n < callgrindClients || ahead < 1 {
		b.Fatalf("%s=%q: want \"<address> <requests> <in flight>\", at least %d requests, at least 1 in flight (%v)", e2eClientEnv, spec, callgrindClients, err)
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
			if err := drive(c, req, ahead, func() bool { return sent.Add(1) <= n }); err != nil {
				failed.Store(err)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("e2e-client-done %d\n", n)
}

// drive sends req on c for as long as more says there is one more to send, with up to inFlight
// requests written and not yet answered (1: each request after the answer to the one before),
// and reads every answer, in order: each must be 204.
func drive(c net.Conn, req []byte, inFlight int, more func() bool) error {
	r := bufio.NewReader(c)
	pending := 0
	for pending < inFlight && more() {
		if _, err := c.Write(req); err != nil {
			return err
		}
		pending++
	}
	for pending > 0 {
		if err := readResponse(r); err != nil {
			return err
		}
		pending--
		if more() {
			if _, err := c.Write(req); err != nil {
				return err
			}
			pending++
		}
	}
	return nil
}
