package core

import (
	"fmt"
	"strings"
	"testing"
)

// bearer is what extract makes of an Authorization value: the scheme, then the token's check.
func bearer(v string) (string, bool, error) {
	t, ok, err := bearerScheme(v)
	if ok && badTokenChars(t) {
		return "", false, errBadAuthHeader
	}
	return t, ok, err
}

// bearerSplit is the plain reading of RFC 6750 §2.1 that bearer must agree with: trim, split at
// the first blank, compare the scheme, trim again.
func bearerSplit(v string) (string, bool, error) {
	v = strings.Trim(v, " \t")
	i := strings.IndexAny(v, " \t")
	if i < 0 {
		if strings.EqualFold(v, "Bearer") {
			return "", false, errBadAuthHeader
		}
		return "", false, nil
	}
	if !strings.EqualFold(v[:i], "Bearer") {
		return "", false, nil
	}
	token := strings.TrimLeft(v[i:], " \t")
	if token == "" || strings.ContainsAny(token, " \t,") {
		return "", false, errBadAuthHeader
	}
	return token, true, nil
}

func FuzzBearer(f *testing.F) {
	for _, v := range []string{"Bearer abc", "bearer  abc", " \tBEARER\tabc\t ", "Bearer", "Bearer ", "Bearer a b",
		"Bearer a,b", "Basic dXNlcjpwYXNz", "Bearerabc", "", " ", "Bearer\t", "Bear abc", "Bearer \t abc",
		"Bearer x", "Bearer  x", "Bearer x ", "Bearer x\t", "Bearer ,", "Bearer x y", "bearer x", "Bearer\tx"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, ok, err := bearer(v)
		wtok, wok, werr := bearerSplit(v)
		if tok != wtok || ok != wok || err != werr {
			t.Fatalf("bearer(%q) = %q, %v, %v; want %q, %v, %v", v, tok, ok, err, wtok, wok, werr)
		}
	})
}

// fuzzRequest serves one Authorization header and one cookie.
type fuzzRequest struct{ auth, cookie string }

func (r fuzzRequest) Header(name string) (string, int) {
	if name != "Authorization" || r.auth == "" {
		return "", 0
	}
	return r.auth, 1
}

func (r fuzzRequest) Cookie(name string) (string, int) {
	if name != "at" || r.cookie == "" {
		return "", 0
	}
	return r.cookie, 1
}
func (fuzzRequest) Query(string) (string, int) { return "", 0 }
func (fuzzRequest) Body(int64) ([]byte, error) { return nil, nil }

// FuzzExtractProbe: the request path's extraction, which looks the token up in the verified-token
// cache on the way, answers exactly as extract does, except that a Bearer token it leaves
// unchecked for blanks and commas may be one extract refuses with ErrInvalidRequest: the
// request path's answer (Authenticate) is then that refusal all the same. A hit is the cache's
// entry for that token.
func FuzzExtractProbe(f *testing.F) {
	m := testManager(f, WithTokenCookie("at"))
	p, _ := m.Issue(f.Context(), "alice", nil)
	if _, err := m.Verify(f.Context(), p.AccessToken); err != nil { // cached from now on
		f.Fatal(err)
	}
	other, _ := m.Issue(f.Context(), "bob", nil) // not cached
	for _, seed := range [][2]string{{"Bearer " + p.AccessToken, ""}, {"bearer\t" + p.AccessToken + " ", ""},
		{"Bearer " + p.AccessToken + " x", ""}, {"Bearer " + p.AccessToken, p.AccessToken}, {"", p.AccessToken},
		{"Bearer " + p.AccessToken + ",x", ""}, {"Basic abc", p.AccessToken}, {"Bearer", ""},
		{"Bearer " + other.AccessToken + " x", ""}, {"Bearer " + other.AccessToken + ",x", other.AccessToken},
		{"Bearer " + other.AccessToken[:20] + "\t" + other.AccessToken[20:], ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, auth, cookie string) {
		r := fuzzRequest{auth, cookie}
		want, werr := m.extract(r)
		got, hit, unchecked, err := m.extractProbe(r, true)
		if unchecked && err == nil && werr == errBadAuthHeader {
			// The request path checks it once the token is refused, as it must be.
			if !badTokenChars(got) || hit != nil {
				t.Fatalf("extractProbe(%q, %q) = %q unchecked, hit %v; extract refused it", auth, cookie, got, hit)
			}
		} else if got != want || err != werr {
			t.Fatalf("extractProbe(%q, %q) = %q, %v; extract: %q, %v", auth, cookie, got, err, want, werr)
		}
		if hit != nil && (err != nil || m.cache.get(got) != hit) {
			t.Fatalf("hit for %q is not the cache's entry (err %v)", got, err)
		}
		// The whole answer: the request path's, and extract's followed by Verify.
		_, aerr := m.Authenticate(t.Context(), r)
		verr := werr
		if werr == nil {
			_, verr = m.Verify(t.Context(), want)
		}
		if fmt.Sprint(aerr) != fmt.Sprint(verr) { // some refusals are built per token: compare messages
			t.Fatalf("Authenticate(%q, %q): %v; extract and Verify: %v", auth, cookie, aerr, verr)
		}
	})
}
