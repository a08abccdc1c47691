package nethttpjwt_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/nethttpjwt"
)

func ExampleMiddleware() {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	m, err := core.New(
		core.WithHMAC([]byte("example-access-secret-of-32-bytes!"), []byte("example-refresh-secret-of-32-bytes")),
		core.WithIssuer("example"), core.WithAudience("example-api"),
		core.WithClock(func() time.Time { return now }), core.WithLogger(nil),
	)
	if err != nil {
		panic(err)
	}
	defer m.Close()

	type profile struct {
		Role string `json:"role"`
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", nethttpjwt.Middleware(m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		p, err := nethttpjwt.Custom[profile](r)
		if err != nil {
			http.Error(w, "no profile", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s (%s)", claims.Subject, p.Role)
	})))

	get := func(auth string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	pair, err := m.Issue(context.Background(), "alice", profile{Role: "admin"})
	if err != nil {
		panic(err)
	}
	get("")
	get("Bearer " + pair.AccessToken)
	now = now.Add(16 * time.Minute) // past the 15-minute access TTL
	get("Bearer " + pair.AccessToken)
	// Output:
	// 401 {"error":"unauthorized","error_description":"missing bearer token"}
	// 200 hello alice (admin)
	// 401 {"error":"invalid_token","error_description":"token expired"}
}
