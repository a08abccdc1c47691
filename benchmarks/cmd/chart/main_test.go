package main

import (
	"strings"
	"testing"
)

const input = `goos: linux
goarch: amd64
pkg: github.com/jwtexp/jwtexp/benchmarks
BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=bare-2     	 1000	      100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=bare-2     	 1000	      120.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=jwtexp-2   	 1000	     1100 ns/op	    1216 B/op	       5 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=jwtexp-2   	 1000	     1140 ns/op	    1216 B/op	       5 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=gin-jwt-2  	 1000	     4110 ns/op	    3000 B/op	      70 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=garbage/impl=jwtexp-2 	 1000	     900 ns/op	    1000 B/op	      12 allocs/op
BenchmarkMiddleware/fw=gin/alg=HS256/case=garbage/impl=gin-jwt-2	 1000	     800 ns/op	     900 B/op	      12 allocs/op
BenchmarkOther-2 	 1000	     1 ns/op
PASS
`

func TestSummary(t *testing.T) {
	s, err := parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 7 {
		t.Fatalf("parsed %d samples, want 7", len(s))
	}
	r := summarize(s)
	if c := r.cells[key{"gin", "HS256", "valid", "bare"}]; c.ns != 110 || c.n != 2 {
		t.Errorf("bare median = %v over %d samples, want 110 over 2", c.ns, c.n)
	}
	if o, _ := r.overhead(key{"gin", "HS256", "valid", "jwtexp"}); o != 1010 {
		t.Errorf("jwtexp overhead = %v, want 1010", o)
	}
	md := r.markdown()
	for _, want := range []string{
		"| gin | 110 ns | 1010 ns | 5 | gin-jwt | 4000 ns | 70 | 0.25 |",
		"- gin HS256 garbage: ns/op jwtexp 900 ns vs gin-jwt 800 ns",
		"- gin HS256 garbage: allocs/op jwtexp 12 vs gin-jwt 12",
		"| HS256 | garbage | **900 ns** | **12** | 800 ns | 12 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	svg := r.svg()
	for _, want := range []string{"<svg", "gin · jwtexp", "gin · gin-jwt", "1.01", "4.00", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
}

// With a jwtexp-nocache sample for HS256, the first table compares the first-sight cost with the
// peers, and the cache table lists HS256 too.
func TestSummaryPrefersNoCache(t *testing.T) {
	in := input + "BenchmarkMiddleware/fw=gin/alg=HS256/case=valid/impl=jwtexp-nocache-2 \t 1000\t 2110 ns/op\t 1500 B/op\t 8 allocs/op\n"
	s, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	md := summarize(s).markdown()
	for _, want := range []string{
		"| gin | 110 ns | 2000 ns | 8 | gin-jwt | 4000 ns | 70 | 0.50 |",
		"| gin | HS256 | 1120 ns | 2110 ns | 4110 ns (gin-jwt) | 0.50 | 2.0x |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
