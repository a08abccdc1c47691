package testutil

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var announced sync.Map // message -> struct{}: each missing component is announced once per test binary

// Missing handles a real component (redis-server, Chromium, node) that a test needs and this
// machine lacks. With the environment variable env set to "1" (CI sets it) the test fails;
// otherwise it is skipped.
//
// go test hides the output of passing packages unless -v is given, so a skip alone would go
// unnoticed on a laptop. Missing therefore also writes the message once to the controlling
// terminal, when there is one, where it shows whatever flags go test was given.
func Missing(tb testing.TB, env, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(env) == "1" {
		tb.Fatalf("%s (%s=1: this component is required)", msg, env)
	}
	msg = fmt.Sprintf("%s: skipping: %s (set %s=1 to make this a failure)", tb.Name(), msg, env)
	if _, dup := announced.LoadOrStore(env, struct{}{}); !dup {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, "jwtexp tests:", msg)
			_ = tty.Close()
		}
	}
	tb.Skip(msg)
}
