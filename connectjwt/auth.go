package connectjwt

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"github.com/jwtexp/jwtexp/connectjwt/authv1connect"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/rpcproto/authrpc"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
)

// LoginFunc is the application's credential check for AuthService.Login: the user's subject
// and custom claims (nil for none), or an error matching core.ErrInvalidCredentials for a wrong
// username or password (CodeUnauthenticated "invalid username or password"). Another error is
// answered CodeInternal "internal error" and logged, never shown (core.ErrStoreUnavailable:
// CodeUnavailable).
type LoginFunc = authrpc.LoginFunc

// NewAuthHandler returns the path and handler of jwtexp.auth.v1.AuthService over m, for a
// net/http mux, serving Connect, gRPC and gRPC-Web. login checks credentials (nil: Login
// answers CodeUnimplemented). ListSessions, EndSession and EndOtherSessions read the caller's
// claims: pass the interceptor in opts (connect.WithInterceptors(connectjwt.NewInterceptor(m))),
// which skips Login, Refresh and Logout by itself. Refresh refusals are CodeInvalidArgument
// (RFC 6749 §5.2 invalid_grant); Logout reads the Authorization header itself and accepts an
// access token that has just expired. Login and Refresh honor an Idempotency-Key header: a retry
// with the same key after a lost answer gets the session (or the rotation) of the first attempt,
// not a second session or a reuse verdict.
//
// DPoP (RFC 9449): a Login or Refresh call with a DPoP header - a proof for the call's method and
// <origin>/jwtexp.auth.v1.AuthService/Login (or /Refresh), origin that of
// core.WithDPoPPublicURL, which DPoP over Connect needs - gets tokens bound to the proof's key,
// token_type "DPoP"; a bound session's Refresh needs a proof of that key. A refused proof is
// CodeInvalidArgument (the token endpoint's 400 invalid_dpop_proof / use_dpop_nonce), with the
// fresh nonce in the error's DPoP-Nonce metadata when nonces are on; under
// core.WithDPoPRequired so is a call without a proof.
func NewAuthHandler(m *core.Manager, login LoginFunc, opts ...connect.HandlerOption) (string, http.Handler) {
	return authv1connect.NewAuthServiceHandler(&authHandler{m: m, s: authrpc.New(m, login)}, opts...)
}

type authHandler struct {
	m *core.Manager
	s *authrpc.Service
}

func (a *authHandler) Login(ctx context.Context, req *connect.Request[authv1.LoginRequest]) (*connect.Response[authv1.TokenResponse], error) {
	jkt, err := a.proof(ctx, req)
	if err != nil {
		return nil, err
	}
	var opts []core.IssueOption
	if jkt != "" {
		opts = append(opts, core.WithDPoPKey(jkt))
	}
	return wrap(a.s.Login(ctx, req.Msg, authrpc.IdempotencyKey(req.Header().Values("Idempotency-Key")), opts...))
}

func (a *authHandler) Refresh(ctx context.Context, req *connect.Request[authv1.RefreshRequest]) (*connect.Response[authv1.TokenResponse], error) {
	jkt, err := a.proof(ctx, req)
	if err != nil {
		return nil, err
	}
	var opts []core.RefreshOption
	if jkt != "" {
		opts = append(opts, core.WithRefreshDPoPKey(jkt))
	}
	return wrap(a.s.Refresh(ctx, req.Msg, authrpc.IdempotencyKey(req.Header().Values("Idempotency-Key")), opts...))
}

// proof checks the call's DPoP proof, if any (core.Manager.TokenEndpointProof), and returns its
// key's thumbprint; a refusal is the call's error, with the fresh nonce as DPoP-Nonce metadata
// when the Manager has one to give.
func (a *authHandler) proof(ctx context.Context, req connect.AnyRequest) (string, error) {
	r := &call{header: header(req.Header()), method: req.HTTPMethod(), procedure: req.Spec().Procedure}
	jkt, err := a.m.TokenEndpointProof(ctx, r)
	if err != nil {
		ce := Error(err)
		if nonce := a.m.HTTP().Problem(err).DPoPNonce; nonce != "" {
			ce.Meta().Set("DPoP-Nonce", nonce)
		}
		return "", ce
	}
	return jkt, nil
}

func (a *authHandler) Logout(ctx context.Context, req *connect.Request[authv1.LogoutRequest]) (*connect.Response[authv1.LogoutResponse], error) {
	v := req.Header().Values("Authorization")
	if len(v) > 1 {
		return nil, Error(core.ErrInvalidRequest)
	}
	authz := ""
	if len(v) == 1 {
		authz = v[0]
	}
	return wrap(a.s.Logout(ctx, authz, req.Msg))
}

func (a *authHandler) ListSessions(ctx context.Context, req *connect.Request[authv1.ListSessionsRequest]) (*connect.Response[authv1.ListSessionsResponse], error) {
	return wrap(a.s.ListSessions(ctx, req.Msg))
}

func (a *authHandler) EndSession(ctx context.Context, req *connect.Request[authv1.EndSessionRequest]) (*connect.Response[authv1.EndSessionResponse], error) {
	return wrap(a.s.EndSession(ctx, req.Msg))
}

func (a *authHandler) EndOtherSessions(ctx context.Context, req *connect.Request[authv1.EndOtherSessionsRequest]) (*connect.Response[authv1.EndOtherSessionsResponse], error) {
	return wrap(a.s.EndOtherSessions(ctx, req.Msg))
}

// wrap turns a result of the service into a Connect response, an error of the Manager into its
// *connect.Error.
func wrap[T any](v *T, err error) (*connect.Response[T], error) {
	if err != nil {
		return nil, Error(err)
	}
	return connect.NewResponse(v), nil
}
