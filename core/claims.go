package core

import (
	"encoding/binary"
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
	kind   tokenKind // typeOf(typ), kept with a header read once for the tokens that repeat it
}

// parseHeader reads a decoded JOSE header. jku, x5u, jwk and x5c are skipped: keys come only from
// the configuration (RFC 8725 §3.10).
func parseHeader(b []byte, h *header) error {
	s := scanner{b: b}
	empty, ok := s.begin()
	if !ok || empty {
		return errHeader // an empty header has no alg
	}
	const algBit, typBit, kidBit, critBit = 1, 2, 4, 8
	var known uint8    // the names above seen
	var others nameSet // the other names seen
	for {
		st, en, esc, ok := s.name()
		if !ok {
			return errHeader
		}
		name := stringAt(s.b, st, en, esc)
		var bit uint8
		switch packName(name) {
		case 4 | 'a'<<8 | 'l'<<16 | 'g'<<24:
			bit = algBit
		case 4 | 't'<<8 | 'y'<<16 | 'p'<<24:
			bit = typBit
		case 4 | 'k'<<8 | 'i'<<16 | 'd'<<24:
			bit = kidBit
		case 5 | 'c'<<8 | 'r'<<16 | 'i'<<24 | 't'<<32:
			bit = critBit
		}
		if !seenOnce(&known, bit, &others, name) {
			return errDuplicate
		}
		if !s.colon() {
			return errHeader
		}
		switch bit {
		case algBit, typBit, kidBit:
			st, en, esc, ok := s.str()
			if !ok {
				return errHeader
			}
			v := stringAt(s.b, st, en, esc)
			switch bit {
			case algBit:
				h.alg = v
			case typBit:
				h.typ = v
			default:
				h.kid, h.hasKID = v, true
			}
		default:
			if bit == critBit {
				// RFC 7515 §4.1.11: extensions listed in crit must be understood; we understand none.
				h.crit = true
			}
			if !s.value(1) {
				return errHeader
			}
		}
		more, ok := s.next()
		if !ok {
			return errHeader
		}
		if !more {
			break
		}
	}
	if h.alg == "" {
		return errHeader
	}
	h.kind = typeOf(h.typ)
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

// Registered claim names, one bit each: parseClaims finds a duplicate of one of them with a bit
// test and keeps only the other names in a nameSet.
const (
	claimIss uint16 = 1 << iota
	claimSub
	claimJTI
	claimSID
	claimExp
	claimNbf
	claimIat
	claimAuthTime
	claimACR
	claimScope
	claimScp
	claimCnf
	claimAud
)

// claimBit is the bit of a registered claim name (case-sensitive, RFC 7519 §10.1.1), 0 for any
// other name. Names of up to 7 bytes are compared as packName integers: one comparison each
// instead of a string comparison.
func claimBit(name string) uint16 {
	switch packName(name) {
	case 4 | 'i'<<8 | 's'<<16 | 's'<<24:
		return claimIss
	case 4 | 's'<<8 | 'u'<<16 | 'b'<<24:
		return claimSub
	case 4 | 'j'<<8 | 't'<<16 | 'i'<<24:
		return claimJTI
	case 4 | 's'<<8 | 'i'<<16 | 'd'<<24:
		return claimSID
	case 4 | 'e'<<8 | 'x'<<16 | 'p'<<24:
		return claimExp
	case 4 | 'n'<<8 | 'b'<<16 | 'f'<<24:
		return claimNbf
	case 4 | 'i'<<8 | 'a'<<16 | 't'<<24:
		return claimIat
	case 4 | 'a'<<8 | 'c'<<16 | 'r'<<24:
		return claimACR
	case 6 | 's'<<8 | 'c'<<16 | 'o'<<24 | 'p'<<32 | 'e'<<40:
		return claimScope
	case 4 | 's'<<8 | 'c'<<16 | 'p'<<24:
		return claimScp
	case 4 | 'c'<<8 | 'n'<<16 | 'f'<<24:
		return claimCnf
	case 4 | 'a'<<8 | 'u'<<16 | 'd'<<24:
		return claimAud
	case 0:
		if name == "auth_time" {
			return claimAuthTime
		}
	}
	return 0
}

// parseClaims reads the claims object into c and cs, checking each registered claim's JSON type
// and range; audience is the configured audience. It reads the object once, member by member:
// duplicate names (errDuplicate, RFC 7519 §4), syntax (errPayload) and each registered claim's
// value are checked as they come.
func parseClaims(b []byte, audience string, c *Claims, cs *claimSet) error {
	s := scanner{b: b}
	empty, ok := s.begin()
	if !ok {
		return errPayload
	}
	if empty {
		return nil
	}
	return parseMembers(&s, 0, audience, c, cs)
}

// parseMembers reads the members of the claims object from s.i, at a member's name, to the
// object's end, as parseClaims does; known are the bits of the registered names read before.
func parseMembers(s *scanner, known uint16, audience string, c *Claims, cs *claimSet) error {
	var others nameSet // the names seen that are not registered
	for {
		st, en, esc, ok := s.name()
		if !ok {
			return errPayload
		}
		name := stringAt(s.b, st, en, esc)
		bit := claimBit(name)
		if !seenOnce(&known, bit, &others, name) {
			return errDuplicate
		}
		if !s.colon() {
			return errPayload
		}
		if err := readClaim(s, bit, name, audience, c, cs); err != nil {
			return err
		}
		more, ok := s.next()
		if !ok {
			return errPayload
		}
		if !more {
			return nil
		}
	}
}

// readClaim reads the value at s.i of the claim named name, whose bit is bit (0: not a
// registered claim, only checked for syntax), into c and cs.
func readClaim(s *scanner, bit uint16, name, audience string, c *Claims, cs *claimSet) error {
	switch bit {
	case claimIss, claimSub, claimJTI, claimSID:
		st, en, esc, ok := s.str()
		if !ok {
			return claimTypeError("invalid " + name + " claim")
		}
		v := stringAt(s.b, st, en, esc)
		switch bit {
		case claimIss:
			c.Issuer = v
		case claimSub:
			c.Subject = v
		case claimJTI:
			c.TokenID = v
		default:
			c.SessionID = v
		}
	case claimExp, claimNbf, claimIat:
		t, ok := readDate(s)
		if !ok {
			return dateErrors[name]
		}
		switch bit {
		case claimExp:
			cs.exp, cs.hasExp = t, true
		case claimNbf:
			cs.nbf, cs.hasNbf = t, true
		default:
			cs.iat, cs.hasIat = t, true
		}
	case claimAuthTime:
		var ok bool
		if c.AuthTime, ok = readDate(s); !ok {
			return errAuthTimeClaim
		}
	case claimACR:
		st, en, esc, ok := s.str()
		if !ok {
			return errACRClaim
		}
		c.ACR = stringAt(s.b, st, en, esc)
	case claimScope, claimScp:
		start := s.i
		if !skipScopes(s, bit == claimScp) {
			return errScopeClaim
		}
		if bit == claimScope {
			c.scope = spanOf(start, s.i)
		} else {
			c.scp = spanOf(start, s.i)
		}
	case claimCnf:
		if !readCnf(s, c) {
			return errDPoPCnf
		}
	case claimAud:
		start := s.i
		okAud, valid := readAudience(s, audience)
		if !valid {
			return claimTypeError("invalid aud claim")
		}
		cs.audOK = okAud
		c.audience = spanOf(start, s.i)
	default:
		if !s.value(1) {
			return errPayload
		}
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

// readDate reads the NumericDate at s.i, as number then numericDate would: the usual form, a
// whole number of 1 to 12 digits without a leading zero, in one pass over its digits; any other
// form through number and numericDate.
func readDate(s *scanner) (time.Time, bool) {
	b, i := s.b, s.i
	j, n := i, int64(0)
	if i+8 <= len(b) { // today's dates have ten digits: the first eight in one step
		if x := binary.LittleEndian.Uint64(b[i:]); eightDigits(x) {
			j, n = i+8, int64(eightDigitsValue(x))
		}
	}
	for j < len(b) && j-i < 12 && isDigit(b[j]) {
		n = n*10 + int64(b[j]-'0')
		j++
	}
	if j > i && b[i] != '0' && (j == len(b) || !isDigit(b[j]) && b[j] != '.' && b[j] != 'e' && b[j] != 'E') {
		if n > maxNumericDate {
			return time.Time{}, false
		}
		s.i = j
		return time.Unix(n, 0), true
	}
	st, en, ok := s.number()
	if !ok {
		return time.Time{}, false
	}
	return numericDate(s.b[st:en])
}

// eightDigits reports whether all eight bytes of x (little-endian: the first byte lowest) are
// ASCII digits: their high nibbles are all 3, and adding 6 to each byte carries into no high
// nibble (a low nibble above 9 would). Only a byte of 0xfa or above carries into the next one,
// and its own high nibble already fails the test.
func eightDigits(x uint64) bool {
	const f0, sixes, threes = 0xf0f0f0f0f0f0f0f0, 0x0606060606060606, 0x3333333333333333
	return x&f0|((x+sixes)&f0)>>4 == threes
}

// eightDigitsValue is the number written by the eight digits of x (eightDigits), the first
// byte the most significant: neighbouring digits are joined into pairs (d*10 + next), the
// pairs into fours, the fours into the eight.
func eightDigitsValue(x uint64) uint64 {
	x -= 0x3030303030303030
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff   // pairs, 0..99, in bytes 0, 2, 4, 6
	x = (x*100 + x>>16) & 0x0000ffff0000ffff // fours, 0..9999, in 16-bit words 0, 2
	return (x*10000 + x>>32) & 0xffffffff    // the eight
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
