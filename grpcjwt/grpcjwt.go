package grpcjwt

import (
	"context"
	"strings"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/rpcproto/authrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Option configures the interceptors.
type Option func(*options)

type options struct {
	optional bool
	skip     func(ctx context.Context, fullMethod string) bool
	require  map[string][]*core.Requirement
	onError  func(ctx context.Context, err error) error
}

// WithOptional lets calls without any credential through anonymously (Claims then reports
// false); a call with a bad credential is still refused.
func WithOptional() Option { return func(o *options) { o.optional = true } }

// WithSkip passes calls for which skip returns true straight to the handler, without looking
// for a token: health checks, server reflection, public methods. fullMethod is
// "/package.Service/Method", as go-grpc-middleware's selector matches it. The methods of
// jwtexp.auth.v1.AuthService a caller reaches without a token (Login, Refresh, Logout) are
// always skipped.
func WithSkip(skip func(ctx context.Context, fullMethod string) bool) Option {
	return func(o *options) { o.skip = skip }
}

// WithRequire checks the claims of every call of fullMethod ("/package.Service/Method") against
// reqs after authentication (see core.Manager.Authorize): a missing scope or a failed claims
// predicate is PermissionDenied, a login too old or of another class (RFC 9470) is
// Unauthenticated with max_age / acr_values in the message. Each call adds to the method's
// requirements. It panics at setup on a nil requirement.
func WithRequire(fullMethod string, reqs ...*core.Requirement) Option {
	core.MustRequirements("grpcjwt.WithRequire", reqs)
	return func(o *options) {
		if o.require == nil {
			o.require = map[string][]*core.Requirement{}
		}
		o.require[fullMethod] = append(o.require[fullMethod], reqs...)
	}
}

// WithErrorHandler replaces the default answer to a refused call (Error's status). err matches
// a core sentinel; the handler's return value is what the client gets.
func WithErrorHandler(h func(ctx context.Context, err error) error) Option {
	return func(o *options) { o.onError = h }
}

type interceptor struct {
	m *core.Manager
	options
}

func newInterceptor(m *core.Manager, who string, opts []Option) *interceptor {
	core.MustManager(m, who)
	in := &interceptor{m: m}
	for _, opt := range opts {
		opt(&in.options)
	}
	if in.onError == nil {
		in.onError = func(_ context.Context, err error) error { return Error(err) }
	}
	return in
}

// authenticate verifies the call's token and applies the method's requirements; it returns the
// context the handler gets.
func (in *interceptor) authenticate(ctx context.Context, fullMethod string) (context.Context, *core.Claims, error) {
	if authrpc.Public(fullMethod) || (in.skip != nil && in.skip(ctx, fullMethod)) {
		return ctx, nil, nil
	}
	ctx, c, err := in.m.HTTP().AuthenticateContext(ctx, incoming{ctx}, in.optional)
	if err != nil {
		return ctx, nil, err
	}
	if reqs := in.require[fullMethod]; reqs != nil {
		if err := in.m.Authorize(ctx, c, reqs...); err != nil {
			return ctx, nil, err
		}
	}
	return ctx, c, nil
}

// UnaryServerInterceptor authenticates every unary call with m - the Bearer token of the
// call's authorization metadata - and passes it to the handler with the claims in its context
// (Claims, Custom), or refuses it with the status of Error.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(m)),
//		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(m)),
//	)
func UnaryServerInterceptor(m *core.Manager, opts ...Option) grpc.UnaryServerInterceptor {
	in := newInterceptor(m, "grpcjwt.UnaryServerInterceptor", opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _, err := in.authenticate(ctx, info.FullMethod)
		if err != nil {
			if v := in.challenge(err); v != nil {
				_ = grpc.SetHeader(ctx, v)
			}
			return nil, in.onError(ctx, err)
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams, and a stream ends with its
// token (core.Manager.Bind): when the token expires (exp plus the Manager's leeway, on the
// Manager's clock) or is revoked (logout, end of the session, "log out everywhere"), the
// handler's context is canceled and the stream ends with Unauthenticated "token expired" or the
// revocation's reason ("session revoked", "token revoked"), even if the handler returned another
// error because its context ended.
func StreamServerInterceptor(m *core.Manager, opts ...Option) grpc.StreamServerInterceptor {
	in := newInterceptor(m, "grpcjwt.StreamServerInterceptor", opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, c, err := in.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return in.streamError(ss, err)
		}
		if c == nil {
			return handler(srv, ss)
		}
		ctx, release, err := authrpc.StreamContext(ctx, m, c)
		if err != nil {
			return in.streamError(ss, err)
		}
		defer release()
		err = handler(srv, &stream{ServerStream: ss, ctx: ctx})
		if ended := authrpc.Ended(ctx); ended != nil {
			return in.streamError(ss, ended)
		}
		return err
	}
}

func (in *interceptor) streamError(ss grpc.ServerStream, err error) error {
	if v := in.challenge(err); v != nil {
		_ = ss.SetHeader(v)
	}
	return in.onError(ss.Context(), err)
}

// challenge returns the refusal's Bearer challenge of the HTTP contract as header metadata
// www-authenticate, for clients that read it (RFC 6750 §3, RFC 9470 §3), or nil. A header, not a
// trailer: HTTP forbids authentication fields in trailers (RFC 9110 §6.5.1).
func (in *interceptor) challenge(err error) metadata.MD {
	p := in.m.HTTP().Problem(err)
	var md metadata.MD
	if p.WWWAuthenticate != "" {
		md = metadata.Pairs("www-authenticate", p.WWWAuthenticate)
	}
	if p.DPoPNonce != "" { // RFC 9449 §8: the nonce a refused DPoP proof must carry next
		md = metadata.Join(md, metadata.Pairs("dpop-nonce", p.DPoPNonce))
	}
	return md
}

// stream is a ServerStream whose context carries the claims and ends with the token.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// Error returns the gRPC status for an error of the Manager (see core.RPCStatus):
// Unauthenticated for a missing, invalid, expired or revoked token and for a step-up refusal
// (with max_age / acr_values in the message), PermissionDenied for a missing scope,
// InvalidArgument for a refused refresh, Unavailable when the store is down. The message is
// core's short reason, never the token.
func Error(err error) error {
	code, msg := core.RPCStatus(err)
	return status.Error(codes.Code(code), msg)
}

// Claims returns the claims the interceptor verified for the call of ctx; false for anonymous
// calls (WithOptional) and skipped methods.
func Claims(ctx context.Context) (*core.Claims, bool) { return core.ClaimsFromContext(ctx) }

// Custom decodes the application's own claims of the call's token into T (see
// core.CustomClaims); core.ErrNoClaims for anonymous calls.
func Custom[T any](ctx context.Context) (T, error) {
	c, _ := Claims(ctx)
	return core.CustomClaims[T](c)
}

// incoming is the core.Request view of a call's incoming metadata: headers only (gRPC has no
// cookies, query or body for a token). Metadata keys are lower case.
type incoming struct{ ctx context.Context }

func (r incoming) Header(name string) (string, int) {
	key := "authorization"
	if name != "Authorization" {
		key = strings.ToLower(name)
	}
	if name == "User-Agent" {
		key = "user-agent"
	}
	v := metadata.ValueFromIncomingContext(r.ctx, key)
	if len(v) == 0 {
		return "", 0
	}
	return v[0], len(v)
}

// Method implements core.RequestTarget: every gRPC call is an HTTP/2 POST.
func (incoming) Method() string { return "POST" }

// URL implements core.RequestTarget with the HTTP/2 request gRPC makes: scheme "https" when the
// connection is TLS, host the :authority pseudo-header, path "/<package.Service>/<Method>". So a
// DPoP proof for a gRPC call names POST and https://<authority>/<package.Service>/<Method>
// (with core.WithDPoPPublicURL, that origin instead of the connection's).
func (r incoming) URL() (scheme, host, path string) {
	scheme = "http"
	if p, ok := peer.FromContext(r.ctx); ok {
		if _, tls := p.AuthInfo.(credentials.TLSInfo); tls {
			scheme = "https"
		}
	}
	if v := metadata.ValueFromIncomingContext(r.ctx, ":authority"); len(v) == 1 {
		host = v[0]
	}
	path, _ = grpc.Method(r.ctx)
	return scheme, host, path
}

func (incoming) Cookie(string) (string, int) { return "", 0 }
func (incoming) Query(string) (string, int)  { return "", 0 }
func (incoming) Body(int64) ([]byte, error)  { return nil, nil }
