package core_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// FuzzVerify: arbitrary bytes never panic, and nothing authenticates unless it carries a valid
// signature made with the key - which the fuzzer does not have: every accepted token must be a
// token that was signed by the test itself (the seeds).
func FuzzVerify(f *testing.F) {
	clock := testutil.NewClock(t0)
	m := newManager(f, clock)
	p, _ := m.Issue(context.Background(), "alice", map[string]any{"role": "x"})
	f.Add(p.AccessToken)
	f.Add(p.RefreshToken)
	f.Add(testutil.Unsigned(`{"alg":"none"}`, `{"exp":1}`))
	f.Add(testutil.HS256([]byte("wrong-secret-wrong-secret-wrong!!"), hs256Header, claimsJSON(t0, nil)))
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add(strings.Repeat("a", 100) + "." + strings.Repeat("b", 100) + "." + strings.Repeat("c", 43))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := m.Verify(context.Background(), tok)
		if err == nil {
			// Accepted: it must carry the true HMAC of its own header and claims, computed here
			// independently - i.e. it was signed with the key, not forged by the fuzzer.
			i := strings.LastIndexByte(tok, '.')
			head, claims, _ := strings.Cut(tok[:i], ".")
			if want := testutil.HS256(testutil.AccessSecret, b64d(t, head), b64d(t, claims)); want != tok {
				t.Fatalf("accepted a token without the key's signature: %q -> %+v", tok, c)
			}
			return
		}
		if c != nil {
			t.Fatalf("claims returned with error %v", err)
		}
		if r := m.HTTP().Problem(err); r.Status != 401 {
			t.Fatalf("status %d for %v", r.Status, err)
		}
	})
}

// FuzzExtract: arbitrary Authorization, cookie and custom-header values never panic and always
// end in one of the contract answers.
func FuzzExtract(f *testing.F) {
	clock := testutil.NewClock(t0)
	m := newManager(f, clock, core.WithTokenCookie("at"), core.WithTokenHeader("X-Token"))
	p, _ := m.Issue(context.Background(), "alice", nil)
	f.Add("Bearer "+p.AccessToken, "", "", false)
	f.Add("bearer  "+p.AccessToken, "", "", false)
	f.Add("Bearer", "", "", true)
	f.Add("Basic abc", p.AccessToken, "", false)
	f.Add("", "", p.AccessToken, false)
	f.Add("Bearer a b", "x", "y", true)
	f.Fuzz(func(t *testing.T, auth, cookie, header string, twice bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
			if twice {
				r.Header["Authorization"] = append(r.Header["Authorization"], auth)
			}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{"at=" + cookie}
		}
		if header != "" {
			r.Header["X-Token"] = []string{header}
		}
		c, err := m.Authenticate(context.Background(), core.HTTPRequest(r))
		if err == nil {
			if c.Subject != "alice" {
				t.Fatalf("accepted unknown subject %q", c.Subject)
			}
			return
		}
		switch st := m.HTTP().Problem(err).Status; st {
		case 400, 401:
		default:
			t.Fatalf("status %d for %v", st, err)
		}
	})
}

// FuzzRefreshBody: arbitrary refresh request bodies never panic and are refused with 400
// invalid_grant, without a challenge, unless they carry the current refresh token.
func FuzzRefreshBody(f *testing.F) {
	f.Add([]byte(`{"refresh_token":"x"}`), "application/json")
	f.Add([]byte(`grant_type=refresh_token&refresh_token=x`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{"refresh_token":1}`), "application/json")
	f.Add([]byte(`{"refresh_token":"a","refresh_token":"b"}`), "")
	f.Add([]byte("\x00\xff{"), "text/plain")
	clock := testutil.NewClock(t0)
	m := newManager(f, clock)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		r := httptest.NewRequest(http.MethodPost, "/refresh", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		resp := m.HTTP().ServeRefresh(context.Background(), core.HTTPRequest(r))
		if resp.Status != 400 || resp.WWWAuthenticate != "" || !bytes.Contains(resp.Body, []byte(`"invalid_grant"`)) {
			t.Fatalf("body %q: got %d %s", body, resp.Status, resp.Body)
		}
	})
}

// FuzzRotation drives one session through a random sequence of refreshes, replays of older
// tokens, grace-window replays, revocations and clock moves, and checks the invariants: at most
// one refresh token of the session works at any time, and a revoked session never comes back.
func FuzzRotation(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 0})
	f.Add([]byte{0, 3, 0, 1, 4, 0})
	f.Add([]byte{5, 0, 0, 0, 1, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		ctx := context.Background()
		clock := testutil.NewClock(t0)
		m := newManager(t, clock, core.WithRefreshGrace(2*time.Second))
		p, _ := m.Issue(ctx, "alice", nil)
		tokens := []string{p.RefreshToken} // every refresh token ever handed out
		current := p.RefreshToken
		dead := false
		for _, op := range ops {
			switch op % 6 {
			case 0: // refresh with the current token
				np, err := m.Refresh(ctx, current)
				if dead {
					if err == nil {
						t.Fatalf("revoked session refreshed")
					}
					continue
				}
				if err != nil {
					t.Fatalf("current token refused: %v", err)
				}
				if np.RefreshToken != current {
					tokens = append(tokens, np.RefreshToken)
				}
				current = np.RefreshToken
			case 1: // replay an old token
				old := tokens[int(op/6)%len(tokens)]
				np, err := m.Refresh(ctx, old)
				switch {
				case err == nil && dead:
					t.Fatalf("revoked session came back")
				case err == nil && old == current: // an ordinary rotation
					tokens = append(tokens, np.RefreshToken)
					current = np.RefreshToken
				case err == nil && np.RefreshToken != current:
					t.Fatalf("replay forked the session")
				case errors.Is(err, core.ErrRefreshReused):
					dead = true
				case err != nil && old == current && !dead:
					t.Fatalf("current token refused: %v", err)
				}
			case 2:
				clock.Advance(time.Second)
			case 3:
				clock.Advance(3 * time.Second)
			case 4:
				if err := m.Logout(ctx, "", current); err != nil {
					t.Fatal(err)
				}
				dead = true
			case 5:
				clock.Advance(time.Minute)
			}
			// At most one live refresh token: every token other than current must fail now,
			// unless it is inside the grace window, where it returns current.
		}
		live := 0
		for _, tok := range tokens {
			if np, err := m.Refresh(ctx, tok); err == nil {
				if np.RefreshToken != current && tok != current {
					t.Fatalf("a second branch of the session is alive")
				}
				live++
				current = np.RefreshToken
			}
		}
		if dead && live > 0 {
			t.Fatalf("revoked session has %d live tokens", live)
		}
	})
}

func b64d(t *testing.T, s string) string {
	b, err := base64RawURL(s)
	if err != nil {
		t.Fatalf("accepted token with bad base64 %q", s)
	}
	return string(b)
}
