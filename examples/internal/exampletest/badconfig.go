package exampletest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildExample builds the example in the current directory and returns the binary's path.
func buildExample(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the example")
	}
	bin := t.TempDir() + "/example"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// BadConfigExits builds the example in the current directory and runs it with bad variables: it
// must exit with status 2 and print one line, naming what to fix, and nothing else (see
// ExitsOnBadConfig). A variable set to the empty string is refused too, not read as unset.
func BadConfigExits(t *testing.T) {
	ExitsOnBadConfig(t, map[string]string{
		"JWT_SIGNING_ALG=EdDSA JWT_KEY_ROTATION=1s": "WithKeyRotation",
		"JWT_ACCESS_TTL=soon":                       "JWT_ACCESS_TTL",
		"JWT_ACCESS_TTL=500ms":                      "shorter than a second",
		"JWT_ACCESS_SECRET=short":                   "JWT_REFRESH_SECRET",
		"JWT_LEEWAY=10m":                            "leeway",
		"REDIS_URL=notaurl://x":                     "REDIS_URL",
		"JWT_ISSUER=":                               "JWT_ISSUER is set but empty",
		"JWT_AUDIENCE=":                             "JWT_AUDIENCE is set but empty",
		"JWT_DPOP=maybe":                            "JWT_DPOP",
		"JWT_SESSION_CHURN_LIMIT=0":                 "JWT_SESSION_CHURN_LIMIT",
		"JWT_SESSION_CHURN_LIMIT=8":                 "WithSessionChurnLimit",
		"JWT_DPOP_NONCE=yes":                        "JWT_DPOP_NONCE",
		"JWT_DPOP_PUBLIC_URL=api.example.com":       "WithDPoPPublicURL",
	})
}

// ExitsOnBadConfig builds the example in the current directory and runs it with each case of
// cases (space-separated NAME=value pairs, mapped to a text its message must contain), and with an
// ADDR that cannot be listened on (malformed, and in use) and a REDIS_URL where nothing listens:
// each run must exit with status 2 and print exactly one line, naming what to fix, and nothing
// else - no warning, no "listening" line, no line of a library's.
func ExitsOnBadConfig(t *testing.T, cases map[string]string) {
	bin := buildExample(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	noRedis := "redis://" + closed.Addr().String()
	closed.Close() // nothing listens there now: connection refused
	all := map[string]string{
		"ADDR=nonsense":                "ADDR",
		"ADDR=" + busy.Addr().String(): "ADDR",
		"REDIS_URL=" + noRedis:         "REDIS_URL",
	}
	for env, want := range cases {
		all[env] = want
	}
	for env, want := range all {
		cmd := exec.Command(bin)
		// The last value of a variable wins: env's ADDR, if it has one.
		cmd.Env = append(append(cmd.Environ(), "ADDR=127.0.0.1:0"), strings.Fields(env)...)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
			t.Errorf("%s: exit code %d, want 2:\n%s", env, code, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("%s: got %q, want one line naming %s", env, out, want)
		}
	}
}

// GracefulShutdown runs the example's binary and stops it with SIGTERM, then again with SIGINT:
// each time it must stop listening, close its Manager and exit with status 0 after one log line,
// within the drain time and a generous margin.
func GracefulShutdown(t *testing.T) {
	bin := buildExample(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "ADDR="+addr)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		up := false
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !up; {
			if resp, err := http.Get("http://" + addr + "/"); err == nil {
				resp.Body.Close()
				up = resp.StatusCode == http.StatusOK
			} else {
				time.Sleep(50 * time.Millisecond) // polling a process for readiness
			}
		}
		if !up {
			cmd.Process.Kill()
			t.Fatalf("%v: the example did not come up on %s:\n%s", sig, addr, out.String())
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: still running 30 s after the signal:\n%s", sig, out.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%v: exit status %d, want 0:\n%s", sig, code, out.String())
		}
		if n := strings.Count(out.String(), "example stopped"); n != 1 {
			t.Errorf("%v: %d 'example stopped' log lines, want 1:\n%s", sig, n, out.String())
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%v: %s still accepts connections after the exit", sig, addr)
		}
	}
}
