package nethttpjwt

import (
	"net/http"

	"github.com/jwtexp/jwtexp/core"
)

// Option configures Middleware.
type Option func(*options)

type options struct {
	optional bool
	skip     func(*http.Request) bool
	onError  func(http.ResponseWriter, *http.Request, error)
}

// WithOptional lets requests without any credential through anonymously (Claims then reports
// false); a request with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithSkip passes requests for which skip returns true straight to the next handler, without
// looking for a token.
func WithSkip(skip func(*http.Request) bool) Option { return func(o *options) { o.skip = skip } }

// WithErrorHandler replaces the default answer to a refused request (the status,
// WWW-Authenticate and JSON body, see core.HTTP.Problem). err matches a core sentinel.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(o *options) { o.onError = h }
}

// Middleware authenticates every request with m and passes it on with the claims in its context,
// or answers it with m's error response.
func Middleware(m *core.Manager, opts ...Option) func(http.Handler) http.Handler {
	core.MustManager(m, "nethttpjwt.Middleware")
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(w http.ResponseWriter, _ *http.Request, err error) { m.HTTP().Problem(err).Write(w) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.skip != nil && o.skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			ctx, c, err := m.HTTP().AuthenticateContext(r.Context(), core.HTTPRequest(r), o.optional)
			if err != nil {
				o.onError(w, r, err)
				return
			}
			if c != nil {
				r = r.WithContext(ctx)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Claims returns the claims Middleware verified for r; false for anonymous requests.
func Claims(r *http.Request) (*core.Claims, bool) { return core.ClaimsFromContext(r.Context()) }

// Custom decodes the application's own claims of r's token into T (see core.CustomClaims). The
// error is core.ErrNoClaims for anonymous requests, or the decode error when the claims do not
// fit T; T is then its zero value, never half-decoded.
func Custom[T any](r *http.Request) (T, error) {
	claims, _ := Claims(r)
	return core.CustomClaims[T](claims)
}

// RefreshHandler answers POST refresh requests (see core.HTTP.ServeRefresh): the refresh token
// in a JSON body or the refresh cookie, a new token pair in the same transport, 400 invalid_grant
// on any refusal.
func RefreshHandler(m *core.Manager) http.Handler {
	core.MustManager(m, "nethttpjwt.RefreshHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.HTTP().ServeRefresh(r.Context(), core.HTTPRequest(r)).Write(w)
	})
}

// LogoutHandler answers POST logout requests (see core.HTTP.ServeLogout): it revokes the
// session of the Bearer access token (which may have just expired) and/or of the refresh token,
// clears the refresh cookie and answers 204.
func LogoutHandler(m *core.Manager) http.Handler {
	core.MustManager(m, "nethttpjwt.LogoutHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.HTTP().ServeLogout(r.Context(), core.HTTPRequest(r)).Write(w)
	})
}

// WriteTokens answers a login request the application has authenticated with the pair from
// m.Issue (RFC 6749 §5.1 JSON, Cache-Control: no-store); the refresh token goes into the HttpOnly
// cookie when the request carries "X-Refresh-Transport: cookie".
func WriteTokens(w http.ResponseWriter, r *http.Request, m *core.Manager, p *core.TokenPair) {
	m.HTTP().LoginResponse(core.HTTPRequest(r), p).Write(w)
}

// WriteError answers a request with m's response for err (status, WWW-Authenticate, JSON body), for handlers that call the
// Manager themselves.
func WriteError(w http.ResponseWriter, m *core.Manager, err error) { m.HTTP().Problem(err).Write(w) }
