package core

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// verifiedCache maps token -> verified claims. Every authenticated request reads it, from every
// core at once, so a read takes no lock and writes nothing shared: it is a fixed array of slots,
// read with atomic loads. The slots form buckets of cacheWays; a token can only live in the bucket
// its hash picks, and a token put into a full bucket replaces one of that bucket's entries at
// random. So the cache never holds more than its size, evicting costs nothing, and a hit does no
// bookkeeping. A token is hashed by its last bytes, its signature (RFC 7515 §7.1: the last
// segment), which the issuer's key makes unpredictable; the whole token is compared on a hit.
type verifiedCache struct {
	seed    maphash.Seed // for tokens shorter than cacheHashed
	k0, k1  uint64       // the random keys of the mix
	buckets uint64
	slots   []atomic.Pointer[cacheEntry]
}

// cacheWays is how many entries a bucket holds.
const cacheWays = 4

// cacheHashed is how many of a token's last bytes its cache hash covers: 96 bits of a signature
// or MAC (16 base64url characters), more than placing a token among the buckets needs. A hit
// compares the whole token, so the hash only has to spread verified tokens, whose signatures
// the issuer's key makes unpredictable: two 8-byte loads and a keyed multiply-xorshift mix,
// about a fifth of hashing 32 bytes with maphash.
const cacheHashed = 16

// cacheEntry is one verified token. It is never written once published, but for notRevoked.
type cacheEntry struct {
	hash   uint64
	token  string
	until  time.Time // exp plus the Manager's leeway: from then on the token is expired
	claims Claims
	// notRevoked is 1 + the memory store's revocation generation at which a lookup last found
	// nothing revoking this token (0: none did): while the generation has not moved, a hit
	// needs no lookup (Manager.checkRevokedEntry).
	notRevoked atomic.Uint64
}

// newVerifiedCache returns a cache of at most max entries (max rounded down to a multiple of
// cacheWays when it is larger), or nil for max <= 0.
func newVerifiedCache(max int) *verifiedCache {
	if max <= 0 {
		return nil
	}
	ways := min(max, cacheWays)
	buckets := max / ways
	return &verifiedCache{seed: maphash.MakeSeed(), k0: rand.Uint64(), k1: rand.Uint64(), buckets: uint64(buckets), slots: make([]atomic.Pointer[cacheEntry], buckets*ways)}
}

// hash hashes token's last cacheHashed bytes, keyed by the cache's random keys.
func (vc *verifiedCache) hash(token string) uint64 {
	if len(token) < cacheHashed {
		return maphash.String(vc.seed, token)
	}
	t := unsafeBytes(token[len(token)-cacheHashed:])
	h := (binary.LittleEndian.Uint64(t) ^ vc.k0) * 0x9e3779b97f4a7c15
	h = (h ^ h>>32 ^ binary.LittleEndian.Uint64(t[8:]) ^ vc.k1) * 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// bucket returns the slots token's hash h may live in.
func (vc *verifiedCache) bucket(h uint64) []atomic.Pointer[cacheEntry] {
	ways := uint64(len(vc.slots)) / vc.buckets
	// The high bits of h pick the bucket (h*buckets/2^64, Lemire's multiply-shift); no division.
	hi, _ := bits.Mul64(h, vc.buckets)
	return vc.slots[hi*ways : (hi+1)*ways]
}

func (vc *verifiedCache) get(token string) *cacheEntry {
	h := vc.hash(token)
	b := vc.bucket(h)
	for i := range b {
		if e := b[i].Load(); e != nil && e.hash == h && e.token == token {
			return e
		}
	}
	return nil
}

// put adds token's claims, expired from until on. The cache keeps a copy of token and of c. A
// full bucket loses one entry picked at random: a token seen again after that is verified again.
func (vc *verifiedCache) put(token string, c *Claims, until time.Time) {
	h := vc.hash(token)
	b := vc.bucket(h)
	for i := range b {
		if e := b[i].Load(); e != nil && e.hash == h && e.token == token {
			return
		}
	}
	e := &cacheEntry{hash: h, token: strings.Clone(token), until: until, claims: *c}
	for i := range b {
		if b[i].CompareAndSwap(nil, e) {
			return
		}
	}
	b[rand.N(len(b))].Store(e)
}

// drop removes token's entry, if it has one.
func (vc *verifiedCache) drop(token string) {
	h := vc.hash(token)
	b := vc.bucket(h)
	for i := range b {
		if e := b[i].Load(); e != nil && e.hash == h && e.token == token {
			b[i].CompareAndSwap(e, nil)
		}
	}
}

func (vc *verifiedCache) purge() {
	if vc == nil {
		return
	}
	for i := range vc.slots {
		vc.slots[i].Store(nil)
	}
}

func (vc *verifiedCache) len() int {
	n := 0
	for i := range vc.slots {
		if vc.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
