// Package ginjwt is the Gin adapter of jwtexp: JWT authentication with correct expiry as a
// gin.HandlerFunc for router.Use or a route group.
//
//	go get github.com/jwtexp/jwtexp/ginjwt
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := gin.New()
//	r.POST("/refresh", ginjwt.RefreshHandler(m))
//	r.POST("/logout", ginjwt.LogoutHandler(m))
//	api := r.Group("/api", ginjwt.Middleware(m))
//	api.GET("/me", func(c *gin.Context) {
//		claims, _ := ginjwt.Claims(c)
//		c.JSON(http.StatusOK, gin.H{"sub": claims.Subject})
//	})
//
// A refused request is answered with the status, WWW-Authenticate challenge and JSON body that
// core.HTTP.Problem decides (the same answer in every jwtexp adapter), recorded with c.Error
// so that logging middleware sees it, and aborted. Behind the middleware, Claims and Custom read
// the verified claims; they are stored in c.Request's context (not in the gin.Context's map,
// which would cost allocations per request), so net/http-style code
// (core.ClaimsFromContext(r.Context())) finds them too.
//
// Every decision - which token is accepted, which status and body a refusal gets - is made by
// core.Manager (see package github.com/jwtexp/jwtexp/core); this package only translates it to
// Gin.
//
// LoginHandler answers logins with the application's own credential check. RequireScope,
// RequireAnyScope, Require (a predicate on the custom claims: roles) and RequireStepUp (a recent
// login, RFC 9470) go after Middleware, on a group or a route:
//
//	r.POST("/login", ginjwt.LoginHandler(m, authenticate))
//	api.GET("/admin", ginjwt.RequireScope(m, "admin"), admin)
//
// Mistakes in the setup fail when the route is built, not on its first request: every
// constructor of a middleware or handler panics when given a nil *core.Manager, Authorize when
// given no requirement, or a nil one or one no core.Require* constructor built, and
// EndSessionHandler when given an empty route parameter name.
package ginjwt
