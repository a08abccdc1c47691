package grpcjwt_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/grpcjwt"
	"github.com/jwtexp/jwtexp/grpcjwt/authv1grpc"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestRPCSuite(t *testing.T) {
	testutil.RunRPCSuite(t, func(t *testing.T, m *core.Manager, optional bool) testutil.RPCTarget {
		conn := serve(t, m, optional)
		auth := authv1grpc.NewAuthServiceClient(conn)
		return testutil.RPCTarget{
			Call: func(ctx context.Context, procedure, authorization string) testutil.RPCResult {
				out := new(wrapperspb.StringValue)
				var header metadata.MD
				err := conn.Invoke(outgoing(ctx, authorization), procedure, new(emptypb.Empty), out, grpc.Header(&header))
				r := result(err, out.GetValue())
				if v := header.Get("www-authenticate"); len(v) > 0 {
					r.Challenge = v[0]
				}
				return r
			},
			Ticks: func(ctx context.Context, authorization string, onTick func()) testutil.RPCResult {
				s, err := conn.NewStream(outgoing(ctx, authorization), &grpc.StreamDesc{ServerStreams: true}, testutil.RPCTicks)
				if err != nil {
					return result(err, "")
				}
				if err := s.SendMsg(new(emptypb.Empty)); err != nil {
					return result(err, "")
				}
				if err := s.CloseSend(); err != nil {
					return result(err, "")
				}
				for {
					if err := s.RecvMsg(new(wrapperspb.StringValue)); err != nil {
						if errors.Is(err, io.EOF) {
							err = nil
						}
						return result(err, "")
					}
					onTick()
				}
			},
			Login: func(ctx context.Context, username, password string) (string, string, testutil.RPCResult) {
				r, err := auth.Login(withKey(ctx), &authv1.LoginRequest{Username: username, Password: password})
				return r.GetAccessToken(), r.GetRefreshToken(), result(err, "")
			},
			Refresh: func(ctx context.Context, refresh string) (string, string, testutil.RPCResult) {
				r, err := auth.Refresh(withKey(ctx), &authv1.RefreshRequest{RefreshToken: refresh})
				return r.GetAccessToken(), r.GetRefreshToken(), result(err, "")
			},
			Logout: func(ctx context.Context, authorization, refresh string) testutil.RPCResult {
				_, err := auth.Logout(outgoing(ctx, authorization), &authv1.LogoutRequest{RefreshToken: refresh})
				return result(err, "")
			},
			ListSessions: func(ctx context.Context, authorization string) ([]string, testutil.RPCResult) {
				r, err := auth.ListSessions(outgoing(ctx, authorization), &authv1.ListSessionsRequest{})
				var ids []string
				for _, s := range r.GetSessions() {
					ids = append(ids, s.GetId())
				}
				return ids, result(err, "")
			},
			EndSession: func(ctx context.Context, authorization, id string) testutil.RPCResult {
				_, err := auth.EndSession(outgoing(ctx, authorization), &authv1.EndSessionRequest{Id: id})
				return result(err, "")
			},
			EndOtherSessions: func(ctx context.Context, authorization string) (int, testutil.RPCResult) {
				r, err := auth.EndOtherSessions(outgoing(ctx, authorization), &authv1.EndOtherSessionsRequest{})
				return int(r.GetEnded()), result(err, "")
			},
		}
	})
}

// serve starts a gRPC server on loopback with the suite's services behind the interceptors and
// returns a client connection to it.
func serve(t *testing.T, m *core.Manager, optional bool) *grpc.ClientConn {
	t.Helper()
	opts := []grpcjwt.Option{grpcjwt.WithSkip(testutil.RPCSkip)}
	for method, reqs := range testutil.RPCRequire() {
		opts = append(opts, grpcjwt.WithRequire(method, reqs...))
	}
	if optional {
		opts = append(opts, grpcjwt.WithOptional())
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(m, opts...)),
		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(m, opts...)),
	)
	srv.RegisterService(&testServiceDesc, nil)
	authv1grpc.RegisterAuthServiceServer(srv, grpcjwt.NewAuthServer(m, testutil.RPCLogin))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func outgoing(ctx context.Context, authorization string) context.Context {
	if authorization == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
}

func result(err error, subject string) testutil.RPCResult {
	if err != nil {
		s := status.Convert(err)
		return testutil.RPCResult{Code: uint32(s.Code()), Message: s.Message()}
	}
	return testutil.RPCResult{Subject: subject}
}

// testServiceDesc is jwtexp.test.v1.TestService, written by hand: every unary method answers
// the subject of the call's claims, Ticks streams until its context ends.
var testServiceDesc = grpc.ServiceDesc{
	ServiceName: "jwtexp.test.v1.TestService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Me", Handler: subjectHandler("Me")},
		{MethodName: "Admin", Handler: subjectHandler("Admin")},
		{MethodName: "Sensitive", Handler: subjectHandler("Sensitive")},
		{MethodName: "Public", Handler: subjectHandler("Public")},
	},
	Streams: []grpc.StreamDesc{{StreamName: "Ticks", ServerStreams: true, Handler: ticks}},
}

func subjectHandler(name string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
		if err := dec(new(emptypb.Empty)); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) {
			sub := ""
			if c, ok := grpcjwt.Claims(ctx); ok {
				sub = c.Subject
			}
			return wrapperspb.String(sub), nil
		}
		return in(ctx, new(emptypb.Empty), &grpc.UnaryServerInfo{FullMethod: "/jwtexp.test.v1.TestService/" + name}, h)
	}
}

func ticks(_ any, s grpc.ServerStream) error {
	if err := s.RecvMsg(new(emptypb.Empty)); err != nil {
		return err
	}
	t := time.NewTicker(testutil.RPCTickEvery)
	defer t.Stop()
	for {
		select {
		case <-s.Context().Done():
			return status.FromContextError(s.Context().Err()).Err()
		case <-t.C:
			if err := s.SendMsg(wrapperspb.String("tick")); err != nil {
				return err
			}
		}
	}
}

// withKey sends the suite's idempotency key, if any, as the call's idempotency-key metadata.
func withKey(ctx context.Context) context.Context {
	if key := testutil.RPCIdempotencyKey(ctx); key != "" {
		return metadata.AppendToOutgoingContext(ctx, "idempotency-key", `"`+key+`"`)
	}
	return ctx
}
