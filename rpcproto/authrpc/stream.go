package authrpc

import (
	"context"
	"errors"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// minRecheck bounds how often StreamContext asks the Manager again when a deadline passed on
// the timer but not yet on the Manager's clock (a clock set by a test, or one that drifts).
const minRecheck = 50 * time.Millisecond

// StreamContext returns a context for a stream opened with token (whose verified claims are c)
// that ends when the token does: at c.ExpiresAt plus the Manager's leeway, measured on the
// Manager's clock. The context's cause (context.Cause) is then the error the Manager gives for
// token at that moment, ErrTokenExpired "token expired" (or ErrTokenRevoked if it was revoked by
// then), which the adapters answer with core.RPCStatus: Unauthenticated. A revocation before
// exp does not end the stream here: that needs the bound-context mechanism of core. cancel
// releases the timer; call it when the stream ends.
func StreamContext(ctx context.Context, m *core.Manager, token string, c *core.Claims) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	deadline := c.ExpiresAt.Add(m.Leeway())
	var timer *time.Timer
	done := make(chan struct{})
	var check func()
	check = func() {
		select {
		case <-done:
			return
		default:
		}
		if _, err := m.Verify(ctx, token); err != nil {
			if errors.Is(err, core.ErrRequestCanceled) { // the stream ended meanwhile
				return
			}
			cancel(err)
			return
		}
		// Still valid on the Manager's clock: look again when it says the token ends.
		timer.Reset(max(deadline.Sub(m.Now()), minRecheck))
	}
	// Armed in two steps so that check, which resets timer, never sees it unassigned.
	timer = time.AfterFunc(time.Hour, check)
	timer.Reset(max(deadline.Sub(m.Now()), 0))
	return ctx, func() {
		close(done)
		timer.Stop()
		cancel(context.Canceled)
	}
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
