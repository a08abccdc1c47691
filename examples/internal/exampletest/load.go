package exampletest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// Load drives an example over loopback for JWTEXP_LOAD_DURATION (e.g. 30s; unset: the test is
// skipped) with a mix of valid, expired, garbage and revoked tokens plus logins, refreshes and
// refresh replays from 8 concurrent clients. It fails on any 5xx, on any bad token accepted, and
// when the revocation records do not all expire once the tokens they guard have.
func Load(t *testing.T, start Starter) {
	d, err := time.ParseDuration(os.Getenv("JWTEXP_LOAD_DURATION"))
	if err != nil || d <= 0 {
		t.Skip("set JWTEXP_LOAD_DURATION (e.g. 30s) to run the load test")
	}
	secret := strings.Repeat("s", 32)
	// One demo user logging in, replaying and logging out thousands of times within one access
	// TTL of the fake clock: far past the session churn limit, which exists to refuse exactly
	// that (its own tests cover it), so it is off here.
	s := Start(t, start, map[string]string{"JWT_ACCESS_SECRET": secret, "JWT_REFRESH_SECRET": strings.Repeat("r", 32),
		"JWT_REFRESH_GRACE": "0s", "JWT_SESSION_CHURN_LIMIT": "off"})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	now := s.Clock.Now()
	expired := testutil.HS256([]byte(secret), `{"alg":"HS256"}`,
		fmt.Sprintf(`{"iss":"jwtexp-example","sub":"x","aud":"jwtexp-api","iat":%d,"exp":%d}`, now.Add(-time.Hour).Unix(), now.Add(-50*time.Minute).Unix()))
	forged := testutil.HS256([]byte(strings.Repeat("x", 32)), `{"alg":"HS256"}`,
		fmt.Sprintf(`{"iss":"jwtexp-example","sub":"x","aud":"jwtexp-api","iat":%d,"exp":%d}`, now.Unix(), now.Add(time.Minute).Unix()))

	var total, fiveXX, badAccepted atomic.Int64
	do := func(method, path, auth, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return 0, nil
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		total.Add(1)
		if resp.StatusCode >= 500 {
			fiveXX.Add(1)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	login := func() (string, string) {
		_, b := do("POST", "/login", "", `{"username":"alice","password":"wonderland"}`)
		a, _ := b["access_token"].(string)
		r, _ := b["refresh_token"].(string)
		return a, r
	}
	bad := func(code int) {
		if code == 200 {
			badAccepted.Add(1)
		}
	}

	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			access, refresh := login()
			for i := 0; time.Now().Before(deadline); i++ {
				switch i % 8 {
				case 0, 1, 2:
					if code, _ := do("GET", "/api/me", access, ""); code != 200 {
						t.Errorf("valid token: got %d", code)
					}
				case 3:
					code, _ := do("GET", "/api/me", expired, "")
					bad(code)
				case 4:
					code, _ := do("GET", "/api/me", forged, "")
					bad(code)
					code, _ = do("GET", "/api/me", "garbage.tok.en", "")
					bad(code)
				case 5: // rotate, then replay the old refresh token: reuse revokes the session
					code, b := do("POST", "/refresh", "", `{"refresh_token":"`+refresh+`"}`)
					if code != 200 {
						t.Errorf("refresh: got %d %v", code, b)
						continue
					}
					newAccess, _ := b["access_token"].(string)
					code, _ = do("POST", "/refresh", "", `{"refresh_token":"`+refresh+`"}`)
					bad(code)
					code, _ = do("GET", "/api/me", newAccess, "")
					bad(code) // the family was revoked by the replay
					access, refresh = login()
				case 6: // log out, then the revoked token must fail
					old := access
					if code, _ := do("POST", "/logout", old, ""); code != 204 {
						t.Errorf("logout: got %d", code)
					}
					code, _ := do("GET", "/api/me", old, "")
					bad(code)
					access, refresh = login()
				case 7:
					code, _ := do("POST", "/refresh", "", `{"refresh_token":"`+forged+`"}`)
					bad(code)
				}
			}
		}()
	}
	wg.Wait()
	var ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	n := total.Load()
	t.Logf("load: %d requests in %v (%.0f req/s), %d 5xx, %d bad tokens accepted, heap %d KiB -> %d KiB",
		n, d, float64(n)/d.Seconds(), fiveXX.Load(), badAccepted.Load(), ms0.HeapAlloc>>10, ms1.HeapAlloc>>10)
	if fiveXX.Load() != 0 || badAccepted.Load() != 0 {
		t.Fatalf("%d 5xx answers and %d bad tokens accepted, want 0 and 0", fiveXX.Load(), badAccepted.Load())
	}
	if ms, ok := s.App.Manager.Store().(*core.MemoryStore); ok {
		held := ms.Len()
		s.Clock.Advance(core.DefaultMaxSessionAge + time.Hour)
		ms.Sweep()
		t.Logf("store: %d records after the run, %d once every token has expired", held, ms.Len())
		if ms.Len() != 0 {
			t.Fatalf("store holds %d records after every token expired, want 0", ms.Len())
		}
	}
}
