package jwtclient

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLoggedIn is returned by Token and by requests through the client before Login (or
	// WithTokens) gave it a session.
	ErrNotLoggedIn = errors.New("jwtclient: not logged in")

	// ErrSessionEnded is returned once the session is over: the refresh endpoint refused the
	// refresh token (400 invalid_grant, RFC 6749 §5.2, or 401 from servers of before December
	// 2026: the session was logged out, ended elsewhere, expired, or its refresh token was
	// reused; any other 4xx but 408 and 429 counts as a refusal too, as a retry would not change
	// it), or Logout was called. The client
	// never retries a refresh after it and sends no further request for the session: log in
	// again. The server's answer, when there was one, is in the chain as a *ServerError.
	ErrSessionEnded = errors.New("jwtclient: session ended")

	// ErrLoginRefused is returned by Login and LoginForm when the server refused the credentials
	// (a 4xx answer, typically 401 invalid_grant). The server's answer is in the chain as a
	// *ServerError.
	ErrLoginRefused = errors.New("jwtclient: login refused")

	// ErrRefreshUnavailable is returned when a refresh got no usable answer after its retries
	// (network errors, timeouts, 5xx, 408, 429) and the access token has expired. The session is
	// kept: a later call tries again, with the same Idempotency-Key, so that a refresh the server
	// did carry out is not mistaken for a replayed, stolen token.
	ErrRefreshUnavailable = errors.New("jwtclient: refresh unavailable")

	// ErrInvalidConfig is wrapped by every error New returns; the message names the option.
	ErrInvalidConfig = errors.New("jwtclient: invalid config")
)

// ServerError is an error answer of the login, refresh or logout endpoint: its status and the
// OAuth 2.0 error code and description of its JSON body (RFC 6749 §5.2), when it has one.
type ServerError struct {
	Op          string // "login", "refresh" or "logout"
	StatusCode  int    // HTTP status
	Code        string // the error member of the body, e.g. "invalid_grant"; empty if none
	Description string // the error_description member; empty if none
}

// Error describes the answer without any token.
func (e *ServerError) Error() string {
	s := fmt.Sprintf("jwtclient: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
