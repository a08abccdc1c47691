package grpcjwt

import (
	"context"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/grpcjwt/authv1grpc"
	"github.com/jwtexp/jwtexp/rpcproto/authrpc"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/grpc/metadata"
)

// LoginFunc is the application's credential check for AuthService.Login: the user's subject
// and custom claims (nil for none), or an error matching core.ErrInvalidCredentials for a wrong
// username or password (Unauthenticated "invalid username or password"). Another error is
// answered Internal "internal error" and logged, never shown (core.ErrStoreUnavailable:
// Unavailable).
type LoginFunc = authrpc.LoginFunc

// NewAuthServer returns the gRPC handlers of jwtexp.auth.v1.AuthService over m, for
// authv1grpc.RegisterAuthServiceServer. login checks credentials (nil: Login answers
// Unimplemented). ListSessions, EndSession and EndOtherSessions need the interceptors in front
// (they read the caller's claims); Login, Refresh and Logout are skipped by them. Refresh
// refusals are InvalidArgument (RFC 6749 §5.2 invalid_grant); Logout reads the authorization
// metadata itself and accepts an access token that has just expired. Login and Refresh honor the
// call's idempotency-key metadata: a retry with the same key after a lost answer gets the session
// (or the rotation) of the first attempt, not a second session or a reuse verdict.
func NewAuthServer(m *core.Manager, login LoginFunc) authv1grpc.AuthServiceServer {
	return &authServer{s: authrpc.New(m, login)}
}

type authServer struct {
	authv1grpc.UnimplementedAuthServiceServer
	s *authrpc.Service
}

func (a *authServer) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.TokenResponse, error) {
	return wrap(a.s.Login(ctx, req, authrpc.IdempotencyKey(metadata.ValueFromIncomingContext(ctx, "idempotency-key"))))
}

func (a *authServer) Refresh(ctx context.Context, req *authv1.RefreshRequest) (*authv1.TokenResponse, error) {
	return wrap(a.s.Refresh(ctx, req, authrpc.IdempotencyKey(metadata.ValueFromIncomingContext(ctx, "idempotency-key"))))
}

func (a *authServer) Logout(ctx context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	authz := ""
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) == 1 {
		authz = v[0]
	} else if len(v) > 1 {
		return nil, Error(core.ErrInvalidRequest)
	}
	return wrap(a.s.Logout(ctx, authz, req))
}

func (a *authServer) ListSessions(ctx context.Context, req *authv1.ListSessionsRequest) (*authv1.ListSessionsResponse, error) {
	return wrap(a.s.ListSessions(ctx, req))
}

func (a *authServer) EndSession(ctx context.Context, req *authv1.EndSessionRequest) (*authv1.EndSessionResponse, error) {
	return wrap(a.s.EndSession(ctx, req))
}

func (a *authServer) EndOtherSessions(ctx context.Context, req *authv1.EndOtherSessionsRequest) (*authv1.EndOtherSessionsResponse, error) {
	return wrap(a.s.EndOtherSessions(ctx, req))
}

// wrap turns an error of the Manager into its gRPC status.
func wrap[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, Error(err)
	}
	return v, nil
}
