package jwtexptest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/jwtexptest"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

// Test a protected handler with tokens for each case, on the Kit's clock.
func Example() {
	t := newExampleT() // the *testing.T of a real test
	defer t.cleanup()
	k := jwtexptest.New(t, core.WithAccessTTL(15*time.Minute))
	me := nethttpjwt.Middleware(k.Manager)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := nethttpjwt.Claims(r)
		fmt.Fprint(w, c.Subject)
	}))
	call := func(token string) {
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		me.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("Www-Authenticate"), rec.Body.String())
	}
	call(k.Token(t))
	call(k.Token(t, jwtexptest.Expired(time.Minute)))
	call(k.Token(t, jwtexptest.WrongIssuer()))
	call(k.Token(t, jwtexptest.AsRefreshToken()))

	valid := k.Token(t)
	k.Advance(15 * time.Minute) // no sleeping: the Kit's clock moves on command
	call(valid)
	// Output:
	// 200  alice
	// 401 Bearer realm="jwtexp", error="invalid_token", error_description="token expired" {"error":"invalid_token","error_description":"token expired"}
	// 401 Bearer realm="jwtexp", error="invalid_token", error_description="invalid issuer" {"error":"invalid_token","error_description":"invalid issuer"}
	// 401 Bearer realm="jwtexp", error="invalid_token", error_description="refresh token used as access token" {"error":"invalid_token","error_description":"refresh token used as access token"}
	// 401 Bearer realm="jwtexp", error="invalid_token", error_description="token expired" {"error":"invalid_token","error_description":"token expired"}
}

// Test what the application answers while its store is down: the Manager fails closed.
func ExampleFaultyStore() {
	t := newExampleT() // the *testing.T of a real test
	defer t.cleanup()
	k := jwtexptest.New(t, core.WithStoreTimeout(20*time.Millisecond))
	refresh := nethttpjwt.RefreshHandler(k.Manager)
	pair := k.Login(t, "alice", nil)
	do := func() int {
		req := httptest.NewRequest("POST", "/refresh", strings.NewReader(`{"refresh_token":"`+pair.RefreshToken+`"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		refresh.ServeHTTP(rec, req)
		return rec.Code
	}
	k.Store.Fail(nil)
	fmt.Println("store failing:", do())
	k.Store.Heal()
	k.Store.Stall() // every call hangs until the Manager's store timeout
	fmt.Println("store stalled:", do())
	k.Store.Heal()
	fmt.Println("store back:", do())
	// Output:
	// store failing: 503
	// store stalled: 503
	// store back: 200
}

// An identity provider for an application that trusts another issuer's tokens: its discovery
// document and JWK Set are served from IdentityProvider.URL, and Rotate publishes a new
// signing key.
func ExampleIdentityProvider() {
	t := newExampleT() // the *testing.T of a real test
	defer t.cleanup()
	idp := jwtexptest.NewIdentityProvider(t, "ES256", nil, 5*time.Minute)
	fmt.Println(strings.HasPrefix(idp.JWKSURL(), idp.URL))
	fmt.Println(idp.Rotate(t)) // the previous key stays published until Retire
	resp, err := http.Get(idp.JWKSURL())
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, idp.Fetches())
	// Output:
	// true
	// key-2
	// 200 1
}

// exampleT is the part of testing.TB the examples use; cleanup runs what Cleanup registered.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func newExampleT() *exampleT                { return &exampleT{} }
func (*exampleT) Helper()                   {}
func (e *exampleT) Cleanup(f func())        { e.cleanups = append(e.cleanups, f) }
func (*exampleT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (e *exampleT) cleanup() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}
