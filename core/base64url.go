package core

import "encoding/binary"

// b64dec maps each byte of the base64url alphabet (RFC 4648 §5) to its 6-bit value and every
// other byte, '=' and the line breaks Go's decoder skips included, to 0xff.
var b64dec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// b64at holds b64dec four times, each value already shifted to its place in a group of four
// characters (24 bits: the first character's 6 bits at 18, the last's at 0); a byte outside the
// alphabet is badB64 in every table. One group is then four lookups ORed together, and one test
// of the high bit checks all four characters.
var b64at = func() (t [4][256]uint32) {
	for c, v := range b64dec {
		for k := range t {
			t[k][c] = badB64
			if v != 0xff {
				t[k][c] = uint32(v) << (18 - 6*k)
			}
		}
	}
	return t
}()

const badB64 = 1 << 31

// b64atp points at b64at. decodeB64 reads the tables through it: a pointer loaded once stays in
// one register for the four tables, where the address of the variable itself is built again for
// each of them.
var b64atp = &b64at

// decodeB64 decodes src, base64url without padding as JWS segments are (RFC 7515 §2), into dst
// and returns the number of bytes written; ok is false for anything else: a byte outside the
// alphabet (padding and line breaks included), a length of 4k+1, or unused bits of the last
// character that are not zero. It accepts exactly what b64 (RawURLEncoding.Strict()) accepts
// from input without '\r' and '\n' - which b64 skips and this refuses - and writes the same
// bytes, with a fraction of its instructions: eight or sixteen characters at a time, one table
// lookup each (b64at), one check for all of them and one 8-byte store per six bytes. dst must
// hold b64.DecodedLen(len(src)) bytes; bytes of dst past the n written may be overwritten too.
// ascii reports whether every byte written is below 0x80 (the groups' high bits ORed on the way),
// so that a caller checking the bytes for UTF-8 can skip text that is all ASCII.
func decodeB64(dst []byte, src string) (n int, ascii, ok bool) {
	t := b64atp
	var all uint32 // the groups ORed together
	// Sixteen characters a step while there are, for half the loop's own work; then eight.
	for len(src) >= 16 && len(dst)-n >= 14 {
		s := src[:16]
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		b := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		c := t[0][s[8]] | t[1][s[9]] | t[2][s[10]] | t[3][s[11]]
		d := t[0][s[12]] | t[1][s[13]] | t[2][s[14]] | t[3][s[15]]
		all |= a | b | c | d
		if (a|b|c|d)&badB64 != 0 {
			return 0, false, false
		}
		w := dst[n : n+14]
		binary.BigEndian.PutUint64(w, (uint64(a)<<24|uint64(b))<<16)
		binary.BigEndian.PutUint64(w[6:], (uint64(c)<<24|uint64(d))<<16)
		src, n = src[16:], n+12
	}
	for len(src) >= 8 && len(dst)-n >= 8 {
		s := src[:8]
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		b := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		all |= a | b
		if (a|b)&badB64 != 0 {
			return 0, false, false
		}
		// The six bytes, big-endian, at the top of one 8-byte store; its last two bytes
		// (zero) are overwritten by the next step or lie past n.
		binary.BigEndian.PutUint64(dst[n:n+8], (uint64(a)<<24|uint64(b))<<16)
		src, n = src[8:], n+6
	}
	t0, t1, t2, t3 := &t[0], &t[1], &t[2], &t[3]
	for len(src) >= 4 && len(dst)-n >= 3 {
		s := src[:4]
		v := t0[s[0]] | t1[s[1]] | t2[s[2]] | t3[s[3]]
		if v&badB64 != 0 {
			return 0, false, false
		}
		all |= v
		d := dst[n : n+3 : n+3]
		d[0], d[1], d[2] = byte(v>>16), byte(v>>8), byte(v)
		src, n = src[4:], n+3
	}
	ascii = all&0x808080 == 0 // the high bit of each of a group's three bytes
	switch len(src) {
	case 0:
		return n, ascii, true
	case 2: // 12 bits: one byte, the last 4 bits unused
		c0, c1 := uint32(b64dec[src[0]]), uint32(b64dec[src[1]])
		if c0|c1 > 63 || c1&0x0f != 0 || len(dst)-n < 1 {
			return 0, false, false
		}
		dst[n] = byte(c0<<2 | c1>>4)
		return n + 1, ascii && dst[n] < 0x80, true
	case 3: // 18 bits: two bytes, the last 2 bits unused
		c0, c1, c2 := uint32(b64dec[src[0]]), uint32(b64dec[src[1]]), uint32(b64dec[src[2]])
		if c0|c1|c2 > 63 || c2&0x03 != 0 || len(dst)-n < 2 {
			return 0, false, false
		}
		v := c0<<12 | c1<<6 | c2
		dst[n], dst[n+1] = byte(v>>10), byte(v>>2)
		return n + 2, ascii && (dst[n]|dst[n+1]) < 0x80, true
	}
	return 0, false, false // one character left (4k+1), or dst too small
}
