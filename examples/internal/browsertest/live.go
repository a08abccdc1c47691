package browsertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// liveState reads #<prefix>-state, #<prefix>-ticks (its data-count) and #<prefix>-exp.
func (d *driver) liveState(t *testing.T, prefix string) (state string, ticks int, exp string) {
	t.Helper()
	state = eval[string](t, d, "read #"+prefix+"-state", fmt.Sprintf(`document.getElementById('%s-state').textContent`, prefix))
	ticks = eval[int](t, d, "read #"+prefix+"-ticks", fmt.Sprintf(`Number(document.getElementById('%s-ticks').dataset.count || 0)`, prefix))
	exp = eval[string](t, d, "read #"+prefix+"-exp", fmt.Sprintf(`document.getElementById('%s-exp').textContent`, prefix))
	return state, ticks, exp
}

// waitTicking waits until both live connections are open and have ticked with an exp other
// than notExp, and returns the exps they show.
func (d *driver) waitTicking(t *testing.T, notExp string) (stream, socket string) {
	t.Helper()
	for _, prefix := range []string{"stream", "socket"} {
		until[bool](t, d, "#"+prefix+" to tick with a new token", fmt.Sprintf(
			`(() => { const s = document.getElementById('%[1]s-state').textContent, e = document.getElementById('%[1]s-exp').textContent;
			  return s === 'open' && e !== '-' && e !== %[2]q; })()`, prefix, notExp))
	}
	_, _, stream = d.liveState(t, "stream")
	_, _, socket = d.liveState(t, "socket")
	return stream, socket
}

// live: the page's stream and socket survive the refresh of the access token, and end, with the
// page on the login view, when another device signs this one out.
func (d *driver) live(t *testing.T) {
	d.guard(t)
	other := d.newContext(t)
	other.guard(t)
	d.open(t, "/")
	other.open(t, "/")
	d.login(t)
	if got := d.sessionsAfter(t, "click #end-others", chromedp.Click(chromedp.ID("end-others"))); len(got) != 1 {
		t.Fatalf("sessions after signing out the other devices: %+v, want only this one", got)
	}
	d.do(t, "click #live-toggle", chromedp.Click(chromedp.ID("live-toggle")))
	streamExp, socketExp := d.waitTicking(t, "")
	if streamExp != socketExp {
		t.Errorf("stream and socket bound to different tokens: exp %s and %s", streamExp, socketExp)
	}

	// The access token expires: one refresh, and both connections tick again with the new token.
	before := d.h.RefreshCalls()
	d.h.Expire()
	newStream, newSocket := d.waitTicking(t, streamExp)
	if got := d.h.RefreshCalls() - before; got != 1 {
		t.Errorf("the server saw %d POST /refresh when the live connections' token expired, want 1%s", got, d.diagnostics())
	}
	if newStream != newSocket {
		t.Errorf("after the refresh, stream and socket show exp %s and %s, want the same token", newStream, newSocket)
	}
	t.Logf("live connections moved from exp %s to %s with one refresh", streamExp, newStream)

	// Another device signs this one out: both end, and the page goes to the login view.
	other.login(t)
	if got := other.sessionsAfter(t, "click #end-others on the other device", chromedp.Click(chromedp.ID("end-others"))); len(got) != 1 {
		t.Fatalf("sessions after the other device signed out the others: %+v, want only its own", got)
	}
	d.waitState(t, "logged-out")
	d.do(t, "see the login form after being signed out", chromedp.WaitVisible(chromedp.ID("login")))
	if notice := eval[string](t, d, "read #notice", `document.getElementById('notice').textContent`); !strings.Contains(notice, "session was ended") {
		t.Errorf("#notice after being signed out: %q, want it to say the session was ended", notice)
	}
	stream, _, _ := d.liveState(t, "stream")
	socket, _, _ := d.liveState(t, "socket")
	if !strings.HasPrefix(stream, "closed") || !strings.HasPrefix(socket, "closed") {
		t.Errorf("live connections after being signed out: stream %q, socket %q, want both closed", stream, socket)
	}
	t.Logf("after being signed out elsewhere: stream %q, socket %q", stream, socket)
}
