// Package benchmarks measures jwtexp against the JWT middleware of every framework it supports,
// in one `go test -bench` run, through each framework's real request path:
//
//	cd benchmarks
//	go test -run '^$' -bench Middleware -benchmem -count 10 -benchtime 0.35s | tee bench.txt
//	benchstat -table /fw -row /alg,/case -col /impl bench.txt
//	go run ./cmd/chart -o chart.svg bench.txt
//
// Benchmarks are named BenchmarkMiddleware/fw=F/alg=A/case=C/impl=I so that benchstat can
// tabulate them: fw is gin, echo, echo5, fiber, fiber3 or nethttp; alg HS256, RS256, ES256 or
// EdDSA; case valid, expired or garbage; impl bare (the route without any middleware), jwtexp,
// jwtexp-nocache (without the verified-token cache; valid tokens only), or a peer of that
// framework. BenchmarkEndToEnd measures the same routes through real servers on loopback, one
// cell after another; BenchmarkEndToEndPaired runs all of a framework's servers at once in
// interleaved rounds, with bare-again (the bare route on a second server: the harness's own
// error) and the reference middlewares ref-copy and ref-spin (see e2e_reference_test.go).
// callgrind.sh counts instructions instead of timing: each server (BenchmarkE2EServer) under
// valgrind's callgrind, driven by a client process (BenchmarkE2EClient), and the
// BenchmarkMiddleware cells in process.
// See BENCHMARKS.md at the repository root for the results and what each implementation checks.
//
// This is a separate module so that the peers never enter the library's go.mod.
package benchmarks
