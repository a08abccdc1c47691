package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newContext opens a second tab in a browser context of its own (its own
// cookie jar, as another device), closed at the end of the test.
func (d *driver) newContext(t *testing.T) *driver {
	t.Helper()
	ctx, cancel := chromedp.NewContext(d.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	o := &driver{ctx: ctx, base: d.base, h: d.h}
	// As in start: the first Do creates the tab and ties it to ctx.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(d.h.Timeout)
	defer timer.Stop()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: open a second browser context: %v", err)
		}
	case <-timer.C:
		cancel()
		<-started
		t.Fatalf("browsertest: a second browser context did not open within %v", d.h.Timeout)
	}
	return o
}

type sessionItem struct {
	ID      string `json:"id"`
	Current bool   `json:"current"`
	Text    string `json:"text"`
}

// waitLoads waits until #sessions has finished a load after the count prev.
func (d *driver) waitLoads(t *testing.T, prev int) {
	t.Helper()
	until[bool](t, d, "#sessions to load", fmt.Sprintf(
		`(() => { const l = document.getElementById('sessions'); return Number(l.dataset.loads) > %d && l.getAttribute('aria-busy') === 'false'; })()`, prev))
}

// sessionsAfter runs action (a click that reloads #sessions), waits for the
// load and returns the listed sessions.
func (d *driver) sessionsAfter(t *testing.T, what string, action chromedp.Action[chromedp.Void]) []sessionItem {
	t.Helper()
	prev := eval[int](t, d, "read #sessions loads", `Number(document.getElementById('sessions').dataset.loads || 0)`)
	d.do(t, what, action)
	d.waitLoads(t, prev)
	raw := eval[string](t, d, "read #sessions", `JSON.stringify(Array.from(document.querySelectorAll('#sessions li'),
		(li) => ({id: li.dataset.id, current: li.dataset.current === 'true', text: li.textContent})))`)
	var items []sessionItem
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		t.Fatalf("decode #sessions %s: %v", raw, err)
	}
	return items
}

func (d *driver) lastResponse(t *testing.T) string {
	t.Helper()
	return eval[string](t, d, "read #last-response", `document.getElementById('last-response').textContent`)
}

// endedElsewhere checks that a page whose session was ended elsewhere fails
// its next calls and lands on the login view.
func (d *driver) endedElsewhere(t *testing.T) {
	t.Helper()
	checkStatuses(t, d.callAPI(t), "401")
	d.waitState(t, "logged-out")
	d.do(t, "see the login form on the ended device", chromedp.WaitVisible(chromedp.ID("login")))
	if notice := eval[string](t, d, "read #notice", `document.getElementById('notice').textContent`); !strings.Contains(notice, "session has ended") {
		t.Errorf("#notice on the ended device: %q, want it to say the session has ended", notice)
	}
}

// sessions: "your devices" with two browser contexts as two devices.
func (d *driver) sessions(t *testing.T) {
	d.guard(t)
	other := d.newContext(t)
	other.guard(t)
	// Both pages are opened (which clears cookies) before either logs in.
	d.open(t, "/")
	other.open(t, "/")
	d.login(t)
	// Earlier subtests left sessions of the same user: end them first.
	if got := d.sessionsAfter(t, "click #end-others", chromedp.Click(chromedp.ID("end-others"))); len(got) != 1 || !got[0].Current {
		t.Fatalf("sessions after signing out the other devices: %+v, want only this one", got)
	}
	other.login(t)

	got := d.sessionsAfter(t, "click #refresh-sessions", chromedp.Click(chromedp.ID("refresh-sessions")))
	if len(got) != 2 || got[0].Current == got[1].Current {
		t.Fatalf("sessions with two devices: %+v, want two, one of them this device", got)
	}
	for _, s := range got {
		if s.Current && !strings.Contains(s.Text, "this device") {
			t.Errorf("the current session %q does not say \"this device\"", s.Text)
		}
		if !strings.Contains(s.Text, "Headless Chrome") {
			t.Errorf("session %q: want its client (Headless Chrome) described", s.Text)
		}
	}
	if body := d.lastResponse(t); !strings.Contains(body, "GET /api/sessions → 200") || !strings.Contains(body, `"sessions"`) {
		t.Errorf("#last-response after listing: %q, want the status and the JSON body", body)
	}

	// End the second device's session from the first.
	got = d.sessionsAfter(t, "click End on the other session",
		chromedp.Click(chromedp.CSS(`#sessions li[data-current="false"] button.end-session`)))
	if len(got) != 1 || !got[0].Current {
		t.Fatalf("sessions after ending the other one: %+v, want only this one", got)
	}
	other.endedElsewhere(t)

	// "Sign out other devices" likewise.
	other.login(t)
	if got = d.sessionsAfter(t, "click #refresh-sessions", chromedp.Click(chromedp.ID("refresh-sessions"))); len(got) != 2 {
		t.Fatalf("sessions after the second device logged in again: %+v, want two", got)
	}
	if got = d.sessionsAfter(t, "click #end-others", chromedp.Click(chromedp.ID("end-others"))); len(got) != 1 || !got[0].Current {
		t.Fatalf("sessions after signing out the other devices: %+v, want only this one", got)
	}
	other.endedElsewhere(t)

	// The first device never noticed.
	checkStatuses(t, d.callAPI(t), "200")
	d.waitState(t, "logged-in")
	if body := d.lastResponse(t); !strings.Contains(body, "GET /api/me → 200") || !strings.Contains(body, `"sub": "alice"`) {
		t.Errorf("#last-response after the calls: %q, want the status and the JSON body", body)
	}
}

// idleTimeout: a session refreshed within the idle timeout lives on, one left
// alone longer ends.
func (d *driver) idleTimeout(t *testing.T) {
	d.guard(t)
	d.open(t, "/")
	d.login(t)
	before := d.h.RefreshCalls()
	d.h.Advance(d.h.IdleTimeout - time.Second)
	checkStatuses(t, d.callAPI(t), "200")
	if got := d.h.RefreshCalls() - before; got != 1 {
		t.Errorf("calls after %v: the server saw %d refreshes, want 1", d.h.IdleTimeout-time.Second, got)
	}
	if n := eval[string](t, d, "read #refresh-count", `document.getElementById('refresh-count').textContent`); n != "1" {
		t.Errorf("#refresh-count = %q, want 1", n)
	}
	d.h.Advance(d.h.IdleTimeout + time.Second)
	checkStatuses(t, d.callAPI(t), "401")
	d.waitState(t, "logged-out")
	d.do(t, "see the login form after the idle timeout", chromedp.WaitVisible(chromedp.ID("login")))
}
