package core

import (
	"strings"
	"testing"
)

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
		"Bearer a,b", "Basic dXNlcjpwYXNz", "Bearerabc", "", " ", "Bearer\t", "Bear abc", "Bearer \t abc"} {
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
