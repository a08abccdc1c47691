// Command chart turns the output of the benchmark suite into an SVG bar chart and, optionally,
// the Markdown tables of BENCHMARKS.md.
//
//	go test -run '^$' -bench . -benchmem -count 10 -benchtime 0.35s | tee bench.txt
//	go run ./cmd/chart -o chart.svg -md tables.md bench.txt
//
// It reads raw `go test -bench` output (the file benchstat reads; several files or stdin) with
// benchmarks named BenchmarkMiddleware/fw=F/alg=A/case=C/impl=I, takes the median of the samples of
// each benchmark, and charts, per framework, the overhead of each middleware over the bare route
// (ns/op of the implementation minus ns/op of bare) for HS256 with a valid token, next to its
// allocs/op. Only the standard library is used.
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	out := flag.String("o", "chart.svg", "SVG file to write")
	md := flag.String("md", "", "also write Markdown tables to this file (\"-\" for stdout)")
	flag.Parse()

	var samples []sample
	if flag.NArg() == 0 {
		s, err := parse(os.Stdin)
		if err != nil {
			fatal(err)
		}
		samples = s
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fatal(err)
		}
		s, err := parse(f)
		f.Close()
		if err != nil {
			fatal(fmt.Errorf("%s: %w", name, err))
		}
		samples = append(samples, s...)
	}
	res := summarize(samples)
	if len(res.cells) == 0 {
		fatal(fmt.Errorf("no BenchmarkMiddleware/fw=.../alg=.../case=.../impl=... results in the input"))
	}
	if err := os.WriteFile(*out, []byte(res.svg()), 0o644); err != nil {
		fatal(err)
	}
	if *md != "" {
		text := res.markdown()
		if *md == "-" {
			fmt.Print(text)
		} else if err := os.WriteFile(*md, []byte(text), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chart:", err)
	os.Exit(1)
}

// key names one benchmark.
type key struct{ fw, alg, cas, impl string }

// sample is one result line.
type sample struct {
	key
	ns, allocs float64
	hasAllocs  bool
}

var nameRE = regexp.MustCompile(`^BenchmarkMiddleware/fw=([^/]+)/alg=([^/]+)/case=([^/]+)/impl=(.+?)(?:-\d+)?$`)

// parse reads `go test -bench` output; lines that are not results of BenchmarkMiddleware are
// skipped.
func parse(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		m := nameRE.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		s := sample{key: key{m[1], m[2], m[3], m[4]}}
		ok := false
		// f[1] is the iteration count, then value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op":
				s.ns, ok = v, true
			case "allocs/op":
				s.allocs, s.hasAllocs = v, true
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// cell is the median of one benchmark's samples.
type cell struct {
	ns, allocs float64
	n          int
}

type results struct {
	cells map[key]cell
	order struct{ fws, algs, cases []string }
	impls map[string][]string // per framework, in input order, bare first
	count int                 // the largest number of samples of one benchmark
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func appendNew(list []string, v string) []string {
	if !slices.Contains(list, v) {
		list = append(list, v)
	}
	return list
}

func summarize(samples []sample) *results {
	ns := map[key][]float64{}
	allocs := map[key][]float64{}
	res := &results{cells: map[key]cell{}, impls: map[string][]string{}}
	for _, s := range samples {
		ns[s.key] = append(ns[s.key], s.ns)
		if s.hasAllocs {
			allocs[s.key] = append(allocs[s.key], s.allocs)
		}
		res.order.fws = appendNew(res.order.fws, s.fw)
		res.order.algs = appendNew(res.order.algs, s.alg)
		res.order.cases = appendNew(res.order.cases, s.cas)
		res.impls[s.fw] = appendNew(res.impls[s.fw], s.impl)
	}
	for k, v := range ns {
		c := cell{ns: median(v), allocs: math.NaN(), n: len(v)}
		if a := allocs[k]; len(a) > 0 {
			c.allocs = median(a)
		}
		res.cells[k] = c
		res.count = max(res.count, len(v))
	}
	for fw, list := range res.impls {
		slices.SortStableFunc(list, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
		res.impls[fw] = list
	}
	return res
}

// rank orders implementations: bare, jwtexp and its variants (jwtexp-nocache), then the peers.
func rank(impl string) int {
	switch {
	case impl == "bare":
		return 0
	case impl == "jwtexp":
		return 1
	case strings.HasPrefix(impl, "jwtexp"):
		return 2
	}
	return 3
}

func (r *results) peers(fw string) []string { return r.ranked(fw, 3, 3) }

// variants are jwtexp and its variants on fw.
func (r *results) variants(fw string) []string { return r.ranked(fw, 1, 2) }

func (r *results) ranked(fw string, lo, hi int) []string {
	var out []string
	for _, im := range r.impls[fw] {
		if rk := rank(im); lo <= rk && rk <= hi {
			out = append(out, im)
		}
	}
	return out
}

// bestPeer is the peer with the lowest ns/op in the cell fw x alg x cas.
func (r *results) bestPeer(fw, alg, cas string) (string, cell, bool) {
	best, bc, found := "", cell{}, false
	for _, pe := range r.peers(fw) {
		if c, ok := r.cells[key{fw, alg, cas, pe}]; ok && (!found || c.ns < bc.ns) {
			best, bc, found = pe, c, true
		}
	}
	return best, bc, found
}

// bare is the framework's bare route: measured once per framework (it ignores the token), in
// the HS256 valid row when present, else wherever it is.
func (r *results) bare(fw string) (cell, bool) {
	if c, ok := r.cells[key{fw, "HS256", "valid", "bare"}]; ok {
		return c, true
	}
	for k, c := range r.cells {
		if k.fw == fw && k.impl == "bare" {
			return c, true
		}
	}
	return cell{}, false
}

// overhead is impl's ns/op over the bare route of its framework.
func (r *results) overhead(k key) (float64, bool) {
	c, ok := r.cells[k]
	b, okb := r.bare(k.fw)
	if !ok || !okb {
		return 0, false
	}
	return c.ns - b.ns, true
}

// ---- SVG ----

const (
	colJwtexp = "#1f77b4"
	colPeer   = "#b0b0b0"
	colText   = "#222"
)

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// svg draws two horizontal bar panels for HS256 / valid: overhead over bare in µs, and
// allocs/op, one group of bars per framework.
func (r *results) svg() string {
	type bar struct {
		label         string
		us, allocs    float64
		jwtexp, first bool
	}
	var bars []bar
	var maxUS, maxAllocs float64
	for _, fw := range r.order.fws {
		first := true
		for _, im := range r.impls[fw] {
			if im == "bare" {
				continue
			}
			k := key{fw, "HS256", "valid", im}
			o, ok := r.overhead(k)
			if !ok {
				continue
			}
			c := r.cells[k]
			b := bar{label: fw + " · " + im, us: o / 1000, allocs: c.allocs, jwtexp: rank(im) <= 2, first: first}
			first = false
			bars = append(bars, b)
			maxUS = max(maxUS, b.us)
			if !math.IsNaN(b.allocs) {
				maxAllocs = max(maxAllocs, b.allocs)
			}
		}
	}
	const (
		left, labelW, panelW, gap = 10.0, 190.0, 330.0, 110.0
		top, rowH, groupGap       = 78.0, 22.0, 10.0
	)
	groups := 0
	for _, b := range bars {
		if b.first {
			groups++
		}
	}
	height := top + float64(len(bars))*rowH + float64(groups)*groupGap + 50
	width := left + labelW + panelW + gap + panelW + 40
	x1 := left + labelW     // overhead panel origin
	x2 := x1 + panelW + gap // allocs panel origin
	maxUS = niceCeil(maxUS) // axis maximum
	maxAllocs = niceCeil(maxAllocs)
	var sb strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	p(`<text x="%.0f" y="22" font-size="15" font-weight="bold" fill="%s">JWT middleware cost per request: HS256, valid token (median of %d)</text>`+"\n", left, colText, r.count)
	p(`<text x="%.0f" y="40" fill="#555">Overhead = ns/op with the middleware minus ns/op of the same route without it. Lower is better. Blue: jwtexp; grey: peers.</text>`+"\n", left)
	p(`<text x="%.0f" y="%.0f" font-weight="bold" fill="%s">overhead over bare route (µs/op)</text>`+"\n", x1, top-14, colText)
	p(`<text x="%.0f" y="%.0f" font-weight="bold" fill="%s">allocations per request (allocs/op)</text>`+"\n", x2, top-14, colText)
	y := top
	axisBottom := height - 40
	// Grid lines and ticks.
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		for _, ax := range []struct {
			x0, max float64
			unit    string
		}{{x1, maxUS, ""}, {x2, maxAllocs, ""}} {
			x := ax.x0 + f*panelW
			p(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#e4e4e4"/>`+"\n", x, top-4, x, axisBottom)
			p(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", x, axisBottom+15, trim(f*ax.max))
		}
	}
	for _, b := range bars {
		if b.first && y > top {
			y += groupGap
		}
		col, weight := colPeer, "normal"
		if b.jwtexp {
			col, weight = colJwtexp, "bold"
		}
		p(`<text x="%.0f" y="%.1f" text-anchor="end" font-weight="%s" fill="%s">%s</text>`+"\n", x1-8, y+rowH/2+4, weight, colText, esc(b.label))
		w := 0.0
		if maxUS > 0 {
			w = math.Max(0, b.us/maxUS*panelW)
		}
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x1, y+3, w, rowH-6, col)
		p(`<text x="%.1f" y="%.1f" fill="%s">%.2f</text>`+"\n", x1+w+4, y+rowH/2+4, colText, b.us)
		if !math.IsNaN(b.allocs) {
			w = 0
			if maxAllocs > 0 {
				w = b.allocs / maxAllocs * panelW
			}
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x2, y+3, w, rowH-6, col)
			p(`<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x2+w+4, y+rowH/2+4, colText, trim(b.allocs))
		}
		y += rowH
	}
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`+"\n", x1, top-4, x1, axisBottom)
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`+"\n", x2, top-4, x2, axisBottom)
	p("</svg>\n")
	return sb.String()
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// ---- Markdown ----

// ns formats nanoseconds for a table: ns below 10 µs, µs above.
func ns(v float64) string {
	switch {
	case v < 100:
		return fmt.Sprintf("%.1f ns", v)
	case v < 10000:
		return fmt.Sprintf("%.0f ns", v)
	default:
		return fmt.Sprintf("%.1f µs", v/1000)
	}
}

func allocs(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return trim(v)
}

// has reports whether the cell k was measured.
func (r *results) has(k key) bool {
	_, ok := r.cells[k]
	return ok
}

func (r *results) markdown() string {
	var sb strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }

	p("### HS256, valid token: overhead over the bare route\n\n")
	p("Medians of %d samples. Overhead = ns/op − ns/op of the bare route of the same framework. "+
		"jwtexp is measured without its verified-token cache where that variant was run (jwtexp-nocache: "+
		"a token seen for the first time, as for the peers, none of which caches); the cache hit is in the next table.\n\n", r.count)
	p("| framework | bare | jwtexp overhead | jwtexp allocs | best peer | peer overhead | peer allocs | jwtexp / best peer |\n")
	p("|---|--:|--:|--:|---|--:|--:|--:|\n")
	for _, fw := range r.order.fws {
		b, okb := r.bare(fw)
		jk := key{fw, "HS256", "valid", "jwtexp"}
		if nk := (key{fw, "HS256", "valid", "jwtexp-nocache"}); r.has(nk) {
			jk = nk
		}
		jo, okj := r.overhead(jk)
		best, bc, okp := r.bestPeer(fw, "HS256", "valid")
		if !okb || !okj || !okp {
			continue
		}
		bo := bc.ns - b.ns
		p("| %s | %s | %s | %s | %s | %s | %s | %.2f |\n", fw, ns(b.ns), ns(jo), allocs(r.cells[jk].allocs),
			best, ns(bo), allocs(bc.allocs), jo/bo)
	}

	var asym strings.Builder
	for _, fw := range r.order.fws {
		b, okb := r.bare(fw)
		for _, alg := range r.order.algs {
			j, okj := r.cells[key{fw, alg, "valid", "jwtexp"}]
			nc, okn := r.cells[key{fw, alg, "valid", "jwtexp-nocache"}]
			best, bc, okp := r.bestPeer(fw, alg, "valid")
			if !okb || !okj || !okn || !okp {
				continue
			}
			fmt.Fprintf(&asym, "| %s | %s | %s | %s | %s (%s) | %.2f | %.1fx |\n", fw, alg, ns(j.ns), ns(nc.ns), ns(bc.ns), best,
				(nc.ns-b.ns)/(bc.ns-b.ns), (nc.ns-b.ns)/(j.ns-b.ns))
		}
	}
	if asym.Len() > 0 {
		p("\n### Valid token: with and without the verified-token cache\n\n")
		p("jwtexp answers a token it has verified before from its cache (the default); jwtexp-nocache " +
			"(WithVerifiedCache(0)) is the cost of a token seen for the first time. Ratios are of overheads over bare.\n\n")
		p("| framework | alg | jwtexp (cache hit) | jwtexp-nocache | best peer | nocache / best peer | cache speed-up |\n")
		p("|---|---|--:|--:|--:|--:|--:|\n")
		p("%s", asym.String())
	}

	p("\n### Every framework × algorithm × case (ns/op, allocs/op)\n\n")
	p("Medians of %d samples. Bare route: measured once per framework (it ignores the token). "+
		"**Bold**: jwtexp is not below every peer in that unit; –: not measured.\n", r.count)
	var notBest []string
	for _, fw := range r.order.fws {
		vars, peers := r.variants(fw), r.peers(fw)
		cols := append(slices.Clone(vars), peers...)
		b, _ := r.bare(fw)
		p("\n#### %s (bare route: %s, %s allocs)\n\n", fw, ns(b.ns), allocs(b.allocs))
		p("| alg | case |")
		for _, c := range cols {
			p(" %s ns/op | %s allocs |", c, c)
		}
		p("\n|---|---|")
		for range cols {
			p("--:|--:|")
		}
		p("\n")
		for _, alg := range r.order.algs {
			for _, cs := range r.order.cases {
				if _, ok := r.cells[key{fw, alg, cs, "jwtexp"}]; !ok {
					continue
				}
				p("| %s | %s |", alg, cs)
				for _, v := range vars {
					j, ok := r.cells[key{fw, alg, cs, v}]
					if !ok {
						p(" – | – |")
						continue
					}
					slowNS, moreAllocs := false, false
					for _, pe := range peers {
						c, ok := r.cells[key{fw, alg, cs, pe}]
						if !ok {
							continue
						}
						if c.ns <= j.ns {
							slowNS = true
							notBest = append(notBest, fmt.Sprintf("%s %s %s: ns/op %s %s vs %s %s", fw, alg, cs, v, ns(j.ns), pe, ns(c.ns)))
						}
						if c.allocs <= j.allocs {
							moreAllocs = true
							notBest = append(notBest, fmt.Sprintf("%s %s %s: allocs/op %s %s vs %s %s", fw, alg, cs, v, allocs(j.allocs), pe, allocs(c.allocs)))
						}
					}
					p(" %s | %s |", bold(ns(j.ns), slowNS), bold(allocs(j.allocs), moreAllocs))
				}
				for _, pe := range peers {
					if c, ok := r.cells[key{fw, alg, cs, pe}]; ok {
						p(" %s | %s |", ns(c.ns), allocs(c.allocs))
					} else {
						p(" – | – |")
					}
				}
				p("\n")
			}
		}
	}
	p("\n### Cells where jwtexp is not below every peer\n\n")
	if len(notBest) == 0 {
		p("None.\n")
	}
	for _, s := range notBest {
		p("- %s\n", s)
	}
	return sb.String()
}

func bold(s string, on bool) string {
	if on {
		return "**" + s + "**"
	}
	return s
}
