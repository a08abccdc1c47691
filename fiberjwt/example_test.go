package fiberjwt_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fiberjwt"
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

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	api := app.Group("/api", fiberjwt.Middleware(m))
	api.Get("/me", func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.SendString("hello " + claims.Subject)
	})

	get := func(auth string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
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
