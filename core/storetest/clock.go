package storetest

import (
	"time"

	"github.com/jwtexp/jwtexp/jwtexptest"
)

// Clock is the fake clock of the test kit (jwtexptest.Clock): it only moves when told to. Safe
// for concurrent use. A store under test reads its time from it, as the Manager does.
type Clock = jwtexptest.Clock

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return jwtexptest.NewClock(t) }

// NewClockNow returns a clock standing at the current wall time truncated to the second (useful
// with Redis, whose TTLs run on the real clock).
func NewClockNow() *Clock { return jwtexptest.NewClockNow() }
