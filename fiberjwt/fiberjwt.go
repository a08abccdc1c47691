package fiberjwt

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtexp/jwtexp/core"
)

// Option configures Middleware.
type Option func(*options)

type options struct {
	optional bool
	next     func(*fiber.Ctx) bool
	onError  func(*fiber.Ctx, error) error
}

// WithOptional lets requests without any credential through anonymously (Claims then reports
// false); a request with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithNext passes requests for which next returns true straight to the next handler, without
// looking for a token (Fiber's Next convention); Claims reports false for them.
func WithNext(next func(c *fiber.Ctx) bool) Option { return func(o *options) { o.next = next } }

// WithErrorHandler replaces the answer to a refused request: h is called with the error (which
// matches a core sentinel, errors.Is) and what it returns is what the middleware returns - nil
// when h answered the request itself, an error for the app's fiber.Config.ErrorHandler otherwise.
func WithErrorHandler(h func(c *fiber.Ctx, err error) error) Option {
	return func(o *options) { o.onError = h }
}

// Middleware authenticates every request with m, passing c.UserContext() to the Manager (and so
// to the store). An accepted request goes on with its claims in c.UserContext() (see Claims), the
// one place they are kept; a refused one is answered with m's error response and the middleware returns
// nil (see WithErrorHandler for the alternative).
func Middleware(m *core.Manager, opts ...Option) fiber.Handler {
	core.MustManager(m, "fiberjwt.Middleware")
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(c *fiber.Ctx, err error) error { return WriteError(c, m, err) }
	}
	return func(c *fiber.Ctx) error {
		if o.next != nil && o.next(c) {
			return c.Next()
		}
		ctx, claims, err := m.HTTP().AuthenticateContext(userContext(c), viewRequest{fasthttpRequest{c.Request()}}, o.optional)
		if err != nil {
			return o.onError(c, err)
		}
		if claims != nil {
			// The claims' strings were decoded from the token into memory of their own, not
			// fasthttp's buffers: they stay valid after the handler returns. ctx is the one
			// place they are kept (Claims reads them from it): storing them once more, in
			// c.Locals, cost about 190 instructions per request.
			c.SetUserContext(ctx)
		}
		return c.Next()
	}
}

// userContextKey is the name under which Fiber v2 keeps a request's context among the fasthttp
// request's user values (the constant userContextKey of fiber/v2's ctx.go; Fiber's own
// UserContext and SetUserContext use it, and TestUserContextKey fails if Fiber renames it).
const userContextKey = "__local_user_context__"

// userContext is c.UserContext() without its side effect: a request whose handlers set no context
// yet gets context.Background() as the parent of the claims' context, which Middleware then
// stores, instead of UserContext storing Background first (one fasthttp user-value store less per
// request: about 50 instructions of a cache hit's 1,600).
func userContext(c *fiber.Ctx) context.Context {
	if ctx, ok := c.Context().UserValue(userContextKey).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

// Claims returns the claims Middleware verified for c's request; false for anonymous requests
// (WithOptional, WithNext) and routes without the middleware. It reads them from c.UserContext()
// (core.ClaimsFromContext): a handler that replaces that context should derive the new one from
// it, as context.WithValue does, or Claims no longer finds them.
func Claims(c *fiber.Ctx) (*core.Claims, bool) {
	return core.ClaimsFromContext(c.UserContext())
}

// Custom decodes the application's own claims of c's token into T (see core.CustomClaims). The
// error is core.ErrNoClaims for anonymous requests, or the decode error when the claims do not
// fit T; T is then its zero value, never half-decoded.
func Custom[T any](c *fiber.Ctx) (T, error) {
	claims, _ := Claims(c)
	return core.CustomClaims[T](claims)
}

// RefreshHandler answers POST refresh requests (see core.HTTP.ServeRefresh): the refresh token
// in a JSON body or the refresh cookie, a new token pair in the same transport, 400 invalid_grant
// on any refusal. It returns nil: the answer is written.
func RefreshHandler(m *core.Manager) fiber.Handler {
	core.MustManager(m, "fiberjwt.RefreshHandler")
	return func(c *fiber.Ctx) error {
		return WriteResponse(c, m.HTTP().ServeRefresh(c.UserContext(), Request(c)))
	}
}

// LogoutHandler answers POST logout requests (see core.HTTP.ServeLogout): it revokes the
// session of the Bearer access token (which may have just expired) and/or of the refresh token,
// clears the refresh cookie and answers 204. It returns nil: the answer is written.
func LogoutHandler(m *core.Manager) fiber.Handler {
	core.MustManager(m, "fiberjwt.LogoutHandler")
	return func(c *fiber.Ctx) error {
		return WriteResponse(c, m.HTTP().ServeLogout(c.UserContext(), Request(c)))
	}
}

// WriteTokens answers a login request the application has authenticated with the pair from
// m.Issue (RFC 6749 §5.1 JSON, Cache-Control: no-store); the refresh token goes into the HttpOnly
// cookie when the request carries "X-Refresh-Transport: cookie". It returns nil, so a handler can
// end with return fiberjwt.WriteTokens(c, m, p).
func WriteTokens(c *fiber.Ctx, m *core.Manager, p *core.TokenPair) error {
	return WriteResponse(c, m.HTTP().LoginResponse(Request(c), p))
}

// WriteError answers c with m's response for err (status, WWW-Authenticate, JSON body), for handlers that call the Manager
// themselves. It returns nil: the answer is written.
func WriteError(c *fiber.Ctx, m *core.Manager, err error) error {
	return WriteResponse(c, m.HTTP().Problem(err))
}
