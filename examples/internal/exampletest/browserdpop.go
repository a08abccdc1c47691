package exampletest

import (
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/examples/internal/browsertest"
)

// DPoPBrowser runs the browser client with DPoP (the page's "?dpop=1") in headless Chromium
// against the example: with DPoP allowed (the default; browsertest.RunDPoP), and with server
// nonces (JWT_DPOP_NONCE=1, a 30 min access TTL; browsertest.RunDPoPNonce).
func DPoPBrowser(t *testing.T, start Starter) {
	t.Run("Allowed", func(t *testing.T) {
		s := Start(t, start, map[string]string{"JWT_ACCESS_TTL": "1m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s"})
		browsertest.RunDPoP(t, s.URL, browsertest.Hooks{
			RefreshCalls: s.RefreshCalls,
			Expire:       func() { s.Clock.Advance(time.Minute + time.Second) },
			Now:          s.Clock.Now,
		})
	})
	t.Run("Nonce", func(t *testing.T) {
		s := Start(t, start, map[string]string{"JWT_DPOP_NONCE": "1", "JWT_ACCESS_TTL": "30m", "JWT_LEEWAY": "0s", "JWT_REFRESH_GRACE": "0s"})
		browsertest.RunDPoPNonce(t, s.URL, browsertest.Hooks{
			RefreshCalls: s.RefreshCalls,
			Advance:      s.Clock.Advance,
			Now:          s.Clock.Now,
		})
	})
}
