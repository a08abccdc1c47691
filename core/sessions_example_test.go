package core_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// "Your devices": the sessions of the subject of a request, this one marked.
func ExampleManager_Sessions() {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m := exampleManager(clock)
	defer m.Close()

	laptop, _ := m.Issue(ctx, "alice", nil,
		core.WithClientDescription(core.DescribeClient("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "192.0.2.7:5123")))
	clock.Advance(time.Hour)
	phone, _ := m.Issue(ctx, "alice", nil, core.WithClientDescription("Safari on iOS"))

	claims, _ := m.Verify(ctx, phone.AccessToken) // what the middleware hands to the handler
	sessions, _ := m.Sessions(ctx, claims.Subject, claims.SessionID)
	for _, s := range sessions {
		fmt.Println(s.Client, "| created", s.CreatedAt.Format(time.Kitchen), "| current:", s.Current,
			"| laptop:", s.ID == laptop.SessionID)
	}
	// Output:
	// Safari on iOS | created 1:00PM | current: true | laptop: false
	// Firefox on Linux, 192.0.2.0/24 | created 12:00PM | current: false | laptop: true
}

// Ending one session refuses its tokens at once; an id that is not one of the subject's sessions
// is "not found", whoever it belongs to. EndOtherSessions is "sign out other devices".
func ExampleManager_EndSession() {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m := exampleManager(clock)
	defer m.Close()

	laptop, _ := m.Issue(ctx, "alice", nil)
	phone, _ := m.Issue(ctx, "alice", nil)
	tablet, _ := m.Issue(ctx, "alice", nil)
	bob, _ := m.Issue(ctx, "bob", nil)

	fmt.Println("end the laptop:", m.EndSession(ctx, "alice", laptop.SessionID))
	_, err := m.Verify(ctx, laptop.AccessToken)
	fmt.Println("laptop's access token:", err)
	_, err = m.Refresh(ctx, laptop.RefreshToken)
	fmt.Println("laptop's refresh:", errors.Is(err, core.ErrInvalidGrant))

	err = m.EndSession(ctx, "alice", bob.SessionID)
	fmt.Println("bob's session through alice:", err, errors.Is(err, core.ErrSessionNotFound))

	n, err := m.EndOtherSessions(ctx, "alice", phone.SessionID)
	fmt.Println("sign out other devices:", n, err)
	_, err = m.Verify(ctx, tablet.AccessToken)
	fmt.Println("tablet:", err)
	_, err = m.Verify(ctx, phone.AccessToken)
	fmt.Println("phone:", err)
	// Output:
	// end the laptop: <nil>
	// laptop's access token: jwtexp: token revoked: session revoked
	// laptop's refresh: true
	// bob's session through alice: jwtexp: session not found true
	// sign out other devices: 1 <nil>
	// tablet: jwtexp: token revoked: session revoked
	// phone: <nil>
}

// A bound on live sessions per subject: the login beyond it ends the least recently used one.
func ExampleWithMaxSessions() {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m := exampleManager(clock, core.WithMaxSessions(2))
	defer m.Close()

	first, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(time.Minute)
	second, _ := m.Issue(ctx, "alice", nil)
	clock.Advance(time.Minute)
	next, _ := m.Refresh(ctx, first.RefreshToken) // first is now the most recently used
	clock.Advance(time.Minute)
	m.Issue(ctx, "alice", nil)

	_, err := m.Verify(ctx, second.AccessToken)
	fmt.Println("second:", err)
	_, err = m.Verify(ctx, next.AccessToken)
	fmt.Println("first:", err)
	// Output:
	// second: jwtexp: token revoked: session revoked
	// first: <nil>
}
