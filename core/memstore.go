package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryStore is the in-memory Store, the default when no store is configured. It holds every
// record in one process, so it is right for a single instance; several instances behind a load
// balancer need a shared store (redisstore) or a logout on one instance would not be seen by the
// others.
//
// Records expire by the store's clock (WithMemoryClock; time.Now by default): a record whose expiry
// is at or before now is treated as gone at once (lazy expiry on read) and removed by a background
// sweeper every DefaultSweepInterval, or by Sweep. Close stops the sweeper; the store itself keeps
// answering after Close. All methods are safe for concurrent use. They ignore their context: an
// in-memory operation cannot stall, and a request whose client went away must not turn into a
// store failure.
type MemoryStore struct {
	now      func() time.Time
	interval time.Duration

	// mu guards subjects. Every method but Revoked takes it (Len and Sessions shared, the
	// writes exclusively).
	mu       sync.RWMutex
	subjects map[string]*memSubject
	// revs holds, by subject, the records in subjects that hold a revocation (a denied jti, a
	// revoked sid or a cut-off), for Revoked: the per-request read takes no store-wide lock,
	// so the cores serving requests write no shared lock word, and a subject with nothing
	// revoked costs one lock-free lookup. Writers keep it in step under mu (changeRevocations).
	revs sync.Map // string -> *memSubject
	// revGen counts the changes to revocation records (changeRevocations adds one after each,
	// once Revoked can see it). A Manager that found a token not revoked at generation g knows
	// the answer is the same while revGen is still g: records only change through
	// changeRevocations, and one that expires can only stop revoking. Answering a cached token,
	// it then skips the lookup (Manager.checkRevokedEntry).
	revGen atomic.Uint64

	rings  memRings  // key rings (KeyRingStore, memstore_keyring.go)
	proofs memProofs // DPoP replay records (DPoPReplayStore, memstore_dpop.go)

	// listeners are the functions of NotifyRevocations, by registration number.
	listenMu  sync.Mutex
	listeners map[uint64]func(RevocationNotice)
	listenSeq uint64

	stopOnce sync.Once
	stop     chan struct{} // closed by Close; nil when there is no sweeper
	done     chan struct{} // closed by the sweeper when it has returned
}

// memSubject holds every record of one subject, so Revoked is a single map lookup followed by at
// most two more, none of which allocates. Inner maps are created on first write.
type memSubject struct {
	families map[string]Family // by sid; expires at Family.CurrentExpires

	// rmu guards the revocation records against Revoked, which reads them holding only rmu;
	// writers hold the store's mu and take rmu too when they change them.
	rmu      sync.RWMutex
	denied   map[string]time.Time // jti -> until
	revoked  map[string]time.Time // sid -> until
	cutOff   time.Time            // tokens issued at or before this are revoked...
	cutUntil time.Time            // ...while now is before this; zero: no cut-off

	// ended counts the sid marks written since the window that ends at endedUntil began
	// (SessionLimit.MaxEnded); zero endedUntil: no window. Guarded by the store's mu.
	ended      int
	endedUntil time.Time
}

// revocationExpired reports whether one of r's revocation records has expired at now. Callers
// hold the store's mu.
func (r *memSubject) revocationExpired(now time.Time) bool {
	for _, until := range r.denied {
		if !now.Before(until) {
			return true
		}
	}
	for _, until := range r.revoked {
		if !now.Before(until) {
			return true
		}
	}
	return !r.cutUntil.IsZero() && !now.Before(r.cutUntil)
}

// revokes reports whether r holds a revocation record (live or expired).
func (r *memSubject) revokes() bool {
	return len(r.denied) > 0 || len(r.revoked) > 0 || !r.cutUntil.IsZero()
}

// changeRevocations runs change, which changes r's revocation records, under r.rmu, and then
// lists r in s.revs if it holds a revocation record, or unlists it. Callers hold s.mu
// exclusively.
func (s *MemoryStore) changeRevocations(subject string, r *memSubject, change func()) {
	r.rmu.Lock()
	change()
	listed := r.revokes()
	r.rmu.Unlock()
	if listed {
		s.revs.Store(subject, r)
		s.revGen.Add(1)
		s.announce(subject)
	} else {
		s.revs.CompareAndDelete(subject, r)
		s.revGen.Add(1)
	}
}

// announce tells the listeners of NotifyRevocations that subject's records changed.
func (s *MemoryStore) announce(subject string) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	for _, fn := range s.listeners {
		fn(RevocationNotice{Subject: subject})
	}
}

// NotifyRevocations implements RevocationNotifier: fn hears of every revocation record the store
// writes, right after the write and before the writing call returns. ok is always true.
func (s *MemoryStore) NotifyRevocations(fn func(RevocationNotice)) (stop func(), ok bool) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.listeners == nil {
		s.listeners = make(map[uint64]func(RevocationNotice))
	}
	s.listenSeq++
	id := s.listenSeq
	s.listeners[id] = fn
	return func() {
		s.listenMu.Lock()
		delete(s.listeners, id)
		s.listenMu.Unlock()
	}, true
}

func (r *memSubject) empty() bool {
	return len(r.families) == 0 && len(r.denied) == 0 && len(r.revoked) == 0 && r.cutUntil.IsZero() &&
		r.endedUntil.IsZero()
}

// endSession marks sid revoked until `until` (never shortening a mark) and, when that wrote
// anything, counts one more ended session of the subject (SessionLimit.MaxEnded): the count's
// window starts with its first mark and ends when that mark expires. Callers hold s.mu
// exclusively; a mark whose until is not after now is not written.
func (s *MemoryStore) endSession(subject string, r *memSubject, sid string, until, now time.Time) {
	if !until.After(now) {
		return
	}
	if old, ok := r.revoked[sid]; ok && !until.After(old) {
		return
	}
	s.changeRevocations(subject, r, func() { r.revoked = extend(r.revoked, sid, until) })
	if !now.Before(r.endedUntil) {
		r.ended, r.endedUntil = 0, until
	}
	r.ended++
}

// NewMemoryStore returns an empty in-memory store and starts its sweeper goroutine. Call Close to
// stop the sweeper when the store is no longer needed.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{
		now:      time.Now,
		interval: DefaultSweepInterval,
		subjects: make(map[string]*memSubject),
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweeper(s.interval)
	}
	return s
}

func (s *MemoryStore) sweeper(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			s.Sweep()
		}
	}
}

// Close stops the background sweeper and waits for it to return. It always returns nil and is safe
// to call more than once. The store keeps working after Close (expired records are still never
// reported); only the background sweeping stops.
func (s *MemoryStore) Close() error {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
	return nil
}

// Sweep drops every record whose expiry is at or before now (by the store's clock), DPoP replay
// records included. The sweeper
// calls it every sweep interval; call it directly to reclaim memory at a moment of your choosing.
func (s *MemoryStore) Sweep() {
	now := s.now()
	s.proofs.sweep(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	for subject, r := range s.subjects {
		for sid, f := range r.families {
			if !now.Before(f.CurrentExpires) {
				delete(r.families, sid)
			}
		}
		if r.revocationExpired(now) { // else nothing to change: no write lock against readers
			s.changeRevocations(subject, r, func() {
				for jti, until := range r.denied {
					if !now.Before(until) {
						delete(r.denied, jti)
					}
				}
				for sid, until := range r.revoked {
					if !now.Before(until) {
						delete(r.revoked, sid)
					}
				}
				if !r.cutUntil.IsZero() && !now.Before(r.cutUntil) {
					r.cutOff, r.cutUntil = time.Time{}, time.Time{}
				}
			})
		}
		if !r.endedUntil.IsZero() && !now.Before(r.endedUntil) {
			r.ended, r.endedUntil = 0, time.Time{}
		}
		s.dropIfEmpty(subject, r)
	}
}

// Len returns the number of records the store holds: families, denied jtis, revoked sids and
// cut-offs. Expired records count until they are swept.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, r := range s.subjects {
		n += len(r.families) + len(r.denied) + len(r.revoked)
		if !r.cutUntil.IsZero() {
			n++
		}
	}
	return n
}

// subject returns the record of subject, creating it. Callers hold s.mu exclusively.
func (s *MemoryStore) subject(subject string) *memSubject {
	r := s.subjects[subject]
	if r == nil {
		r = &memSubject{}
		s.subjects[subject] = r
	}
	return r
}

// dropIfEmpty forgets the record of subject when it holds nothing. Callers hold s.mu exclusively.
func (s *MemoryStore) dropIfEmpty(subject string, r *memSubject) {
	if r.empty() {
		delete(s.subjects, subject)
		s.revs.CompareAndDelete(subject, r) // not listed: it holds no revocation
	}
}

// CreateFamily implements Store. The record expires at f.CurrentExpires, capped at f.Expires; a
// family that would already be expired is not written. A family without a SessionID is refused
// with an error. Bounding the subject's sessions costs one pass over that subject's families.
func (s *MemoryStore) CreateFamily(_ context.Context, f Family, limit SessionLimit) ([]string, error) {
	if f.SessionID == "" {
		return nil, errNoSessionID
	}
	if f.CurrentExpires.After(f.Expires) {
		f.CurrentExpires = f.Expires
	}
	now := s.now()
	if !now.Before(f.CurrentExpires) {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subject(f.Subject)
	if r.families == nil {
		r.families = make(map[string]Family)
	}
	if f.LoginKey != "" && limit.LoginRetryWindow > 0 {
		for _, g := range r.families {
			if g.LoginKey == f.LoginKey && g.live(now) && now.Before(g.CreatedAt.Add(limit.LoginRetryWindow)) {
				return nil, &LoginRepeatedError{Family: g}
			}
		}
	}
	if !f.CurrentIssuedAt.IsZero() && now.Before(r.cutUntil) && r.cutOff.Unix() >= f.CurrentIssuedAt.Unix() {
		// A "log out everywhere" came after these tokens were minted: they are dead already.
		return nil, errIssuedUnderCutOff
	}
	if limit.MaxEnded > 0 && r.ended >= limit.MaxEnded && now.Before(r.endedUntil) {
		return nil, &SessionChurnError{RetryAt: r.endedUntil}
	}
	delete(r.families, f.SessionID)
	var ended []string
	if limit.Max > 0 {
		for sid, g := range r.families { // drop the expired ones first: they do not count
			if !g.live(now) {
				delete(r.families, sid)
			}
		}
		for len(r.families) >= limit.Max {
			lru := leastRecentlyUsed(r.families)
			delete(r.families, lru)
			s.endSession(f.Subject, r, lru, limit.RevokeUntil, now)
			ended = append(ended, lru)
		}
	}
	r.families[f.SessionID] = f
	return ended, nil
}

// live reports whether the family can still be rotated at now.
func (f Family) live(now time.Time) bool {
	return now.Before(f.CurrentExpires) && now.Before(f.Expires)
}

// leastRecentlyUsed returns the sid of the family used least recently (ties: the smaller sid, so
// the choice does not depend on map order, as in the Redis store). families is not empty.
func leastRecentlyUsed(families map[string]Family) string {
	var lru string
	var best time.Time
	for sid, f := range families {
		if lru == "" || f.LastUsed.Before(best) || (f.LastUsed.Equal(best) && sid < lru) {
			lru, best = sid, f.LastUsed
		}
	}
	return lru
}

// Sessions implements Store: the subject's live families, read under the shared lock.
func (s *MemoryStore) Sessions(_ context.Context, subject string) ([]Family, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.subjects[subject]
	if r == nil {
		return nil, nil
	}
	out := make([]Family, 0, len(r.families))
	for _, f := range r.families {
		if f.live(now) {
			out = append(out, f)
		}
	}
	return out, nil
}

// EndSessions implements Store.
func (s *MemoryStore) EndSessions(_ context.Context, subject, keep string, until time.Time) ([]string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subjects[subject]
	if r == nil {
		return nil, nil
	}
	var ended []string
	for sid, f := range r.families {
		if sid == keep {
			continue
		}
		delete(r.families, sid)
		if !f.live(now) {
			continue
		}
		s.endSession(subject, r, sid, until, now)
		ended = append(ended, sid)
	}
	s.dropIfEmpty(subject, r)
	return ended, nil
}

// Rotate implements Store. Every decision uses the store's clock (WithMemoryClock; the Manager
// that creates its own MemoryStore gives it its clock).
func (s *MemoryStore) Rotate(_ context.Context, req RotateRequest) (Family, RotateResult, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()

	r := s.subjects[req.Subject]
	if r == nil {
		return Family{}, RotateUnknown, nil
	}
	f, ok := r.families[req.SessionID]
	if !ok || f.Subject != req.Subject || !f.live(now) {
		return Family{}, RotateUnknown, nil
	}
	if now.Before(r.cutUntil) && r.cutOff.Unix() >= req.PresentedIssuedAt.Unix() {
		return f, RotateCutOff, nil
	}
	replayed := f.Previous != "" && req.Presented == f.Previous
	switch {
	case req.Presented == f.Current && now.Before(f.PreviousUntil):
		return f, RotateGrace, nil // rotated less than the grace window ago: once per window
	case req.Presented == f.Current:
		f.Previous, f.PreviousUntil, f.RetryKey = f.Current, time.Time{}, req.RetryKey
		if req.Grace > 0 {
			f.PreviousUntil = now.Add(req.Grace)
		}
		f.Current, f.CurrentIssuedAt = req.Next, req.NextIssuedAt
		f.CurrentExpires, f.LastUsed = req.NextExpires, now
		if f.CurrentExpires.After(f.Expires) {
			f.CurrentExpires = f.Expires
		}
		r.families[req.SessionID] = f
		return f, RotateOK, nil
	case replayed && req.Next == f.Current:
		return f, RotateOK, nil // the same request again
	case replayed && req.RetryKey != "" && req.RetryKey == f.RetryKey && now.Before(f.LastUsed.Add(req.RetryWindow)):
		return f, RotateRetry, nil
	case replayed && now.Before(f.PreviousUntil):
		return f, RotateGrace, nil
	}
	delete(r.families, req.SessionID)
	s.endSession(req.Subject, r, req.SessionID, req.RevokeUntil, now)
	s.dropIfEmpty(req.Subject, r)
	return f, RotateReused, nil
}

// extend records key until `until` in m (created when nil), never shortening a later expiry
// already recorded: a second, shorter revocation must not un-revoke anything early.
func extend(m map[string]time.Time, key string, until time.Time) map[string]time.Time {
	if m == nil {
		m = make(map[string]time.Time)
	}
	if old, ok := m[key]; !ok || until.After(old) {
		m[key] = until
	}
	return m
}

// RevokeFamily implements Store. The family is deleted whatever `until` is (a logout must end the
// session); the revocation mark is written only when `until` lies after now, and never shortens an
// existing mark. An empty sid does nothing.
func (s *MemoryStore) RevokeFamily(_ context.Context, subject, sid string, until time.Time) error {
	if sid == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subjects[subject]
	if r == nil {
		if !until.After(now) {
			return nil
		}
		r = s.subject(subject)
	}
	delete(r.families, sid)
	s.endSession(subject, r, sid, until, now)
	s.dropIfEmpty(subject, r)
	return nil
}

// DenyToken implements Store. An existing entry is never shortened; an empty jti does nothing.
func (s *MemoryStore) DenyToken(_ context.Context, subject, jti string, until time.Time) error {
	if jti == "" || !until.After(s.now()) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subject(subject)
	s.changeRevocations(subject, r, func() { r.denied = extend(r.denied, jti, until) })
	return nil
}

// CutOff implements Store. When a cut-off replaces another, the record lives until the later of
// the two expiries, so no token the earlier one revoked becomes valid again.
func (s *MemoryStore) CutOff(_ context.Context, subject string, at, until time.Time) error {
	now := s.now()
	if !until.After(now) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subject(subject)
	if now.Before(r.cutUntil) { // a live cut-off exists
		if r.cutOff.After(at) {
			return nil
		}
		if r.cutUntil.After(until) {
			until = r.cutUntil
		}
	}
	s.changeRevocations(subject, r, func() { r.cutOff, r.cutUntil = at, until })
	return nil
}

// Revoked implements Store. It runs on every authenticated request, so it allocates nothing and
// takes no lock shared by all subjects: a subject with no revocation record costs one lock-free
// lookup, one with records a read lock of that subject's own.
func (s *MemoryStore) Revoked(_ context.Context, subject, jti, sid string) (Revocation, error) {
	var rev Revocation
	v, listed := s.revs.Load(subject)
	if !listed {
		// The common case: nothing of this subject was revoked, so no lock and no clock read.
		return rev, nil
	}
	r := v.(*memSubject)
	r.rmu.RLock()
	now := s.now()
	if jti != "" {
		if until, ok := r.denied[jti]; ok && now.Before(until) {
			rev.TokenDenied = true
		}
	}
	if sid != "" {
		if until, ok := r.revoked[sid]; ok && now.Before(until) {
			rev.SessionRevoked = true
		}
	}
	if now.Before(r.cutUntil) {
		rev.CutOff = r.cutOff
	}
	r.rmu.RUnlock()
	return rev, nil
}

var (
	_ Store              = (*MemoryStore)(nil)
	_ RevocationNotifier = (*MemoryStore)(nil)
)
