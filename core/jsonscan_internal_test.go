package core

import "testing"

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
