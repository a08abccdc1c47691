package core

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// A Manager verifies mostly tokens it (or another instance with the same configuration) minted,
// whose claims objects all have one layout (claimsJSON): iss, sub, aud, exp, iat, auth_time, jti
// and sid in that order, without blanks, the issuer and audience written the same way every
// time, the application's custom members after them. ownLayout reads an object of that layout
// with a few comparisons against the configured parts instead of a walk member by member; the
// general parser takes over where the object differs from it, and what it reads of such an
// object is exactly what the general parser would (FuzzOwnClaims compares the two).

// ownLayout is the fixed text of the claims objects a Manager mints.
type ownLayout struct {
	head     string // {"iss":"<issuer>","sub":"
	mid      string // ","aud":"<audience>","exp":  (without the aud member when none is configured)
	issuer   string // the configured issuer, as head carries it
	audOff   int    // where the aud value (with its quotes) starts in mid; 0 without an audience
	audLen   int    // its length with the quotes
	hasAudOK bool   // an audience is configured: reading mid finds it
}

// The members between the dates and the strings, as claimsJSON writes them.
const (
	ownIat      = `,"iat":`
	ownAuthTime = `,"auth_time":`
	ownJTI      = `,"jti":"`
	ownSID      = `","sid":"`
)

// newOwnLayout is the layout of the claims objects minted for issuer and audience, or nil when
// either would be written with escapes (the general parser then reads every token).
func newOwnLayout(issuer, audience string) *ownLayout {
	if !plainJSON(issuer) || !plainJSON(audience) {
		return nil
	}
	l := &ownLayout{head: `{"iss":"` + issuer + `","sub":"`, issuer: issuer, mid: `"`}
	if audience != "" {
		l.mid += `,"aud":`
		l.audOff, l.audLen, l.hasAudOK = len(l.mid), len(audience)+2, true
		l.mid += `"` + audience + `"`
	}
	l.mid += `,"exp":`
	return l
}

// plainJSON reports whether appendJSONString writes s as it is, between quotes.
func plainJSON(s string) bool {
	b := appendJSONString(nil, s)
	return len(b) == len(s)+2 && string(b[1:len(b)-1]) == s
}

// parseClaims reads the claims object b into c and cs, as the package's parseClaims does: an
// object of the Manager's own layout through l, any other (or the rest of one after the own
// members) member by member.
func (l *ownLayout) parseClaims(b []byte, audience string, c *Claims, cs *claimSet) error {
	if l != nil {
		if i, known, ok := l.read(b, c, cs); ok {
			if i == len(b) {
				return nil
			}
			s := scanner{b: b, i: i}
			return parseMembers(&s, known, audience, c, cs)
		}
		*c, *cs = Claims{payload: c.payload}, claimSet{}
	}
	return parseClaims(b, audience, c, cs)
}

// read reads the members of l at the start of b into c and cs. ok is false when b does not
// start with them (c and cs may then hold part of what was read). Otherwise i is len(b) when the
// object ended after them, or the index of the next member's name after a comma, and known are
// the bits of the members read (claimBit).
func (l *ownLayout) read(b []byte, c *Claims, cs *claimSet) (i int, known uint16, ok bool) {
	if len(b) < len(l.head) || string(b[:len(l.head)]) != l.head {
		return 0, 0, false
	}
	st := len(l.head)
	if i, ok = plainUntilQuote(b, st); !ok {
		return 0, 0, false
	}
	c.Issuer, c.Subject = unsafeString(b[len(`{"iss":"`):len(`{"iss":"`)+len(l.issuer)]), unsafeString(b[st:i])
	if len(b)-i < len(l.mid) || string(b[i:i+len(l.mid)]) != l.mid {
		return 0, 0, false
	}
	if l.hasAudOK {
		c.audience = spanOf(i+l.audOff, i+l.audOff+l.audLen)
		cs.audOK = true
	}
	i += len(l.mid)
	known = claimIss | claimSub | claimAud | claimExp | claimIat | claimJTI | claimSID
	if !l.hasAudOK {
		known &^= claimAud
	}
	if cs.exp, i, ok = ownDate(b, i); !ok || !hasAt(b, i, ownIat) {
		return 0, 0, false
	}
	if cs.iat, i, ok = ownDate(b, i+len(ownIat)); !ok {
		return 0, 0, false
	}
	cs.hasExp, cs.hasIat = true, true
	if hasAt(b, i, ownAuthTime) {
		if c.AuthTime, i, ok = ownDate(b, i+len(ownAuthTime)); !ok {
			return 0, 0, false
		}
		known |= claimAuthTime
	}
	if !hasAt(b, i, ownJTI) {
		return 0, 0, false
	}
	st = i + len(ownJTI)
	if i, ok = plainUntilQuote(b, st); !ok || !hasAt(b, i, ownSID) {
		return 0, 0, false
	}
	c.TokenID = unsafeString(b[st:i])
	st = i + len(ownSID)
	if i, ok = plainUntilQuote(b, st); !ok || i+1 >= len(b) {
		return 0, 0, false
	}
	c.SessionID = unsafeString(b[st:i])
	switch b[i+1] {
	case '}':
		if i+2 != len(b) {
			return 0, 0, false // blanks after the object: the general parser reads them
		}
		return len(b), known, true
	case ',':
		if i+2 == len(b) {
			return 0, 0, false // nothing after the comma: not a member to read
		}
		return i + 2, known, true
	}
	return 0, 0, false
}

// ownDate reads the NumericDate at b[i:] as readDate does; ok also requires a comma after it.
// The dates of tokens minted from 2001 to 2286 have ten digits: those are read in two steps.
func ownDate(b []byte, i int) (t time.Time, j int, ok bool) {
	if len(b)-i > 10 && b[i] != '0' && b[i+10] == ',' && isDigit(b[i+8]) && isDigit(b[i+9]) {
		if x := binary.LittleEndian.Uint64(b[i:]); eightDigits(x) {
			n := int64(eightDigitsValue(x))*100 + int64(b[i+8]-'0')*10 + int64(b[i+9]-'0')
			return time.Unix(n, 0), i + 10, true
		}
	}
	s := scanner{b: b, i: i}
	t, ok = readDate(&s)
	return t, s.i, ok && s.i < len(b) && b[s.i] == ','
}

// hasAt reports whether b holds lit at i.
func hasAt(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// plainUntilQuote returns the index of the '"' that ends the string contents starting at b[st],
// with ok false if a backslash or a control character comes before it, or the input ends: such
// a string is the general parser's to read. Bytes of 0x80 and above are plain (the claims were
// checked to be UTF-8 before).
func plainUntilQuote(b []byte, st int) (int, bool) {
	i := st
	for i+8 <= len(b) {
		if m := specialIn8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			return i, b[i] == '"'
		}
		i += 8
	}
	for ; i < len(b); i++ {
		if !plainStringByte[b[i]] {
			return i, b[i] == '"'
		}
	}
	return i, false
}
