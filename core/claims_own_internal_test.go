package core

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// generalClaims reads b with the general parser only.
func generalClaims(b []byte, audience string) (Claims, claimSet, error) {
	c := Claims{payload: string(b)}
	var cs claimSet
	err := parseClaims(b, audience, &c, &cs)
	return c, cs, err
}

// ownClaims reads b as a Manager with layout l does.
func ownClaims(l *ownLayout, b []byte, audience string) (Claims, claimSet, error) {
	c := Claims{payload: string(b)}
	var cs claimSet
	err := l.parseClaims(b, audience, &c, &cs)
	return c, cs, err
}

// sameReading fails t unless the layout's reading of b and the general parser's agree: the same
// error, or the same claims and claim set.
func sameReading(t *testing.T, l *ownLayout, b []byte, audience string) {
	t.Helper()
	gc, gcs, gerr := generalClaims(b, audience)
	oc, ocs, oerr := ownClaims(l, b, audience)
	if fmt.Sprint(gerr) != fmt.Sprint(oerr) {
		t.Fatalf("%s: own layout: %v, general parser: %v", b, oerr, gerr)
	}
	if gerr == nil && (!reflect.DeepEqual(gc, oc) || gcs != ocs) {
		t.Fatalf("%s:\nown layout     %+v %+v\ngeneral parser %+v %+v", b, oc, ocs, gc, gcs)
	}
}

// TestOwnLayoutReadsMintedClaims: the claims objects a Manager mints - with and without an
// audience, auth_time, custom members, a DPoP binding - are read through the layout (not the
// general parser) and as the general parser reads them.
func TestOwnLayoutReadsMintedClaims(t *testing.T) {
	now := time.Unix(1796000000, 0)
	for _, aud := range []string{"api", ""} {
		opts := []Option{WithHMAC([]byte("access-secret-access-secret-0123"), []byte("refresh-secret-refresh-secret-01")),
			WithIssuer("https://issuer.example"), WithLogger(nil)}
		if aud != "" {
			opts = append(opts, WithAudience(aud))
		} else {
			opts = append(opts, WithoutAudience())
		}
		m, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.own == nil {
			t.Fatal("no layout for a plain issuer and audience")
		}
		for _, tc := range []struct {
			sub      string
			authTime time.Time
			custom   string
			members  bool // members after the own ones
		}{
			{"alice", now, "", false},
			{"alice", time.Time{}, "", false},
			{"bob@example.com", now, `"role":"admin","scope":"read write"`, true},
			{"ünïcode", now, `"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`, true},
		} {
			b := m.claimsJSON(tc.sub, "sid-0123456789abcdefgh", "jti-0123456789abcdefgh", now, now.Add(time.Minute), tc.authTime, []byte(tc.custom))
			var c Claims
			var cs claimSet
			i, known, ok := m.own.read(b, &c, &cs)
			if !ok {
				t.Fatalf("%s: not read through the layout", b)
			}
			if (i < len(b)) != tc.members || known&claimAuthTime != 0 == tc.authTime.IsZero() {
				t.Fatalf("%s: read to %d of %d, known %b", b, i, len(b), known)
			}
			sameReading(t, m.own, b, aud)
		}
	}
}

// TestOwnLayoutDefersToGeneralParser: objects that differ from the layout anywhere, and objects
// that match it but are bad after it, get the general parser's answer.
func TestOwnLayoutDefersToGeneralParser(t *testing.T) {
	l := newOwnLayout("iss", "aud")
	base := `{"iss":"iss","sub":"alice","aud":"aud","exp":1796000060,"iat":1796000000,"auth_time":1796000000,"jti":"j","sid":"s"}`
	for _, b := range []string{
		base,
		` ` + base, base + ` `, base + `x`,
		strings.Replace(base, `"sub":"alice"`, `"sub":"al\u0069ce"`, 1),
		strings.Replace(base, `"sub":"alice"`, `"sub":"al\"ice"`, 1),
		strings.Replace(base, `"sub":"alice"`, "\"sub\":\"al\x01ice\"", 1),
		strings.Replace(base, `"sub":"alice"`, `"sub":1`, 1),
		strings.Replace(base, `"iss":"iss"`, `"iss":"other"`, 1),
		strings.Replace(base, `"aud":"aud"`, `"aud":["aud","x"]`, 1),
		strings.Replace(base, `"aud":"aud"`, `"aud":"other"`, 1),
		strings.Replace(base, `1796000060`, `0796000060`, 1),
		strings.Replace(base, `1796000060`, `1796000060.5`, 1),
		strings.Replace(base, `1796000060`, `17960000601`, 1),
		strings.Replace(base, `1796000060`, `179600006`, 1),
		strings.Replace(base, `1796000060`, `1e9`, 1),
		strings.Replace(base, `1796000060`, `253402300800`, 1),
		strings.Replace(base, `1796000060`, `"1796000060"`, 1),
		strings.Replace(base, `,"auth_time":1796000000`, ``, 1),
		strings.Replace(base, `,"auth_time":1796000000`, `,"auth_time":-1`, 1),
		strings.Replace(base, `"jti":"j"`, `"jti":"j\n"`, 1),
		strings.Replace(base, `"sid":"s"`, `"sid":"s`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s","sub":"mallory"}`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s","exp":1}`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s","x":1,"x":2}`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s","nbf":1796000000,"acr":"mfa","scp":["a","b"]}`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s",}`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s" }`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s"`, 1),
		strings.Replace(base, `"sid":"s"}`, `"sid":"s",`, 1),
		`{"iss":"iss","sub":"`, `{"iss":"iss","sub":"a","aud":"aud","exp":`,
		`{"iss":"iss","sub":"a","aud":"aud","exp":1796000060,"iat":1796000000,"jti":"j","sid":"s"}`,
		`{}`, ``,
	} {
		sameReading(t, l, []byte(b), "aud")
	}
}

// TestNewOwnLayout: an issuer or audience the minter escapes has no layout; one without an
// audience leaves aud out.
func TestNewOwnLayout(t *testing.T) {
	for _, tc := range []struct {
		iss, aud string
		ok       bool
	}{{"iss", "aud", true}, {"iss", "", true}, {"a<b", "aud", false}, {"iss", `a"b`, false}, {"ïss", "aud", true}} {
		if l := newOwnLayout(tc.iss, tc.aud); (l != nil) != tc.ok {
			t.Errorf("newOwnLayout(%q, %q) = %v", tc.iss, tc.aud, l)
		}
	}
	l := newOwnLayout("iss", "")
	if l.mid != `","exp":` || l.hasAudOK {
		t.Fatalf("layout without an audience: %+v", l)
	}
}

// FuzzOwnClaims: for any input, the layout and the general parser read the same, with and
// without an audience configured.
func FuzzOwnClaims(f *testing.F) {
	f.Add(`{"iss":"iss","sub":"alice","aud":"aud","exp":1796000060,"iat":1796000000,"auth_time":1796000000,"jti":"j","sid":"s"}`)
	f.Add(`{"iss":"iss","sub":"alice","aud":"aud","exp":1796000060,"iat":1796000000,"jti":"j","sid":"s","role":"x","sub":"y"}`)
	f.Add(`{"iss":"iss","sub":"alice","exp":1796000060,"iat":1796000000,"jti":"j","sid":"s","aud":"aud"}`)
	withAud, without := newOwnLayout("iss", "aud"), newOwnLayout("iss", "")
	f.Fuzz(func(t *testing.T, b string) {
		sameReading(t, withAud, []byte(b), "aud")
		sameReading(t, without, []byte(b), "")
	})
}

// TestB64Outside: every byte value, in every position of a word, is marked exactly when it is
// outside the base64url alphabet; random words agree with b64url byte by byte.
func TestB64Outside(t *testing.T) {
	want := func(x uint64) (m uint64) {
		for k := range 8 {
			if !b64url[byte(x>>(8*k))] {
				m |= 0x80 << (8 * k)
			}
		}
		return m
	}
	for pos := range 8 {
		for c := range 256 {
			x := uint64(0x4141414141414141) &^ (0xff << (8 * pos)) // 'A's
			x |= uint64(c) << (8 * pos)
			if got := b64Outside(x); got != want(x) {
				t.Fatalf("b64Outside(%#x) = %#x, want %#x", x, got, want(x))
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		x := r.Uint64()
		if got := b64Outside(x); got != want(x) {
			t.Fatalf("b64Outside(%#x) = %#x, want %#x", x, got, want(x))
		}
	}
}

// TestLastOutside agrees with a loop over the bytes from the end, for every length to 40 and
// a byte outside the alphabet in every position.
func TestLastOutside(t *testing.T) {
	ref := func(s string) int {
		for i := len(s) - 1; i >= 0; i-- {
			if !b64url[s[i]] {
				return i
			}
		}
		return -1
	}
	sig := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuvwxyz"))
	for n := 0; n <= 40; n++ {
		s := sig[:n]
		if got := lastOutside(s); got != -1 {
			t.Fatalf("lastOutside(%q) = %d", s, got)
		}
		for i := range n {
			for _, c := range []byte{'.', ' ', '=', '+', '/', 0x80, 0xff, '\n', 0} {
				b := []byte(s)
				b[i] = c
				if got, want := lastOutside(string(b)), ref(string(b)); got != want {
					t.Fatalf("lastOutside(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}

// TestLastDot agrees with strings.LastIndexByte for every length to 40 and a dot, or two, in
// every position, among other bytes.
func TestLastDot(t *testing.T) {
	base := "0123456789abcdefghijklmnopqrstuvwxyz-_\xff/"
	for n := 0; n <= len(base); n++ {
		s := base[:n]
		if got := lastDot(s); got != -1 {
			t.Fatalf("lastDot(%q) = %d", s, got)
		}
		for i := range n {
			for j := i; j < n; j++ {
				b := []byte(s)
				b[i], b[j] = '.', '.'
				if got, want := lastDot(string(b)), strings.LastIndexByte(string(b), '.'); got != want {
					t.Fatalf("lastDot(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := lastDot(string(b)), strings.LastIndexByte(string(b), '.'); got != want {
			t.Fatalf("lastDot(%q) = %d, want %d", b, got, want)
		}
	}
}

// TestEqualMAC: equal MACs compare equal; a difference in any byte or a length mismatch does not.
func TestEqualMAC(t *testing.T) {
	for _, n := range []int{32, 48, 64} {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte(i * 7)
		}
		if !equalMAC(a, append([]byte(nil), a...)) {
			t.Fatalf("%d bytes: equal MACs differ", n)
		}
		for i := range n {
			b := append([]byte(nil), a...)
			b[i] ^= 1 << (i % 8)
			if equalMAC(a, b) {
				t.Fatalf("%d bytes: a difference in byte %d is missed", n, i)
			}
		}
		if equalMAC(a, a[:n-8]) || equalMAC(a[:n-1], a[:n-1]) {
			t.Fatalf("%d bytes: lengths", n)
		}
	}
}

// oldSegments is how parseKey found the segments before lastOutside: the first two dots, then
// every byte of the signature segment checked.
func oldSegments(token string) (d1, d2 int, ok bool) {
	d1 = strings.IndexByte(token, '.')
	if d1 <= 0 {
		return 0, 0, false
	}
	d2 = strings.IndexByte(token[d1+1:], '.')
	if d2 <= 0 {
		return 0, 0, false
	}
	d2 += d1 + 1
	if d2 == len(token)-1 {
		return 0, 0, false
	}
	for i := d2 + 1; i < len(token); i++ {
		if !b64url[token[i]] {
			return 0, 0, false
		}
	}
	return d1, d2, true
}

// FuzzSegments: parseKey answers every token as counting the dots first did: errFormat for what
// oldSegments refuses, else what the rest of the checks answer for those segments; with an HMAC
// key and with an ECDSA key (whose signature segment is not decoded by decodeB64).
func FuzzSegments(f *testing.F) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	managers := []*Manager{testManager(f), testManager(f, WithAccessKeys(Key{Private: ec}))}
	for _, m := range managers {
		p, err := m.Issue(f.Context(), "alice", nil)
		if err != nil {
			f.Fatal(err)
		}
		tok := p.AccessToken
		d := strings.LastIndexByte(tok, '.')
		for _, s := range []string{tok, tok + ".", tok[:d] + ".x." + tok[d+1:], tok[:d] + tok[d+1:], "a.b.c", "..", "a..c",
			".b.c", "a.b.", tok[:d] + "." + tok[d+1:] + "=", strings.Replace(tok, ".", ".x.", 1), tok[:20] + "." + tok[20:],
			tok[:d+5] + "\n" + tok[d+5:], tok[:d+5] + "\r" + tok[d+6:], tok[:d+5] + " " + tok[d+6:]} {
			f.Add(s)
		}
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, token string) {
		for _, m := range managers {
			if len(token) > m.cfg.maxTokenSize {
				return
			}
			_, _, err := m.parseKey(token, kindAccess, now, 0, nil)
			d1, d2, ok := oldSegments(token)
			if !ok {
				if err != errFormat {
					t.Fatalf("parseKey(%q): %v, want errFormat", token, err)
				}
				continue
			}
			_, _, want := m.parseSegments(token, d1, d2, kindAccess, now, 0, nil)
			if fmt.Sprint(err) != fmt.Sprint(want) {
				t.Fatalf("parseKey(%q): %v, want %v", token, err, want)
			}
		}
	})
}

// FuzzOwnLayoutVerify: a claims object signed with the Manager's key is verified the same -
// the same claims, or the same refusal - by a Manager reading its own layout and by one that
// reads every object with the general parser.
func FuzzOwnLayoutVerify(f *testing.F) {
	at := time.Unix(1796000000, 500_000_000)
	clock := WithClock(func() time.Time { return at })
	m := testManager(f, WithVerifiedCache(0), clock)
	general := testManager(f, WithVerifiedCache(0), clock)
	general.own = nil
	now := at.Unix()
	for _, claims := range []string{
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"auth_time":%d,"jti":"j","sid":"s"}`, now+60, now, now),
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"jti":"j","sid":"s","role":"x"}`, now+60, now),
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"jti":"j","sid":"s","exp":1}`, now+60, now),
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"jti":"j","sid":"s"}`, now-60, now-120),
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"jti":"j","sid":"s"}`, now+7200, now),
		fmt.Sprintf(`{"iss":"iss","sub":"alice","aud":"aud","exp":%d,"iat":%d,"jti":"j","sid":"s"}`, now+60, now+60),
	} {
		f.Add(claims)
	}
	sign := func(claims string) string {
		in := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64.EncodeToString([]byte(claims))
		mac := hmac.New(sha256.New, []byte("access-secret-access-secret-0123"))
		mac.Write([]byte(in))
		return in + "." + b64.EncodeToString(mac.Sum(nil))
	}
	f.Fuzz(func(t *testing.T, claims string) {
		tok := sign(claims)
		c1, err1 := m.Verify(t.Context(), tok)
		c2, err2 := general.Verify(t.Context(), tok)
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("%s: own layout %v, general parser %v", claims, err1, err2)
		}
		if err1 == nil && !reflect.DeepEqual(*c1, *c2) {
			t.Fatalf("%s:\nown layout     %+v\ngeneral parser %+v", claims, *c1, *c2)
		}
	})
}

// TestInstantMatchesTime: comparing instants gives time.Time's answers for the comparisons
// checkClaims makes: t + d before u, and u - t > d, over the whole NumericDate range, with
// fractional seconds and negative durations.
func TestInstantMatchesTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randTime := func() time.Time {
		switch r.IntN(4) {
		case 0:
			return time.Unix(r.Int64N(maxNumericDate)+1, 0)
		case 1:
			return time.Unix(1796000000+r.Int64N(200)-100, r.Int64N(1e9))
		default:
			return time.Unix(r.Int64N(maxNumericDate)+1, r.Int64N(1e9))
		}
	}
	durations := []time.Duration{0, time.Second, -time.Second, time.Minute, 90 * 24 * time.Hour, 1<<63 - 1 - time.Minute,
		-time.Minute, 1, -1, 300 * time.Millisecond, -300 * time.Millisecond, -1500 * time.Millisecond}
	for range 200000 {
		d := durations[r.IntN(len(durations))]
		if r.IntN(2) == 0 {
			d = time.Duration(r.Int64N(1<<50)) - 1<<49
		}
		a, b := randTime(), randTime()
		switch r.IntN(3) {
		case 0: // b within two seconds of a
			b = a.Add(time.Duration(r.Int64N(4e9)) - 2e9)
		case 1: // b within two seconds of a + d: the carries and borrows of the nanoseconds decide
			if d < 1<<62 {
				b = a.Add(d + time.Duration(r.Int64N(4e9)) - 2e9)
			}
		}
		got := instantAt(a).plus(d).before(instantAt(b))
		if want := a.Add(d).Before(b); got != want && d < 1<<62 {
			t.Fatalf("%v + %v before %v: %v, time says %v", a, d, b, got, want)
		}
		if want := b.Sub(a) > d; got != want {
			t.Fatalf("%v - %v > %v: %v, time says %v", b, a, d, got, want)
		}
	}
	// The wall clock's time carries a monotonic reading; instants ignore it, as Unix does.
	now := time.Now()
	if instantAt(now) != instantAt(now.Round(0)) {
		t.Fatal("monotonic reading changed the instant")
	}
}
