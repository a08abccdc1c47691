package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/jwtexptest"
)

// RPCStatus gives each refusal its RPC code and core's reason, read from the same table as the
// HTTP answer, and never the token.
func TestRPCStatus(t *testing.T) {
	k := jwtexptest.New(t)
	ctx := context.Background()
	verify := func(opts ...jwtexptest.TokenOption) error {
		token := k.Token(t, opts...)
		_, err := k.Manager.Verify(ctx, token)
		return err
	}
	admin := core.MustRequirement(core.RequireScope("admin"))
	stepUp := core.MustRequirement(core.RequireStepUp(core.StepUp{MaxAge: 5 * time.Minute}))
	claims, err := k.Manager.Verify(ctx, k.Token(t, jwtexptest.WithAuthTime(k.Clock.Now().Add(-time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	_, refreshErr := k.Manager.Refresh(ctx, "junk")
	cases := []struct {
		name string
		err  error
		code uint32
		msg  string
	}{
		{"expired", verify(jwtexptest.Expired(time.Minute)), 16, "token expired"},
		{"wrong key", verify(jwtexptest.WrongKey()), 16, "invalid signature"},
		{"missing", k.Manager.Authorize(ctx, nil, admin), 16, "missing bearer token"},
		{"scope", k.Manager.Authorize(ctx, claims, admin), 7, `insufficient scope, scope="admin"`},
		{"step-up", k.Manager.Authorize(ctx, claims, stepUp), 16, `more recent authentication is required, max_age="300"`},
		{"refresh refused", refreshErr, 3, "malformed token"},
		{"invalid credentials", core.ErrInvalidCredentials, 16, "invalid username or password"},
		{"store down", core.ErrStoreUnavailable, 14, "service temporarily unavailable"},
		{"session not found", core.ErrSessionNotFound, 5, "session not found"},
		{"verification only", core.ErrVerificationOnly, 12, "this server only verifies tokens"},
		{"not ours", errors.New("secret detail"), 13, "internal error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := core.RPCStatus(tc.err)
			if code != tc.code || msg != tc.msg {
				t.Fatalf("got %d %q, want %d %q", code, msg, tc.code, tc.msg)
			}
			if strings.Contains(msg, "secret") {
				t.Fatalf("the message carries err.Error()")
			}
		})
	}
}
