package echo5jwt

import (
	"github.com/labstack/echo/v5"

	"github.com/jwtexp/jwtexp/core"
)

// Option configures Middleware.
type Option func(*options)

type options struct {
	optional bool
	skipper  func(*echo.Context) bool
	onError  func(*echo.Context, error) error
}

// WithOptional lets requests without any credential through anonymously (Claims then reports
// false); a request with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithSkipper passes requests for which skipper returns true straight to the next handler,
// without looking for a token; Claims reports false for them. A middleware.Skipper of Echo's
// middleware package can be passed as it is (same underlying type); the parameter is spelled out
// so that this package does not import echo/v5/middleware.
func WithSkipper(skipper func(c *echo.Context) bool) Option {
	return func(o *options) { o.skipper = skipper }
}

// WithErrorHandler replaces the default handling of a refused request (returning an *Error): h
// is called with core's error (which matches a core sentinel, errors.Is) and what it returns is
// what the middleware returns - nil when h answered the request itself (for instance with
// WriteError), an error for Echo's HTTPErrorHandler otherwise. No header has been set when h runs.
func WithErrorHandler(h func(c *echo.Context, err error) error) Option {
	return func(o *options) { o.onError = h }
}

// Middleware authenticates every request with m. An accepted request goes on with its claims
// in c.Request()'s context (read them with Claims); for a refused one the middleware sets core's
// headers (WWW-Authenticate, Cache-Control, Retry-After on a 503) and returns an *Error, which Echo's default
// HTTPErrorHandler renders as core's status and JSON body (see WithErrorHandler for the
// alternative).
func Middleware(m *core.Manager, opts ...Option) echo.MiddlewareFunc {
	core.MustManager(m, "echo5jwt.Middleware")
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(c *echo.Context, err error) error { return refusal(c, m, err) }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if o.skipper != nil && o.skipper(c) {
				return next(c)
			}
			r := c.Request()
			ctx, claims, err := m.HTTP().AuthenticateContext(r.Context(), core.HTTPRequest(r), o.optional)
			if err != nil {
				return o.onError(c, err)
			}
			if claims != nil {
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// refusal sets the headers of core's answer for err but Content-Type, and returns it as an
// *Error: the application's error handler writes status and body and labels them (Echo's
// default handler renders the Error as JSON).
func refusal(c *echo.Context, m *core.Manager, err error) error {
	p := m.HTTP().Problem(err)
	p.SetControlHeaders(c.Response().Header())
	return &Error{Err: err, Response: p}
}

// Claims returns the claims Middleware verified for c's request; false for anonymous requests
// (WithOptional, WithSkipper) and routes without the middleware.
func Claims(c *echo.Context) (*core.Claims, bool) {
	return core.ClaimsFromContext(c.Request().Context())
}

// Custom decodes the application's own claims of c's token into T (see core.CustomClaims). The
// error is core.ErrNoClaims for anonymous requests (WithOptional, WithSkipper, a route
// without the middleware), or the decode error when the claims do not fit T; T is then its zero
// value, never half-decoded.
func Custom[T any](c *echo.Context) (T, error) {
	claims, _ := Claims(c)
	return core.CustomClaims[T](claims)
}

// RefreshHandler answers POST refresh requests (see core.HTTP.ServeRefresh): the refresh token
// in a JSON body or the refresh cookie, a new token pair in the same transport, 400 invalid_grant
// on any refusal. It always returns nil: the answer, refusals included, is written.
func RefreshHandler(m *core.Manager) echo.HandlerFunc {
	core.MustManager(m, "echo5jwt.RefreshHandler")
	return func(c *echo.Context) error {
		r := c.Request()
		m.HTTP().ServeRefresh(r.Context(), core.HTTPRequest(r)).Write(c.Response())
		return nil
	}
}

// LogoutHandler answers POST logout requests (see core.HTTP.ServeLogout): it revokes the
// session of the Bearer access token (which may have just expired) and/or of the refresh token,
// clears the refresh cookie and answers 204. It always returns nil: the answer is written.
func LogoutHandler(m *core.Manager) echo.HandlerFunc {
	core.MustManager(m, "echo5jwt.LogoutHandler")
	return func(c *echo.Context) error {
		r := c.Request()
		m.HTTP().ServeLogout(r.Context(), core.HTTPRequest(r)).Write(c.Response())
		return nil
	}
}

// WriteTokens answers a login request the application has authenticated with the pair from
// m.Issue (RFC 6749 §5.1 JSON, Cache-Control: no-store); the refresh token goes into the HttpOnly
// cookie when the request carries "X-Refresh-Transport: cookie". It returns nil, so a handler can
// end with return echo5jwt.WriteTokens(c, m, p).
func WriteTokens(c *echo.Context, m *core.Manager, p *core.TokenPair) error {
	m.HTTP().LoginResponse(core.HTTPRequest(c.Request()), p).Write(c.Response())
	return nil
}

// WriteError answers c with m's response for err (status, WWW-Authenticate challenge, JSON
// body), for handlers that call the Manager themselves or a WithErrorHandler that answers
// directly. It returns nil: the answer is written.
func WriteError(c *echo.Context, m *core.Manager, err error) error {
	m.HTTP().Problem(err).Write(c.Response())
	return nil
}
