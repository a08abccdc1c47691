package fiber3jwt_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/fiber3jwt"
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

	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10}) // room for tokens up to core's 8 KiB limit
	api := app.Group("/api", fiber3jwt.Middleware(m))
	api.Get("/me", func(c fiber.Ctx) error {
		claims, _ := fiber3jwt.Claims(c)
		return c.SendString("hello " + claims.Subject)
	})

	get := func(auth string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := app.Test(req, fiber.TestConfig{})
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
