package core

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Requirement is a check a route makes on an authenticated request's claims, after the token
// verified: scopes (RequireScope, RequireAnyScope), the application's own claims
// (RequireClaims, for roles), or a recent or stronger login (RequireStepUp). Build it once, at
// route setup, and check it with Manager.Authorize; it is immutable and safe for concurrent use.
// The adapters' RequireScope, RequireAnyScope, Require and RequireStepUp middlewares wrap these.
type Requirement struct {
	scopes []string // RequireScope, RequireAnyScope
	any    bool     // RequireAnyScope: one of scopes suffices
	pred   func(*Claims) bool
	maxAge time.Duration // RequireStepUp; 0: not checked
	acr    []string      // RequireStepUp; nil: not checked

	refuse    *tokenError // the refusal, built once with its challenge parameters
	refuseACR *tokenError // RequireStepUp: the refusal when acr is the problem
}

// RequireScope requires every one of scopes (RFC 6749 §3.3 scope-tokens: printable ASCII
// without space, '"' or '\'). A token lacking one is refused with ErrInsufficientScope: 403
// insufficient_scope with scope="<the scopes, space-separated>" in the challenge (RFC 6750 §3.1).
// The token's scopes are read from scope and scp (see Claims.Scopes). No scope, or an invalid
// one, is an error matching ErrInvalidConfig.
func RequireScope(scopes ...string) (*Requirement, error) {
	return scopeRequirement("RequireScope", false, scopes)
}

// RequireAnyScope requires at least one of scopes; otherwise as RequireScope (the challenge
// lists all of them).
func RequireAnyScope(scopes ...string) (*Requirement, error) {
	return scopeRequirement("RequireAnyScope", true, scopes)
}

func scopeRequirement(name string, any bool, scopes []string) (*Requirement, error) {
	if len(scopes) == 0 {
		return nil, configError("%s: no scope given", name)
	}
	for _, s := range scopes {
		if !validScope(s) {
			return nil, configError("%s: %q is not a scope (RFC 6749 §3.3: printable ASCII without space, '\"' or '\\'; pass each scope as its own argument)", name, s)
		}
	}
	r := &Requirement{scopes: append([]string(nil), scopes...), any: any}
	r.refuse = authzError(ErrInsufficientScope, "insufficient scope", `, scope="`+strings.Join(scopes, " ")+`"`)
	return r, nil
}

// RequireClaims requires the application's own claims of the token, decoded into T as
// CustomClaims does, to satisfy pred - a role, a tenant, a flag. A token whose claims fail pred,
// or do not decode into T, is refused with ErrInsufficientScope: 403 insufficient_scope
// "insufficient privileges", without a scope parameter. Each check decodes the claims (one JSON
// decode, allocating); prefer scopes on hot routes. A nil pred is an error matching
// ErrInvalidConfig.
//
//	type User struct {
//		Role string `json:"role"`
//	}
//	admin, err := core.RequireClaims(func(u User) bool { return u.Role == "admin" })
func RequireClaims[T any](pred func(T) bool) (*Requirement, error) {
	if pred == nil {
		return nil, configError("RequireClaims: predicate is nil")
	}
	return &Requirement{
		pred: func(c *Claims) bool {
			v, err := CustomClaims[T](c)
			return err == nil && pred(v)
		},
		refuse: authzError(ErrInsufficientScope, "insufficient privileges", ""),
	}, nil
}

// StepUp is what RequireStepUp asks of the user's authentication (RFC 9470 §3). At least one field
// must be set.
type StepUp struct {
	// MaxAge is the longest time since the user last authenticated interactively (the token's
	// auth_time, see Claims.AuthTime) the route accepts, in whole seconds; the leeway applies. A
	// token without auth_time is refused. 0: not checked.
	MaxAge time.Duration
	// ACRValues are the authentication context classes the route accepts; the token's acr must be
	// one of them. nil: not checked.
	ACRValues []string
}

// RequireStepUp requires an authentication at most s.MaxAge old and/or of one of the classes
// s.ACRValues. A token that fails is refused with ErrInsufficientUserAuthentication: 401
// insufficient_user_authentication with max_age="<seconds>" and/or acr_values="<values>" in the
// challenge, telling the client to have the user log in again (RFC 9470 §3). Login sets
// auth_time; refresh keeps it, so refreshing never makes an old login recent. An empty StepUp, a
// negative or fractional MaxAge, or an acr value with spaces, quotes or backslashes is an error
// matching ErrInvalidConfig.
func RequireStepUp(s StepUp) (*Requirement, error) {
	switch {
	case s.MaxAge == 0 && len(s.ACRValues) == 0:
		return nil, configError("RequireStepUp: set MaxAge, ACRValues or both")
	case s.MaxAge < 0 || s.MaxAge%time.Second != 0:
		return nil, configError("RequireStepUp: MaxAge %v must be a positive number of whole seconds (RFC 9470 max_age)", s.MaxAge)
	}
	for _, v := range s.ACRValues {
		if !validScope(v) {
			return nil, configError("RequireStepUp: acr value %q must be printable ASCII without space, '\"' or '\\'", v)
		}
	}
	var params string
	if len(s.ACRValues) > 0 {
		params += `, acr_values="` + strings.Join(s.ACRValues, " ") + `"`
	}
	if s.MaxAge > 0 {
		params += `, max_age="` + strconv.FormatInt(int64(s.MaxAge/time.Second), 10) + `"`
	}
	return &Requirement{
		maxAge:    s.MaxAge,
		acr:       append([]string(nil), s.ACRValues...),
		refuse:    authzError(ErrInsufficientUserAuthentication, "more recent authentication is required", params),
		refuseACR: authzError(ErrInsufficientUserAuthentication, "a different authentication level is required", params),
	}, nil
}

// MustRequirement returns r, and panics with err's message when err is not nil. It is for route
// setup, where a bad requirement is a programming error that must stop the program at start, as
// regexp.MustCompile does; the adapters' Require* middlewares use it.
func MustRequirement(r *Requirement, err error) *Requirement {
	if err != nil {
		panic(err.Error())
	}
	return r
}

func authzError(kind error, reason, params string) *tokenError {
	e := newTokenError(kind, reason, nil)
	e.params = params
	return e
}

// Authorize checks c, the claims of an authenticated request, against every requirement in
// order and returns the first refusal: ErrInsufficientScope (403) or
// ErrInsufficientUserAuthentication (401), whose Problem carries the challenge parameters of RFC
// 6750 §3.1 and RFC 9470 §3. A nil c - an anonymous request, or a route without the
// authentication middleware in front - fails with ErrTokenMissing (401), so authorization never
// passes a request authentication did not. A nil requirement, or a zero one that no Require*
// constructor built, fails closed (500). Refusals are reported as EventRejected. Scope checks
// allocate nothing.
func (m *Manager) Authorize(ctx context.Context, c *Claims, reqs ...*Requirement) error {
	err := m.authorize(c, reqs)
	if err != nil {
		m.rejected(ctx, err)
		if c != nil && c.DPoPThumbprint() != "" {
			// A bound token came with the DPoP scheme: the refusal's challenge names it.
			err = dpopRefusal(err)
		}
	}
	return err
}

// zero reports whether r asks for nothing: declared, never built by a Require* constructor.
func (r *Requirement) zero() bool {
	return r.scopes == nil && r.pred == nil && r.maxAge == 0 && r.acr == nil
}

func (m *Manager) authorize(c *Claims, reqs []*Requirement) error {
	if c == nil {
		return errMissing
	}
	for _, r := range reqs {
		switch {
		case r == nil:
			return errNilRequirement
		case r.scopes != nil:
			if !r.scopesOK(c) {
				return r.refuse
			}
		case r.pred != nil:
			if !r.pred(c) {
				return r.refuse
			}
		case r.maxAge == 0 && r.acr == nil:
			// A zero Requirement (declared, never built by a Require* constructor) asks for
			// nothing; letting it pass would turn a forgotten assignment into an open route.
			return errNilRequirement
		default:
			if err := m.stepUpOK(r, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Requirement) scopesOK(c *Claims) bool {
	for _, s := range r.scopes {
		has := c.HasScope(s)
		if r.any && has {
			return true
		}
		if !r.any && !has {
			return false
		}
	}
	return !r.any
}

// stepUpOK applies RFC 9470: the authentication must be recent enough and of an accepted class.
// An auth_time in the future beyond the leeway is not a recent authentication either.
func (m *Manager) stepUpOK(r *Requirement, c *Claims) error {
	if r.maxAge > 0 {
		now := m.cfg.now()
		if c.AuthTime.IsZero() || now.Sub(c.AuthTime) > r.maxAge+m.cfg.leeway || c.AuthTime.After(now.Add(m.cfg.leeway)) {
			return r.refuse
		}
	}
	if r.acr != nil {
		for _, v := range r.acr {
			if c.ACR == v {
				return nil
			}
		}
		return r.refuseACR
	}
	return nil
}
