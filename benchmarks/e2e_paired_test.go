package benchmarks_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// e2ePairedRounds is how many rounds BenchmarkEndToEndPaired runs: in each, every implementation
// of the framework serves one slice of requests, in an order that rotates from round to round.
const e2ePairedRounds = 25

// BenchmarkEndToEndPaired measures what BenchmarkEndToEnd measures, HS256 only, as ratios that
// hold on a machine whose speed drifts: all of a framework's servers (bare route, jwtexp, peers)
// run at once, each with its own e2eClients keep-alive connections, and take turns serving slices
// of b.N requests, e2ePairedRounds times. Each round gives each implementation's req/s as a
// fraction of the bare route's in that same round, and its CPU per request minus the bare
// route's; the reported metrics are the medians over the rounds (with bare-req/s and
// bare-server-cpu-µs, the bare route's own): <impl>-frac (req/s as a
// fraction of bare) and <impl>-cpu-µs (extra CPU µs per request of the server process). Each
// server runs in a process of its own (this test binary running BenchmarkE2EServer), as a
// deployed server does: one server's garbage is not collected on another's time, and the CPU
// per request is the server's alone, not its clients'. One implementation,
// bare-again, is the bare route once more on a server of its own: what its ratio to bare misses
// 1 by is the harness's own error on that machine at that time. Give the slice size as a count:
//
//	go test -run '^$' -bench EndToEndPaired -benchtime 4000x
//
// In the one-token cell jwtexp answers from its verified-token cache, and the reference
// middlewares ref-copy and ref-spin run too (see e2e_reference_test.go; ref-spin-ns is the
// in-process cost ref-spin burns); in the distinct-token cell (e2eTokens tokens) jwtexp runs
// without its cache, as in BenchmarkEndToEnd.
func BenchmarkEndToEndPaired(b *testing.B) {
	for _, fw := range frameworks {
		b.Run("fw="+fw.name, func(b *testing.B) {
			for _, tokens := range []int{1, e2eTokens} {
				b.Run(fmt.Sprintf("alg=HS256/tokens=%d", tokens), func(b *testing.B) {
					fx := newFixture(b, "HS256")
					reqs := e2eRequests(b, fx, tokens)
					var sides []*e2eSide
					impls := fw.impls(b, fx)
					var spinNS float64
					if tokens == 1 {
						spinNS = calibrateSpin(b, findImpl(b, impls, "bare"), findImpl(b, impls, "jwtexp"), fx.authorization["valid"])
					}
					for _, im := range impls {
						if (tokens == 1 && im.name == "jwtexp-nocache") || (tokens > 1 && (im.name == "jwtexp" || isRef(im.name))) {
							continue
						}
						sides = append(sides, startE2ESide(b, fw.name, im.name, im.name, reqs))
						if im.name == "bare" {
							// The same bare route on a server of its own: its ratio to bare is the
							// harness's own error, the resolution of every other ratio.
							sides = append(sides, startE2ESide(b, fw.name, "bare-again", "bare", reqs))
						}
					}
					runPaired(b, sides)
					if tokens == 1 {
						b.ReportMetric(spinNS, "ref-spin-ns") // after runPaired: ResetTimer drops metrics
					}
				})
			}
		})
	}
}

// findImpl returns the target of the implementation called name.
func findImpl(b *testing.B, impls []impl, name string) target {
	b.Helper()
	i := slices.IndexFunc(impls, func(im impl) bool { return im.name == name })
	if i < 0 {
		b.Fatalf("no implementation %q", name)
	}
	return impls[i].target
}

// e2eSide is one implementation's server process and the connections that drive it.
type e2eSide struct {
	name    string
	conns   []net.Conn
	readers []*bufio.Reader
	reqs    [][]byte
	next    int64 // index of the next request in reqs, across slices
	// the server process: its stdin takes "cpu" queries, its stdout answers them
	ask    io.Writer
	answer *bufio.Scanner
	// per round: req/s and CPU µs per request
	rate, cpu []float64
}

// e2eServerEnv passes a server process what to serve: "<framework> <implementation> <ref-spin
// iterations>".
const e2eServerEnv = "JWTEXP_E2E_SERVER"

// startE2ESide starts a process serving framework fw's implementation impl (this test binary
// running BenchmarkE2EServer) and opens e2eClients keep-alive connections to it; name is the side's
// name in the results. The process ends when the benchmark does.
func startE2ESide(b *testing.B, fw, name, impl string, reqs [][]byte) *e2eSide {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^BenchmarkE2EServer$", "-test.benchtime=1x")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", e2eServerEnv, fw, impl, refSpinIters.Load()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &e2eSide{name: name, reqs: reqs, ask: stdin, answer: bufio.NewScanner(stdout)}
	b.Cleanup(func() {
		for _, c := range s.conns {
			c.Close()
		}
		stdin.Close() // the server stops at the end of its input
		if err := cmd.Wait(); err != nil {
			b.Errorf("%s server: %v", name, err)
		}
	})
	addr := s.reply(b, "e2e-server ")
	for range e2eClients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(c)
		if err := roundTrip(c, r, reqs[0]); err != nil { // accepted, handlers warm
			b.Fatalf("%s: %v", name, err)
		}
		s.conns, s.readers = append(s.conns, c), append(s.readers, r)
	}
	return s
}

// reply returns the rest of the server process's next output line that starts with prefix
// (the test framework prints lines of its own).
func (s *e2eSide) reply(b *testing.B, prefix string) string {
	b.Helper()
	for s.answer.Scan() {
		if rest, ok := strings.CutPrefix(s.answer.Text(), prefix); ok {
			return rest
		}
	}
	b.Fatalf("%s server ended without a %q line: %v", s.name, prefix, s.answer.Err())
	return ""
}

// serverCPU asks the server process for the CPU time it has used.
func (s *e2eSide) serverCPU(b *testing.B) time.Duration {
	b.Helper()
	if _, err := io.WriteString(s.ask, "cpu\n"); err != nil {
		b.Fatalf("%s server: %v", s.name, err)
	}
	ns, err := strconv.ParseInt(s.reply(b, "e2e-cpu "), 10, 64)
	if err != nil {
		b.Fatalf("%s server: %v", s.name, err)
	}
	return time.Duration(ns)
}

// BenchmarkE2EServer is the server process of one BenchmarkEndToEndPaired side, started by
// startE2ESide; run directly, it skips. It serves the implementation that e2eServerEnv names on a
// loopback port, which it prints ("e2e-server <addr>"), answers each "cpu" line of its input
// with its CPU time ("e2e-cpu <ns>"), and returns at the end of its input.
func BenchmarkE2EServer(b *testing.B) {
	spec := os.Getenv(e2eServerEnv)
	if spec == "" {
		b.Skip("the server process of BenchmarkEndToEndPaired, started by it")
	}
	var fwName, implName string
	var spin int64
	if _, err := fmt.Sscan(spec, &fwName, &implName, &spin); err != nil {
		b.Fatalf("%s=%q: %v", e2eServerEnv, spec, err)
	}
	i := slices.IndexFunc(frameworks, func(f framework) bool { return f.name == fwName })
	if i < 0 {
		b.Fatalf("%s=%q: no framework %q", e2eServerEnv, spec, fwName)
	}
	fx := newFixture(b, "HS256")
	t := findImpl(b, frameworks[i].impls(b, fx), implName)
	refSpinIters.Store(spin)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := t.listen(ln)
	defer stop()
	fmt.Printf("e2e-server %s\n", ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "cpu" {
			fmt.Printf("e2e-cpu %d\n", cpuTime().Nanoseconds())
		}
	}
}

// serve sends n requests over the side's connections and records req/s and CPU per request.
func (s *e2eSide) serve(b *testing.B, n int) {
	var sent atomic.Int64
	var failed atomic.Value
	cpu0 := s.serverCPU(b)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, c := range s.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := sent.Add(1) - 1
				if k >= int64(n) {
					return
				}
				req := s.reqs[(s.next+k)%int64(len(s.reqs))]
				if err := roundTrip(c, s.readers[i], req); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	cpu := s.serverCPU(b) - cpu0
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	s.next += int64(n)
	s.rate = append(s.rate, float64(n)/elapsed.Seconds())
	s.cpu = append(s.cpu, float64(cpu.Microseconds())/float64(n))
}

// runPaired runs the rounds and reports, per implementation other than bare, the medians of its
// per-round ratios to bare.
func runPaired(b *testing.B, sides []*e2eSide) {
	b.Helper()
	bare := slices.IndexFunc(sides, func(s *e2eSide) bool { return s.name == "bare" })
	if bare < 0 {
		b.Fatal("no bare route to compare with")
	}
	n := max(b.N, 1)
	b.ResetTimer()
	for r := range e2ePairedRounds {
		for i := range sides {
			sides[(r+i)%len(sides)].serve(b, n)
		}
	}
	b.StopTimer()
	base := sides[bare]
	b.ReportMetric(median(base.rate), "bare-req/s")
	b.ReportMetric(median(base.cpu), "bare-server-cpu-µs")
	for _, s := range sides {
		if s == base {
			continue
		}
		frac := make([]float64, e2ePairedRounds)
		extra := make([]float64, e2ePairedRounds)
		for r := range frac {
			frac[r] = s.rate[r] / base.rate[r]
			extra[r] = s.cpu[r] - base.cpu[r]
		}
		b.ReportMetric(median(frac), s.name+"-frac")
		b.ReportMetric(median(extra), s.name+"-cpu-µs")
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
