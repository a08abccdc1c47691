package storetest

import (
	"context"
	"errors"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// notifyCases are Run's rows for core.RevocationNotifier, the optional interface through which a
// store announces revocations, and for connections bound to tokens (core.Manager.Bind) on the
// store under test. A store that is no RevocationNotifier, or reports ok false, skips the first
// and passes the second by the Manager's periodic check.
var notifyCases = []struct {
	name string
	run  func(e *storeEnv)
}{
	{"RevocationNotifier/announces every revocation record", testNotifyEveryRecord},
	{"RevocationNotifier/stop ends the announcements", testNotifyStop},
	{"Manager.Bind/a logout ends the bound connection", testManagerBindLogout},
}

// notifyWait bounds the wait for an announcement: a store may deliver it through a network
// round trip (a Pub/Sub message), never this slowly.
const notifyWait = 10 * time.Second

// listen registers a listener on the store, skipping the test when it cannot announce, and
// returns the channel of subjects it hears ("*" for All).
func (e *storeEnv) listen() (<-chan string, func()) {
	e.t.Helper()
	n, ok := e.s.(core.RevocationNotifier)
	if !ok {
		e.t.Skip("the store is no core.RevocationNotifier")
	}
	heard := make(chan string, 1024)
	stop, ok := n.NotifyRevocations(func(n core.RevocationNotice) {
		s := n.Subject
		if n.All {
			s = "*"
		}
		select {
		case heard <- s:
		default: // a listener must not block the store
		}
	})
	if !ok {
		e.t.Skip("the store reports it cannot announce revocations")
	}
	e.t.Cleanup(stop)
	return heard, stop
}

// expectAnnounced waits until subject (or All) is announced.
func (e *storeEnv) expectAnnounced(heard <-chan string, subject, what string) {
	e.t.Helper()
	timeout := time.After(notifyWait)
	for {
		select {
		case s := <-heard:
			if s == subject || s == "*" {
				return
			}
		case <-timeout:
			e.t.Fatalf("%s: %q not announced within %v", what, subject, notifyWait)
		}
	}
}

func testNotifyEveryRecord(e *storeEnv) {
	heard, _ := e.listen()
	until := e.clock.Now().Add(time.Hour)
	e.deny("alice", "jti-1", until)
	e.expectAnnounced(heard, "alice", "DenyToken")
	e.create("bob", "sid-1", "r-1")
	e.revokeFamily("bob", "sid-1", until)
	e.expectAnnounced(heard, "bob", "RevokeFamily")
	e.cutOff("carol", e.clock.Now(), until)
	e.expectAnnounced(heard, "carol", "CutOff")
	e.create("dave", "sid-2", "r-2")
	e.endSessions("dave", "", until)
	e.expectAnnounced(heard, "dave", "EndSessions")
	e.create("erin", "sid-3", "r-3")
	req := e.request("erin", "sid-3", "not-the-current-one", e.clock.Now(), "r-4", 0)
	req.RevokeUntil = until
	e.rotate(req, core.RotateReused)
	e.expectAnnounced(heard, "erin", "Rotate detecting reuse")
	e.create("frank", "sid-4", "r-5")
	now := e.clock.Now()
	e.createLimited(core.Family{SessionID: "sid-5", Subject: "frank", Current: "r-6", CurrentIssuedAt: now,
		CurrentExpires: now.Add(suiteRefreshTTL), Expires: now.Add(suiteSessionAge), CreatedAt: now, LastUsed: now.Add(time.Second)},
		core.SessionLimit{Max: 1, RevokeUntil: until})
	e.expectAnnounced(heard, "frank", "CreateFamily ending a session over the limit")
}

func testNotifyStop(e *storeEnv) {
	heard, stop := e.listen()
	stop()
	stop()
	e.deny("alice", "jti-1", e.clock.Now().Add(time.Hour))
	// Announcements are synchronous with the write for a store in this module; give any other
	// a moment, then expect silence.
	select {
	case s := <-heard:
		if s == "alice" {
			e.t.Fatal("a stopped listener heard a revocation")
		}
	case <-time.After(200 * time.Millisecond):
	}
}

func testManagerBindLogout(e *storeEnv) {
	m := e.suiteManager(core.WithConnectionCheckInterval(time.Second))
	defer m.Close()
	p, err := m.Issue(e.ctx, "alice", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := m.Verify(e.ctx, p.AccessToken)
	if err != nil {
		e.t.Fatal(err)
	}
	conn, err := m.Bind(e.ctx, c)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if err := m.Logout(e.ctx, p.AccessToken, ""); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(time.Second) // a store that cannot announce is asked once per interval
	select {
	case <-conn.Context().Done():
	case <-time.After(notifyWait):
		e.t.Fatalf("the bound connection did not end within %v of the logout", notifyWait)
	}
	if cause := context.Cause(conn.Context()); !errors.Is(cause, core.ErrTokenRevoked) {
		e.t.Fatalf("cause: got %v, want ErrTokenRevoked", cause)
	}
}
