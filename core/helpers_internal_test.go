package core

import "testing"

// testManager is the Manager of the internal tests (the shared test helpers import core, so
// these tests cannot use them): HS256 test secrets, issuer "iss", audience "aud", logging off,
// then opts. It is closed when the test ends.
func testManager(tb testing.TB, opts ...Option) *Manager {
	tb.Helper()
	base := []Option{WithHMAC([]byte("access-secret-access-secret-0123"), []byte("refresh-secret-refresh-secret-01")),
		WithIssuer("iss"), WithAudience("aud"), WithLogger(nil)}
	m, err := New(append(base, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
