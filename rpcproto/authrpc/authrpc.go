// Package authrpc is the behaviour of jwtexp.auth.v1.AuthService, shared by grpcjwt and
// connectjwt: each operation calls the jwtexp Manager and returns its error unchanged, so the
// adapters only translate the error with core.RPCStatus and the messages to their stack.
// Applications use grpcjwt.NewAuthServer or connectjwt.NewAuthHandler, not this package.
package authrpc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// LoginFunc is the application's credential check: it returns the user's subject and custom
// claims (nil for none), or an error matching core.ErrInvalidCredentials when the username or
// password is wrong (answered Unauthenticated "invalid username or password"), core.ErrStoreUnavailable
// when its user store is down (Unavailable); any other error is answered Internal "internal
// error" and logged, never shown to the client.
type LoginFunc func(ctx context.Context, username, password string) (subject string, custom any, err error)

// Service implements the operations of AuthService over a Manager.
type Service struct {
	m     *core.Manager
	login LoginFunc
}

// New returns the Service of m; login may be nil, and Login then answers Unimplemented.
func New(m *core.Manager, login LoginFunc) *Service {
	core.MustManager(m, "authrpc.New")
	return &Service{m: m, login: login}
}

// errNoLogin answers Login of a service built without a credential check.
var errNoLogin = core.ErrVerificationOnly

// errLogin is the error of a credential check that failed for another reason than the
// credentials: answered Internal, its cause logged.
var errLogin = errors.New("jwtexp: login failed")

// Login checks the credentials with the LoginFunc and starts a session. It records no client
// description with the session (personal data; an application that wants one calls
// Manager.Issue with core.WithClientDescription from its own login method). idempotencyKey is
// the call's idempotency-key metadata ("" when none; see IdempotencyKey): a retry of a login
// whose answer was lost gets the session its first attempt created (core.WithIdempotencyKey).
// opts go to Manager.Issue: core.WithDPoPKey binds the session to the DPoP key the call proved
// (see core.Manager.TokenEndpointProof); the answer's token_type is then "DPoP".
func (s *Service) Login(ctx context.Context, req *authv1.LoginRequest, idempotencyKey string, opts ...core.IssueOption) (*authv1.TokenResponse, error) {
	if s.login == nil {
		return nil, errNoLogin
	}
	subject, custom, err := s.login(ctx, req.GetUsername(), req.GetPassword())
	switch {
	case err == nil:
	case errors.Is(err, core.ErrInvalidCredentials):
		return nil, core.ErrInvalidCredentials
	case errors.Is(err, core.ErrInvalidRequest), errors.Is(err, core.ErrStoreUnavailable):
		return nil, err
	default:
		slog.Default().LogAttrs(ctx, slog.LevelError, "jwtexp login failed", slog.String("error", err.Error()))
		return nil, errLogin
	}
	if idempotencyKey != "" {
		opts = append(slices.Clip(opts), core.WithIdempotencyKey(idempotencyKey))
	}
	p, err := s.m.Issue(ctx, subject, custom, opts...)
	if err != nil {
		return nil, err
	}
	return tokenResponse(p), nil
}

// Refresh rotates the session of the request's refresh token. Every refusal matches
// core.ErrInvalidGrant (core.RPCStatus: InvalidArgument). idempotencyKey, as for Login, makes a
// retry of a rotation whose answer was lost get the current tokens instead of counting as reuse
// (core.WithRetryKey). opts go to Manager.Refresh: core.WithRefreshDPoPKey names the DPoP key
// the call proved, which a bound session requires.
func (s *Service) Refresh(ctx context.Context, req *authv1.RefreshRequest, idempotencyKey string, opts ...core.RefreshOption) (*authv1.TokenResponse, error) {
	if idempotencyKey != "" {
		opts = append(slices.Clip(opts), core.WithRetryKey(idempotencyKey))
	}
	p, err := s.m.Refresh(ctx, req.GetRefreshToken(), opts...)
	if err != nil {
		return nil, err
	}
	return tokenResponse(p), nil
}

// Logout ends the session of the access token in authorization (the value of the call's
// authorization metadata, "Bearer <token>"; it may have just expired, see core.Manager.Logout)
// and/or of the request's refresh token.
func (s *Service) Logout(ctx context.Context, authorization string, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	access := ""
	if authorization != "" {
		token, ok := Bearer(authorization)
		if !ok {
			return nil, core.ErrInvalidRequest
		}
		access = token
	}
	if err := s.m.Logout(ctx, access, req.GetRefreshToken()); err != nil {
		return nil, err
	}
	return &authv1.LogoutResponse{}, nil
}

// ListSessions lists the live sessions of the caller, whose claims the interceptor put in ctx.
func (s *Service) ListSessions(ctx context.Context, _ *authv1.ListSessionsRequest) (*authv1.ListSessionsResponse, error) {
	c, ok := core.ClaimsFromContext(ctx)
	if !ok {
		return nil, core.ErrTokenMissing
	}
	list, err := s.m.Sessions(ctx, c.Subject, c.SessionID)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListSessionsResponse{Sessions: make([]*authv1.Session, len(list))}
	for i, se := range list {
		out.Sessions[i] = &authv1.Session{
			Id:         se.ID,
			CreatedAt:  timestamppb.New(se.CreatedAt),
			LastUsedAt: timestamppb.New(se.LastUsedAt),
			ExpiresAt:  timestamppb.New(se.ExpiresAt),
			Current:    se.Current,
			Client:     se.Client,
		}
	}
	return out, nil
}

// EndSession ends one of the caller's sessions (core.ErrSessionNotFound: NotFound).
func (s *Service) EndSession(ctx context.Context, req *authv1.EndSessionRequest) (*authv1.EndSessionResponse, error) {
	c, ok := core.ClaimsFromContext(ctx)
	if !ok {
		return nil, core.ErrTokenMissing
	}
	if err := s.m.EndSession(ctx, c.Subject, req.GetId()); err != nil {
		return nil, err
	}
	return &authv1.EndSessionResponse{}, nil
}

// EndOtherSessions ends every session of the caller but the one of its token.
func (s *Service) EndOtherSessions(ctx context.Context, _ *authv1.EndOtherSessionsRequest) (*authv1.EndOtherSessionsResponse, error) {
	c, ok := core.ClaimsFromContext(ctx)
	if !ok {
		return nil, core.ErrTokenMissing
	}
	n, err := s.m.EndOtherSessions(ctx, c.Subject, c.SessionID)
	if err != nil {
		return nil, err
	}
	return &authv1.EndOtherSessionsResponse{Ended: int32(n)}, nil
}

// Public reports whether procedure (/jwtexp.auth.v1.AuthService/Login) is one of the methods a
// caller reaches without an access token: Login, Refresh and Logout (which reads a possibly
// expired token itself). The interceptors skip them.
func Public(procedure string) bool {
	switch procedure {
	case "/jwtexp.auth.v1.AuthService/Login", "/jwtexp.auth.v1.AuthService/Refresh", "/jwtexp.auth.v1.AuthService/Logout":
		return true
	}
	return false
}

// Bearer returns the token of an authorization value "Bearer <token>" (the scheme matched
// case-insensitively, RFC 6750 §2.1); false for another scheme or an empty token.
func Bearer(authorization string) (token string, ok bool) {
	scheme, token, _ := strings.Cut(authorization, " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

func tokenResponse(p *core.TokenPair) *authv1.TokenResponse {
	tokenType := "Bearer"
	if p.DPoPThumbprint != "" {
		tokenType = "DPoP" // RFC 9449 §5
	}
	return &authv1.TokenResponse{
		AccessToken:  p.AccessToken,
		TokenType:    tokenType,
		ExpiresIn:    p.ExpiresIn,
		RefreshToken: p.RefreshToken,
	}
}

// IdempotencyKey returns the key of a call's idempotency-key metadata values (gRPC metadata or
// Connect's Idempotency-Key header): the one value, unquoted when it is a Structured Field string
// ("..."), as the HTTP contract reads the header; "" for none or several values.
func IdempotencyKey(values []string) string {
	if len(values) != 1 {
		return ""
	}
	v := values[0]
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v
}
