package core

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// decodeB64 must accept exactly what the strict standard decoder accepts (for input without the
// line breaks the standard decoder skips) and write the same bytes.
func checkDecodeB64(t *testing.T, src string) {
	t.Helper()
	want, werr := b64.DecodeString(src)
	if strings.ContainsAny(src, "\r\n") {
		werr = base64.CorruptInputError(0) // skipped by the standard decoder, refused here
	}
	dst := make([]byte, b64.DecodedLen(len(src)))
	n, ascii, ok := decodeB64(dst, src)
	if ok != (werr == nil) {
		t.Fatalf("decodeB64(%q): ok %v, standard decoder: %v", src, ok, werr)
	}
	if ok && !bytes.Equal(dst[:n], want) {
		t.Fatalf("decodeB64(%q) = %x, want %x", src, dst[:n], want)
	}
	if isASCII := !bytes.ContainsFunc(want, func(r rune) bool { return r >= 0x80 }); ok && ascii != isASCII {
		t.Fatalf("decodeB64(%q) = %x: ascii %v", src, dst[:n], ascii)
	}
}

func TestDecodeB64(t *testing.T) {
	for _, src := range []string{
		"", "A", "AA", "AB", "AAA", "AAB", "AAE", "AAAA", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy",
		"Zm9vYmFyYg", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "Zm9v=", "Zm9v+", "Zm9v/", "Zm9v\n", "Zm9v\r",
		"Zm9v YmFy", "Zm9vYmFy\x00", "Zm9vYmF\xff", "-_-_", "____________", "Zm9vYmFyYmF6YmF6Zg", "Zm9vYmFyYmF6YmF6Zh",
	} {
		checkDecodeB64(t, src)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for range 20000 {
		raw := make([]byte, rng.IntN(80))
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		src := []byte(base64.RawURLEncoding.EncodeToString(raw))
		checkDecodeB64(t, string(src))
		if len(src) > 0 { // one character changed: another letter, a byte outside the alphabet, or its last bits
			i := rng.IntN(len(src))
			if rng.IntN(2) == 0 {
				src[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				src[i] = byte(rng.Uint32())
			}
			checkDecodeB64(t, string(src))
			checkDecodeB64(t, string(src[:rng.IntN(len(src)+1)]))
		}
	}
	// dst too small: refused, never a panic.
	if _, _, ok := decodeB64(make([]byte, 2), "Zm9vYmFy"); ok {
		t.Fatal("decodeB64 into a too small dst reported ok")
	}
}

func FuzzDecodeB64(f *testing.F) {
	for _, s := range []string{"", "Zm9vYmFy", "eyJhbGciOiJIUzI1NiJ9", "AAE", "Zm9v=", "Zm9vYg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) { checkDecodeB64(t, src) })
}
