package exampletest

import (
	"os/exec"
	"strings"
	"testing"
)

// BadConfigExits builds the example in the current directory and runs it with bad variables: it
// must exit with status 2 and a last line naming what to fix.
func BadConfigExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	bin := t.TempDir() + "/example"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for env, want := range map[string]string{
		"JWT_ACCESS_TTL=soon":     "JWT_ACCESS_TTL",
		"JWT_ACCESS_SECRET=short": "JWT_REFRESH_SECRET",
		"JWT_LEEWAY=10m":          "leeway",
		"REDIS_URL=notaurl://x":   "REDIS_URL",
	} {
		cmd := exec.Command(bin)
		cmd.Env = append(cmd.Environ(), env, "ADDR=127.0.0.1:0")
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
			t.Errorf("%s: exit code %d, want 2", env, code)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, want) {
			t.Errorf("%s: got %q, want a line naming %s", env, last, want)
		}
	}
}
