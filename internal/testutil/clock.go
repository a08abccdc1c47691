// Package testutil holds the helpers every jwtexp test shares: a fake clock, token minting
// (including hostile tokens), a launcher for a real redis-server, the store conformance suite and
// the HTTP conformance cases every adapter must pass.
package testutil

import (
	"time"

	"github.com/jwtexp/jwtexp/jwtexptest"
)

// Clock is the fake clock of the public test kit (jwtexptest.Clock): it only moves when told to.
// Safe for concurrent use.
type Clock = jwtexptest.Clock

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return jwtexptest.NewClock(t) }

// NewClockNow returns a clock standing at the current wall time truncated to the second (useful
// with Redis, whose TTLs run on the real clock).
func NewClockNow() *Clock { return jwtexptest.NewClockNow() }
