package connectjwt_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jwtexp/jwtexp/connectjwt"
	"github.com/jwtexp/jwtexp/connectjwt/authv1connect"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestRPCSuite runs the suite over each protocol connect-go serves, with connect-go's client.
func TestRPCSuite(t *testing.T) {
	protocols := []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}}, // no challenge: see Interceptor's doc
		{"grpcweb", []connect.ClientOption{connect.WithGRPCWeb()}},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			testutil.RunRPCSuite(t, func(t *testing.T, m *core.Manager, optional bool) testutil.RPCTarget {
				return target(t, m, optional, p.opts, p.name == "grpc")
			})
		})
	}
}

func target(t *testing.T, m *core.Manager, optional bool, copts []connect.ClientOption, noChallenge bool) testutil.RPCTarget {
	url, client := serve(t, m, optional)
	auth := authv1connect.NewAuthServiceClient(client, url, copts...)
	newUnary := func(procedure string) *connect.Client[emptypb.Empty, wrapperspb.StringValue] {
		return connect.NewClient[emptypb.Empty, wrapperspb.StringValue](client, url+procedure, copts...)
	}
	unary := map[string]*connect.Client[emptypb.Empty, wrapperspb.StringValue]{}
	for _, p := range []string{testutil.RPCMe, testutil.RPCAdmin, testutil.RPCSensitive, testutil.RPCPublic} {
		unary[p] = newUnary(p)
	}
	ticks := newUnary(testutil.RPCTicks)
	return testutil.RPCTarget{
		NoChallenge: noChallenge,
		Call: func(ctx context.Context, procedure, authorization string) testutil.RPCResult {
			resp, err := unary[procedure].CallUnary(ctx, request(&emptypb.Empty{}, authorization))
			if err != nil {
				return result(err)
			}
			return testutil.RPCResult{Subject: resp.Msg.GetValue()}
		},
		Ticks: func(ctx context.Context, authorization string, onTick func()) testutil.RPCResult {
			s, err := ticks.CallServerStream(ctx, request(&emptypb.Empty{}, authorization))
			if err != nil {
				return result(err)
			}
			defer s.Close()
			for s.Receive() {
				onTick()
			}
			return result(s.Err())
		},
		Login: func(ctx context.Context, username, password string) (string, string, testutil.RPCResult) {
			req := connect.NewRequest(&authv1.LoginRequest{Username: username, Password: password})
			if key := testutil.RPCIdempotencyKey(ctx); key != "" {
				req.Header().Set("Idempotency-Key", key)
			}
			r, err := auth.Login(ctx, req)
			if err != nil {
				return "", "", result(err)
			}
			return r.Msg.GetAccessToken(), r.Msg.GetRefreshToken(), testutil.RPCResult{}
		},
		Refresh: func(ctx context.Context, refresh string) (string, string, testutil.RPCResult) {
			req := connect.NewRequest(&authv1.RefreshRequest{RefreshToken: refresh})
			if key := testutil.RPCIdempotencyKey(ctx); key != "" {
				req.Header().Set("Idempotency-Key", key)
			}
			r, err := auth.Refresh(ctx, req)
			if err != nil {
				return "", "", result(err)
			}
			return r.Msg.GetAccessToken(), r.Msg.GetRefreshToken(), testutil.RPCResult{}
		},
		Logout: func(ctx context.Context, authorization, refresh string) testutil.RPCResult {
			_, err := auth.Logout(ctx, request(&authv1.LogoutRequest{RefreshToken: refresh}, authorization))
			return result(err)
		},
		ListSessions: func(ctx context.Context, authorization string) ([]string, testutil.RPCResult) {
			r, err := auth.ListSessions(ctx, request(&authv1.ListSessionsRequest{}, authorization))
			if err != nil {
				return nil, result(err)
			}
			var ids []string
			for _, s := range r.Msg.GetSessions() {
				ids = append(ids, s.GetId())
			}
			return ids, testutil.RPCResult{}
		},
		EndSession: func(ctx context.Context, authorization, id string) testutil.RPCResult {
			_, err := auth.EndSession(ctx, request(&authv1.EndSessionRequest{Id: id}, authorization))
			return result(err)
		},
		EndOtherSessions: func(ctx context.Context, authorization string) (int, testutil.RPCResult) {
			r, err := auth.EndOtherSessions(ctx, request(&authv1.EndOtherSessionsRequest{}, authorization))
			if err != nil {
				return 0, result(err)
			}
			return int(r.Msg.GetEnded()), testutil.RPCResult{}
		},
	}
}

// serve starts an HTTP/2 server on loopback with the suite's handlers behind the interceptor and
// returns its URL and a client for it.
func serve(t *testing.T, m *core.Manager, optional bool) (string, *http.Client) {
	t.Helper()
	opts := []connectjwt.Option{connectjwt.WithSkip(testutil.RPCSkip)}
	for procedure, reqs := range testutil.RPCRequire() {
		opts = append(opts, connectjwt.WithRequire(procedure, reqs...))
	}
	if optional {
		opts = append(opts, connectjwt.WithOptional())
	}
	intercept := connect.WithInterceptors(connectjwt.NewInterceptor(m, opts...))
	mux := http.NewServeMux()
	for _, p := range []string{testutil.RPCMe, testutil.RPCAdmin, testutil.RPCSensitive, testutil.RPCPublic} {
		mux.Handle(p, connect.NewUnaryHandler(p, subject, intercept))
	}
	mux.Handle(testutil.RPCTicks, connect.NewServerStreamHandler(testutil.RPCTicks, ticks, intercept))
	mux.Handle(connectjwt.NewAuthHandler(m, testutil.RPCLogin, intercept))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, srv.Client()
}

func subject(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
	sub := ""
	if c, ok := connectjwt.Claims(ctx); ok {
		sub = c.Subject
	}
	return connect.NewResponse(wrapperspb.String(sub)), nil
}

func ticks(ctx context.Context, _ *connect.Request[emptypb.Empty], s *connect.ServerStream[wrapperspb.StringValue]) error {
	t := time.NewTicker(testutil.RPCTickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := s.Send(wrapperspb.String("tick")); err != nil {
				return err
			}
		}
	}
}

func request[T any](msg *T, authorization string) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if authorization != "" {
		r.Header().Set("Authorization", authorization)
	}
	return r
}

func result(err error) testutil.RPCResult {
	if err == nil {
		return testutil.RPCResult{}
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return testutil.RPCResult{Code: uint32(connect.CodeUnknown), Message: err.Error()}
	}
	return testutil.RPCResult{Code: uint32(ce.Code()), Message: ce.Message(), Challenge: ce.Meta().Get("Www-Authenticate")}
}
