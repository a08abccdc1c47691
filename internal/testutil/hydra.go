package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireIDPEnv names the environment variable that turns a missing identity provider (the
// Hydra binary) into a test failure instead of a skip. CI sets it to 1.
const RequireIDPEnv = "JWTEXP_REQUIRE_IDP"

// HydraEnv names the environment variable holding the path of a Hydra binary built from
// internal/idptools (.ci/run sets it).
const HydraEnv = "JWTEXP_HYDRA"

// HydraVersion is the Ory Hydra release internal/idptools pins.
const HydraVersion = "v2.3.0"

// Hydra is a real Ory Hydra OAuth 2.0 / OpenID Connect provider on loopback ports, owned by one
// test: in-memory database, JWT access tokens, a client-credentials client (HydraClientID).
type Hydra struct {
	// Issuer is the provider's issuer identifier, "http://127.0.0.1:<port>/".
	Issuer string
	// Admin is the base URL of the admin API.
	Admin string

	tb     testing.TB
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	output *lockedBuffer
}

// The client every Hydra of StartHydra has: client credentials, JWT access tokens, scopes read
// and admin, the audiences of HydraAudiences.
const (
	HydraClientID     = "svc"
	HydraClientSecret = "svc-secret-0123456789abcdef"
)

// HydraAudiences are the audiences the client may ask for.
var HydraAudiences = []string{"api", "https://api.example/", "https://api.example/mcp"}

// HydraOptions change what StartHydra runs.
type HydraOptions struct {
	// Issuer, when set, is the issuer the provider states in its discovery document and tokens
	// instead of its own URL (to test a discovery whose issuer differs).
	Issuer string
}

var hydraBuild struct {
	once sync.Once
	path string
	err  error
}

// hydraBinary returns the path of the Hydra binary: $JWTEXP_HYDRA, else one built from
// internal/idptools into the user cache directory (once per machine).
func hydraBinary() (string, error) {
	if p := os.Getenv(HydraEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", HydraEnv, p, err)
		}
		return p, nil
	}
	hydraBuild.once.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		tools := filepath.Join(filepath.Dir(self), "..", "idptools")
		cache, err := os.UserCacheDir()
		if err != nil {
			hydraBuild.err = err
			return
		}
		out := filepath.Join(cache, "jwtexp", "hydra-"+HydraVersion)
		if _, err := os.Stat(out); err == nil {
			hydraBuild.path = out
			return
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			hydraBuild.err = err
			return
		}
		tmp := fmt.Sprintf("%s.%d", out, os.Getpid())
		cmd := exec.Command("go", "build", "-tags", "sqlite,sqlite_omit_load_extension", "-o", tmp, "github.com/ory/hydra/v2")
		cmd.Dir = tools
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			hydraBuild.err = fmt.Errorf("building Hydra in %s: %v: %s", tools, err, lastLines(string(b), 5))
			return
		}
		hydraBuild.err = os.Rename(tmp, out)
		hydraBuild.path = out
	})
	return hydraBuild.path, hydraBuild.err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// StartHydra starts Hydra on two free loopback ports, waits until it is ready, creates the
// client and registers a cleanup that stops it by PID. With -short the test is skipped. Without a Hydra binary (see HydraEnv;
// building it needs the Go toolchain and the module proxy) the test is skipped, unless
// JWTEXP_REQUIRE_IDP is 1, in which case it fails.
func StartHydra(tb testing.TB, o HydraOptions) *Hydra {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: no identity provider (Hydra) is started")
	}
	bin, err := hydraBinary()
	if err != nil {
		Missing(tb, RequireIDPEnv, "Ory Hydra %s not available: %v", HydraVersion, err)
	}
	var lastErr error
	for range 5 { // a probed port may be taken before Hydra binds it
		pub, err1 := freePort()
		adm, err2 := freePort()
		if err1 != nil || err2 != nil {
			tb.Fatalf("free port: %v %v", err1, err2)
		}
		h := &Hydra{tb: tb, Issuer: fmt.Sprintf("http://127.0.0.1:%d/", pub), Admin: fmt.Sprintf("http://127.0.0.1:%d", adm), output: &lockedBuffer{}}
		stated := h.Issuer
		if o.Issuer != "" {
			stated = o.Issuer
		}
		cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out")
		cmd.Env = append(os.Environ(),
			"DSN=memory", "LOG_LEVEL=warn", "LOG_LEAK_SENSITIVE_VALUES=false",
			"URLS_SELF_ISSUER="+stated, "URLS_SELF_PUBLIC="+h.Issuer,
			fmt.Sprintf("SERVE_PUBLIC_PORT=%d", pub), fmt.Sprintf("SERVE_ADMIN_PORT=%d", adm),
			"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_ADMIN_HOST=127.0.0.1",
			"SECRETS_SYSTEM=jwtexp-test-system-secret-0123456789",
			"STRATEGIES_ACCESS_TOKEN=jwt", "TTL_ACCESS_TOKEN=10m",
		)
		cmd.Stdout, cmd.Stderr = h.output, h.output
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start Hydra: %v", err)
		}
		h.cmd, h.exited = cmd, make(chan struct{})
		go func() { _ = cmd.Wait(); close(h.exited) }()
		tb.Cleanup(h.Stop)
		if lastErr = h.waitReady(30 * time.Second); lastErr == nil {
			// Hydra would make RSA 4096 signing keys on first use, which takes many seconds on a
			// loaded machine: give it P-256 keys first. Every instance has the same kids, so a
			// verifier that mixed up the issuers' key sets would be caught.
			h.addKey("hydra.openid.id-token", HydraIDTokenKID)
			h.addKey("hydra.jwt.access-token", HydraAccessKID)
			h.createClient()
			return h
		}
		h.Stop()
	}
	tb.Fatalf("Hydra did not start: %v", lastErr)
	return nil
}

func (h *Hydra) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-h.exited:
			return fmt.Errorf("Hydra exited: %s", lastLines(h.output.String(), 10))
		default:
		}
		resp, err := http.Get(h.Admin + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling a process start, not racing a test's logic
	}
	return fmt.Errorf("not ready within %v: %s", limit, lastLines(h.output.String(), 10))
}

// PID is the process id of the running Hydra (0 once stopped).
func (h *Hydra) PID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Stop kills Hydra by its PID and waits until it has exited; the ports then refuse connections.
func (h *Hydra) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return
	}
	_ = syscall.Kill(h.cmd.Process.Pid, syscall.SIGKILL)
	<-h.exited
	h.cmd = nil
}

func (h *Hydra) do(method, url string, body any, want int) []byte {
	h.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.tb.Fatalf("Hydra %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.tb.Fatalf("Hydra %s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

func (h *Hydra) createClient() {
	h.do(http.MethodPost, h.Admin+"/admin/clients", map[string]any{
		"client_id": HydraClientID, "client_secret": HydraClientSecret,
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post",
		"access_token_strategy": "jwt", "audience": HydraAudiences, "scope": "read admin",
	}, http.StatusCreated)
}

// Token gets an access token (a JWT) by the client-credentials grant (RFC 6749 §4.4) for the
// scopes and audience given.
func (h *Hydra) Token(scope, audience string) string {
	h.tb.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {HydraClientID},
		"client_secret": {HydraClientSecret}, "scope": {scope}, "audience": {audience}}
	resp, err := http.PostForm(strings.TrimSuffix(h.Issuer, "/")+"/oauth2/token", form)
	if err != nil {
		h.tb.Fatalf("Hydra token: %v", err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tr) != nil || tr.AccessToken == "" {
		h.tb.Fatalf("Hydra token: %d %s", resp.StatusCode, b)
	}
	return tr.AccessToken
}

// The key IDs of the ES256 keys every Hydra of StartHydra signs with.
const (
	HydraAccessKID  = "access-1"
	HydraIDTokenKID = "id-1"
)

func (h *Hydra) addKey(set, kid string) {
	h.tb.Helper()
	h.do(http.MethodPost, h.Admin+"/admin/keys/"+set,
		map[string]string{"alg": "ES256", "use": "sig", "kid": kid}, http.StatusCreated)
}

// RotateKey adds a new ES256 signing key with ID kid to the set that signs access tokens;
// Hydra signs the next tokens with it.
func (h *Hydra) RotateKey(kid string) {
	h.tb.Helper()
	h.addKey("hydra.jwt.access-token", kid)
}
