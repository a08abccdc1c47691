package core

import "context"

type claimsKey struct{}

// ContextWithClaims returns a copy of ctx carrying c (see ClaimsFromContext). Middleware gets the
// same from AuthenticateContext in one allocation.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims stored by ContextWithClaims or AuthenticateContext; ok is
// false for anonymous requests (optional mode) and routes without the middleware.
func ClaimsFromContext(ctx context.Context) (c *Claims, ok bool) {
	c, ok = ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// claimsContext is a request's context plus the claims verified for it, allocated together: a
// middleware answering a token from the verified-token cache then allocates once per request
// instead of twice (the claims' copy and the context node). Cancellation, deadline and every
// other value come from the embedded parent, as with context.WithValue.
type claimsContext struct {
	context.Context
	claims Claims
}

func (c *claimsContext) Value(key any) any {
	if _, ok := key.(claimsKey); ok {
		return &c.claims
	}
	return c.Context.Value(key)
}

func (c *claimsContext) String() string { return "core.ContextWithClaims" }

// claimsDst says where verification writes the claims it accepts: a nil *claimsDst, memory of
// their own; else a claimsContext on parent, allocated only once the token's signature and
// claims passed, so that a token refused by them costs no node (one refused by the revocation
// check afterwards does).
type claimsDst struct {
	parent context.Context
	node   *claimsContext
	// req is the request the token came with (nil for Verify), dpop whether its Authorization
	// header used the DPoP scheme: verifyInto checks the DPoP proof with them.
	req  Request
	dpop bool
	// unchecked: the token came from the Authorization header and was not searched for blanks
	// and commas (extractProbe); a refusal of it then answers ErrInvalidRequest if it has any.
	unchecked bool
}

// claims returns where to write the claims of an accepted token.
func (d *claimsDst) claims() *Claims {
	if d == nil || d.parent == nil {
		return new(Claims)
	}
	d.node = &claimsContext{Context: d.parent}
	return &d.node.claims
}
