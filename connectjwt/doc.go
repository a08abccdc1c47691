// Package connectjwt protects connect-go services with jwtexp: a connect.Interceptor that
// verifies the Bearer token of the call's Authorization header with a core.Manager - over the
// Connect, gRPC and gRPC-Web protocols alike - puts the claims in the handler's context, checks
// per-procedure requirements (scopes, claims predicates, step-up) and ends streams when their
// token expires; and NewAuthHandler, the handlers of jwtexp.auth.v1.AuthService (login, refresh,
// logout, sessions) for a service with no HTTP routes. Every decision is the Manager's: the
// package only translates it to Connect.
//
//	go get github.com/jwtexp/jwtexp/connectjwt
//
//	auth := connectjwt.NewInterceptor(m,
//		connectjwt.WithRequire(demov1connect.DemoServiceAdminProcedure, core.MustRequirement(core.RequireScope("admin"))),
//	)
//	mux := http.NewServeMux()
//	mux.Handle(connectjwt.NewAuthHandler(m, checkPassword, connect.WithInterceptors(auth)))
//	mux.Handle(demov1connect.NewDemoServiceHandler(svc, connect.WithInterceptors(auth)))
//
// Per-procedure skipping is WithSkip (health checks, reflection); the interceptor applies to the
// handlers it is given to, so a handler built without it is not protected at all, as with
// authn-go's middleware wrapping only some handlers.
//
// # Error codes
//
// Refusals carry the code of core.RPCStatus: CodeUnauthenticated for a missing, malformed,
// expired, revoked or wrong-type token and for a login too old for the procedure (RFC 9470: the
// message carries max_age and/or acr_values); CodePermissionDenied for a missing scope (the
// message carries scope="..."); CodeInvalidArgument for a refused refresh (RFC 6749 §5.2
// invalid_grant, not Unauthenticated, so that a client refreshing on every Unauthenticated does
// not loop); CodeUnavailable when the store is down (the Manager fails closed). The message is
// core's short reason ("token expired"), never the token. The error's metadata carries the
// WWW-Authenticate challenge the HTTP adapters would send, over the Connect and gRPC-Web
// protocols; over gRPC, error metadata travels in HTTP/2 trailers, where Go's server drops
// authentication fields (RFC 9110 §6.5.1), so there the code and message are all there is.
//
// # Streams
//
// A streaming call opened with a token ends with it (core.Manager.Bind): at exp plus the
// Manager's leeway, on the Manager's clock, or as soon as the token, its session or its user is
// revoked, the handler's context is canceled and the call ends with CodeUnauthenticated "token
// expired" or the revocation's reason ("session revoked", "token revoked").
//
// # Generated code
//
// The Connect stubs of jwtexp.auth.v1 are in github.com/jwtexp/jwtexp/connectjwt/authv1connect,
// the messages in github.com/jwtexp/jwtexp/rpcproto/authv1 (proto/generate.sh regenerates both).
package connectjwt
