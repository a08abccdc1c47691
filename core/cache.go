package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultVerifiedCacheSize is how many verified access tokens a Manager remembers by default (see
// WithVerifiedCache).
const DefaultVerifiedCacheSize = 4096

// WithVerifiedCache sets how many verified access tokens the Manager remembers, keyed by the exact
// token bytes, so that a client presenting the same token again skips the parsing and the
// signature verification: an asymmetric signature (RS256, PS256, ES256, ES384, EdDSA) costs
// 20-200x the rest of the request's token work, and even an HMAC token's decoding, MAC and claims
// checks cost several times the lookup. 0 turns the cache off. Default: 4096 entries.
//
// Why it is safe to have on: a token is immutable, so the same bytes verify the same way against
// the same key set, and the configured key set of a Manager never changes (rotation builds a new
// Manager). A Manager verifying with a remote key set (WithKeySource) keeps no cache, since the
// issuer may withdraw a key at any time. Only tokens that passed every check are cached - garbage
// and forged tokens never enter it, so it cannot be flooded by an attacker without valid tokens.
// Expiry (exp plus leeway) is checked on every hit, and revocation is looked up on every hit
// exactly as without the cache. Each hit returns a fresh copy of the claims.
func WithVerifiedCache(entries int) Option {
	return func(c *config) error {
		if entries < 0 {
			return configError("WithVerifiedCache: %d entries is negative", entries)
		}
		c.cacheSize, c.cacheSet = entries, true
		return nil
	}
}

// verifiedCache maps token -> verified claims. Every authenticated request reads it, from every
// core at once, so reads take no lock and write nothing shared (sync.Map's lookups are atomic
// loads; a read lock would make every core write the lock's reader count). Eviction takes entries
// in the map's iteration order, which follows a per-map random hash seed: it needs no bookkeeping
// on hits and keeps the cache bounded.
type verifiedCache struct {
	max     int
	n       atomic.Int64 // entries, kept by put and drop
	entries sync.Map     // string -> *Claims
}

func newVerifiedCache(max int) *verifiedCache {
	if max <= 0 {
		return nil
	}
	return &verifiedCache{max: max}
}

func (vc *verifiedCache) get(token string) *Claims {
	c, _ := vc.entries.Load(token)
	claims, _ := c.(*Claims)
	return claims
}

// put adds an entry; past max it first evicts one sixteenth of the entries. Concurrent puts may
// overshoot max by the number of goroutines inserting at that moment, no more.
func (vc *verifiedCache) put(token string, c *Claims) {
	if _, loaded := vc.entries.LoadOrStore(token, c); loaded {
		return
	}
	if vc.n.Add(1) <= int64(vc.max) {
		return
	}
	evict := vc.max/16 + 1
	vc.entries.Range(func(k, _ any) bool {
		if _, ok := vc.entries.LoadAndDelete(k); ok {
			vc.n.Add(-1)
			evict--
		}
		return evict > 0
	})
}

func (vc *verifiedCache) drop(token string) {
	if _, ok := vc.entries.LoadAndDelete(token); ok {
		vc.n.Add(-1)
	}
}

func (vc *verifiedCache) purge() {
	if vc == nil {
		return
	}
	vc.entries.Range(func(k, _ any) bool {
		vc.drop(k.(string))
		return true
	})
}

func (vc *verifiedCache) len() int {
	n := 0
	vc.entries.Range(func(_, _ any) bool {
		n++
		return true
	})
	return n
}

// cached answers an access token from the cache: the claims (a copy, where dst says) when the
// token was verified before and has not expired since, else nil.
func (m *Manager) cached(token string, now time.Time, dst *claimsDst) (*Claims, error) {
	c := m.cache.get(token)
	if c == nil {
		return nil, nil
	}
	return m.fromCache(token, c, now, dst)
}

// fromCache answers token from its cache entry c: a copy of the claims (where dst says), or
// ErrTokenExpired (and the entry dropped) once exp plus the leeway has passed.
func (m *Manager) fromCache(token string, c *Claims, now time.Time, dst *claimsDst) (*Claims, error) {
	if !now.Before(c.ExpiresAt.Add(m.cfg.leeway)) {
		m.cache.drop(token)
		return nil, errExpired
	}
	out := dst.claims()
	*out = *c
	return out, nil
}

// verifyCached is Verify's path for managers with a cache; the claims go where dst says.
func (m *Manager) verifyCached(token string, now time.Time, dst *claimsDst) (*Claims, error) {
	c, err := m.cached(token, now, dst)
	if c == nil && err == nil {
		c, _, err = m.parseKey(token, kindAccess, now, 0, dst)
		if err == nil {
			stored := new(Claims)
			*stored = *c
			m.cache.put(string(append([]byte(nil), token...)), stored)
		}
	}
	return c, err
}
