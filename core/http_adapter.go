package core

import "context"

// HTTP is the Manager's side for adapters: what a middleware or a ready handler of a web framework
// needs, and an application does not. Manager.HTTP returns it. Every answer it gives - status,
// headers, body - is decided here, so the adapters (nethttpjwt, ginjwt, echojwt, echo5jwt,
// fiberjwt, fiber3jwt) only copy it to their framework's response:
//
//   - AuthenticateContext: the middleware's call, claims into the request's context;
//   - Problem: the answer to any error of the Manager (see the table of sentinels in errors.go);
//   - TokenResponse, LoginResponse: the answer to a login or refresh (RFC 6749 §5.1);
//   - ServeLogin, ServeRefresh, ServeLogout, ServeSessions, ServeEndSession,
//     ServeEndOtherSessions, ServeJWKS: the ready handlers' whole answer.
//
// An application calls the Manager's own methods (Issue, Verify, Refresh, Logout, Authorize,
// Sessions, ...); it needs HTTP only to write an adapter of its own.
type HTTP struct{ m *Manager }

// HTTP returns the Manager's side for adapters (see HTTP). It costs nothing: the value lives in
// the Manager.
func (m *Manager) HTTP() *HTTP { return &m.http }

// AuthenticateContext is Authenticate (or, with optional, AuthenticateOptional) for middleware: it
// also returns ctx carrying the claims, as ContextWithClaims would, and the claims it returns are
// those the context carries (ClaimsFromContext returns the same pointer). The claims and the
// context node are one allocation. A refused request returns (ctx, nil, err); an anonymous one in
// optional mode (ctx, nil, nil). ctx must not be nil.
func (h *HTTP) AuthenticateContext(ctx context.Context, r Request, optional bool) (context.Context, *Claims, error) {
	m := h.m
	if ctx == nil {
		panic("core.HTTP.AuthenticateContext: nil context (as context.WithValue, it needs a parent)")
	}
	token, hit, unchecked, err := m.extractProbe(r, true)
	if optional && err == errMissing {
		return ctx, nil, nil
	}
	dpop := false
	if err == errDPoPScheme {
		token, err = m.extractDPoP(r)
		dpop = true
	}
	if err != nil {
		m.rejected(ctx, err)
		if dpop {
			err = dpopRefusal(err)
		}
		return ctx, nil, err
	}
	dst := claimsDst{parent: ctx, req: r, dpop: dpop, unchecked: unchecked}
	if _, err := m.verifyInto(ctx, token, hit, &dst); err != nil {
		if dpop {
			err = dpopRefusal(err) // answered with a DPoP challenge (RFC 9449 §7.1)
		}
		return ctx, nil, err
	}
	return dst.node, &dst.node.claims, nil
}
