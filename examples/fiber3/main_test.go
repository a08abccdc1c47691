package main

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
)

// start serves the Fiber app on a loopback listener until the test ends.
func start(t *testing.T, env exampletest.Env) (exampletest.App, string) {
	app, view := build(t, env)
	ln := exampletest.Listen(t)
	f := newApp(app)
	served := make(chan error, 1)
	go func() { served <- f.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := f.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return view, "http://" + ln.Addr().String()
}

func TestContract(t *testing.T) { exampletest.Contract(t, start) }
func TestRedis(t *testing.T)    { exampletest.Redis(t, start) }
func TestBrowser(t *testing.T)  { exampletest.Browser(t, start) }
func TestMetrics(t *testing.T)  { exampletest.Metrics(t, start) }
func TestSessions(t *testing.T) { exampletest.Sessions(t, start) }
func TestStreams(t *testing.T)  { exampletest.Streams(t, start) }

// TestBadConfigExits runs the real binary with bad variables: exit 2 and a one-line reason.
func TestBadConfigExits(t *testing.T) { exampletest.BadConfigExits(t) }

// TestGracefulShutdown runs the real binary and stops it with SIGTERM, then SIGINT: exit 0.
func TestGracefulShutdown(t *testing.T) { exampletest.GracefulShutdown(t) }

func TestLoad(t *testing.T) { exampletest.Load(t, start) }

// TestNaiveClients and TestNaiveAxios: the refresh interceptor most tutorials teach, in Go and in
// Node with axios, loses no session on the example's defaults (see exampletest).
func TestNaiveClients(t *testing.T) { exampletest.NaiveClients(t, start) }
func TestNaiveAxios(t *testing.T)   { exampletest.NaiveAxios(t, start) }

// TestClient runs the Go client (jwtclient) against the example over loopback HTTP.
func TestClient(t *testing.T) { exampletest.Client(t, start) }

// TestCookieOnly: JWT_COOKIE_ONLY=1, from the outside and in headless Chromium (see exampletest.CookieOnly).
func TestCookieOnly(t *testing.T) { exampletest.CookieOnly(t, start) }

// TestDPoP: the DPoP part of the example contract (RFC 9449).
func TestDPoP(t *testing.T) { exampletest.DPoP(t, start) }

// TestDPoPBrowser: the browser client with DPoP in headless Chromium (see exampletest.DPoPBrowser).
func TestDPoPBrowser(t *testing.T) { exampletest.DPoPBrowser(t, start) }

// TestDPoPInterop: panva's dpop package (Node) as the DPoP client (see exampletest).
func TestDPoPInterop(t *testing.T) { exampletest.DPoPInterop(t, start) }
