package core_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// FuzzScopeClaims signs arbitrary scope, scp, auth_time and acr values into otherwise valid
// tokens: verification either refuses them or yields claims whose checks never panic, and
// HasScope agrees with Scopes.
func FuzzScopeClaims(f *testing.F) {
	for _, s := range []string{`"a b"`, `["a","b"]`, `"\u0061 b"`, `[]`, `5`, `["a",1]`, `"  "`, `[" a "]`, `{"a":1}`, `null`} {
		f.Add(s, `"x"`, "1767225600", `"mfa"`)
	}
	req := []*core.Requirement{
		core.MustRequirement(core.RequireAnyScope("a", "admin")),
		core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: 300e9, ACRValues: []string{"mfa"}})),
		core.MustRequirement(core.RequireClaims(func(v struct {
			Role string `json:"role"`
		}) bool {
			return v.Role == "admin"
		})),
	}
	clock := testutil.NewClock(t0)
	m := newManager(f, clock)
	f.Fuzz(func(t *testing.T, scope, scp, authTime, acr string) {
		tok := foreign(clock.Now(), map[string]string{"scope": scope, "scp": scp, "auth_time": authTime, "acr": acr})
		c, err := m.Verify(context.Background(), tok)
		if err != nil {
			return
		}
		scopes := c.Scopes()
		for _, s := range append(scopes, "a", "admin", "", " ") {
			if c.HasScope(s) != slices.Contains(scopes, s) {
				t.Fatalf("HasScope(%q) disagrees with Scopes %q", s, scopes)
			}
		}
		for _, r := range req {
			_ = m.Authorize(context.Background(), c, r)
		}
	})
}

// FuzzReadCredentials: any login body is either refused with ErrInvalidRequest or gives a
// non-empty username and password; it never panics.
func FuzzReadCredentials(f *testing.F) {
	f.Add([]byte(`{"username":"alice","password":"wonderland"}`), "application/json")
	f.Add([]byte(`username=a&password=b&grant_type=password`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{"username":"a","username":"b"}`), "")
	f.Add([]byte("\x00\xff{"), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		r := httptest.NewRequest("POST", "/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		c, err := core.ReadCredentials(core.HTTPRequest(r))
		if (err == nil) == (c.Username == "" || c.Password == "") {
			t.Fatalf("got %+v, %v", c, err)
		}
	})
}
