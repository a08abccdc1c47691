package redisstore

import (
	"net/http"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// TestNaiveClients runs the tutorials' refresh interceptor (testutil.RunNaiveClientSuite: 20
// calls in flight at each of 50 expiries, answers stored out of order and late) against a
// Manager on Redis, through the net/http adapter: no session lost, no reuse event, one rotation
// per expiry. The store decides rotations by the suite's fake clock here, so that 50 grace
// windows pass in no time; the grace rule itself is the Lua script's, as in production.
func TestNaiveClients(t *testing.T) {
	client := serverClient(t, testutil.StartRedis(t))
	st := newStore(t, client)
	st.requestClock = true
	testutil.RunNaiveClientSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		mux := http.NewServeMux()
		mux.Handle("POST /login", nethttpjwt.LoginHandler(m, func(r *http.Request) (string, testutil.SuiteClaims, error) {
			return testutil.SuiteAuthenticate(core.HTTPRequest(r))
		}))
		mux.Handle("POST /refresh", nethttpjwt.RefreshHandler(m))
		mux.Handle("GET /api/me", nethttpjwt.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{}`))
		})))
		return testutil.HandlerDoer(mux)
	}, core.WithStore(st), core.WithStoreTimeout(5*time.Second))
}
