package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
)

// Option configures Middleware.
type Option func(*options)

type options struct {
	optional bool
	skip     func(*gin.Context) bool
	onError  func(*gin.Context, error)
}

// WithOptional lets requests without any credential through anonymously (Claims then reports
// false); a request with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithSkip passes requests for which skip returns true straight to the next handler, without
// looking for a token; Claims reports false for them.
func WithSkip(skip func(*gin.Context) bool) Option { return func(o *options) { o.skip = skip } }

// WithErrorHandler replaces the default answer to a refused request (the status,
// WWW-Authenticate and JSON body, see core.HTTP.Problem). err matches a core sentinel
// (errors.Is). Whatever h does, the middleware has already recorded err with c.Error and aborts
// the chain after h returns, so a refused request never reaches the protected handler.
func WithErrorHandler(h func(c *gin.Context, err error)) Option {
	return func(o *options) { o.onError = h }
}

// Middleware authenticates every request with m. An accepted request goes on with its claims
// in c.Request's context (read them with Claims); a refused one is answered with m's error
// response (or the WithErrorHandler one), recorded with c.Error and aborted.
func Middleware(m *core.Manager, opts ...Option) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.Middleware")
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(c *gin.Context, err error) { m.HTTP().Problem(err).Write(c.Writer) }
	}
	return func(c *gin.Context) {
		if o.skip != nil && o.skip(c) {
			c.Next()
			return
		}
		ctx, claims, err := m.HTTP().AuthenticateContext(c.Request.Context(), core.HTTPRequest(c.Request), o.optional)
		if err != nil {
			_ = c.Error(err)
			o.onError(c, err)
			c.Abort()
			return
		}
		if claims != nil {
			// Only in the request context (not also c.Set, whose map costs two allocations per
			// request): Claims reads it from there, and so does net/http-style code.
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
	}
}

// Claims returns the claims Middleware verified for c's request; false for anonymous requests
// (WithOptional, WithSkip) and routes without the middleware.
func Claims(c *gin.Context) (*core.Claims, bool) {
	return core.ClaimsFromContext(c.Request.Context())
}

// Custom decodes the application's own claims of c's token into T (see core.CustomClaims). The
// error is core.ErrNoClaims for anonymous requests, or the decode error when the claims do not
// fit T; T is then its zero value, never half-decoded.
func Custom[T any](c *gin.Context) (T, error) {
	claims, _ := Claims(c)
	return core.CustomClaims[T](claims)
}

// RefreshHandler answers POST refresh requests (see core.HTTP.ServeRefresh): the refresh token
// in a JSON body or the refresh cookie, a new token pair in the same transport, 400 invalid_grant
// on any refusal.
func RefreshHandler(m *core.Manager) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.RefreshHandler")
	return func(c *gin.Context) {
		m.HTTP().ServeRefresh(c.Request.Context(), core.HTTPRequest(c.Request)).Write(c.Writer)
	}
}

// LogoutHandler answers POST logout requests (see core.HTTP.ServeLogout): it revokes the
// session of the Bearer access token (which may have just expired) and/or of the refresh token,
// clears the refresh cookie and answers 204.
func LogoutHandler(m *core.Manager) gin.HandlerFunc {
	core.MustManager(m, "ginjwt.LogoutHandler")
	return func(c *gin.Context) {
		m.HTTP().ServeLogout(c.Request.Context(), core.HTTPRequest(c.Request)).Write(c.Writer)
	}
}

// WriteTokens answers a login request the application has authenticated with the pair from
// m.Issue (RFC 6749 §5.1 JSON, Cache-Control: no-store); the refresh token goes into the HttpOnly
// cookie when the request carries "X-Refresh-Transport: cookie".
func WriteTokens(c *gin.Context, m *core.Manager, p *core.TokenPair) {
	m.HTTP().LoginResponse(core.HTTPRequest(c.Request), p).Write(c.Writer)
}

// WriteError answers c with m's response for err (status, WWW-Authenticate, JSON body), records err with c.Error and
// aborts the chain, for handlers that call the Manager themselves.
func WriteError(c *gin.Context, m *core.Manager, err error) {
	if err != nil { // gin's c.Error panics on nil; m.HTTP().Problem(nil) is a 500
		_ = c.Error(err)
	}
	m.HTTP().Problem(err).Write(c.Writer)
	c.Abort()
}
