package core

import (
	"testing"
	"time"
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
