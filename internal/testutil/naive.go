package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// NaiveRun describes a run of RunNaiveClients.
type NaiveRun struct {
	// Do sends a request to the server: POST /login (JSON username and password), POST /refresh
	// (JSON refresh_token) and GET /api/me (Bearer) as the HTTP contract has them. It must be
	// safe for concurrent use.
	Do Doer
	// Username and Password log the client in; empty: SuiteUser and SuitePassword.
	Username, Password string
	// Calls is the number of calls in flight when the access token expires (default 20);
	// Expiries the number of consecutive expiries (default 50).
	Calls, Expiries int
	// Expire makes every access token issued so far invalid (it advances a fake clock past the
	// access TTL plus leeway). It is called before each burst.
	Expire func()
	// Answered, if set, is called after each refresh answer (to move a fake clock a little, as
	// a burst takes time).
	Answered func()
	// Seed makes the order in which answers are stored repeatable.
	Seed uint64
	// TolerateUnavailable counts a 503 (a store deadline missed on a loaded machine) as
	// Unavailable instead of failing: a transient answer the client retries, not a lost session.
	TolerateUnavailable bool
}

// NaiveReport is what RunNaiveClients saw.
type NaiveReport struct {
	Refreshes int // POST /refresh requests sent
	Lost      int // refreshes refused: the client was sent back to the login page
	Failed    int // calls still refused after their retry with a fresh token
	Stale     int // bursts after which the stored refresh token was not the one the burst handed out
	Delayed   int // answers stored only after an answer of the next burst
	// Unavailable counts the 503 answers seen with TolerateUnavailable.
	Unavailable int
	// Tokens[i] is the number of distinct refresh tokens the answers of burst i carried: 1 when
	// the session rotated at most once in the burst.
	Tokens []int
	// Rotated is the number of bursts whose refresh token differed from the previous burst's.
	Rotated int
}

// RunNaiveClients plays the refresh interceptor most tutorials teach against a server: every
// call that gets a 401 refreshes on its own, with whatever refresh token the shared token store
// (a browser's localStorage) holds when it reads it, stores the answer when it arrives, and
// retries once with the new access token. At each expiry Calls calls are in flight; answers are
// stored in the order they arrive, except about a quarter, which arrive late: after the first
// answer of the next burst (the stale pair then overwrites a newer one, as a slow response does
// in a browser). A second wave of calls follows each burst, as a live page keeps calling. It
// reports what a server must get right for such a client: no refresh refused (no lost
// session), one refresh token per burst, and the stored token current at the end of each burst.
// It fails the test only when the server answers outside the contract (an unexpected status).
func RunNaiveClients(t testing.TB, run NaiveRun) NaiveReport {
	t.Helper()
	if run.Calls == 0 {
		run.Calls = 20
	}
	if run.Expiries == 0 {
		run.Expiries = 50
	}
	if run.Username == "" {
		run.Username, run.Password = SuiteUser, SuitePassword
	}
	var (
		mu             sync.Mutex // guards store, late, the report and answers
		access, stored string     // the token store
		late, carried  [][2]string
		rep            NaiveReport
		refreshes      atomic.Int64
	)
	setPair := func(p [2]string) { access, stored = p[0], p[1] }
	tokenPair := func(resp *http.Response) ([2]string, error) {
		defer resp.Body.Close()
		var body struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &body); err != nil || body.AccessToken == "" || body.RefreshToken == "" {
			return [2]string{}, fmt.Errorf("not a token response: %d %s", resp.StatusCode, raw)
		}
		return [2]string{body.AccessToken, body.RefreshToken}, nil
	}
	login := func() {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(
			fmt.Sprintf(`{"username":%q,"password":%q}`, run.Username, run.Password)))
		r.Header.Set("Content-Type", "application/json")
		p, err := tokenPair(run.Do(r))
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		mu.Lock()
		setPair(p)
		mu.Unlock()
	}
	me := func(tok string) int {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		resp := run.Do(r)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	login()
	prev := ""
	for burst := range run.Expiries {
		run.Expire()
		answers := map[string]int{}
		carried, late = late, nil
		applied := false
		store := func(p [2]string) { // with mu held
			setPair(p)
			if !applied {
				applied = true
				for _, l := range carried { // late answers of the last burst land after this one
					setPair(l)
					rep.Delayed++
				}
				carried = nil
			}
		}
		call := func(rng *rand.Rand, mayDelay bool) {
			mu.Lock()
			tok := access
			mu.Unlock()
			switch code := me(tok); code {
			case http.StatusOK:
				return
			case http.StatusUnauthorized:
			case http.StatusServiceUnavailable:
				if run.TolerateUnavailable {
					mu.Lock()
					rep.Unavailable++
					mu.Unlock()
					return
				}
				fallthrough
			default:
				t.Errorf("burst %d: GET /api/me: got %d, want 200 or 401", burst, code)
				return
			}
			mu.Lock()
			refresh := stored // whatever the store holds now
			mu.Unlock()
			r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+refresh+`"}`))
			r.Header.Set("Content-Type", "application/json")
			refreshes.Add(1)
			resp := run.Do(r)
			if run.Answered != nil {
				run.Answered()
			}
			if resp.StatusCode == http.StatusServiceUnavailable && run.TolerateUnavailable {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				rep.Unavailable++
				mu.Unlock()
				return
			}
			if resp.StatusCode != http.StatusOK {
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				rep.Lost++
				mu.Unlock()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("burst %d: refused refresh: got %d %s, want 400 invalid_grant", burst, resp.StatusCode, raw)
				}
				return
			}
			p, err := tokenPair(resp)
			if err != nil {
				t.Errorf("burst %d: refresh: %v", burst, err)
				return
			}
			mu.Lock()
			answers[p[1]]++
			if mayDelay && rng.IntN(4) == 0 {
				late = append(late, p)
			} else {
				store(p)
			}
			mu.Unlock()
			if code := me(p[0]); code != http.StatusOK {
				mu.Lock()
				if code == http.StatusServiceUnavailable && run.TolerateUnavailable {
					rep.Unavailable++
				} else {
					rep.Failed++
				}
				mu.Unlock()
			}
		}
		for wave := range 2 {
			var wg sync.WaitGroup
			for i := range run.Calls {
				rng := rand.New(rand.NewPCG(run.Seed, uint64(burst*1000+wave*100+i)))
				wg.Go(func() { call(rng, wave == 0) })
			}
			wg.Wait()
			mu.Lock()
			if wave == 0 && !applied && len(carried) > 0 {
				for _, l := range carried { // nothing arrived in this wave: the late ones land now
					setPair(l)
					rep.Delayed++
				}
				carried, applied = nil, true
			}
			mu.Unlock()
		}
		mu.Lock()
		rep.Tokens = append(rep.Tokens, len(answers))
		if len(answers) > 0 {
			var cur string
			for tok := range answers {
				cur = tok
			}
			if len(answers) == 1 && stored != cur {
				rep.Stale++
			}
			if cur != prev {
				rep.Rotated++
			}
			prev = cur
		}
		lost := rep.Lost
		mu.Unlock()
		if lost > 0 {
			login() // the user logs in again; the loss is counted
		}
	}
	rep.Refreshes = int(refreshes.Load())
	return rep
}

// RunNaiveClientSuite runs RunNaiveClients against one adapter (build mounts the conformance
// suite's routes on the Manager it is given) with the suite's Manager on the library's default
// grace window and a fake clock, 20 calls in flight over 50 expiries, and checks: no session
// lost, no call refused after its retry, no reuse event, exactly one rotation per expiry, one
// refresh token per burst, and the stored token current after every burst. opts add to the
// Manager (a store, for example).
func RunNaiveClientSuite(t *testing.T, build func(t *testing.T, m *core.Manager) Doer, opts ...core.Option) {
	t.Helper()
	clock := NewClockNow()
	var rotated, grace, reused atomic.Int64
	hook := core.WithEventHook(func(_ context.Context, e core.Event) {
		switch e.Kind {
		case core.EventRefreshed:
			rotated.Add(1)
		case core.EventRefreshGrace:
			grace.Add(1)
		case core.EventReuseDetected:
			reused.Add(1)
		}
	})
	m := SuiteManager(t, clock, append([]core.Option{hook}, opts...)...)
	rep := RunNaiveClients(t, NaiveRun{
		Do:       build(t, m),
		Expire:   func() { clock.Advance(SuiteAccessTTL + SuiteLeeway + time.Second) },
		Answered: func() { clock.Advance(50 * time.Millisecond) }, // 40 answers a burst at most: 2 s
		Seed:     1,
	})
	CheckNaiveReport(t, rep, 50)
	if n := reused.Load(); n != 0 {
		t.Errorf("reuse events: got %d, want 0 (a burst is no theft)", n)
	}
	if n := rotated.Load(); n != 50 {
		t.Errorf("rotations: got %d over 50 expiries, want exactly one per expiry", n)
	}
	if grace.Load() == 0 {
		t.Errorf("grace answers: got none; the run did not exercise the window")
	}
	t.Logf("naive clients: %d refreshes, %d rotations, %d grace answers, %d answers stored late", rep.Refreshes, rotated.Load(), grace.Load(), rep.Delayed)
}

// CheckNaiveReport fails the test unless rep shows no lost session, no failed call, one refresh
// token per burst and the current one stored after every burst; and, when rotations > 0, that
// many bursts rotated. (Where the grace window runs on a clock the test does not drive - Redis's
// - a window may end inside a burst; check such a run with the metrics instead.)
func CheckNaiveReport(t testing.TB, rep NaiveReport, rotations int) {
	t.Helper()
	if rep.Lost != 0 {
		t.Errorf("sessions lost: got %d refused refreshes, want 0", rep.Lost)
	}
	if rep.Failed != 0 {
		t.Errorf("calls refused after their retry: got %d, want 0", rep.Failed)
	}
	if rep.Stale != 0 {
		t.Errorf("bursts ending with a superseded refresh token stored: got %d, want 0", rep.Stale)
	}
	for i, n := range rep.Tokens {
		if n > 1 {
			t.Errorf("burst %d: answers carried %d different refresh tokens, want 1 (one rotation per burst)", i, n)
		}
	}
	if rotations > 0 && rep.Rotated != rotations {
		t.Errorf("bursts that rotated: got %d, want %d", rep.Rotated, rotations)
	}
	if rep.Delayed == 0 {
		t.Errorf("no answer was stored late: the run did not exercise out-of-order answers")
	}
}
