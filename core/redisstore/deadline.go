package redisstore

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// Deadlines in the server's clock. A command that go-redis sent before its context ran out can
// still run later: a frozen Redis (SIGSTOP, a long fork, a stalled VM) reads and executes what
// waits in its sockets once it resumes, after the caller has answered 503. For a login that
// would create a session the client was told had failed (and, through the session cap, end one
// of the user's real sessions). So the create script receives the caller's deadline, translated
// into the Redis server's clock, and writes nothing when it runs past it.
//
// The translation uses the offset between this process's clock and the server's TIME, measured
// when the store starts and again every serverClockEvery: offset = server - (sent+received)/2,
// uncertain by half the round trip, which is added to the deadline as a margin together with
// deadlineSlack. Until the first measurement succeeds no deadline is passed (the script then
// behaves as before).

const (
	serverClockEvery = time.Minute
	deadlineSlack    = 50 * time.Millisecond
)

// errLate: the create script ran after the caller's deadline and wrote nothing.
var errLate = errors.New("reached Redis after the caller's deadline; nothing written")

// serverClock is the measured offset of the Redis server's clock from this process's.
type serverClock struct {
	offsetMS  atomic.Int64 // server minus local, ms
	marginMS  atomic.Int64 // half the round trip of the measurement, ms, plus deadlineSlack
	measured  atomic.Int64 // local Unix ms of the last measurement; 0: none yet
	measuring atomic.Bool
}

// measure reads the server's TIME once and records the offset.
func (s *Store) measureServerClock(ctx context.Context) {
	sent := time.Now()
	tm, err := s.client.Time(ctx).Result()
	received := time.Now()
	if err != nil {
		return
	}
	mid := sent.UnixMilli() + received.Sub(sent).Milliseconds()/2
	s.clock.offsetMS.Store(tm.UnixMilli() - mid)
	s.clock.marginMS.Store(received.Sub(sent).Milliseconds()/2 + 1 + deadlineSlack.Milliseconds())
	s.clock.measured.Store(received.UnixMilli())
}

// serverDeadline is ctx's deadline in the server's clock (Unix ms, a script argument), or "" when
// ctx has none or the offset was never measured. A stale measurement is renewed in the
// background.
func (s *Store) serverDeadline(ctx context.Context) string {
	dl, ok := ctx.Deadline()
	measured := s.clock.measured.Load()
	if measured != 0 && time.Now().UnixMilli()-measured > serverClockEvery.Milliseconds() &&
		s.clock.measuring.CompareAndSwap(false, true) {
		go func() {
			defer s.clock.measuring.Store(false)
			mctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
			defer cancel()
			s.measureServerClock(mctx)
		}()
	}
	if !ok || measured == 0 {
		return ""
	}
	return strconv.FormatInt(dl.UnixMilli()+s.clock.offsetMS.Load()+s.clock.marginMS.Load(), 10)
}
