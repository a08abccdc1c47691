package core

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestVerifiedCacheBounded(t *testing.T) {
	vc := newVerifiedCache(100)
	for i := 0; i < 10000; i++ {
		vc.put("token-"+strconv.Itoa(i), &Claims{})
		if n := vc.len(); n > 100 {
			t.Fatalf("cache holds %d entries, max 100", n)
		}
	}
	vc.purge()
	if vc.len() != 0 {
		t.Fatalf("purge left %d entries", vc.len())
	}
	if newVerifiedCache(0) != nil {
		t.Fatalf("size 0 must turn the cache off")
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

// Concurrent puts keep the cache bounded: at most one entry over max per goroutine inserting.
func TestVerifiedCacheBoundedConcurrent(t *testing.T) {
	vc := newVerifiedCache(100)
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				vc.put(strconv.Itoa(w)+"-"+strconv.Itoa(i), &Claims{})
			}
		}()
	}
	wg.Wait()
	if n := vc.len(); n > 100+writers {
		t.Fatalf("cache holds %d entries, max 100 (+%d concurrent writers)", n, writers)
	}
	if n, c := vc.len(), vc.n.Load(); int64(n) != c {
		t.Fatalf("cache holds %d entries but counts %d", n, c)
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
		if p := m.Problem(r.refuse); p.Status != 403 {
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
