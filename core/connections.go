package core

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// Bound connections. A token is checked when a request starts; a request that does not end (a
// Server-Sent Events stream, a WebSocket, a long poll) would otherwise keep serving whoever
// opened it after the token expired or was revoked. Bind ties such a connection to its token: its
// context ends at exp plus leeway, by the Manager's clock, or as soon as the token, its session or
// its subject is revoked.
//
// One goroutine per Manager serves every bound connection, and only while there is one: it keeps
// the connections in a heap ordered by deadline, wakes for the earliest deadline (and at least
// every connectionTick, so that a clock that jumps - a test's fake clock, a stepped wall clock -
// is followed within that time), and re-checks the connections of a subject when the store
// announces a revocation of it (RevocationNotifier), or every WithConnectionCheckInterval when
// the store cannot announce. A connection costs its context, one heap slot and one map entry: no
// goroutine and no timer of its own.

// connectionTick is the longest the connection goroutine sleeps between two readings of the
// Manager's clock.
const connectionTick = 200 * time.Millisecond

// Connection is a long-lived connection bound to the token that opened it (Manager.Bind). Its
// Context ends when the token expires (exp plus leeway), when the token, its session or its
// subject is revoked, when Reauthenticate refuses a token, when the parent context ends, or when
// Close is called; context.Cause of the Context says which:
//
//   - errors.Is(cause, ErrTokenExpired): the token expired;
//   - errors.Is(cause, ErrTokenRevoked): it was revoked (logout, end session, end other sessions,
//     log out everywhere, refresh-token reuse, idle timeout, the store's data-loss cut-off);
//   - errors.Is(cause, ErrReauthRefused): Reauthenticate was handed a token that may not take over;
//   - errors.Is(cause, ErrStoreUnavailable): a periodic check could not reach the store (fail
//     closed; not with WithFailOpenRevocation);
//   - context.Canceled, or the parent's cause: the application or the client ended it.
//
// EndReason and WebSocketClose turn the cause into the answer of the wire contract. All methods
// are safe for concurrent use.
type Connection struct {
	m      *Manager
	ctx    context.Context
	cancel context.CancelCauseFunc

	// Guarded by m.conns.mu.
	claims   *Claims
	deadline time.Time   // claims.ExpiresAt + leeway
	index    int         // in the heap; outOfHeap or ended when not in it
	stop     func() bool // stops the watch on the parent context
}

// Connection.index when the connection is not in the heap.
const (
	outOfHeap = -1 // not yet pushed, or popped by the goroutine as expired and about to end
	ended     = -2
)

// connRegistry is the Manager's set of bound connections and the state of its goroutine.
type connRegistry struct {
	mu         sync.Mutex
	deadlines  connHeap
	bySubject  map[string]map[*Connection]struct{}
	pending    map[string]struct{} // subjects announced since the last check
	pendingAll bool                // every subject announced
	running    bool                // the goroutine runs
	checking   bool                // a round of revocation checks runs
	nextPoll   time.Time           // by the Manager's clock; zero: the store announces
	wake       chan struct{}       // capacity 1: pokes the goroutine

	subscribe   sync.Once
	notifies    bool   // the store announces revocations
	unsubscribe func() // stops the store's announcements
}

// Bind binds a long-lived connection to the verified claims of the request that opened it (the
// claims the middleware stored; ClaimsFromContext). The Connection's Context derives from ctx
// (the request's context) and ends as the type's comment says. Call Close when the connection
// ends, whatever ended it: it releases the connection at once (the context's end releases it
// too, a little later). A token already past exp plus leeway gives a Connection whose Context has
// ended already.
//
// Nil claims (an anonymous request) fail with ErrNoClaims. With WithoutRevocationCheck a
// connection ends only at its token's expiry, as the token itself would.
func (m *Manager) Bind(ctx context.Context, c *Claims) (*Connection, error) {
	if c == nil {
		return nil, ErrNoClaims
	}
	r := &m.conns
	if m.cfg.revocationCheck {
		r.subscribe.Do(func() { m.subscribeRevocations() })
	}
	cctx, cancel := context.WithCancelCause(ctx)
	conn := &Connection{m: m, ctx: cctx, cancel: cancel, claims: c, deadline: c.ExpiresAt.Add(m.cfg.leeway), index: outOfHeap}
	r.mu.Lock()
	// Whatever ends the parent (the client went away) releases the connection. AfterFunc
	// starts no goroutine until the parent ends; its function waits for r.mu.
	conn.stop = context.AfterFunc(ctx, func() { conn.end(context.Cause(ctx)) })
	heap.Push(&r.deadlines, conn)
	if r.bySubject == nil {
		r.bySubject = make(map[string]map[*Connection]struct{})
		r.pending = make(map[string]struct{})
		r.wake = make(chan struct{}, 1)
	}
	set := r.bySubject[c.Subject]
	if set == nil {
		set = make(map[*Connection]struct{})
		r.bySubject[c.Subject] = set
	}
	set[conn] = struct{}{}
	if m.cfg.revocationCheck && !r.notifies && r.nextPoll.IsZero() {
		r.nextPoll = m.cfg.now().Add(m.cfg.connCheck)
	}
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go m.serveConnections()
	} else {
		r.poke()
	}
	return conn, nil
}

// Context is the connection's context: serve the connection with it, and stop when it ends.
func (c *Connection) Context() context.Context { return c.ctx }

// Claims are the claims of the token the connection is bound to now: those of the request that
// opened it, or of the last token Reauthenticate accepted.
func (c *Connection) Claims() *Claims {
	r := &c.m.conns
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.claims
}

// Deadline is when the connection ends unless reauthenticated: its token's exp plus the leeway.
func (c *Connection) Deadline() time.Time {
	r := &c.m.conns
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.deadline
}

// Reauthenticate binds the connection to accessToken, a fresher access token of the same
// session, so that a long-lived connection survives the refresh of its token: its deadline moves
// to the new token's exp plus leeway (earlier, too, if the new token expires first). The token is
// verified as by Verify, revocation included, and must carry the subject and the session id (sid)
// of the token the connection is bound to; a connection opened by a token without sid cannot be
// reauthenticated.
//
// A token that does not verify or that belongs to another subject or session is refused with an
// error matching ErrReauthRefused (and, for one that does not verify, the verification's
// sentinel): the connection ends with that cause, since whoever sends such a token is not
// necessarily the user the connection was opened for.
func (c *Connection) Reauthenticate(ctx context.Context, accessToken string) (*Claims, error) {
	nc, err := c.m.Verify(ctx, accessToken)
	r := &c.m.conns
	r.mu.Lock()
	old := c.claims
	r.mu.Unlock()
	switch {
	case err != nil:
		err = (&tokenError{kind: ErrReauthRefused, reason: "reauthentication refused", cause: err}).withChain()
	case nc.Subject != old.Subject || nc.SessionID != old.SessionID || nc.SessionID == "":
		err = errReauthMismatch
	}
	if err != nil {
		c.end(err)
		return nil, err
	}
	r.mu.Lock()
	if c.index == ended {
		r.mu.Unlock()
		<-c.ctx.Done() // end cancels the context right after it marks the connection ended
		return nil, context.Cause(c.ctx)
	}
	c.claims, c.deadline = nc, nc.ExpiresAt.Add(c.m.cfg.leeway)
	if c.index == outOfHeap {
		// Popped for its old deadline, not ended yet: the new token arrived just in time.
		heap.Push(&r.deadlines, c)
	} else {
		heap.Fix(&r.deadlines, c.index)
	}
	r.mu.Unlock()
	r.poke()
	return nc, nil
}

// Close ends the connection, if it has not ended yet, with the cause context.Canceled, and
// releases it. It is safe to call more than once and from any goroutine.
func (c *Connection) Close() {
	c.end(context.Canceled)
}

// end ends the connection with cause, once, and reports it as EventConnectionEnded.
func (c *Connection) end(cause error) { c.endIf(cause, false) }

// endIf is end; with expired, only if the connection is still out of the heap as the goroutine
// popped it for its deadline, not put back meanwhile by a Reauthenticate that came just in time.
func (c *Connection) endIf(cause error, expired bool) {
	m := c.m
	r := &m.conns
	r.mu.Lock()
	if c.index == ended || (expired && c.index != outOfHeap) {
		r.mu.Unlock()
		return
	}
	if c.index >= 0 {
		heap.Remove(&r.deadlines, c.index)
	}
	c.index = ended
	claims, stop := c.claims, c.stop
	r.forget(c, claims.Subject)
	last := r.deadlines.Len() == 0
	r.mu.Unlock()
	stop()
	// The event first, so that whoever sees the context end also sees it counted.
	e := Event{Kind: EventConnectionEnded, Subject: claims.Subject, SessionID: claims.SessionID, TokenID: claims.TokenID}
	if !errors.Is(cause, context.Canceled) {
		e.Err, e.Reason = cause, Reason(cause)
	}
	m.emit(context.WithoutCancel(c.ctx), e)
	c.cancel(cause)
	if last {
		r.poke() // let the goroutine see there is nothing left and return
	}
}

// forget removes c from the subject index. Callers hold r.mu and removed c from the heap.
func (r *connRegistry) forget(c *Connection, subject string) {
	if set := r.bySubject[subject]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(r.bySubject, subject)
		}
	}
}

// poke wakes the connection goroutine, if it is not already due to wake.
func (r *connRegistry) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// subscribeRevocations asks the store to announce revocations, once per Manager.
func (m *Manager) subscribeRevocations() {
	n, ok := m.store.(RevocationNotifier)
	if !ok {
		return
	}
	r := &m.conns
	stop, ok := n.NotifyRevocations(func(n RevocationNotice) {
		r.mu.Lock()
		switch {
		case r.deadlines.Len() == 0:
			r.mu.Unlock()
			return
		case n.All:
			r.pendingAll = true
		default:
			if _, bound := r.bySubject[n.Subject]; !bound {
				r.mu.Unlock()
				return
			}
			r.pending[n.Subject] = struct{}{}
		}
		r.mu.Unlock()
		r.poke()
	})
	if !ok {
		return
	}
	r.mu.Lock()
	r.notifies, r.unsubscribe = true, stop
	r.mu.Unlock()
}

// serveConnections is the connection goroutine: it ends the connections whose deadline passed
// and re-checks those whose revocation records may have changed. It returns when no connection
// is left; Bind starts it again.
func (m *Manager) serveConnections() {
	r := &m.conns
	timer := time.NewTimer(connectionTick)
	defer timer.Stop()
	var expired, check []*Connection
	for {
		expired, check = expired[:0], check[:0]
		r.mu.Lock()
		if r.deadlines.Len() == 0 {
			r.running = false
			clear(r.pending)
			r.pendingAll, r.nextPoll = false, time.Time{}
			r.mu.Unlock()
			return
		}
		now := m.cfg.now()
		for r.deadlines.Len() > 0 && !now.Before(r.deadlines[0].deadline) {
			expired = append(expired, heap.Pop(&r.deadlines).(*Connection)) // outOfHeap: end ends it
		}
		// The checks run in a goroutine of their own, one round at a time, so that a slow
		// store never delays an expiry; what is announced meanwhile waits for the next round.
		poll := !r.nextPoll.IsZero() && !now.Before(r.nextPoll) && !r.checking
		if poll {
			r.nextPoll = now.Add(m.cfg.connCheck)
		}
		if !r.checking {
			switch {
			case r.pendingAll || poll:
				for _, c := range r.deadlines {
					check = append(check, c)
				}
			default:
				for subject := range r.pending {
					for c := range r.bySubject[subject] {
						check = append(check, c)
					}
				}
			}
			r.pendingAll = false
			clear(r.pending)
			r.checking = len(check) > 0
		}
		wait := connectionTick
		if r.deadlines.Len() > 0 {
			wait = min(wait, r.deadlines[0].deadline.Sub(now))
		}
		if !r.nextPoll.IsZero() && !r.checking {
			wait = min(wait, r.nextPoll.Sub(now))
		}
		r.mu.Unlock()
		for _, c := range expired {
			c.endIf(errExpired, true)
		}
		if len(check) > 0 {
			go func(check []*Connection) {
				m.checkConnections(check)
				r.mu.Lock()
				r.checking = false
				r.mu.Unlock()
				r.poke() // whatever was announced meanwhile
			}(check)
			check = nil // the goroutine owns it
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// checkConnections reads the revocation records of each distinct token among conns (once per
// token, however many connections share it) and ends the connections they revoke.
func (m *Manager) checkConnections(conns []*Connection) {
	type token struct{ subject, jti, sid string }
	type answer struct {
		rev Revocation
		err error
	}
	answers := make(map[token]answer)
	ctx := context.Background()
	r := &m.conns
	for _, c := range conns {
		r.mu.Lock()
		claims, live := c.claims, c.index >= 0
		r.mu.Unlock()
		if !live {
			continue
		}
		k := token{claims.Subject, claims.TokenID, claims.SessionID}
		a, ok := answers[k]
		if !ok {
			a.rev, a.err = m.revocation(ctx, k.subject, k.jti, k.sid)
			answers[k] = a
		}
		var cause error
		switch {
		case a.err != nil && m.cfg.guard.failOpen && errors.Is(a.err, ErrStoreUnavailable):
			continue // as a request would be accepted unchecked
		case a.err != nil:
			cause = a.err
		default:
			cause = m.revokedBy(a.rev, claims)
		}
		if cause == nil {
			continue
		}
		r.mu.Lock()
		same := c.claims == claims // not reauthenticated meanwhile with a token checked apart
		r.mu.Unlock()
		if same {
			c.end(cause)
		}
	}
}

// Connections reports how many connections are bound now (Bind), for health checks and tests.
func (m *Manager) Connections() int {
	r := &m.conns
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deadlines.Len()
}

// connHeap orders connections by deadline (container/heap).
type connHeap []*Connection

func (h connHeap) Len() int           { return len(h) }
func (h connHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h connHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *connHeap) Push(x any) {
	c := x.(*Connection)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *connHeap) Pop() any {
	old := *h
	n := len(old) - 1
	c := old[n]
	old[n] = nil
	c.index = outOfHeap
	*h = old[:n]
	return c
}

// closeConnections ends every bound connection with context.Canceled and stops the store's
// announcements (Manager.Close).
func (m *Manager) closeConnections() {
	r := &m.conns
	r.mu.Lock()
	conns := append([]*Connection(nil), r.deadlines...)
	stop := r.unsubscribe
	r.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if stop != nil {
		stop()
	}
}
