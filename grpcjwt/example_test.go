package grpcjwt_test

import (
	"context"
	"fmt"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/grpcjwt"
)

// What a client gets for a refused token or a missing scope: a status code and core's short
// reason, never the token.
func ExampleError() {
	ctx := context.Background()
	m, err := core.New(
		core.WithHMAC([]byte("an-access-secret-of-32-bytes-min"), []byte("a-refresh-secret-of-32-bytes-min")),
		core.WithIssuer("my-service"), core.WithAudience("my-api"), core.WithLogger(nil),
	)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	_, err = m.Verify(ctx, "not.a-token")
	fmt.Println(grpcjwt.Error(err))

	pair, _ := m.Issue(ctx, "alice", nil)
	claims, _ := m.Verify(ctx, pair.AccessToken)
	err = m.Authorize(ctx, claims, core.MustRequirement(core.RequireScope("admin")))
	fmt.Println(grpcjwt.Error(err))

	_, err = m.Refresh(ctx, pair.AccessToken) // an access token is no refresh token
	fmt.Println(grpcjwt.Error(err))
	// Output:
	// rpc error: code = Unauthenticated desc = malformed token
	// rpc error: code = PermissionDenied desc = insufficient scope, scope="admin"
	// rpc error: code = InvalidArgument desc = not a refresh token
}
