package storetest

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests: it only moves when told to. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// NewClockNow returns a clock standing at the current wall time truncated to the second (useful
// with Redis, whose TTLs run on the real clock).
func NewClockNow() *Clock { return &Clock{now: time.Now().Truncate(time.Second)} }

// Now returns the clock's time. Pass c.Now wherever a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}
