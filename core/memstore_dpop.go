package core

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// memProofs is MemoryStore's DPoP replay cache (DPoPReplayStore): proof ids until their expiry,
// at most max of them. Ids are kept as 16 bytes (the Manager's ids are 128 bits, base64url), so
// a record costs a fixed, small amount whatever the client put in its jti.
type memProofs struct {
	mu        sync.Mutex
	ids       map[[16]byte]int64 // id -> until, Unix nanoseconds
	max       int
	lastSweep int64 // when a full cache was last swept, Unix nanoseconds
}

// MarkDPoPProof implements DPoPReplayStore: it records id until `until` (by the store's clock,
// WithMemoryClock) and reports whether id was new. The cache holds at most WithMaxDPoPProofs
// live records (default DefaultMaxDPoPProofs); when it is full of records that have not expired,
// the proof is refused with an error (the Manager answers 503) rather than a record dropped, which
// would let that proof be replayed. Expired records are dropped by Sweep and, when the cache is
// full, at most once a second by MarkDPoPProof itself.
func (s *MemoryStore) MarkDPoPProof(_ context.Context, id string, until, _ time.Time) (bool, error) {
	var k [16]byte
	if n, err := base64.RawURLEncoding.Decode(k[:], []byte(id)); err != nil || n != 16 || len(id) != 22 {
		sum := sha256.Sum256([]byte(id))
		copy(k[:], sum[:])
	}
	now := s.now().UnixNano()
	p := &s.proofs
	p.mu.Lock()
	defer p.mu.Unlock()
	if exp, ok := p.ids[k]; ok && now < exp {
		return false, nil
	}
	if p.ids == nil {
		p.ids = make(map[[16]byte]int64)
	}
	max := p.max
	if max == 0 {
		max = DefaultMaxDPoPProofs
	}
	if len(p.ids) >= max && now-p.lastSweep >= int64(time.Second) {
		p.lastSweep = now
		p.sweepLocked(now)
	}
	if len(p.ids) >= max {
		return false, errDPoPReplayFull
	}
	p.ids[k] = until.UnixNano()
	return true, nil
}

// DPoPProofs returns the number of DPoP replay records the store holds (expired ones count
// until they are swept).
func (s *MemoryStore) DPoPProofs() int {
	s.proofs.mu.Lock()
	defer s.proofs.mu.Unlock()
	return len(s.proofs.ids)
}

func (p *memProofs) sweep(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked(now.UnixNano())
}

func (p *memProofs) sweepLocked(now int64) {
	for k, exp := range p.ids {
		if now >= exp {
			delete(p.ids, k)
		}
	}
}
