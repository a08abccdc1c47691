package testutil

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/jwtexp/jwtexp/core"
)

// RunParallelRequests sends 400 concurrent GET /api/me requests through do (which must be safe
// for concurrent use), half with a valid token of a subject of its own and half with a tampered
// one, and checks every answer: a mix-up of claims between concurrent requests (a shared
// framework context, a reused buffer) shows up as a wrong subject or status. Run it under -race.
func RunParallelRequests(t *testing.T, m *core.Manager, do Doer) {
	t.Helper()
	const n = 400
	tokens := make([]string, n)
	for i := range tokens {
		p, err := m.Issue(context.Background(), fmt.Sprintf("user-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = p.AccessToken
		if i%2 == 1 {
			tokens[i] = Tamper(p.AccessToken)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			r.Header.Set("Authorization", "Bearer "+tokens[i])
			resp := do(r)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]string
			_ = json.Unmarshal(b, &body)
			if i%2 == 0 {
				if want := fmt.Sprintf("user-%d", i); resp.StatusCode != http.StatusOK || body["sub"] != want {
					errs <- fmt.Sprintf("request %d: got %d %s, want 200 sub %s", i, resp.StatusCode, b, want)
				}
			} else if resp.StatusCode != http.StatusUnauthorized || body["error_description"] != "invalid signature" {
				errs <- fmt.Sprintf("request %d: got %d %s, want 401 invalid signature", i, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// ServerDoer sends requests to a server listening at baseURL (e.g. "http://127.0.0.1:1234") over
// real connections; safe for concurrent use.
func ServerDoer(t testing.TB, baseURL string) Doer {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(client.CloseIdleConnections)
	return func(r *http.Request) *http.Response {
		out, _ := http.NewRequest(r.Method, baseURL+r.URL.RequestURI(), r.Body)
		out.Header = r.Header.Clone()
		resp, err := client.Do(out)
		if err != nil {
			return &http.Response{StatusCode: 0, Body: io.NopCloser(&errReader{err}), Header: http.Header{}}
		}
		return resp
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// DiscardWriter is an http.ResponseWriter that keeps only the headers and the status, so that a
// benchmark measures the router and the middleware rather than a recorder. Reset it between
// requests.
type DiscardWriter struct {
	H    http.Header
	Code int
}

// NewDiscardWriter returns an empty DiscardWriter.
func NewDiscardWriter() *DiscardWriter { return &DiscardWriter{H: http.Header{}} }

// Header returns the response headers.
func (w *DiscardWriter) Header() http.Header { return w.H }

// Write discards b.
func (w *DiscardWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader records the status.
func (w *DiscardWriter) WriteHeader(code int) { w.Code = code }

// Reset clears the headers and the status for the next request.
func (w *DiscardWriter) Reset() {
	clear(w.H)
	w.Code = 0
}

// BenchManager returns a Manager for the adapters' benchmarks: access tokens signed with HS256
// or, for alg "EdDSA", an Ed25519 key (refresh tokens HS256), the real clock, logging off, and opts.
func BenchManager(b testing.TB, alg string, opts ...core.Option) *core.Manager {
	b.Helper()
	access := core.Key{Secret: AccessSecret}
	if alg == "EdDSA" {
		access = core.Key{Private: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))}
	}
	m, err := core.New(append([]core.Option{core.WithAccessKeys(access), core.WithRefreshKeys(core.Key{Secret: RefreshSecret}),
		core.WithIssuer(Issuer), core.WithAudience(Audience), core.WithLogger(nil)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchHookCost is the benchmark of a metrics module's per-request cost: Manager.Authenticate of
// a valid HS256 token (memory store, revocation check on) without an event hook (sub-benchmark
// "off") and with hook (sub-benchmark name). The difference is the hook's cost per request.
func BenchHookCost(b *testing.B, name string, hook func(context.Context, core.Event)) {
	for _, bc := range []struct {
		name string
		opts []core.Option
	}{
		{"off", nil},
		{name, []core.Option{core.WithEventHook(hook)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := BenchManager(b, "HS256", bc.opts...)
			p, err := m.Issue(context.Background(), "bench-user", nil)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+p.AccessToken)
			req := core.HTTPRequest(r)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Authenticate(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchHookEvents feeds hook, b.N times, the two events an accepted request produces with a
// network store: a store call (the revocation lookup, with its duration) and an acceptance.
func BenchHookEvents(b *testing.B, hook func(context.Context, core.Event)) {
	ctx := context.Background()
	call := core.Event{Kind: core.EventStoreCall, Op: core.StoreOpRevoked, Duration: 300}
	ok := core.Event{Kind: core.EventAuthenticated, Subject: "u", SessionID: "s", TokenID: "t"}
	b.ReportAllocs()
	for b.Loop() {
		hook(ctx, call)
		hook(ctx, ok)
	}
}
