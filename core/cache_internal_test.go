package core

import (
	"strconv"
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
