package core

import "context"

type claimsKey struct{}

// ContextWithClaims returns a copy of ctx carrying c. The adapters call it after authentication.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims stored by ContextWithClaims; ok is false for anonymous
// requests (optional mode) and routes without the middleware.
func ClaimsFromContext(ctx context.Context) (c *Claims, ok bool) {
	c, ok = ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}
