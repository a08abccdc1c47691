package benchmarks_test

import (
	"context"
	"errors"
	"net"
	"testing"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/jwtexp/jwtexp/grpcjwt"
)

// BenchmarkGRPC measures grpcjwt's unary interceptor against no interceptor ("bare") and against
// grpc-ecosystem/go-grpc-middleware v2's auth interceptor with golang-jwt v5 doing what the
// interceptor leaves to the application ("grpc-middleware": algorithm pinned, exp required,
// issuer and audience checked, claims put in the context).
//
//   - path=interceptor: the interceptor called directly with a context carrying the incoming
//     metadata, as the server calls it, and a handler that returns at once: the interceptor's own
//     cost.
//   - path=call: one unary call through a real grpc-go client and server over an in-memory
//     connection (bufconn): the interceptor's share of a whole call.
func BenchmarkGRPC(b *testing.B) {
	for _, alg := range []string{"HS256", "ES256"} {
		fx := newFixture(b, alg)
		peer := grpcauth.UnaryServerInterceptor(grpcMiddlewarePeer(fx))
		impls := []struct {
			name string
			in   grpc.UnaryServerInterceptor
		}{
			{"bare", nil},
			{"jwtexp", grpcjwt.UnaryServerInterceptor(fx.m)},
			{"jwtexp-nocache", grpcjwt.UnaryServerInterceptor(fx.noCache)},
			{"grpc-middleware", peer},
		}
		for _, cas := range []string{"valid", "expired"} {
			for _, im := range impls {
				if im.name == "bare" && (alg != "HS256" || cas != "valid") {
					continue // the bare call ignores the token: measured once
				}
				if im.name == "jwtexp-nocache" && cas != "valid" {
					continue // refused tokens never enter the cache
				}
				want := codes.OK
				if cas != "valid" && im.in != nil {
					want = codes.Unauthenticated
				}
				name := "alg=" + alg + "/case=" + cas + "/impl=" + im.name
				b.Run("path=interceptor/"+name, func(b *testing.B) {
					benchInterceptor(b, im.in, fx.authorization[cas], want)
				})
				b.Run("path=call/"+name, func(b *testing.B) {
					benchCall(b, im.in, fx.authorization[cas], want)
				})
			}
		}
	}
}

var benchInfo = &grpc.UnaryServerInfo{FullMethod: "/jwtexp.bench.v1.Bench/Me"}

func okHandler(context.Context, any) (any, error) { return nil, nil }

func benchInterceptor(b *testing.B, in grpc.UnaryServerInterceptor, authorization string, want codes.Code) {
	if in == nil {
		in = func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", authorization))
	if _, err := in(ctx, nil, benchInfo, okHandler); status.Code(err) != want {
		b.Fatalf("got %v, want %v", err, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = in(ctx, nil, benchInfo, okHandler)
	}
}

func benchCall(b *testing.B, in grpc.UnaryServerInterceptor, authorization string, want codes.Code) {
	var opts []grpc.ServerOption
	if in != nil {
		opts = append(opts, grpc.UnaryInterceptor(in))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "jwtexp.bench.v1.Bench",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Me", Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := new(emptypb.Empty)
			if err := dec(req); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { return req, nil }
			if in == nil {
				return h(ctx, req)
			}
			return in(ctx, req, benchInfo, h)
		}}},
	}, nil)
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", authorization)
	call := func() error { return conn.Invoke(ctx, benchInfo.FullMethod, new(emptypb.Empty), new(emptypb.Empty)) }
	if err := call(); status.Code(err) != want {
		b.Fatalf("got %v, want %v", err, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = call()
	}
}

type peerClaimsKey struct{}

// grpcMiddlewarePeer is the AuthFunc an application writes for go-grpc-middleware's auth
// interceptor with golang-jwt v5, configured as strictly as jwtexp: the algorithm pinned, exp
// required, issuer and audience checked; the claims go into the context.
func grpcMiddlewarePeer(fx *fixture) grpcauth.AuthFunc {
	parser := jwtv5.NewParser(jwtv5.WithValidMethods([]string{fx.alg}), jwtv5.WithExpirationRequired(),
		jwtv5.WithIssuer(issuer), jwtv5.WithAudience(audience))
	keyFunc := func(*jwtv5.Token) (any, error) { return fx.verifyKey, nil }
	return func(ctx context.Context) (context.Context, error) {
		token, err := grpcauth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		claims := new(jwtv5.RegisteredClaims)
		if _, err := parser.ParseWithClaims(token, claims, keyFunc); err != nil {
			if errors.Is(err, jwtv5.ErrTokenExpired) {
				return nil, status.Error(codes.Unauthenticated, "token expired")
			}
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		return context.WithValue(ctx, peerClaimsKey{}, claims), nil
	}
}
