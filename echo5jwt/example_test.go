package echo5jwt_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/echo5jwt"
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

	e := echo.New() // Echo's default HTTPErrorHandler renders the middleware's refusals
	api := e.Group("/api", echo5jwt.Middleware(m))
	api.GET("/me", func(c *echo.Context) error {
		claims, _ := echo5jwt.Claims(c)
		return c.String(http.StatusOK, "hello "+claims.Subject)
	})

	get := func(auth string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	p, err := m.Issue(context.Background(), "alice", nil)
	if err != nil {
		panic(err)
	}
	get("")
	get("Bearer " + p.AccessToken)
	now = now.Add(16 * time.Minute) // past the 15-minute access TTL
	get("Bearer " + p.AccessToken)
	// Output:
	// 401 {"error":"unauthorized","error_description":"missing bearer token"}
	// 200 hello alice
	// 401 {"error":"invalid_token","error_description":"token expired"}
}
