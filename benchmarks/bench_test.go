package benchmarks_test

import (
	"net"
	"net/http"
	"testing"
)

// algs are the JWS algorithms every framework is measured with.
var algs = []string{"HS256", "RS256", "ES256", "EdDSA"}

// cases are the requests: a token that must be accepted, one that expired 45 minutes ago (signed
// by the right key, otherwise valid), and three base64url segments that are not a JWS.
var cases = []struct {
	name string
	want int // the status every implementation must answer
}{
	{"valid", http.StatusNoContent},
	{"expired", http.StatusUnauthorized},
	{"garbage", http.StatusUnauthorized},
}

// framework is one web framework: its name and the implementations measured on it, each built
// for one algorithm's fixture. The first implementation is always "bare".
type framework struct {
	name  string
	impls func(b *testing.B, fx *fixture) []impl
}

// impl is one way to serve GET /api/me on a framework: bare, jwtexp or a peer. newRunner prepares
// a request carrying the given Authorization header value.
type impl struct {
	name string
	target
}

// target is one app serving GET /api/me: newRunner prepares a request carrying the given
// Authorization header value for the in-process benchmark; listen serves the same app on ln for
// the end-to-end benchmark (e2e_test.go) until the returned stop is called.
type target struct {
	newRunner func(authorization string) runner
	listen    func(ln net.Listener) (stop func())
}

// runner sends one prepared request through the framework's request path (reusing the request,
// discarding the response) and reports the status the last one was answered with.
type runner struct {
	serve  func()
	status func() int
}

// measured reports whether impl runs in the cell alg x case:
//   - bare ignores the token, so it is measured once per framework, in the alg=HS256/case=valid
//     row; the overhead of a middleware is its ns/op minus that;
//   - jwtexp-nocache (jwtexp with core.WithVerifiedCache(0)) only for valid tokens: every
//     request here presents the same token, so with the default cache jwtexp answers from it
//     after the first request; jwtexp-nocache is the cost of a token seen for the first time.
//     Expired or garbage tokens never enter the cache, so there the two are the same.
func measured(impl, alg, cas string) bool {
	if isRef(impl) {
		return false // end to end only (e2e_reference_test.go)
	}
	switch impl {
	case "bare":
		return alg == "HS256" && cas == "valid"
	case "jwtexp-nocache":
		return cas == "valid"
	}
	return true
}

var frameworks = []framework{
	{"gin", ginImpls},
	{"echo", echoImpls},
	{"echo5", echo5Impls},
	{"fiber", fiberImpls},
	{"fiber3", fiber3Impls},
	{"nethttp", nethttpImpls},
}

// BenchmarkMiddleware measures one authenticated request per iteration for every framework x
// algorithm x case x implementation (see measured for the cells left out).
//
// Before and after timing, every benchmark checks the status it got: 204 for a valid token, 401
// for an expired or garbage one. A benchmark whose setup accepts what it should refuse (or the
// reverse) fails instead of producing a number.
func BenchmarkMiddleware(b *testing.B) {
	for _, fw := range frameworks {
		b.Run("fw="+fw.name, func(b *testing.B) {
			for _, alg := range algs {
				b.Run("alg="+alg, func(b *testing.B) {
					fx := newFixture(b, alg)
					impls := fw.impls(b, fx)
					for _, c := range cases {
						b.Run("case="+c.name, func(b *testing.B) {
							auth := fx.authorization[c.name]
							for _, im := range impls {
								if !measured(im.name, alg, c.name) {
									continue
								}
								want := c.want
								if im.name == "bare" {
									want = http.StatusNoContent
								}
								b.Run("impl="+im.name, func(b *testing.B) {
									r := im.newRunner(auth)
									r.serve()
									if got := r.status(); got != want {
										b.Fatalf("%s %s %s %s: setup answers %d, want %d", fw.name, alg, c.name, im.name, got, want)
									}
									b.ReportAllocs()
									for b.Loop() {
										r.serve()
									}
									if got := r.status(); got != want {
										b.Fatalf("%s %s %s %s: answered %d during the run, want %d", fw.name, alg, c.name, im.name, got, want)
									}
								})
							}
						})
					}
				})
			}
		})
	}
}
