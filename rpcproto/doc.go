// Package rpcproto is the root of the jwtexp RPC definitions, a module of its own that needs
// only google.golang.org/protobuf and the jwtexp core:
//
//   - authv1 (github.com/jwtexp/jwtexp/rpcproto/authv1): the generated messages and file
//     descriptors of jwtexp.auth.v1.AuthService (proto/jwtexp/auth/v1);
//   - authrpc: the service's behaviour, shared by the gRPC and Connect handlers.
//
// The stubs live with their stack: github.com/jwtexp/jwtexp/grpcjwt/authv1grpc (gRPC) and
// github.com/jwtexp/jwtexp/connectjwt/authv1connect (Connect), so neither adapter imports the
// other's library. Regenerate all three with proto/generate.sh (pinned plugin versions).
package rpcproto
