package testutil

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jwtexp/jwtexp/core"
)

// Constructors are the adapter functions that build a middleware or handler from a Manager; every
// adapter has all of them.
var Constructors = []string{"Middleware", "Authorize", "RequireScope", "RequireAnyScope", "Require",
	"RequireStepUp", "LoginHandler", "LogoutHandler", "RefreshHandler", "JWKSHandler", "SessionsHandler",
	"EndSessionHandler", "EndOtherSessionsHandler"}

// SetupChecks checks what an adapter refuses at setup rather than on the first request: each of
// build's constructors (one per name in Constructors) panics with a nil *core.Manager, naming
// itself (pkg.Name) and saying what to pass; authorize, which calls Authorize with a valid
// Manager and the requirements given, panics with none, a nil one or a zero one.
func SetupChecks(t *testing.T, pkg string, build map[string]func(*core.Manager), authorize func(*core.Manager, ...*core.Requirement)) {
	t.Helper()
	for _, name := range Constructors {
		f, ok := build[name]
		if !ok {
			t.Errorf("%s.%s: not checked", pkg, name)
			continue
		}
		msg := panicOf(func() { f(nil) })
		if want := pkg + "." + name + ": the *core.Manager is nil"; !strings.Contains(msg, want) || !strings.Contains(msg, "core.New") {
			t.Errorf("%s.%s(nil Manager): got panic %q, want one containing %q and core.New", pkg, name, msg, want)
		}
	}
	if len(build) != len(Constructors) {
		t.Errorf("%s: %d constructors checked, want %d", pkg, len(build), len(Constructors))
	}
	m := SuiteManager(t, NewClockNow())
	for _, tc := range []struct {
		name string
		reqs []*core.Requirement
		want string
	}{
		{"no requirement", nil, pkg + ".Authorize: no requirement"},
		{"a nil requirement", []*core.Requirement{nil}, pkg + ".Authorize: requirement 0 was never built"},
		{"a zero requirement", []*core.Requirement{core.MustRequirement(core.RequireScope("read")), new(core.Requirement)},
			pkg + ".Authorize: requirement 1 was never built"},
	} {
		if msg := panicOf(func() { authorize(m, tc.reqs...) }); !strings.Contains(msg, tc.want) {
			t.Errorf("%s.Authorize with %s: got panic %q, want one containing %q", pkg, tc.name, msg, tc.want)
		}
	}
}

// ParamCheck checks that pkg's EndSessionHandler, given an empty route parameter name, fails when
// the route is built, naming itself and what to pass.
func ParamCheck(t *testing.T, pkg string, endSession func(m *core.Manager, param string)) {
	t.Helper()
	m := SuiteManager(t, NewClockNow())
	msg := panicOf(func() { endSession(m, "") })
	if want := pkg + ".EndSessionHandler: the route parameter name is empty"; !strings.Contains(msg, want) {
		t.Errorf("%s.EndSessionHandler(m, \"\"): got panic %q, want one containing %q", pkg, msg, want)
	}
	if msg := panicOf(func() { endSession(m, "id") }); msg != "" {
		t.Errorf("%s.EndSessionHandler(m, \"id\") panicked: %s", pkg, msg)
	}
}

// panicOf runs f and returns what it panicked with, "" when it returned.
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
