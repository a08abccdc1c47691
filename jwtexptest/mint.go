package jwtexptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenOption shapes one minted token. The options named for a case (Expired, NotYetValid,
// WrongIssuer, WrongAudience, WrongKey, AsRefreshToken, WithoutExp) make the token fail one
// check; the others (WithSubject, WithScopes, WithAuthTime, WithClaims, ...) describe a valid
// token. Later options win.
type TokenOption func(*spec)

// spec is what a token will hold.
type spec struct {
	claims   jwt.MapClaims
	header   map[string]any
	kind     string // "access", "refresh" or "wrong": which key signs
	noExp    bool
	lifetime time.Duration // exp - iat when set
	expired  time.Duration // exp = now - expired when > 0
	err      string        // a bad option, reported when the token is minted
}

// Expired makes a token that expired d ago (d > 0): exp = now - d, iat one lifetime before.
// With a leeway L, a Manager refuses it when d >= L (RFC 7519 §4.1.4).
func Expired(d time.Duration) TokenOption {
	return func(s *spec) {
		if d <= 0 {
			s.err = "Expired: duration must be positive"
		}
		s.expired = d
	}
}

// NotYetValid makes a token that becomes valid d from now: nbf = now + d (RFC 7519 §4.1.5).
// A Manager refuses it while d exceeds its leeway.
func NotYetValid(d time.Duration) TokenOption {
	return func(s *spec) { s.claims["nbf"] = jwt.NewNumericDate(s.now().Add(d)) }
}

// IssuedAt sets iat (and moves exp with it, keeping the lifetime). An iat in the future beyond the
// leeway is refused.
func IssuedAt(t time.Time) TokenOption {
	return func(s *spec) { s.claims["iat"] = jwt.NewNumericDate(t) }
}

// WrongIssuer makes a token of another issuer (iss "https://wrong-issuer.example").
func WrongIssuer() TokenOption { return WithIssuer("https://wrong-issuer.example") }

// WrongAudience makes a token for another audience (aud "wrong-audience").
func WrongAudience() TokenOption { return WithAudience("wrong-audience") }

// WrongKey signs the token with a key the verifier does not have (same algorithm and kid), so
// only the signature check catches it.
func WrongKey() TokenOption { return func(s *spec) { s.kind = "wrong" } }

// AsRefreshToken makes a refresh token: signed with the refresh key and typed "refresh+jwt"
// (RFC 8725 §3.11). Presented as an access token, it is refused (wrong type, wrong key).
func AsRefreshToken() TokenOption {
	return func(s *spec) {
		s.kind = "refresh"
		s.header["typ"] = "refresh+jwt"
	}
}

// WithoutExp leaves exp out. A Manager always refuses a token without exp: a token that never
// expires is what the library exists to prevent.
func WithoutExp() TokenOption { return func(s *spec) { s.noExp = true } }

// WithLifetime sets exp - iat to d. A lifetime above the Manager's access TTL plus leeway is
// refused even when the signature is good: a token minted to live for years stays refused.
func WithLifetime(d time.Duration) TokenOption {
	return func(s *spec) {
		if d <= 0 {
			s.err = "WithLifetime: duration must be positive"
		}
		s.lifetime = d
	}
}

// WithSubject sets sub. Default: Subject.
func WithSubject(sub string) TokenOption { return func(s *spec) { s.claims["sub"] = sub } }

// WithIssuer sets iss.
func WithIssuer(iss string) TokenOption { return func(s *spec) { s.claims["iss"] = iss } }

// WithAudience sets aud: one audience as a string, several as an array (RFC 7519 §4.1.3).
func WithAudience(aud ...string) TokenOption {
	return func(s *spec) {
		switch len(aud) {
		case 0:
			delete(s.claims, "aud")
		case 1:
			s.claims["aud"] = aud[0]
		default:
			s.claims["aud"] = aud
		}
	}
}

// WithScopes sets scope, space-separated (RFC 8693 §4.2), for routes that require scopes.
func WithScopes(scopes ...string) TokenOption {
	return func(s *spec) { s.claims["scope"] = strings.Join(scopes, " ") }
}

// WithAuthTime sets auth_time, the time of the user's last interactive login (RFC 9470 §4), for
// step-up routes that require a recent login.
func WithAuthTime(t time.Time) TokenOption {
	return func(s *spec) { s.claims["auth_time"] = jwt.NewNumericDate(t) }
}

// WithSessionID sets sid, the session the token belongs to.
func WithSessionID(sid string) TokenOption { return func(s *spec) { s.claims["sid"] = sid } }

// WithClaim sets one claim to value (any JSON value), or removes it when value is nil.
func WithClaim(name string, value any) TokenOption {
	return func(s *spec) {
		if value == nil {
			delete(s.claims, name)
			return
		}
		s.claims[name] = value
	}
}

// WithClaims adds the application's custom claims: v (a struct or a map) must marshal to a JSON
// object; its members are written into the token, as core.Manager.Issue does with custom claims,
// so handlers read them with core.CustomClaims.
func WithClaims(v any) TokenOption {
	return func(s *spec) {
		raw, err := json.Marshal(v)
		var m map[string]any
		if err != nil || json.Unmarshal(raw, &m) != nil || m == nil {
			s.err = "WithClaims: the value does not marshal to a JSON object"
			return
		}
		for k, x := range m {
			s.claims[k] = x
		}
	}
}

// WithHeader sets a JOSE header member (nil removes it), e.g. "kid", or "crit" to see it
// refused.
func WithHeader(name string, value any) TokenOption {
	return func(s *spec) {
		if value == nil {
			delete(s.header, name)
			return
		}
		s.header[name] = value
	}
}

func (s *spec) now() time.Time { return s.claims["iat"].(*jwt.NumericDate).Time }

var hs256 jwt.SigningMethod = jwt.SigningMethodHS256

// signer is a key and its algorithm; kid may be empty.
type signer struct {
	method jwt.SigningMethod
	key    any
	kid    string
}

// keyring holds the keys a minter signs with: access, refresh, and one nobody verifies with.
type keyring struct{ access, refresh, wrong signer }

type defaults struct {
	iss, aud string
	now      time.Time
	ttl      time.Duration
}

// mint builds and signs one token.
func mint(t testing.TB, keys keyring, d defaults, opts []TokenOption) string {
	t.Helper()
	s := &spec{
		claims: jwt.MapClaims{"iss": d.iss, "sub": Subject, "iat": jwt.NewNumericDate(d.now), "jti": randomID()},
		header: map[string]any{},
		kind:   "access",
	}
	if d.aud != "" {
		s.claims["aud"] = d.aud
	}
	for _, o := range opts {
		if o == nil {
			t.Fatalf("jwtexptest: nil TokenOption")
		}
		o(s)
	}
	if s.err != "" {
		t.Fatalf("jwtexptest: %s", s.err)
	}
	iat := s.now()
	lifetime := d.ttl
	if s.lifetime > 0 {
		lifetime = s.lifetime
	}
	if s.expired > 0 {
		exp := d.now.Add(-s.expired)
		iat = exp.Add(-lifetime)
		s.claims["iat"] = jwt.NewNumericDate(iat)
	}
	if !s.noExp {
		s.claims["exp"] = jwt.NewNumericDate(iat.Add(lifetime))
	}
	k := keys.access
	switch s.kind {
	case "refresh":
		k = keys.refresh
	case "wrong":
		k = keys.wrong
	}
	tok := jwt.NewWithClaims(k.method, s.claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	for name, v := range s.header {
		tok.Header[name] = v
	}
	out, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatalf("jwtexptest: sign: %v", err)
	}
	return out
}

// randomID is a random 128-bit token id, as core issues them.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
