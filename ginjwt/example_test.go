package ginjwt_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/ginjwt"
)

func ExampleMiddleware() {
	gin.SetMode(gin.ReleaseMode) // no route listing on stdout
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

	r := gin.New()
	api := r.Group("/api", ginjwt.Middleware(m))
	api.GET("/me", func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		c.String(http.StatusOK, "hello %s", claims.Subject)
	})

	get := func(auth string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
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
