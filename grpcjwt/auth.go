package grpcjwt

import (
	"context"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/grpcjwt/authv1grpc"
	"github.com/jwtexp/jwtexp/rpcproto/authrpc"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/grpc"
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
//
// DPoP (RFC 9449): a Login or Refresh call with a dpop metadata value - a proof for POST and
// http(s)://<authority>/jwtexp.auth.v1.AuthService/Login (or /Refresh; the origin of
// core.WithDPoPPublicURL when set) - gets tokens bound to the proof's key, token_type "DPoP"; a
// bound session's Refresh needs a proof of that key. A refused proof is InvalidArgument (the
// token endpoint's 400 invalid_dpop_proof / use_dpop_nonce), with the fresh nonce in dpop-nonce
// header metadata when nonces are on; under core.WithDPoPRequired so is a call without a proof.
func NewAuthServer(m *core.Manager, login LoginFunc) authv1grpc.AuthServiceServer {
	return &authServer{m: m, s: authrpc.New(m, login)}
}

type authServer struct {
	authv1grpc.UnimplementedAuthServiceServer
	m *core.Manager
	s *authrpc.Service
}

func (a *authServer) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.TokenResponse, error) {
	jkt, err := a.proof(ctx)
	if err != nil {
		return nil, err
	}
	var opts []core.IssueOption
	if jkt != "" {
		opts = append(opts, core.WithDPoPKey(jkt))
	}
	return wrap(a.s.Login(ctx, req, authrpc.IdempotencyKey(metadata.ValueFromIncomingContext(ctx, "idempotency-key")), opts...))
}

func (a *authServer) Refresh(ctx context.Context, req *authv1.RefreshRequest) (*authv1.TokenResponse, error) {
	jkt, err := a.proof(ctx)
	if err != nil {
		return nil, err
	}
	var opts []core.RefreshOption
	if jkt != "" {
		opts = append(opts, core.WithRefreshDPoPKey(jkt))
	}
	return wrap(a.s.Refresh(ctx, req, authrpc.IdempotencyKey(metadata.ValueFromIncomingContext(ctx, "idempotency-key")), opts...))
}

// proof checks the call's DPoP proof, if any (core.Manager.TokenEndpointProof), and returns its
// key's thumbprint; a refusal is the call's gRPC status, with the fresh nonce as dpop-nonce
// header metadata when the Manager has one to give.
func (a *authServer) proof(ctx context.Context) (string, error) {
	jkt, err := a.m.TokenEndpointProof(ctx, incoming{ctx})
	if err != nil {
		if nonce := a.m.HTTP().Problem(err).DPoPNonce; nonce != "" {
			_ = grpc.SetHeader(ctx, metadata.Pairs("dpop-nonce", nonce))
		}
		return "", Error(err)
	}
	return jkt, nil
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
