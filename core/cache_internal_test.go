package core

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestVerifiedCacheBounded(t *testing.T) {
	for _, tc := range []struct {
		max  int
		long bool // tokens of cacheHashed bytes and more, whose last 16 differ only in digits
	}{{1, false}, {3, false}, {4, false}, {100, false}, {4096, false}, {4, true}, {100, true}, {4096, true}} {
		max := tc.max
		vc := newVerifiedCache(max)
		for i := 0; i < 4*max+100; i++ {
			token := "token-" + strconv.Itoa(i)
			if tc.long {
				token = fmt.Sprintf("header.payload.%016d", i)
			}
			vc.put(token, &Claims{Subject: token}, time.Time{})
			if e := vc.get(token); e == nil || e.claims.Subject != token {
				t.Fatalf("max %d: token %d not found right after put: %+v", max, i, e)
			}
			if n := vc.len(); n > max {
				t.Fatalf("max %d: cache holds %d entries", max, n)
			}
		}
		// Filled with four times its size, a cache of 4 or more keeps at least three quarters of
		// its slots full (one bucket of four takes a quarter of 4; 4096 random puts leave a
		// bucket of 4 empty with probability e^-16).
		if n := vc.len(); n < max*3/4 || n < 1 {
			t.Fatalf("max %d: cache holds only %d entries after %d puts", max, n, 4*max+100)
		}
		vc.purge()
		if vc.len() != 0 {
			t.Fatalf("purge left %d entries", vc.len())
		}
	}
	if newVerifiedCache(0) != nil {
		t.Fatalf("size 0 must turn the cache off")
	}
}

// Tokens that hash alike (the same last bytes: the hash covers only those) share a bucket; each
// still finds its own entry, never another's, and drop removes only its own.
func TestVerifiedCacheSameHash(t *testing.T) {
	vc := newVerifiedCache(64)
	tail := strings.Repeat("s", cacheHashed)
	a, b, c := "a."+tail, "b."+tail, "c."+tail
	if vc.hash(a) != vc.hash(b) {
		t.Fatal("tokens with the same last bytes hash differently: the test needs another pair")
	}
	vc.put(a, &Claims{Subject: "a"}, time.Time{})
	vc.put(b, &Claims{Subject: "b"}, time.Time{})
	if e := vc.get(a); e == nil || e.claims.Subject != "a" {
		t.Fatalf("get(a) = %+v", e)
	}
	if e := vc.get(b); e == nil || e.claims.Subject != "b" {
		t.Fatalf("get(b) = %+v", e)
	}
	if e := vc.get(c); e != nil {
		t.Fatalf("get of a token never put returned %q's entry", e.token)
	}
	vc.drop(a)
	if e := vc.get(a); e != nil {
		t.Fatal("dropped entry still found")
	}
	if e := vc.get(b); e == nil || e.claims.Subject != "b" {
		t.Fatalf("drop(a) took b's entry: %+v", e)
	}
	short := "x" // shorter than cacheHashed
	vc.put(short, &Claims{Subject: short}, time.Time{})
	if e := vc.get(short); e == nil || e.claims.Subject != short {
		t.Fatalf("short token: %+v", e)
	}
}

// The cache keeps copies: a caller's buffer reused after put does not change the entry.
func TestVerifiedCacheCopies(t *testing.T) {
	vc := newVerifiedCache(8)
	buf := []byte("token-one")
	c := &Claims{Subject: "one"}
	vc.put(unsafe.String(&buf[0], len(buf)), c, time.Time{})
	copy(buf, "token-two")
	c.Subject = "two"
	if e := vc.get("token-one"); e == nil || e.claims.Subject != "one" || e.token != "token-one" {
		t.Fatalf("entry changed with the caller's memory: %+v", e)
	}
}

// HMAC and asymmetric access tokens are both cached once verified; a Manager verifying with a
// remote key set keeps no cache.
func TestVerifiedCacheHoldsHMACTokens(t *testing.T) {
	m := testManager(t)
	p, err := m.Issue(t.Context(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(t.Context(), p.AccessToken); err != nil {
		t.Fatal(err)
	}
	if n := m.cache.len(); n != 1 {
		t.Fatalf("HMAC token verified: cache holds %d entries, want 1", n)
	}
	if _, err := m.Verify(t.Context(), tamperSignature(p.AccessToken)); err == nil {
		t.Fatal("forged token accepted")
	}
	if n := m.cache.len(); n != 1 {
		t.Fatalf("after a forged token: cache holds %d entries, want 1", n)
	}
	off := testManager(t, WithVerifiedCache(0))
	if off.cache != nil {
		t.Fatal("WithVerifiedCache(0) kept a cache")
	}
}

// Concurrent gets, puts and drops keep the cache bounded, and a get returns the entry of the token
// asked for or nothing (-race checks the publication).
func TestVerifiedCacheConcurrent(t *testing.T) {
	vc := newVerifiedCache(100)
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				token := strconv.Itoa(w) + "-" + strconv.Itoa(i%300)
				switch i % 3 {
				case 0:
					vc.put(token, &Claims{Subject: token}, time.Time{})
				case 1:
					if e := vc.get(token); e != nil && (e.token != token || e.claims.Subject != token) {
						t.Errorf("get(%q) returned the entry of %q", token, e.token)
						return
					}
				default:
					vc.drop(token)
				}
			}
		}()
	}
	wg.Wait()
	if n := vc.len(); n > 100 {
		t.Fatalf("cache holds %d entries, max 100", n)
	}
}

// tamperSignature changes one character inside the token's signature (never a padding bit of
// its last character), so the result is well formed and never verifies.
func tamperSignature(token string) string {
	b := []byte(token)
	i := strings.LastIndexByte(token, '.') + 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Problem keeps at most maxProblems answers, however many distinct requirements (one scope per
// tenant, built per request) its refusals carry.
func TestProblemCacheBounded(t *testing.T) {
	m := testManager(t)
	for i := range 2 * maxProblems {
		r, err := RequireScope("tenant:" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if p := m.HTTP().Problem(r.refuse); p.Status != 403 {
			t.Fatalf("refusal %d: status %d, want 403", i, p.Status)
		}
	}
	m.problemsMu.Lock()
	n := len(m.problems)
	m.problemsMu.Unlock()
	if n > maxProblems {
		t.Fatalf("Problem keeps %d answers, max %d", n, maxProblems)
	}
}

// A hit records the memory store's revocation generation at which the token was found not
// revoked, and the next hit at the same generation skips the lookup; a revocation record of any
// subject moves the generation, and the next hit looks again.
func TestVerifiedCacheRevocationGeneration(t *testing.T) {
	m := testManager(t)
	ctx := t.Context()
	p, err := m.Issue(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.mem == nil || m.cache == nil {
		t.Fatal("the default Manager has no memory store or no verified-token cache")
	}
	for range 2 { // first sight (no entry checked yet), then a hit that records the generation
		if _, err := m.Verify(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	e := m.cache.get(p.AccessToken)
	g := m.mem.revGen.Load()
	if e == nil || e.notRevoked.Load() != g+1 {
		t.Fatalf("after a hit the entry keeps generation %d, want %d", e.notRevoked.Load(), g+1)
	}
	if err := m.mem.DenyToken(ctx, "bob", "some-jti", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m.mem.revGen.Load() == g {
		t.Fatal("a revocation record did not move the store's generation")
	}
	if _, err := m.Verify(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	if got, want := e.notRevoked.Load(), m.mem.revGen.Load()+1; got != want {
		t.Fatalf("the hit after another subject's revocation keeps generation %d, want %d", got, want)
	}
}
