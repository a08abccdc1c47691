package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// nameSet must report a duplicate exactly when the same name was added before: short names
// (packed), long ones (compared as strings), the empty name, names that differ only in length
// or a zero byte, and more names than its small array holds.
func TestNameSet(t *testing.T) {
	names := []string{"", "a", "a\x00", "\x00", "exp", "Exp", "EXP", "iat", "1234567", "12345678", "123456789",
		"abcdefgh", "abcdefgi", "sub\x00\x00\x00\x00", "sub"}
	for i := range 20 {
		names = append(names, "claim"+string(rune('a'+i)), "c"+string(rune('a'+i)))
	}
	for _, order := range [][]string{names, names[:10], names[len(names)-18:]} {
		var ns nameSet
		seen := map[string]bool{}
		for _, pass := range []int{0, 1} {
			for _, n := range order {
				if got, want := ns.add(n), !seen[n]; got != want {
					t.Fatalf("pass %d: add(%q) = %v, want %v", pass, n, got, want)
				}
				seen[n] = true
			}
		}
	}
}

// TestReadDate: readDate reads exactly what number then numericDate read, and stops where
// number stops, for the usual whole seconds and every form around its fast path.
func TestReadDate(t *testing.T) {
	inputs := []string{
		"1700000000", "1700000000,", "1700000000}", "1700000000 ", "1", "9", "10",
		"253402300799", "253402300800", "999999999999", "1000000000000", "1234567890123,",
		"0", "0,", "00", "01700000000", "-1", "-1700000000", "1700000000.5", "1700000000.", "1700000000e0",
		"1700000000E+1", "17e8", "1.7e9}", "", "x", "1700000000-", "1700000000x", "2e400", "0.5",
		// around the eight-digit step: exactly eight, nine, a non-digit at each place of the
		// first eight, a leading zero, more than twelve digits
		"12345678", "12345678,", "123456789}", "1234567x90", "1234567.", "1234567,890", "x2345678",
		"02345678901", "00000000", "99999999999,", "1234567890123456", "1700000000\u0030", "17000000°",
	}
	for p := range 8 { // a non-digit byte at each place of a ten-digit date
		for _, c := range []byte{'/', ':', '.', 'e', ',', 0, 0xb0, 0x39 + 0x80} {
			b := []byte("1700000000,")
			b[p] = c
			inputs = append(inputs, string(b))
		}
	}
	for _, in := range inputs {
		s := scanner{b: []byte(in)}
		got, gotOK := readDate(&s)

		w := scanner{b: []byte(in)}
		st, en, ok := w.number()
		var want time.Time
		if ok {
			want, ok = numericDate(w.b[st:en])
		}
		if gotOK != ok || !got.Equal(want) {
			t.Errorf("readDate(%q) = %v, %v; number and numericDate: %v, %v", in, got, gotOK, want, ok)
		}
		if ok && s.i != w.i {
			t.Errorf("readDate(%q) stopped at %d, number at %d", in, s.i, w.i)
		}
	}
}

// TestSpecialIn8 holds the eight-byte step of scanner.str to plainStringByte: every byte value
// at every place among plain bytes (ASCII and UTF-8 continuation bytes), every pair of places,
// and random words; the lowest mark must be the first byte that is not plain (none: 8).
// (About 0.7 million words: under two seconds with -race.)
func TestSpecialIn8(t *testing.T) {
	first := func(b []byte) int { // the place of the first byte that is not plain; 8: none
		for i, c := range b {
			if !plainStringByte[c] {
				return i
			}
		}
		return 8
	}
	check := func(b []byte) {
		t.Helper()
		m := specialIn8(binary.LittleEndian.Uint64(b))
		if got := bits.TrailingZeros64(m) >> 3; got != first(b) {
			t.Fatalf("specialIn8(% x) = %#x: first byte not plain at %d, want %d", b, m, got, first(b))
		}
	}
	for _, fill := range []byte{'a', ' ', 0x7f, 0x80, 0xc3, 0xff, 0x21, 0x5d} {
		for c := range 256 {
			for p := range 8 {
				b := bytes.Repeat([]byte{fill}, 8)
				b[p] = byte(c)
				check(b)
				for q := p + 1; q < 8; q++ { // and a second byte above it: borrows
					for _, d := range []byte{0, 0x1f, '"', '\\', 0x20, 0x80, 0xff} {
						b2 := bytes.Clone(b)
						b2[q] = d
						check(b2)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 8)
	for range 1 << 17 {
		binary.LittleEndian.PutUint64(b, r.Uint64())
		check(b)
		for i := range b { // mostly plain words, where a wrong step would skip a special byte
			if r.IntN(4) != 0 {
				b[i] = byte(0x20 + r.IntN(0x60))
			}
		}
		check(b)
	}
}

// TestStringScanSteps: scanner.str gives the same bounds, escape flag and answer whatever the
// string's length and wherever its special byte is, across the eight-byte steps and the byte
// loop after them.
func TestStringScanSteps(t *testing.T) {
	for n := range 40 {
		for p := range n + 1 {
			for _, special := range []string{`"`, `\n`, `\u00e9`, `\x`, "\x01", "\x1f", "é", "\x7f"} {
				body := strings.Repeat("a", p) + special + strings.Repeat("b", n-p)
				in := `"` + body + `"`
				s := scanner{b: []byte(in)}
				start, end, esc, ok := s.str()
				if special == `"` { // the string ends there
					if !ok || start != 1 || end != 1+p || esc || s.i != 2+p {
						t.Fatalf("%q: start %d end %d esc %v ok %v i %d, want the string to end at %d", in, start, end, esc, ok, s.i, 1+p)
					}
					continue
				}
				var v string
				err := json.Unmarshal([]byte(in), &v)
				if ok != (err == nil) {
					t.Fatalf("%q: ok %v, encoding/json says %v", in, ok, err)
				}
				if ok && (start != 1 || end != len(in)-1 || esc != strings.HasPrefix(special, `\`) || s.i != len(in)) {
					t.Fatalf("%q: start %d end %d esc %v i %d", in, start, end, esc, s.i)
				}
			}
		}
	}
}

// TestAlgNone: algNone is strings.EqualFold(alg, "none") for "none" with any one character
// replaced by any rune that folds to another (every rune whose case folds onto a letter of
// "none" among them) or any rune below U+3000, every casing of "none", and names of other
// lengths.
func TestAlgNone(t *testing.T) {
	check := func(alg string) {
		t.Helper()
		if got, want := algNone(alg), strings.EqualFold(alg, "none"); got != want {
			t.Fatalf("algNone(%q) = %v, strings.EqualFold says %v", alg, got, want)
		}
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0x3000 && unicode.SimpleFold(r) == r {
			continue // folds to nothing else: EqualFold compares it as is
		}
		for i := range 4 {
			check("none"[:i] + string(r) + "none"[i+1:])
		}
	}
	for m := range 16 {
		b := []byte("none")
		for i := range b {
			if m&(1<<i) != 0 {
				b[i] -= 'a' - 'A'
			}
		}
		check(string(b))
	}
	for _, alg := range []string{"", "non", "nonee", "HS256", "EdDSA", "\u212aone", "none\x00", "no\u017fe"} {
		check(alg)
	}
}

// TestEightDigits: readDate's eight-digit step against the byte-by-byte answer, for every byte
// value at every place among digits, and the value of random eight-digit runs.
func TestEightDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 8)
	for c := range 256 {
		for p := range 8 {
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			b[p] = byte(c)
			want := isDigit(byte(c))
			if got := eightDigits(binary.LittleEndian.Uint64(b)); got != want {
				t.Fatalf("eightDigits(%q) = %v, want %v", b, got, want)
			}
		}
	}
	for range 100000 {
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		want, _ := strconv.ParseUint(string(b), 10, 64)
		if got := eightDigitsValue(binary.LittleEndian.Uint64(b)); got != want {
			t.Fatalf("eightDigitsValue(%q) = %d, want %d", b, got, want)
		}
	}
	for _, s := range []string{"00000000", "99999999", "12345678", "10000000"} {
		want, _ := strconv.ParseUint(s, 10, 64)
		if got := eightDigitsValue(binary.LittleEndian.Uint64([]byte(s))); got != want {
			t.Fatalf("eightDigitsValue(%q) = %d, want %d", s, got, want)
		}
	}
}
