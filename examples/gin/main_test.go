package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jwtexp/jwtexp/examples/internal/exampleapp"
	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
)

func start(t *testing.T, app *exampleapp.App) string {
	return exampletest.ServeHandler(t, newApp(app))
}

func TestContract(t *testing.T) { exampletest.Contract(t, start) }
func TestRedis(t *testing.T)    { exampletest.Redis(t, start) }
func TestBrowser(t *testing.T)  { exampletest.Browser(t, start) }

// TestBadConfigExits runs the real binary with a bad variable: it must exit non-zero with a
// one-line reason.
func TestBadConfigExits(t *testing.T) {
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

func TestLoad(t *testing.T) { exampletest.Load(t, start) }
