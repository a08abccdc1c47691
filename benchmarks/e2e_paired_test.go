package benchmarks_test

import (
	"bufio"
	"fmt"
	"net"
	"slices"
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
// route's; the reported metrics are the medians over the rounds: <impl>-frac (req/s as a
// fraction of bare) and <impl>-cpu-µs (extra CPU µs per request). One implementation,
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
						sides = append(sides, startE2ESide(b, im.name, im.target, reqs))
						if im.name == "bare" {
							// The same bare route on a server of its own: its ratio to bare is the
							// harness's own error, the resolution of every other ratio.
							again := fw.impls(b, fx)[0]
							if again.name != "bare" {
								b.Fatalf("%s: first implementation is %q, want bare", fw.name, again.name)
							}
							sides = append(sides, startE2ESide(b, "bare-again", again.target, reqs))
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

// e2eSide is one implementation's server and the connections that drive it.
type e2eSide struct {
	name    string
	conns   []net.Conn
	readers []*bufio.Reader
	reqs    [][]byte
	next    int64 // index of the next request in reqs, across slices
	// per round: req/s and CPU µs per request
	rate, cpu []float64
}

func startE2ESide(b *testing.B, name string, t target, reqs [][]byte) *e2eSide {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(t.listen(ln))
	s := &e2eSide{name: name, reqs: reqs}
	for range e2eClients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		if err := roundTrip(c, r, reqs[0]); err != nil { // accepted, handlers warm
			b.Fatal(err)
		}
		s.conns, s.readers = append(s.conns, c), append(s.readers, r)
	}
	return s
}

// serve sends n requests over the side's connections and records req/s and CPU per request.
func (s *e2eSide) serve(b *testing.B, n int) {
	var sent atomic.Int64
	var failed atomic.Value
	cpu0, t0 := cpuTime(), time.Now()
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
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
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
