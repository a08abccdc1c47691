package core_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jwtexp/jwtexp/core"
)

// Cookie-only mode: the login answer sets both tokens as HttpOnly cookies and carries no token,
// the middleware reads the access cookie, and an unsafe request another site makes the browser
// send with that cookie is refused before its token is looked at.
func ExampleWithCookieOnly() {
	m, err := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
		core.WithCookieOnly(),
		core.WithCrossOriginBypass("POST /webhooks/"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()

	pair, _ := m.Issue(ctx, "alice", nil) // after the application checked alice's password
	login := m.HTTP().LoginResponse(core.HTTPRequest(httptest.NewRequest("POST", "/login", nil)), pair)
	fmt.Println(string(login.Body))
	for _, c := range login.SetCookie {
		fmt.Println(strings.Split(c, "=")[0], strings.Contains(c, "HttpOnly"))
	}

	forged := httptest.NewRequest("DELETE", "https://api.example.com/api/sessions", nil)
	forged.AddCookie(&http.Cookie{Name: core.DefaultAccessCookie, Value: pair.AccessToken})
	forged.Header.Set("Sec-Fetch-Site", "cross-site")
	_, err = m.Authenticate(ctx, core.HTTPRequest(forged))
	answer := m.HTTP().Problem(err)
	fmt.Println(answer.Status, string(answer.Body))

	own := httptest.NewRequest("DELETE", "https://api.example.com/api/sessions", nil)
	own.AddCookie(&http.Cookie{Name: core.DefaultAccessCookie, Value: pair.AccessToken})
	own.Header.Set("Sec-Fetch-Site", "same-origin")
	claims, err := m.Authenticate(ctx, core.HTTPRequest(own))
	fmt.Println(claims.Subject, err)
	// Output:
	// {"token_type":"Bearer","expires_in":900,"token_transport":"cookie"}
	// jwtexp_access true
	// jwtexp_refresh true
	// 403 {"error":"forbidden","error_description":"cross-origin request refused"}
	// alice <nil>
}

// WithCrossOriginBypass exempts routes other sites are meant to call (a webhook authenticated by
// its own signature) from cookie-only mode's cross-origin check, with ServeMux patterns.
func ExampleWithCrossOriginBypass() {
	m, err := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
		core.WithCookieOnly(),
		core.WithCrossOriginBypass("POST /webhooks/"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	for _, target := range []string{"/webhooks/github", "/api/items"} {
		r := httptest.NewRequest("POST", "https://api.example.com"+target, nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		_, err := m.Authenticate(context.Background(), core.HTTPRequest(r))
		fmt.Println(target, core.ReasonCode(err))
	}
	_, err = core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"),
		core.WithCrossOriginBypass("/hooks/", "/hooks/"),
	)
	fmt.Println(err != nil)
	// Output:
	// /webhooks/github missing
	// /api/items cross_origin
	// true
}
