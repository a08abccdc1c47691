package core

import (
	"context"
	"sync"
	"time"
)

// memRings holds the key rings of a MemoryStore (KeyRingStore), by name. Names are the
// Manager's fixed ring names, so the map never grows past a handful of entries.
type memRings struct {
	mu    sync.Mutex
	rings map[string]KeyRingState
}

func (s *MemoryStore) keyRings() *memRings { return &s.rings }

var _ KeyRingStore = (*MemoryStore)(nil)

// LoadKeyRing implements KeyRingStore by the store's clock (WithMemoryClock).
func (s *MemoryStore) LoadKeyRing(_ context.Context, name string, _ time.Time) (KeyRingState, error) {
	r := s.keyRings()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.rings[name]
	st.Now = s.now()
	return st, nil
}

// SwapKeyRing implements KeyRingStore by the store's clock (WithMemoryClock).
func (s *MemoryStore) SwapKeyRing(_ context.Context, name string, next KeyRingState, force bool, _ time.Time) (KeyRingState, bool, error) {
	r := s.keyRings()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := s.now()
	cur := r.rings[name]
	if r.rings == nil {
		r.rings = map[string]KeyRingState{}
	}
	if cur.Generation != next.Generation-1 || (!force && cur.Generation != 0 && now.Before(cur.Due)) {
		cur.Now = now
		return cur, false, nil
	}
	next.Document = append([]byte(nil), next.Document...)
	next.Due = next.Due.Truncate(time.Millisecond)
	next.Now = time.Time{}
	r.rings[name] = next
	next.Now = now
	return next, true, nil
}
