#!/usr/bin/env bash
# callgrind.sh: jwtexp and its peers measured in instructions, not seconds (see BENCHMARKS.md,
# "Instructions per request"). valgrind's callgrind counts the instructions a process executes in
# user space; for the same binary and input the count hardly moves, whatever else the machine does,
# so differences of a few per cent show that wall-clock runs on a shared machine cannot resolve.
#
# For every framework and implementation it prints:
#   - end to end: the server (BenchmarkE2EServer of the benchmarks' test binary) in a process of its
#     own under callgrind, a client process (BenchmarkE2EClient) sending M requests, then, to a
#     fresh server, 2M requests, GET /api/me with one HS256 token over 16 keep-alive connections
#     (two requests in flight on each, pipelined: see -p); instructions per request = (I(2M) - I(M)) / M, so start-up and shut-down cancel;
#   - in process: one cell of BenchmarkMiddleware (HS256, valid token) run for M and 2M
#     iterations under callgrind, the same difference; jwtexp is a cache hit, jwtexp-nocache a
#     token seen for the first time; the allocations per request of the same cell (-benchmem,
#     without valgrind).
# Every run has GOMAXPROCS=1, GOGC=off and GODEBUG=asyncpreemptoff=1 (no collection, no
# preemption signals: repeat runs agree within tens of instructions), and --separate-threads=yes:
# the thread running the Go runtime's sysmon, whose work grows with wall time (and valgrind makes
# wall time long), is left out; every other thread of the process is counted.
#
# Usage: benchmarks/callgrind.sh [-f "gin echo echo5 fiber fiber3 nethttp"] [-m M] [-r R] [-p P] [-e] [-i] [-n]
#   -f  frameworks (default: all six)
#   -m  M, requests of the shorter run (default 2000)
#   -r  R, runs of each count, the least kept (default 1). End to end, how often the server's
#       goroutines park and wake still depends a little on timing: see BENCHMARKS.md, "How
#       exact", for how far repeat runs moved.
#   -p  P, requests in flight on each connection end to end (default 2: HTTP/1.1 pipelining,
#       so that a server goroutine finds its next request already there instead of parking;
#       1: each request after the answer to the one before, as before issue 33's last round)
#   -e  end to end only; -i  in process only (default: both)
#   -n  no peers: bare and jwtexp only
# It exits non-zero if a build, a server, a client or a count fails (any answer other than 204
# fails the client), so CI can run it small: callgrind.sh -f fiber -m 100.
set -euo pipefail
shopt -s inherit_errexit

frameworks="gin echo echo5 fiber fiber3 nethttp"
M=2000
R=1
P=
e2e=1 inproc=1 peers=1
while getopts "f:m:r:p:einh" opt; do
	case $opt in
	f) frameworks=$OPTARG ;;
	m) M=$OPTARG ;;
	r) R=$OPTARG ;;
	p) P=$OPTARG ;;
	e) inproc=0 ;;
	i) e2e=0 ;;
	n) peers=0 ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
case $M in '' | *[!0-9]*) echo "callgrind.sh: -m wants a number of requests, got $M" >&2; exit 2 ;; esac
case $R in '' | 0 | *[!0-9]*) echo "callgrind.sh: -r wants a number of runs, got $R" >&2; exit 2 ;; esac
case $P in '' | [1-9]) ;; *) echo "callgrind.sh: -p wants 1 to 9 requests in flight, got $P" >&2; exit 2 ;; esac
if [ "$M" -lt 16 ]; then echo "callgrind.sh: -m must be at least 16 (one request per connection)" >&2; exit 2; fi
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1; }

# peersOf lists the peer implementations of a framework (their names in benchmarks/*_test.go).
peersOf() {
	case $1 in
	gin) echo gin-jwt ;;
	echo | echo5) echo echo-jwt ;;
	fiber | fiber3) echo gofiber-jwt ;;
	nethttp) echo "auth0 jwtauth" ;;
	*) echo "callgrind.sh: unknown framework $1" >&2; return 1 ;;
	esac
}

# inFlight is how many requests the client keeps in flight on each connection.
inFlight() { echo "${P:-2}"; }

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$here" && go test -c -o "$work/bench.test" .)
bin=$work/bench.test
export GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1

# total sums the instructions of the callgrind files $1.* (one per thread), leaving out the
# thread that ran runtime.sysmon.
total() {
	local sum=0 f n found=0
	for f in "$1"-*; do
		[ -e "$f" ] || continue
		found=1
		if grep -q ' runtime\.sysmon$' "$f"; then continue; fi
		n=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f")
		[ -n "$n" ] || { echo "callgrind.sh: no totals in $f" >&2; return 1; }
		sum=$((sum + n))
	done
	[ "$found" = 1 ] || { echo "callgrind.sh: no callgrind output $1-*" >&2; return 1; }
	echo "$sum"
}

valgrind_cmd() { valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$1" "${@:2}"; }

# e2eCount serves framework $1's implementation $2 under callgrind, sends it $3 requests from a
# client process, stops it and prints the server's instructions.
e2eCount() {
	local out=$work/e2e.$1.$2.$3 ctl=$work/ctl addr= i
	rm -f "$ctl" && mkfifo "$ctl"
	JWTEXP_E2E_SERVER="$1 $2 0" valgrind_cmd "$out" "$bin" -test.run='^$' -test.bench='^BenchmarkE2EServer$' \
		-test.benchtime=1x <"$ctl" >"$out.stdout" 2>"$out.stderr" &
	server_pid=$!
	exec 3>"$ctl" # the server's stdin: it stops when this closes
	for i in $(seq 600); do
		addr=$(sed -n 's/^e2e-server //p' "$out.stdout")
		[ -n "$addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$addr" ]; then
		exec 3>&-
		echo "callgrind.sh: the $1 $2 server did not start:" >&2; tail -20 "$out.stderr" >&2; return 1
	fi
	if ! JWTEXP_E2E_CLIENT="$addr $3 $(inFlight)" "$bin" -test.run='^$' -test.bench='^BenchmarkE2EClient$' -test.benchtime=1x >"$out.client" 2>&1 ||
		! grep -q "^e2e-client-done $3\$" "$out.client"; then
		exec 3>&-
		echo "callgrind.sh: the client of $1 $2 failed:" >&2; tail -20 "$out.client" >&2; return 1
	fi
	exec 3>&-
	if ! wait "$server_pid"; then
		server_pid=
		echo "callgrind.sh: the $1 $2 server failed:" >&2; tail -20 "$out.stderr" >&2; return 1
	fi
	server_pid=
	total "$out"
}

# inprocCount runs BenchmarkMiddleware's HS256 valid-token cell of framework $1, implementation
# $2, for $3 iterations under callgrind and prints the instructions.
inprocCount() {
	local out=$work/inproc.$1.$2.$3
	if ! valgrind_cmd "$out" "$bin" -test.run='^$' -test.benchtime="$3x" \
		-test.bench="^BenchmarkMiddleware\$/^fw=$1\$/^alg=HS256\$/^case=valid\$/^impl=$2\$" >"$out.stdout" 2>"$out.stderr" ||
		! grep -q "^BenchmarkMiddleware/fw=$1/alg=HS256/case=valid/impl=$2" "$out.stdout"; then
		echo "callgrind.sh: BenchmarkMiddleware $1 $2 failed:" >&2; tail -20 "$out.stdout" "$out.stderr" >&2; return 1
	fi
	total "$out"
}

# perRequest prints (I(2M) - I(M)) / M of count function $1 for framework $2, implementation $3,
# each of I(M) and I(2M) the least of R runs.
perRequest() {
	local a b i x
	for ((i = 0; i < R; i++)); do
		x=$("$1" "$2" "$3" "$M") || return 1
		if [ -z "${a:-}" ] || [ "$x" -lt "$a" ]; then a=$x; fi
		x=$("$1" "$2" "$3" $((2 * M))) || return 1
		if [ -z "${b:-}" ] || [ "$x" -lt "$b" ]; then b=$x; fi
	done
	if [ "$a" -le 0 ] || [ "$b" -le 0 ]; then
		echo "callgrind.sh: $2 $3 counted $a instructions for $M requests and $b for $((2 * M)): not a measurement" >&2
		return 1
	fi
	# A run's count varies by a few tens of thousands of instructions (the runtime's background
	# work between requests), so a path of a few instructions per request (net/http's bare route
	# in process) can come out slightly negative: read it as about zero.
	awk -v a="$a" -v b="$b" -v m="$M" 'BEGIN { printf "%.0f\n", (b - a) / m }'
}

# allocs prints the allocations per request of the in-process cell (without valgrind).
allocs() {
	"$bin" -test.run='^$' -test.benchmem -test.benchtime="${M}x" \
		-test.bench="^BenchmarkMiddleware\$/^fw=$1\$/^alg=HS256\$/^case=valid\$/^impl=$2\$" |
		awk '/allocs\/op/ { for (i = 2; i <= NF; i++) if ($i == "allocs/op") print $(i-1) }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.3f", a / b }'; }

echo "# callgrind.sh: M=$M, R=$R, P=${P:-2}, $(go env GOVERSION), $(valgrind --version), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$e2e" = 1 ]; then
	echo
	echo "End to end: server user-space instructions per request (HS256, one token, 16 connections)"
	echo
	echo "| framework | implementation | instructions/request | bare ÷ implementation |"
	echo "|---|---|--:|--:|"
	for fw in $frameworks; do
		impls="jwtexp"
		if [ "$peers" = 1 ]; then impls="$impls $(peersOf "$fw")"; fi
		bare=$(perRequest e2eCount "$fw" bare)
		echo "| $fw | bare | $bare | |"
		for im in $impls; do
			n=$(perRequest e2eCount "$fw" "$im")
			echo "| $fw | $im | $n | $(ratio "$bare" "$n") |"
		done
	done
fi
if [ "$inproc" = 1 ]; then
	echo
	echo "In process: instructions per request over the bare route (HS256, valid token), allocations per request"
	echo
	echo "| framework | implementation | instructions/request | over bare | allocs/op |"
	echo "|---|---|--:|--:|--:|"
	for fw in $frameworks; do
		impls="jwtexp jwtexp-nocache"
		if [ "$peers" = 1 ]; then impls="$impls $(peersOf "$fw")"; fi
		bare=$(perRequest inprocCount "$fw" bare)
		echo "| $fw | bare | $bare | | $(allocs "$fw" bare) |"
		for im in $impls; do
			n=$(perRequest inprocCount "$fw" "$im")
			label=$im
			case $im in jwtexp) label="jwtexp (cache hit)" ;; jwtexp-nocache) label="jwtexp (first sight)" ;; esac
			echo "| $fw | $label | $n | $((n - bare)) | $(allocs "$fw" "$im") |"
		done
	done
fi
