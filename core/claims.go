package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// Claims are the verified claims of a token (RFC 7519 §4.1). Read the application's own claims
// with CustomClaims.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub
	TokenID   string    // jti; empty if the token has none
	SessionID string    // sid: the session (refresh-token family) the token belongs to; may be empty for tokens of other issuers
	IssuedAt  time.Time // iat; zero if absent
	ExpiresAt time.Time // exp; always set
	NotBefore time.Time // nbf; zero if absent
	// AuthTime is auth_time: when the user last authenticated interactively (OpenID Connect Core
	// 1.0 §2, RFC 9470 §4); zero if absent. Issue sets it to the login time and refresh keeps it,
	// so a route can ask for a recent login (see RequireStepUp).
	AuthTime time.Time
	// ACR is acr, the authentication context class the login satisfied (OpenID Connect Core 1.0
	// §2, RFC 9470 §4); empty if absent. The application writes it in its custom claims at login.
	ACR string

	// Raw JSON values of payload, as spans of it: a span holds no pointer, so the copy of
	// Claims every request gets costs the garbage collector three pointers less.
	audience span   // aud: a string or an array of strings
	scope    span   // scope: a string; empty if absent (see scope.go)
	scp      span   // scp: a string or an array of strings; empty if absent
	jkt      span   // cnf.jkt: the DPoP key thumbprint the token is bound to; empty if unbound
	payload  string // the decoded claims object
}

// span is a part of Claims.payload: its offset and length.
type span struct{ off, n uint32 }

// raw returns the part of c's payload that sp names.
func (c *Claims) raw(sp span) string { return c.payload[sp.off : sp.off+sp.n] }

// DPoPThumbprint returns the token's cnf.jkt (RFC 9449 §6.1): the JWK SHA-256 thumbprint
// (RFC 7638) of the DPoP key the token is bound to, or "" for a token that is not bound. A bound
// access token is accepted only with a DPoP proof signed by that key.
func (c *Claims) DPoPThumbprint() string { return c.raw(c.jkt) }

// spanOf returns the span of b[start:end], b being the payload.
func spanOf(start, end int) span { return span{uint32(start), uint32(end - start)} }

// Audience returns the token's aud as a list (RFC 7519 §4.1.3 allows a string or an array).
func (c *Claims) Audience() []string {
	aud := c.raw(c.audience)
	if aud == "" {
		return nil
	}
	s := scanner{b: unsafeBytes(aud)}
	if aud[0] == '"' {
		st, en, esc, _ := s.str()
		return []string{stringAt(s.b, st, en, esc)}
	}
	var out []string
	s.i++ // [
	for {
		s.ws()
		st, en, esc, ok := s.str()
		if !ok {
			return out
		}
		out = append(out, stringAt(s.b, st, en, esc))
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ',' {
			return out
		}
		s.i++
	}
}

// JSON returns the claims object exactly as the token carried it.
func (c *Claims) JSON() []byte { return []byte(c.payload) }

// CustomClaims decodes the token's claims into the application's type T, matching member names
// exactly as written in T's json tags (case-sensitive) and ignoring members T does not name.
// The token was verified before, so this only decodes. A nil c (an anonymous request) or claims
// that do not fit T give the zero T and an error.
//
//	type User struct {
//		Role string `json:"role"`
//	}
//	u, err := core.CustomClaims[User](claims)
func CustomClaims[T any](c *Claims) (T, error) {
	var v T
	if c == nil {
		return v, ErrNoClaims
	}
	if err := json.Unmarshal(unsafeBytes(c.payload), &v); err != nil {
		var zero T // never a half-decoded value
		return zero, fmt.Errorf("jwtexp: decode custom claims: %w", err)
	}
	return v, nil
}

// reservedClaims are the names the Manager writes itself; custom claims may not use them.
var reservedClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "auth_time", "cnf"}

func isReserved(name string) bool {
	for _, r := range reservedClaims {
		if name == r {
			return true
		}
	}
	return false
}

// encodeCustom marshals the application's claims and returns the members of the resulting object
// without braces, ready to append to a claims object.
func encodeCustom(custom any) ([]byte, error) {
	if custom == nil {
		return nil, nil
	}
	b, err := json.Marshal(custom)
	if err != nil {
		return nil, fmt.Errorf("jwtexp: encode custom claims: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	members, err := customMembers(b, true)
	if err != nil {
		return nil, err
	}
	return members, nil
}

// customMembers returns the non-reserved members of a claims object, comma-separated without
// braces. Issue refuses reserved names (refuse); refresh copies the custom members of the refresh
// token and leaves the reserved ones behind.
func customMembers(obj []byte, refuse bool) ([]byte, error) {
	var out []byte
	var reserved, typed string
	s := scanner{b: obj}
	ok := s.object(func(st, en int, esc bool) bool {
		name := stringAt(s.b, st, en, esc)
		start := s.i
		if !s.value(1) {
			return false
		}
		if isReserved(name) {
			if refuse {
				reserved = name
			}
			return true
		}
		if refuse && badCustomType(name, obj[start:s.i]) {
			typed = name
		}
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, name)
		out = append(out, ':')
		out = append(out, obj[start:s.i]...)
		return true
	})
	if !ok {
		return nil, fmt.Errorf("jwtexp: custom claims must encode to a JSON object with unique member names")
	}
	if reserved != "" {
		return nil, fmt.Errorf("%w: %q", ErrReservedClaim, reserved)
	}
	if typed != "" {
		return nil, fmt.Errorf("%w: custom claim %q has the wrong JSON type (scope and acr: a string; scp: a string or an array of strings)", ErrClaims, typed)
	}
	return out, nil
}

// header is what verification needs from a JOSE header (RFC 7515 §4.1).
type header struct {
	alg    string
	typ    string
	kid    string
	hasKID bool
	crit   bool
}

// parseHeader reads a decoded JOSE header. jku, x5u, jwk and x5c are skipped: keys come only from
// the configuration (RFC 8725 §3.10).
func parseHeader(b []byte, h *header) error {
	s := scanner{b: b}
	ok := s.object(func(st, en int, esc bool) bool {
		name := stringAt(s.b, st, en, esc)
		switch name {
		case "alg", "typ", "kid":
			st, en, esc, ok := s.str()
			if !ok {
				return false
			}
			v := stringAt(s.b, st, en, esc)
			switch name {
			case "alg":
				h.alg = v
			case "typ":
				h.typ = v
			default:
				h.kid, h.hasKID = v, true
			}
			return true
		case "crit":
			// RFC 7515 §4.1.11: extensions listed in crit must be understood; we understand none.
			h.crit = true
		}
		return s.value(1)
	})
	if !ok {
		if s.i == -1 {
			return errDuplicate
		}
		return errHeader
	}
	if h.alg == "" {
		return errHeader
	}
	return nil
}

// Token types carried in the JOSE typ header (RFC 8725 §3.11).
const (
	refreshType = "refresh+jwt"
)

// typeOf classifies a typ header: access tokens carry none, "JWT" (RFC 7519 §5.1) or "at+jwt"
// (RFC 9068 §2.1); refresh tokens carry "refresh+jwt". typ is compared case-insensitively and the
// "application/" prefix may be present (RFC 7515 §4.1.9).
func typeOf(typ string) tokenKind {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	switch {
	case typ == "", strings.EqualFold(typ, "JWT"), strings.EqualFold(typ, "at+jwt"):
		return kindAccess
	case strings.EqualFold(typ, refreshType):
		return kindRefresh
	}
	return kindUnknown
}

type tokenKind uint8

const (
	kindAccess tokenKind = iota + 1
	kindRefresh
	kindUnknown
)

// Bounds of a NumericDate (RFC 7519 §2): after the epoch and no later than 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// claimSet are the claims as read, before the checks that need the configuration and the clock.
type claimSet struct {
	exp, nbf, iat          time.Time
	hasExp, hasNbf, hasIat bool
	audOK                  bool
}

// parseClaims reads the claims object into c and cs, checking each registered claim's JSON type
// and range; audience is the configured audience.
func parseClaims(b []byte, audience string, c *Claims, cs *claimSet) error {
	s := scanner{b: b}
	var claimErr error
	ok := s.object(func(st, en int, esc bool) bool {
		name := stringAt(s.b, st, en, esc)
		switch name {
		case "iss", "sub", "jti", "sid":
			st, en, esc, ok := s.str()
			if !ok {
				claimErr = claimTypeError("invalid " + name + " claim")
				return false
			}
			v := stringAt(s.b, st, en, esc)
			switch name {
			case "iss":
				c.Issuer = v
			case "sub":
				c.Subject = v
			case "jti":
				c.TokenID = v
			default:
				c.SessionID = v
			}
			return true
		case "exp", "nbf", "iat":
			st, en, ok := s.number()
			var t time.Time
			if ok {
				t, ok = numericDate(s.b[st:en])
			}
			if !ok {
				claimErr = dateErrors[name]
				return false
			}
			switch name {
			case "exp":
				cs.exp, cs.hasExp = t, true
			case "nbf":
				cs.nbf, cs.hasNbf = t, true
			default:
				cs.iat, cs.hasIat = t, true
			}
			return true
		case "auth_time":
			st, en, ok := s.number()
			if ok {
				c.AuthTime, ok = numericDate(s.b[st:en])
			}
			if !ok {
				claimErr = errAuthTimeClaim
				return false
			}
			return true
		case "acr":
			st, en, esc, ok := s.str()
			if !ok {
				claimErr = errACRClaim
				return false
			}
			c.ACR = stringAt(s.b, st, en, esc)
			return true
		case "scope", "scp":
			start := s.i
			if !skipScopes(&s, name == "scp") {
				claimErr = errScopeClaim
				return false
			}
			if name == "scope" {
				c.scope = spanOf(start, s.i)
			} else {
				c.scp = spanOf(start, s.i)
			}
			return true
		case "cnf":
			if !readCnf(&s, c) {
				claimErr = errDPoPCnf
				return false
			}
			return true
		case "aud":
			start := s.i
			okAud, valid := readAudience(&s, audience)
			if !valid {
				claimErr = claimTypeError("invalid aud claim")
				return false
			}
			cs.audOK = okAud
			c.audience = spanOf(start, s.i)
			return true
		}
		return s.value(1)
	})
	if !ok {
		switch {
		case claimErr != nil:
			return claimErr
		case s.i == -1:
			return errDuplicate
		}
		return errPayload
	}
	return nil
}

var dateErrors = map[string]error{
	"exp": claimTypeError("invalid exp claim"),
	"nbf": claimTypeError("invalid nbf claim"),
	"iat": claimTypeError("invalid iat claim"),
}

// readCnf reads the confirmation claim (RFC 7800 §3.1) at s.i into c.jkt. The only method
// understood is jkt (RFC 9449 §6.1), a plain base64url string of a SHA-256 thumbprint; a cnf
// without it, or with another confirmation method beside it, binds the token to something this
// package cannot check, so the token is refused.
func readCnf(s *scanner, c *Claims) bool {
	start := s.i
	if !s.value(1) {
		return false
	}
	sub := scanner{b: s.b[start:s.i]}
	found := false
	ok := sub.object(func(st, en int, esc bool) bool {
		if esc || string(sub.b[st:en]) != "jkt" {
			return false
		}
		vs, ve, vesc, ok := sub.str()
		if !ok || vesc || ve-vs != 43 {
			return false
		}
		for _, b := range sub.b[vs:ve] {
			if !b64url[b] {
				return false
			}
		}
		c.jkt = spanOf(start+vs, start+ve)
		found = true
		return true
	})
	return ok && found
}

// readAudience reads aud (a string or an array of strings) and reports whether it contains want.
func readAudience(s *scanner, want string) (found, valid bool) {
	if s.i < len(s.b) && s.b[s.i] == '"' {
		st, en, esc, ok := s.str()
		return ok && stringAt(s.b, st, en, esc) == want, ok
	}
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return false, false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return false, true
	}
	for {
		s.ws()
		st, en, esc, ok := s.str()
		if !ok {
			return false, false
		}
		if stringAt(s.b, st, en, esc) == want {
			found = true
		}
		s.ws()
		if s.i >= len(s.b) {
			return false, false
		}
		if s.b[s.i] == ']' {
			s.i++
			return found, true
		}
		if s.b[s.i] != ',' {
			return false, false
		}
		s.i++
	}
}

// numericDate reads a NumericDate: seconds since the epoch, possibly fractional (RFC 7519 §2).
// Zero, negative and absurdly large values are refused.
func numericDate(b []byte) (time.Time, bool) {
	if len(b) == 0 || b[0] == '-' {
		return time.Time{}, false
	}
	if len(b) <= 12 {
		var n int64
		integer := true
		for _, c := range b {
			if !isDigit(c) {
				integer = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if integer {
			if n <= 0 || n > maxNumericDate {
				return time.Time{}, false
			}
			return time.Unix(n, 0), true
		}
	}
	f, err := strconv.ParseFloat(unsafeString(b), 64)
	if err != nil || !(f > 0) || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
