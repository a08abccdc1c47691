package core

import "unsafe"

// The package's only use of unsafe: zero-copy views between strings and bytes on the verification
// path. Every caller only reads the view, and the bytes viewed are never written afterwards.

// unsafeString views b as a string without copying; b must not change while the string is used.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unsafeBytes views s as bytes for APIs that only read them (hash writes, base64 decoding).
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
