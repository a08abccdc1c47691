package connectjwt

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/rpcproto/authrpc"
)

// Option configures NewInterceptor.
type Option func(*options)

type options struct {
	optional bool
	skip     func(ctx context.Context, procedure string) bool
	require  map[string][]*core.Requirement
	onError  func(ctx context.Context, err error) error
}

// WithOptional lets calls without any credential through anonymously (Claims then reports
// false); a call with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithSkip passes calls for which skip returns true straight to the handler, without looking
// for a token: health checks, server reflection, public procedures. procedure is
// "/package.Service/Method" (connect.Spec.Procedure). The procedures of
// jwtexp.auth.v1.AuthService a caller reaches without a token (Login, Refresh, Logout) are
// always skipped.
func WithSkip(skip func(ctx context.Context, procedure string) bool) Option {
	return func(o *options) { o.skip = skip }
}

// WithRequire checks the claims of every call of procedure ("/package.Service/Method") against
// reqs after authentication (see core.Manager.Authorize): a missing scope or a failed claims
// predicate is CodePermissionDenied, a login too old or of another class (RFC 9470) is
// CodeUnauthenticated with max_age / acr_values in the message. Each call adds to the
// procedure's requirements. It panics at setup on a nil requirement.
func WithRequire(procedure string, reqs ...*core.Requirement) Option {
	core.MustRequirements("connectjwt.WithRequire", reqs)
	return func(o *options) {
		if o.require == nil {
			o.require = map[string][]*core.Requirement{}
		}
		o.require[procedure] = append(o.require[procedure], reqs...)
	}
}

// WithErrorHandler replaces the default answer to a refused call (Error's *connect.Error). err
// matches a core sentinel; the handler's return value is what the client gets.
func WithErrorHandler(h func(ctx context.Context, err error) error) Option {
	return func(o *options) { o.onError = h }
}

// Interceptor is the connect.Interceptor of NewInterceptor.
type Interceptor struct {
	m *core.Manager
	options
}

var _ connect.Interceptor = (*Interceptor)(nil)

// NewInterceptor returns a handler interceptor that authenticates every call with m - the
// Bearer token of the call's Authorization header, over the Connect, gRPC and gRPC-Web
// protocols alike - and passes it on with the claims in its context (Claims, Custom), or refuses
// it with the error of Error. Give it to the handlers with connect.WithInterceptors:
//
//	auth := connectjwt.NewInterceptor(m)
//	mux.Handle(demov1connect.NewDemoServiceHandler(svc, connect.WithInterceptors(auth)))
//
// Streaming handlers end with their token (core.Manager.Bind): at exp plus the Manager's leeway,
// on the Manager's clock, or as soon as the token is revoked, the handler's context is canceled
// and the stream ends with CodeUnauthenticated "token expired" or the revocation's reason
// ("session revoked", "token revoked"). On clients the interceptor does nothing.
func NewInterceptor(m *core.Manager, opts ...Option) *Interceptor {
	core.MustManager(m, "connectjwt.NewInterceptor")
	in := &Interceptor{m: m}
	for _, opt := range opts {
		opt(&in.options)
	}
	if in.onError == nil {
		in.onError = func(ctx context.Context, err error) error { return in.error(ctx, err) }
	}
	return in
}

// WrapUnary implements connect.Interceptor.
func (in *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, _, err := in.authenticate(ctx, req.Spec().Procedure, req.HTTPMethod(), req.Header())
		if err != nil {
			return nil, in.onError(context.WithValue(ctx, protocolKey{}, req.Peer().Protocol), err)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor: clients pass unchanged.
func (in *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (in *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, c, err := in.authenticate(ctx, conn.Spec().Procedure, http.MethodPost, conn.RequestHeader())
		if err != nil {
			return in.onError(context.WithValue(ctx, protocolKey{}, conn.Peer().Protocol), err)
		}
		if c == nil {
			return next(ctx, conn)
		}
		ctx, release, err := authrpc.StreamContext(ctx, in.m, c)
		if err != nil {
			return in.onError(context.WithValue(ctx, protocolKey{}, conn.Peer().Protocol), err)
		}
		defer release()
		err = next(ctx, conn)
		if ended := authrpc.Ended(ctx); ended != nil {
			return in.onError(context.WithValue(ctx, protocolKey{}, conn.Peer().Protocol), ended)
		}
		return err
	}
}

func (in *Interceptor) authenticate(ctx context.Context, procedure, method string, h http.Header) (context.Context, *core.Claims, error) {
	if authrpc.Public(procedure) || (in.skip != nil && in.skip(ctx, procedure)) {
		return ctx, nil, nil
	}
	var r core.Request = header(h)
	if len(h["Dpop"]) != 0 { // only a DPoP proof needs the method and URL; this view allocates
		r = &call{header: header(h), method: method, procedure: procedure}
	}
	ctx, c, err := in.m.HTTP().AuthenticateContext(ctx, r, in.optional)
	if err != nil {
		return ctx, nil, err
	}
	if reqs := in.require[procedure]; reqs != nil {
		if err := in.m.Authorize(ctx, c, reqs...); err != nil {
			return ctx, nil, err
		}
	}
	return ctx, c, nil
}

// error is Error plus the Bearer challenge of the HTTP contract in the error's metadata
// (WWW-Authenticate, RFC 6750 §3, RFC 9470 §3), for clients that read it; not over the gRPC
// protocol, which sends error metadata as HTTP/2 trailers, where authentication fields are not
// allowed (RFC 9110 §6.5.1) and Go's server drops them.
func (in *Interceptor) error(ctx context.Context, err error) error {
	ce := Error(err)
	p := in.m.HTTP().Problem(err)
	if p.WWWAuthenticate != "" && protocol(ctx) != connect.ProtocolGRPC {
		ce.Meta().Set("WWW-Authenticate", p.WWWAuthenticate)
	}
	if p.DPoPNonce != "" { // RFC 9449 §8: the nonce a refused DPoP proof must carry next
		ce.Meta().Set("DPoP-Nonce", p.DPoPNonce)
	}
	return ce
}

type protocolKey struct{}

// protocol returns the protocol of the call of ctx, as the interceptor noted it.
func protocol(ctx context.Context) string {
	p, _ := ctx.Value(protocolKey{}).(string)
	return p
}

// Error returns the *connect.Error for an error of the Manager (see core.RPCStatus):
// CodeUnauthenticated for a missing, invalid, expired or revoked token and for a step-up refusal
// (with max_age / acr_values in the message), CodePermissionDenied for a missing scope,
// CodeInvalidArgument for a refused refresh, CodeUnavailable when the store is down. The
// message is core's short reason, never the token.
func Error(err error) *connect.Error {
	code, msg := core.RPCStatus(err)
	return connect.NewError(connect.Code(code), errors.New(msg))
}

// Claims returns the claims the interceptor verified for the call of ctx; false for anonymous
// calls (WithOptional) and skipped procedures.
func Claims(ctx context.Context) (*core.Claims, bool) { return core.ClaimsFromContext(ctx) }

// Custom decodes the application's own claims of the call's token into T (see
// core.CustomClaims); core.ErrNoClaims for anonymous calls.
func Custom[T any](ctx context.Context) (T, error) {
	c, _ := Claims(ctx)
	return core.CustomClaims[T](c)
}

// header is the core.Request view of a call's request headers: Connect, gRPC and gRPC-Web all
// carry the token in Authorization; there are no cookies, query or body to read one from.
type header http.Header

func (h header) Header(name string) (string, int) {
	v := h[name]
	if len(v) == 0 {
		return "", 0
	}
	return v[0], len(v)
}

func (header) Cookie(string) (string, int) { return "", 0 }
func (header) Query(string) (string, int)  { return "", 0 }
func (header) Body(int64) ([]byte, error)  { return nil, nil }

// call is header with the method and procedure, for calls carrying a DPoP proof.
type call struct {
	header
	method, procedure string
}

// Method implements core.RequestTarget: the call's HTTP method (POST; GET for a Connect unary
// call of an idempotent method sent as GET).
func (c *call) Method() string { return c.method }

// URL implements core.RequestTarget with the procedure's path, "/<package.Service>/<Method>".
// An interceptor does not see the HTTP request's scheme and host, so they are empty: DPoP over
// Connect needs core.WithDPoPPublicURL (the origin clients call), and the handler mounted at
// the root of that origin; without it a DPoP proof is refused ("request method and URL
// unknown"). Bearer tokens are not affected.
func (c *call) URL() (scheme, host, path string) { return "", "", c.procedure }
