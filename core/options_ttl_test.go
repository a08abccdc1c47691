package core_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// TestSubSecondTTLRefused: a lifetime under a second is refused at New, naming the option. Token
// times are whole seconds: with JWT_ACCESS_TTL=500ms an example answered a login 200 with
// "expires_in":1 and an access token already expired at its first use.
func TestSubSecondTTLRefused(t *testing.T) {
	t.Parallel()
	base := []core.Option{core.WithHMAC(testutil.AccessSecret, testutil.RefreshSecret), core.WithIssuer("i"), core.WithAudience("a")}
	for _, tc := range []struct {
		opt  core.Option
		want string
	}{
		{core.WithAccessTTL(500 * time.Millisecond), "WithAccessTTL: 500ms is shorter than a second"},
		{core.WithAccessTTL(time.Nanosecond), "WithAccessTTL: 1ns is shorter than a second"},
		{core.WithRefreshTTL(999 * time.Millisecond), "WithRefreshTTL: 999ms is shorter than a second"},
	} {
		m, err := core.New(append(base, tc.opt)...)
		if err == nil {
			m.Close()
			t.Fatalf("got no error, want one containing %q", tc.want)
		}
		if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want ErrInvalidConfig containing %q", err, tc.want)
		}
	}
	m, err := core.New(append(base, core.WithAccessTTL(time.Second), core.WithRefreshTTL(time.Second))...)
	if err != nil {
		t.Fatalf("a one-second TTL: %v", err)
	}
	m.Close()
}
