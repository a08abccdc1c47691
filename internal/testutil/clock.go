// Package testutil holds the helpers every jwtexp test shares: a fake clock, token minting
// (including hostile tokens), a launcher for a real redis-server, and the HTTP conformance
// cases every adapter must pass.
package testutil

import (
	"time"

	"github.com/jwtexp/jwtexp/core/storetest"
)

// Clock is a fake clock for tests: it only moves when told to. Safe for concurrent use. It is
// core/storetest's, so a Clock passes to the store conformance suite.
type Clock = storetest.Clock

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return storetest.NewClock(t) }

// NewClockNow returns a clock standing at the current wall time truncated to the second (useful
// with Redis, whose TTLs run on the real clock).
func NewClockNow() *Clock { return storetest.NewClockNow() }
