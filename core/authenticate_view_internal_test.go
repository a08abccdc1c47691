package core

import (
	"context"
	"testing"
	"unsafe"
)

// viewRequest returns its Authorization header as a view of a buffer it owns, as the Fiber
// adapters do with fasthttp's buffers.
type viewRequest struct{ buf []byte }

func (r viewRequest) Header(name string) (string, int) {
	if name != "Authorization" {
		return "", 0
	}
	return unsafe.String(unsafe.SliceData(r.buf), len(r.buf)), 1
}
func (viewRequest) Cookie(string) (string, int) { return "", 0 }
func (viewRequest) Query(string) (string, int)  { return "", 0 }
func (viewRequest) Body(int64) ([]byte, error)  { return nil, nil }

// Authenticate keeps nothing of the request's strings: after the buffer behind them is reused
// for another request, the claims it returned and the verified-token cache's entries are
// unchanged, and the next answers are right.
func TestAuthenticateKeepsNoRequestString(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := testManager(t)
	alice, _ := m.Issue(ctx, "alice", nil)
	carol, _ := m.Issue(ctx, "carol", nil) // same length as alice: same token length
	if len(alice.AccessToken) != len(carol.AccessToken) {
		t.Fatalf("tokens of %d and %d bytes: the test needs equal lengths", len(alice.AccessToken), len(carol.AccessToken))
	}
	buf := []byte("Bearer " + alice.AccessToken)
	r := viewRequest{buf}
	first, err := m.Authenticate(ctx, r) // verified, then cached
	if err != nil {
		t.Fatal(err)
	}
	hit, err := m.Authenticate(ctx, r) // answered from the cache
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "Bearer "+carol.AccessToken) // the server reuses the buffer
	for _, c := range []*Claims{first, hit} {
		if c.Subject != "alice" {
			t.Fatalf("claims changed with the request buffer: subject %q", c.Subject)
		}
	}
	if e := m.cache.get(alice.AccessToken); e == nil || e.claims.Subject != "alice" {
		t.Fatalf("cache entry of alice's token after the buffer was reused: %+v", e)
	}
	if c, err := m.Authenticate(ctx, r); err != nil || c.Subject != "carol" {
		t.Fatalf("next request on the reused buffer: %v, %v", c, err)
	}
	copy(buf, "Bearer "+tamperSignature(alice.AccessToken))
	if _, err := m.Authenticate(ctx, r); err == nil {
		t.Fatal("a forged token in the reused buffer was accepted")
	}
	if e := m.cache.get(carol.AccessToken); e == nil || e.claims.Subject != "carol" {
		t.Fatalf("cache entry of carol's token after the buffer was reused: %+v", e)
	}
}
