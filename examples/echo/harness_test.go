package main

import (
	"testing"

	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
)

// build builds the example's App as main does, from the harness's environment, with its clock and
// logger, and returns it with the harness's view of it. The App is closed when the test ends.
// (The same file in every example.)
func build(t *testing.T, env exampletest.Env) (*App, exampletest.App) {
	t.Helper()
	cfg, err := FromEnv(env.Getenv)
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	cfg.Clock, cfg.Logger = env.Clock, env.Logger
	app, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { app.Close() })
	return app, exampletest.App{Manager: app.Manager, Issuer: cfg.Issuer, Audience: cfg.Audience, AccessSecret: cfg.AccessSecret}
}
