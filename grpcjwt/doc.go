// Package grpcjwt protects grpc-go services with jwtexp: unary and stream server interceptors
// that verify the Bearer token of the call's authorization metadata with a core.Manager, put
// the claims in the handler's context, check per-method requirements (scopes, claims
// predicates, step-up) and end streams when their token expires; and NewAuthServer, the
// handlers of jwtexp.auth.v1.AuthService (login, refresh, logout, sessions) for a service with
// no HTTP routes. Every decision is the Manager's: the package only translates it to gRPC.
//
//	go get github.com/jwtexp/jwtexp/grpcjwt
//
//	m, err := core.New(core.WithHMAC(accessSecret, refreshSecret))
//	...
//	skip := grpcjwt.WithSkip(func(_ context.Context, method string) bool {
//		return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
//	})
//	admin := grpcjwt.WithRequire("/demo.v1.Demo/Admin", core.MustRequirement(core.RequireScope("admin")))
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(m, skip, admin)),
//		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(m, skip, admin)),
//	)
//	authv1grpc.RegisterAuthServiceServer(srv, grpcjwt.NewAuthServer(m, checkPassword))
//
// # Status codes
//
// Refusals carry the status of core.RPCStatus: Unauthenticated for a missing, malformed,
// expired, revoked or wrong-type token and for a login too old for the method (RFC 9470: the
// message carries max_age and/or acr_values); PermissionDenied for a missing scope (the message
// carries scope="..."); InvalidArgument for a refused refresh (RFC 6749 §5.2 invalid_grant, not
// Unauthenticated, so that a client refreshing on every Unauthenticated does not loop);
// Unavailable when the store is down (the Manager fails closed). The message is core's short
// reason ("token expired"), never the token. The header metadata www-authenticate carries the
// Bearer challenge the HTTP adapters would send (grpc.Header on the client).
//
// # Streams
//
// A stream opened with a token ends with it (core.Manager.Bind): at exp plus the Manager's
// leeway, on the Manager's clock, or as soon as the token, its session or its user is revoked,
// the handler's context is canceled and the stream ends with Unauthenticated "token expired" or
// the revocation's reason ("session revoked", "token revoked").
//
// # Generated code
//
// The gRPC stubs of jwtexp.auth.v1 are in github.com/jwtexp/jwtexp/grpcjwt/authv1grpc, the
// messages in github.com/jwtexp/jwtexp/rpcproto/authv1 (proto/generate.sh regenerates both).
package grpcjwt
