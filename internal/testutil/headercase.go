package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtexp/jwtexp/core"
)

// HeaderCaseSuite checks how an adapter for a server that can keep header names as received (the
// Fiber adapters: fasthttp's DisableHeaderNormalizing) finds Authorization. app(keepNames) must
// serve GET / behind the adapter's Middleware(m) with a handler that answers 200 with the
// subject, a blank and the value its framework returns for the header "x-probe". With names
// normalized (the default) a lower-case authorization still authenticates and the handler's
// lookup of x-probe still finds X-Probe (the adapter leaves normalizing as it found it); with
// names kept as sent, x-probe is not X-Probe for the handler, while Authorization is matched in
// any case (RFC 9110 §5.1), so Authorization and authorization together are two credentials.
func HeaderCaseSuite(t *testing.T, m *core.Manager, app func(keepNames bool) Doer) {
	t.Helper()
	p, err := m.Issue(t.Context(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(keepNames bool, names ...string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, name := range names {
			req.Header[name] = []string{"Bearer " + p.AccessToken} // sent with the name as written
		}
		req.Header.Set("X-Probe", "p")
		return app(keepNames)(req)
	}
	for _, tc := range []struct {
		keepNames bool
		authName  string
		want      string
	}{
		{false, "Authorization", "alice p"},
		{false, "authorization", "alice p"}, // stored as Authorization
		{true, "Authorization", "alice "},   // x-probe is not X-Probe when names are kept as sent
		{true, "authorization", "alice "},   // but Authorization is matched in any case
	} {
		resp := send(tc.keepNames, tc.authName)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != tc.want {
			t.Errorf("names kept as sent %v, %s header: %d %q, want 200 %q", tc.keepNames, tc.authName, resp.StatusCode, b, tc.want)
		}
	}
	if resp := send(true, "Authorization", "authorization"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Authorization and authorization with names kept as sent: %d, want 400", resp.StatusCode)
	}
}
