package core

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small strict JSON reader (RFC 8259) used for JOSE headers and claims. It walks
// the decoded bytes once, allocates nothing for names and values without escapes, and is stricter
// than encoding/json where JWTs need it: member names compare exactly (RFC 7519 §10.1.1 - "EXP" is
// not "exp"), a duplicate member name is an error (RFC 7515 §4, RFC 7519 §4), nesting is bounded and
// invalid UTF-8 is refused.

const maxJSONDepth = 32

type scanner struct {
	b []byte
	i int
}

// plainStringByte marks bytes that stand for themselves inside a JSON string: not '"', not '\\'
// and not a control character (RFC 8259 §7).
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// specialIn8 marks the bytes of x (eight, little-endian) that are not a plainStringByte - a '"',
// a '\\' or a control character (below 0x20) - with their high bit: zero when all eight are
// plain. Each test is the classic "has a zero byte" expression, (v - 0x01…) &^ v & 0x80…:
// v = x ^ '"'… zeroes the quotes, v = x ^ '\\'… the backslashes, and with 0x20… subtracted
// instead of 0x01… it flags bytes below 0x20 (a byte of 0x80 or more never flags itself: &^ v
// clears it). A borrow can only flag a byte above one that is flagged already, so the lowest
// mark is always the first byte that is not plain, and the mask is zero exactly when none is;
// TestSpecialIn8 checks both against plainStringByte.
func specialIn8(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ ('"' * lo)
	bs := x ^ ('\\' * lo)
	return ((q-lo)&^q | (bs-lo)&^bs | (x-0x20*lo)&^x) & hi
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads a string at s.i and returns the bounds of its contents and whether it holds escapes.
func (s *scanner) str() (start, end int, esc, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, false, false
	}
	s.i++
	start = s.i
	for s.i < len(s.b) {
		// The common case, one table lookup per byte, on locals: the loop keeps i in a
		// register instead of storing s.i at every byte.
		b, i := s.b, s.i
		for i+8 <= len(b) { // eight bytes a step, straight to the first that is not plain
			if m := specialIn8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
	special:
		s.i = i
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			end = s.i
			s.i++
			return start, end, esc, true
		case c == '\\':
			esc = true
			if s.i+1 >= len(s.b) {
				return 0, 0, false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex(s.b[s.i+2]) || !isHex(s.b[s.i+3]) || !isHex(s.b[s.i+4]) || !isHex(s.b[s.i+5]) {
					return 0, 0, false, false
				}
				s.i += 6
			default:
				return 0, 0, false, false
			}
		case c < 0x20:
			return 0, 0, false, false
		default:
			s.i++
		}
	}
	return 0, 0, false, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number reads a number at s.i (RFC 8259 §6 grammar) and returns its bounds.
func (s *scanner) number() (start, end int, ok bool) {
	start = s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	default:
		return 0, 0, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return 0, 0, false
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return 0, 0, false
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	return start, s.i, true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// value skips one value of any kind, validating it.
func (s *scanner) value(depth int) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == '{':
		if depth >= maxJSONDepth {
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		for {
			s.ws()
			if _, _, _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == '}' {
				s.i++
				return true
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
		}
	case c == '[':
		if depth >= maxJSONDepth {
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ']' {
				s.i++
				return true
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		_, _, ok := s.number()
		return ok
	}
	return false
}

// object walks the members of the top-level object in s.b: it calls member with the bounds of each
// name (decode with stringAt) and s.i at the start of the value; member must consume the value. It rejects
// duplicate names and anything after the closing brace. The hot readers (parseClaims,
// parseHeader) walk the object themselves with begin, name, colon and next, without a callback.
func (s *scanner) object(member func(st, en int, esc bool) bool) bool {
	var seen nameSet
	empty, ok := s.begin()
	if !ok || empty {
		return ok
	}
	for {
		st, en, esc, ok := s.name()
		if !ok {
			return false
		}
		if !seen.add(stringAt(s.b, st, en, esc)) {
			s.i = -1 // marks a duplicate for the caller
			return false
		}
		if !s.colon() {
			return false
		}
		if !member(st, en, esc) { // bounds, not the string: keeps b off the heap
			return false
		}
		if more, ok := s.next(); !more {
			return ok
		}
	}
}

// begin reads the opening brace of the top-level object in s.b. empty reports an object without
// members, read to its end (ok only if nothing follows it).
func (s *scanner) begin() (empty, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false, false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.ws()
		return true, s.i == len(s.b)
	}
	return false, true
}

// name reads a member name (its bounds, as str).
func (s *scanner) name() (st, en int, esc, ok bool) {
	s.ws()
	return s.str()
}

// colon reads the colon after a member name and leaves s.i at the value.
func (s *scanner) colon() bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// next reads what follows a member's value: a comma (more), or the closing brace of the
// top-level object, which must end the input (ok false otherwise).
func (s *scanner) next() (more, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true, true
	case '}':
		s.i++
		s.ws()
		return false, s.i == len(s.b)
	}
	return false, false
}

// seenOnce records a member name of an object being read and reports false when the object
// named it before: a registered name by its bit in known (bit != 0), any other in others. The
// header and the claims parsers share it; it inlines into both.
func seenOnce[B uint8 | uint16](known *B, bit B, others *nameSet, name string) bool {
	if bit != 0 {
		if *known&bit != 0 {
			return false
		}
		*known |= bit
		return true
	}
	return others.add(name)
}

// nameSet detects duplicate member names without allocating for small objects.
type nameSet struct {
	n int
	// keys are the names of small packed by packName: the registered claim and header names
	// are three letters each, so comparing them as strings would call memequal for nearly
	// every pair; as integers it is one comparison.
	keys  [16]uint64
	small [16]string
	big   map[string]struct{}
}

// packName packs a name of at most 7 bytes into an integer, its length plus one in the low byte
// and its bytes above, so that two such names are equal exactly when their packings are; 0 for
// longer names.
func packName(name string) uint64 {
	if len(name) > 7 {
		return 0
	}
	k := uint64(len(name) + 1)
	for i := 0; i < len(name); i++ {
		k |= uint64(name[i]) << (8 * (i + 1))
	}
	return k
}

func (ns *nameSet) add(name string) bool {
	if ns.big != nil {
		if _, dup := ns.big[name]; dup {
			return false
		}
		ns.big[strings.Clone(name)] = struct{}{} // names may point into a caller's stack buffer
		return true
	}
	k := packName(name)
	for i, seen := range ns.keys[:ns.n] {
		if seen == k && (k != 0 || ns.small[i] == name) {
			return false
		}
	}
	if ns.n < len(ns.small) {
		ns.keys[ns.n] = k
		ns.small[ns.n] = name
		ns.n++
		return true
	}
	ns.big = make(map[string]struct{}, 2*len(ns.small))
	for _, seen := range ns.small {
		ns.big[strings.Clone(seen)] = struct{}{}
	}
	ns.big[strings.Clone(name)] = struct{}{}
	return true
}

// stringAt returns the decoded contents of the string at b[st:en]. Without escapes it shares b's
// memory (b is never modified after decoding), so names and claim values cost no allocation.
func stringAt(b []byte, st, en int, esc bool) string {
	if !esc {
		return unsafeString(b[st:en])
	}
	return unescape(b[st:en])
}

// unescape decodes the JSON escapes of a string already validated by str. Unpaired surrogates
// become U+FFFD, as in encoding/json.
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(b[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(b[i+2:i+6]))); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

func hex4(b []byte) int {
	v := 0
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= int(c - '0')
		case 'a' <= c && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

// appendJSONString appends s as a JSON string, escaping what RFC 8259 §7 requires plus <, > and &
// so that tokens never carry HTML-active characters.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendJSONInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
