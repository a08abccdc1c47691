package testutil

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// What the conformance suite's routes check after authentication, and the user store behind its
// login and refresh hook. Each adapter's test mounts the routes in its framework's idiom (see
// RunHTTPSuite) with these values, so that every adapter is asked exactly the same.

// SuiteClaims are the custom claims of the suite's users.
type SuiteClaims struct {
	Role  string `json:"role,omitempty"`
	Scope string `json:"scope,omitempty"`
}

// The suite's only user, and the claims a login gives it.
const (
	SuiteUser     = "alice"
	SuitePassword = "wonderland"
)

// SuiteLoginClaims are the custom claims a login of SuiteUser carries: role "user", scope "profile".
var SuiteLoginClaims = SuiteClaims{Role: "user", Scope: "profile"}

// SuiteAuthenticate is the suite's login check: it reads the credentials of r (core.ReadCredentials)
// and accepts SuiteUser with SuitePassword, returning core.ErrInvalidCredentials otherwise. An
// adapter's test wraps it in the authenticate function of its LoginHandler.
func SuiteAuthenticate(r core.Request) (string, SuiteClaims, error) {
	c, err := core.ReadCredentials(r)
	if err != nil {
		return "", SuiteClaims{}, err
	}
	user := subtle.ConstantTimeCompare([]byte(c.Username), []byte(SuiteUser))
	pass := subtle.ConstantTimeCompare([]byte(c.Password), []byte(SuitePassword))
	if user&pass != 1 {
		return "", SuiteClaims{}, core.ErrInvalidCredentials
	}
	return c.Username, SuiteLoginClaims, nil
}

// SuiteIsAdmin is the predicate of GET /api/role: the role claim is "admin".
func SuiteIsAdmin(c SuiteClaims) bool { return c.Role == "admin" }

// The step-up requirements of GET /api/sensitive (a login at most 5 minutes old) and GET /api/mfa
// (acr "mfa").
var (
	SuiteRecentLogin = core.StepUp{MaxAge: 5 * time.Minute}
	SuiteMFA         = core.StepUp{ACRValues: []string{"mfa"}}
)

// suiteDirectory is the user store the suite's refresh hook reads: a role per user, and disabled
// users, which the cases change between requests.
type suiteDirectory struct {
	mu       sync.Mutex
	role     map[string]string
	disabled map[string]bool
}

var errSuiteDisabled = errors.New("testutil: user disabled")

func newSuiteDirectory() *suiteDirectory {
	return &suiteDirectory{role: map[string]string{SuiteUser: SuiteLoginClaims.Role}, disabled: map[string]bool{}}
}

func (d *suiteDirectory) hook(_ context.Context, subject string, current SuiteClaims) (SuiteClaims, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disabled[subject] {
		return current, errSuiteDisabled
	}
	if role, ok := d.role[subject]; ok {
		current.Role = role
	}
	return current, nil
}

func (d *suiteDirectory) setRole(subject, role string) {
	d.mu.Lock()
	d.role[subject] = role
	d.mu.Unlock()
}

func (d *suiteDirectory) disable(subject string) {
	d.mu.Lock()
	d.disabled[subject] = true
	d.mu.Unlock()
}
