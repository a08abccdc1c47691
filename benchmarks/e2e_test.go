package benchmarks_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// e2eClients is the number of keep-alive connections each end-to-end benchmark drives at once.
const e2eClients = 32

// e2eCells are the token mixes measured end to end: one HS256 token presented again and again
// (a client's steady state, answered from jwtexp's verified-token cache), and distinct tokens,
// every one seen once per cycle, with HMAC, where verification is cheap and the framework's own
// cost shows most, and with EdDSA.
var e2eCells = []struct {
	alg    string
	tokens int
}{{"HS256", 1}, {"HS256", e2eTokens}, {"EdDSA", e2eTokens}}

// e2eTokens is how many distinct valid tokens a distinct-token cell cycles through. jwtexp runs
// those cells without its verified-token cache (jwtexp-nocache), so that every request pays for
// parsing and the signature check, as for the peers, none of which caches.
const e2eTokens = 8192

// BenchmarkEndToEnd serves each framework x implementation on a real server on a loopback port
// and sends b.N requests GET /api/me (valid tokens, answered 204) over e2eClients keep-alive
// connections. It reports req/s and cpu-µs/req, the CPU time (user + system, of this whole
// process: server and clients) per request; the clients are the same for every implementation,
// so the difference between a protected route and the bare route of the same framework is the
// cost of the middleware as a server pays it. The bare route ignores the token, so it is
// measured once per framework, in the one-token cell.
//
// Run it as interleaved passes (BENCHMARKS.md), e.g.
//
//	for i in 1 2 3; do go test -run '^$' -bench '^BenchmarkEndToEnd$' -benchtime 0.4s; done
//
// It only listens on 127.0.0.1.
func BenchmarkEndToEnd(b *testing.B) {
	for _, fw := range frameworks {
		b.Run("fw="+fw.name, func(b *testing.B) {
			for _, cell := range e2eCells {
				b.Run(fmt.Sprintf("alg=%s/tokens=%d", cell.alg, cell.tokens), func(b *testing.B) {
					fx := newFixture(b, cell.alg)
					reqs := e2eRequests(b, fx, cell.tokens)
					for _, im := range fw.impls(b, fx) {
						switch {
						case isRef(im.name),
							cell.tokens == 1 && im.name == "jwtexp-nocache",
							cell.tokens > 1 && (im.name == "bare" || im.name == "jwtexp"):
							continue
						}
						b.Run("impl="+im.name, func(b *testing.B) { runE2E(b, im.target, reqs) })
					}
				})
			}
		})
	}
}

// e2eRequests returns n serialized requests, each with a valid token of its own.
func e2eRequests(b *testing.B, fx *fixture, n int) [][]byte {
	b.Helper()
	reqs := make([][]byte, n)
	for i := range reqs {
		auth := fx.authorization["valid"]
		if n > 1 {
			p, err := fx.m.Issue(context.Background(), fmt.Sprintf("user-%d", i), nil)
			if err != nil {
				b.Fatal(err)
			}
			auth = "Bearer " + p.AccessToken
		}
		reqs[i] = []byte("GET /api/me HTTP/1.1\r\nHost: bench.example\r\nAuthorization: " + auth + "\r\n\r\n")
	}
	return reqs
}

// runE2E serves t on a loopback listener and sends b.N of reqs (in turn) over e2eClients
// connections, failing on any answer other than 204.
func runE2E(b *testing.B, t target, reqs [][]byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := t.listen(ln)
	defer stop()
	conns := make([]net.Conn, e2eClients)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	// One request per connection before timing: connections accepted, handlers warm.
	for _, c := range conns {
		if err := roundTrip(c, bufio.NewReader(c), reqs[0]); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var failed atomic.Value
	cpu0 := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := roundTrip(c, r, reqs[i%int64(len(reqs))]); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}

var contentLength = []byte("content-length:")

// roundTrip writes req on c and reads one response from r: it must be 204 (no body).
func roundTrip(c net.Conn, r *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	return readResponse(r)
}

// readResponse reads one answer from r and fails unless it is 204.
func readResponse(r *bufio.Reader) error {
	status := 0
	length := 0
	for first := true; ; first = false {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 { // "\r\n": end of the header block
			break
		}
		if first {
			if len(line) < 12 {
				return fmt.Errorf("bad status line %q", line)
			}
			status, _ = strconv.Atoi(string(line[9:12]))
			continue
		}
		if len(line) > 16 && bytes.EqualFold(line[:15], contentLength) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
		}
	}
	if length > 0 {
		if _, err := r.Discard(length); err != nil {
			return err
		}
	}
	if status != 204 {
		return fmt.Errorf("got status %d, want 204", status)
	}
	return nil
}

// cpuTime is the user + system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
