package jwtclient

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Token is a token pair, shaped like golang.org/x/oauth2's Token so that code written for an
// oauth2.TokenSource adapts in a few lines (this module does not depend on x/oauth2).
type Token struct {
	// AccessToken is the JWT sent as "Authorization: Bearer" (RFC 6750 §2.1).
	AccessToken string `json:"access_token"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type,omitempty"`
	// RefreshToken gets the next pair. With rotation every refresh replaces it: persist the new
	// one (WithOnTokens).
	RefreshToken string `json:"refresh_token,omitempty"`
	// Expiry is when the access token expires, on the client's clock: the time the request that
	// got it was sent plus expires_in. Zero when the server said nothing.
	Expiry time.Time `json:"expiry"`
}

// farFuture is the refresh point of a token whose expiry the client cannot know.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// maxResponse bounds what the client reads of an endpoint's answer.
const maxResponse = 1 << 20

// session is the token pair the client holds and the schedule of its refresh.
type session struct {
	Token
	refreshAt time.Time // when a refresh ahead of expiry is due; zero: due now
}

// newSession schedules the refresh of t, issued at issued (client clock) with the lifetime
// given (0: unknown).
func (c *Client) newSession(t Token, issued time.Time, lifetime time.Duration) *session {
	s := &session{Token: t}
	if lifetime > 0 && t.AccessToken != "" {
		frac := c.cfg.ahead - c.cfg.jitter*rand.Float64()
		s.refreshAt = issued.Add(time.Duration(float64(lifetime) * frac))
	} else if !t.Expiry.IsZero() && t.AccessToken != "" {
		s.refreshAt = t.Expiry // lifetime unknown: refresh at expiry at the latest
	} else if t.AccessToken != "" {
		s.refreshAt = farFuture // nothing to schedule by: refresh when the server refuses the token
	}
	return s
}

// restore builds the session of a stored pair (WithTokens).
func (c *Client) restore(t Token) *session {
	t.TokenType = "Bearer"
	iat, exp := tokenTimes(t.AccessToken)
	if t.Expiry.IsZero() {
		t.Expiry = exp
	}
	if t.AccessToken == "" || t.Expiry.IsZero() {
		return &session{Token: t} // nothing to schedule by: refresh first
	}
	var lifetime time.Duration
	if !iat.IsZero() && exp.After(iat) {
		lifetime = exp.Sub(iat)
	}
	issued := t.Expiry.Add(-lifetime)
	return c.newSession(t, issued, lifetime)
}

// tokenResponse is the JSON answer of the login and refresh endpoints (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
}

// readTokens reads a 2xx token response of a request sent at sentAt. prev is the refresh token
// to keep when the answer has none (a server without rotation).
func (c *Client) readTokens(op string, resp *http.Response, sentAt time.Time, prev string) (*session, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("jwtclient: %s: reading the answer: %w", op, err)
	}
	var tr tokenResponse
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&tr); err != nil {
		return nil, fmt.Errorf("jwtclient: %s: the answer is not a JSON token response", op)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("jwtclient: %s: the answer has no access_token", op)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, fmt.Errorf("jwtclient: %s: token_type %q, want Bearer", op, tr.TokenType)
	}
	if tr.RefreshToken == "" {
		if prev == "" {
			return nil, fmt.Errorf("jwtclient: %s: the answer has no refresh_token", op)
		}
		tr.RefreshToken = prev
	}
	lifetime := expiresIn(tr.ExpiresIn)
	if lifetime == 0 { // expires_in is RECOMMENDED, not required: fall back on the token's own claims
		if iat, exp := tokenTimes(tr.AccessToken); !iat.IsZero() && exp.After(iat) {
			lifetime = exp.Sub(iat)
		}
	}
	t := Token{AccessToken: tr.AccessToken, TokenType: "Bearer", RefreshToken: tr.RefreshToken}
	if lifetime > 0 {
		// Counted from when the request left: the estimate errs on the early side.
		t.Expiry = sentAt.Add(lifetime)
	} else if _, exp := tokenTimes(tr.AccessToken); !exp.IsZero() {
		t.Expiry = exp
	}
	return c.newSession(t, sentAt, lifetime), nil
}

// expiresIn reads expires_in, a number of seconds; anything else is "unknown" (0).
func expiresIn(raw json.RawMessage) time.Duration {
	var n float64
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil || !(n > 0) || n > 10*365*24*3600 {
		return 0
	}
	return time.Duration(n * float64(time.Second))
}

// tokenTimes reads iat and exp from a JWT's payload without verifying it: the client only
// schedules refreshes by them, the server decides. Claim names are case-sensitive (RFC 7519
// §10.1.1), so the payload is read as a map, not into a struct (encoding/json would take "EXP"
// for "exp"). Zero times for whatever is absent or unreadable.
func tokenTimes(jwt string) (iat, exp time.Time) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return
	}
	return numericDate(claims["iat"]), numericDate(claims["exp"])
}

// numericDate reads a NumericDate (RFC 7519 §2): a JSON number of seconds since the epoch.
func numericDate(raw json.RawMessage) time.Time {
	var n float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil || !(n > 0) || n > math.MaxInt32*4 {
		return time.Time{}
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// serverError reads an error answer of op.
func serverError(op string, resp *http.Response) *ServerError {
	e := &ServerError{Op: op, StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Description = body.Error, body.Description
	}
	return e
}

// transient reports whether a failed request is worth sending again: no answer at all, or an
// answer that says "not now" (5xx, 408 Request Timeout, 429 Too Many Requests).
func transient(err error) bool {
	var se *ServerError
	if !errors.As(err, &se) {
		return true
	}
	return se.StatusCode >= 500 || se.StatusCode == http.StatusRequestTimeout || se.StatusCode == http.StatusTooManyRequests
}
