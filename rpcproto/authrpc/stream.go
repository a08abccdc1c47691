package authrpc

import (
	"context"
	"errors"

	"github.com/jwtexp/jwtexp/core"
)

// StreamContext binds a stream opened with the verified claims c to its token (core.Manager.Bind):
// the returned context ends when the token expires (exp plus the Manager's leeway, on the
// Manager's clock) or as soon as the token, its session or its subject is revoked, and its cause
// (context.Cause) is the Manager's error for it - "token expired", "session revoked", ... -
// which the adapters answer with core.RPCStatus: Unauthenticated (Unavailable when the store
// could not be asked). Call the returned func when the stream ends.
func StreamContext(ctx context.Context, m *core.Manager, c *core.Claims) (context.Context, func(), error) {
	conn, err := m.Bind(ctx, c)
	if err != nil {
		return ctx, func() {}, err
	}
	return conn.Context(), conn.Close, nil
}

// Ended returns the error that ended a stream's context made by StreamContext (the Manager's
// error for its token), or nil if the stream ended otherwise.
func Ended(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return nil
	}
	return cause
}
