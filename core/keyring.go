package core

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The key ring (WithKeyRotation): signing keys that the Manager creates, rotates and retires by
// itself, kept in the store so that every instance sharing it signs with the same key.
//
// Each key goes Next (published, verifying, not signing) -> Current (signing) -> Previous
// (published, verifying) -> retired. A rotation, due every period by the store's clock, makes
// Next Current, Current Previous, and creates a new Next. The store decides it: the Manager
// reads the ring and its clock (KeyRingStore.LoadKeyRing) and, when the rotation is due, proposes
// the next ring with SwapKeyRing, which swaps only if nobody swapped since; so of any number of
// instances exactly one rotates per period, and the others take its ring. Every instance reads
// the ring every sync interval, so a rotation reaches all of them within it.
//
// Times in a ring are the store's clock (Unix ms). Retirement is checked against the Manager's
// clock, which may differ from the store's by the clock skew the leeway covers.

// maxRingKeys bounds a ring: Next, Current and at most 14 Previous keys.
const maxRingKeys = 16

// Ring names in the store.
const (
	ringAccess  = "access"
	ringRefresh = "refresh"
)

// KeyRole names a ring: the keys of access tokens or those of refresh tokens.
type KeyRole string

// The key roles of Manager.RetireCompromisedKey and KeyInfo.
const (
	KeyRoleAccess  KeyRole = ringAccess
	KeyRoleRefresh KeyRole = ringRefresh
)

// KeySigners keeps the private keys of a key ring outside the store (WithKeySigners): in a KMS,
// an HSM, or any service that signs without handing out the key. Both methods are called rarely
// (a rotation; an instance taking a new key into use) and may do network calls; the Signer they
// return is called for every token signed.
type KeySigners interface {
	// NewSigner creates a new key for alg (EdDSA, ES256, ES384, RS256, PS256) named kid and
	// returns its signer. When several instances rotate at the same moment, each may create a
	// key and only one is used; the others are never asked for again and may be deleted.
	NewSigner(ctx context.Context, kid, alg string) (crypto.Signer, error)
	// Signer returns the signer of the key named kid that NewSigner created, on any instance.
	Signer(ctx context.Context, kid string) (crypto.Signer, error)
}

// KeyState is where a key of a ring is in its life.
type KeyState string

// The states of KeyInfo.
const (
	KeyNext     KeyState = "next"     // published (access keys), verifying, not yet signing
	KeyCurrent  KeyState = "current"  // signing
	KeyPrevious KeyState = "previous" // verifying the tokens it signed, until Retires
	KeyRetired  KeyState = "retired"  // refused; still listed until the next rotation drops it
)

// KeyInfo describes one key of a ring, for dashboards and metrics (key ages). It holds no key
// material.
type KeyInfo struct {
	Role        KeyRole
	ID          string // kid
	Algorithm   string
	State       KeyState
	Published   time.Time // entered the ring (and the JWK Set, for access keys)
	Signs       time.Time // became Current; zero while Next
	Stopped     time.Time // stopped signing; zero while Next or Current
	Retires     time.Time // retirement: tokens naming it are refused from then on; zero while Next or Current
	Compromised bool      // retired by RetireCompromisedKey
}

// ringConfig is the configuration of the key rings (options.go).
type ringConfig struct {
	alg           string
	period        time.Duration // access ring
	refreshPeriod time.Duration
	maxAge        time.Duration // JWKS max-age = publish-ahead; 0 until derive
	sync          time.Duration // sync interval; 0 until derive
	kek           []byte
	kekID         string
	signers       KeySigners
}

// derive fills in the defaults that depend on the period and token lifetimes; refreshLife is the
// refresh TTL plus leeway.
func (r *ringConfig) derive(refreshLife time.Duration) {
	if r.sync == 0 {
		r.sync = min(DefaultKeyRingSync, r.period/10)
	}
	if r.maxAge == 0 {
		r.maxAge = max(time.Second, min(DefaultJWKSMaxAge, (r.period-2*r.sync)/2).Truncate(time.Second))
	}
	if r.refreshPeriod == 0 {
		r.refreshPeriod = max(r.period, r.minPeriod(refreshLife, 0))
	}
}

// minPeriod is the shortest period of a ring whose tokens live life (lifetime plus leeway) and
// whose keys are published ahead before they sign: at most maxRingKeys keys at once, a key
// published (and known to every instance) for ahead plus two sync intervals before it signs.
func (r *ringConfig) minPeriod(life, ahead time.Duration) time.Duration {
	p := MinKeyRotation
	p = max(p, ceilSecond((life+2*r.sync)/(maxRingKeys-2)))
	return max(p, ahead+2*r.sync)
}

// shortestPeriod is the shortest whole-second access period that minPeriod accepts once the
// defaults depending on the period (the sync interval) are derived from it; r holds the options
// as given.
func (r ringConfig) shortestPeriod(life, maxAge time.Duration) time.Duration {
	ok := func(p time.Duration) bool {
		c := r
		c.period = p
		if c.sync == 0 {
			c.sync = min(DefaultKeyRingSync, p/10)
		}
		return p >= c.minPeriod(life, maxAge)
	}
	lo, hi := MinKeyRotation, 1000*24*time.Hour
	if ok(lo) {
		return lo
	}
	for hi-lo > time.Second { // ok is monotone: the need grows at most a fifth as fast as p
		mid := (lo + (hi-lo)/2).Truncate(time.Second)
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

func ceilSecond(d time.Duration) time.Duration {
	if t := d.Truncate(time.Second); t < d {
		return t + time.Second
	}
	return d
}

// ringDoc is a key ring as stored (KeyRingState.Document). It never holds a private key or a
// secret in the clear.
type ringDoc struct {
	Keys []ringKey `json:"keys"` // newest first: Next, Current, then Previous keys
}

type ringKey struct {
	ID          string `json:"kid"`
	Alg         string `json:"alg"`
	Public      []byte `json:"pub,omitempty"`    // PKIX DER of an asymmetric key
	Sealed      []byte `json:"sealed,omitempty"` // nonce || AES-256-GCM of the PKCS #8 private key or HMAC secret
	KEK         string `json:"kek,omitempty"`    // id of the key-encryption key that sealed it
	External    bool   `json:"ext,omitempty"`    // the private key is outside the store (KeySigners)
	Published   int64  `json:"published"`        // Unix ms, store clock
	Signs       int64  `json:"signs,omitempty"`  // became Current; 0: Next
	Stopped     int64  `json:"stopped,omitempty"`
	Retires     int64  `json:"retires,omitempty"`
	Compromised bool   `json:"compromised,omitempty"`
}

func (k *ringKey) state(now int64) KeyState {
	switch {
	case k.Retires != 0 && now >= k.Retires:
		return KeyRetired
	case k.Stopped != 0:
		return KeyPrevious
	case k.Signs != 0:
		return KeyCurrent
	}
	return KeyNext
}

// ring is one key ring of a Manager: its schedule and its local copy (view).
type ring struct {
	m       *Manager
	name    string
	alg     string
	period  time.Duration
	retain  time.Duration // Stopped -> Retires
	publish bool          // access keys: in the JWK Set

	mu       sync.Mutex      // one sync at a time; guards keys
	keys     map[string]*key // material by kid, for the keys of the current view
	view     atomic.Pointer[ringView]
	syncedAt atomic.Int64 // Unix ns, Manager clock, of the last read of the ring
}

// ringView is an immutable local copy of a ring.
type ringView struct {
	gen     int64
	due     time.Time
	doc     ringDoc
	raw     []byte
	current *key
	byKID   map[string]*key
	retires map[string]time.Time
	retired []string // kids recently dropped from the ring (bounded), for EventKeyRetiredPresented
	jwks    atomic.Pointer[jwksDoc]
}

type jwksDoc struct {
	body  []byte
	until time.Time // rebuild from then on: a key retires
}

// processKEK seals the keys of rings kept in a MemoryStore without WithKeyEncryptionKey: the store
// lives in this process, and every Manager of the process shares the key.
var processKEK = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
})

const processKEKID = "process"

// newRings builds the Manager's rings and reads them from the store (creating them on first use).
func (m *Manager) newRings() error {
	c := &m.cfg
	rc := &c.ring
	if rc.kek == nil && rc.signers == nil {
		rc.kek, rc.kekID = processKEK(), processKEKID
	}
	if _, ok := m.store.(KeyRingStore); !ok {
		return configError("WithKeyRotation needs a store that keeps key rings (core.KeyRingStore): %T does not", m.store)
	}
	lifetime := max(c.accessTTL, m.maxLifetime)
	m.access = &keySet{ring: &ring{m: m, name: ringAccess, alg: rc.alg, period: rc.period,
		retain: lifetime + c.leeway + 2*rc.sync, publish: true}}
	refreshAlg := "HS256"
	if rc.kek == nil {
		refreshAlg = rc.alg
	}
	m.refresh = &keySet{ring: &ring{m: m, name: ringRefresh, alg: refreshAlg, period: rc.refreshPeriod,
		retain: c.refreshTTL + c.leeway + 2*rc.sync}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, r := range []*ring{m.access.ring, m.refresh.ring} {
		if err := r.sync(ctx, ""); err != nil {
			if errors.Is(err, ErrInvalidConfig) {
				return err
			}
			return fmt.Errorf("%w: key ring %q: %w", ErrInvalidConfig, r.name, err)
		}
	}
	return nil
}

// SyncKeys reads the key rings from the store and rotates them when a rotation is due by the
// store's clock. The Manager calls it in the background every sync interval (WithKeyRingSync) and
// before signing when its copy is older than two intervals; call it to see a change at once. It
// does nothing without WithKeyRotation. A store failure is returned (wrapping
// ErrStoreUnavailable); the Manager keeps its copy.
func (m *Manager) SyncKeys(ctx context.Context) error {
	if m.access == nil || m.access.ring == nil {
		return nil
	}
	return errors.Join(m.access.ring.sync(ctx, ""), m.refresh.ring.sync(ctx, ""))
}

// RetireCompromisedKey retires the Current key of a ring at once, for a key that leaked: Next
// becomes Current (and a new Next is created), and every token the retired key signed is
// refused from now on - on this instance at once, on every other instance within the sync
// interval (WithKeyRingSync). For KeyRoleAccess that refuses every live access token: clients
// refresh and go on. For KeyRoleRefresh it refuses every refresh token: every session ends and
// users log in again. A JWKS consumer may meet the promoted key before its cache expires, and
// then refetch (most do on an unknown kid); the next scheduled rotation comes a full period
// later. It returns the retired kid, or an error wrapping ErrInvalidConfig without WithKeyRotation
// or ErrStoreUnavailable when the store fails.
func (m *Manager) RetireCompromisedKey(ctx context.Context, role KeyRole) (string, error) {
	if m.access == nil || m.access.ring == nil {
		return "", configError("RetireCompromisedKey needs WithKeyRotation")
	}
	r := m.access.ring
	switch role {
	case KeyRoleAccess:
	case KeyRoleRefresh:
		r = m.refresh.ring
	default:
		return "", configError("RetireCompromisedKey: unknown key role %q", role)
	}
	if err := r.sync(ctx, ""); err != nil {
		return "", err
	}
	kid := r.view.Load().current.kid
	return kid, r.sync(ctx, kid)
}

// SigningKeys describes the keys of the rings (WithKeyRotation) as this instance last read them,
// access keys first, newest first; nil without a ring.
func (m *Manager) SigningKeys() []KeyInfo {
	if m.access == nil || m.access.ring == nil {
		return nil
	}
	var out []KeyInfo
	for _, r := range []*ring{m.access.ring, m.refresh.ring} {
		v := r.view.Load()
		now := m.cfg.now().UnixMilli()
		for _, k := range v.doc.Keys {
			out = append(out, KeyInfo{Role: KeyRole(r.name), ID: k.ID, Algorithm: k.Alg, State: k.state(now),
				Published: msTime(k.Published), Signs: msTime(k.Signs), Stopped: msTime(k.Stopped),
				Retires: msTime(k.Retires), Compromised: k.Compromised})
		}
	}
	return out
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// keyRingLoop syncs the rings every sync interval until stop is closed.
func (m *Manager) keyRingLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(m.cfg.ring.sync)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ring.sync)
			_ = m.SyncKeys(ctx) // a failure is an EventStoreFailure; the copy stays
			cancel()
		}
	}
}

// ensureKeys syncs a ring whose local copy is older than two sync intervals (the background
// loop stalled or the store was unreachable), before a token is signed with it.
func (m *Manager) ensureKeys(ctx context.Context) error {
	if m.access == nil || m.access.ring == nil {
		return nil
	}
	stale := m.cfg.now().Add(-2 * m.cfg.ring.sync).UnixNano()
	for _, r := range []*ring{m.access.ring, m.refresh.ring} {
		if r.syncedAt.Load() < stale {
			if err := r.syncIfStale(ctx, stale); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncIfStale syncs the ring unless another caller did since stale (Unix ns, Manager clock)
// while this one waited for the lock: a burst of logins on a stale copy reads the store once.
func (r *ring) syncIfStale(ctx context.Context, stale int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.syncedAt.Load() >= stale {
		return nil
	}
	return r.syncLocked(ctx, "")
}

// signing returns the key that signs now: the active key, or the ring's Current.
func (ks *keySet) signing() *key {
	if ks.ring != nil {
		return ks.ring.view.Load().current
	}
	return ks.active
}

// lookup selects the ring's key named kid, or nil: no kid, an unknown kid, or a key retired by
// now (the Manager's clock).
func (r *ring) lookup(kid string, hasKID bool, now time.Time) *key {
	if !hasKID {
		return nil
	}
	v := r.view.Load()
	k := v.byKID[kid]
	if k != nil {
		if t, ok := v.retires[kid]; !ok || now.Before(t) {
			return k
		}
	}
	if k == nil && !slices.Contains(v.retired, kid) {
		return nil
	}
	r.m.emit(context.Background(), Event{Kind: EventKeyRetiredPresented, KeyID: strings.Clone(kid), Op: r.name, Reason: "key retired"})
	return nil
}

// ringRetirable is KeyRetirable for a Manager with a key ring, which retires its keys itself:
// whether the ring key kid is retired by now, and its retirement time (zero while it is Next or
// Current). A kid the ring does not hold is (true, zero time).
func (m *Manager) ringRetirable(kid string) (bool, time.Time) {
	for _, r := range []*ring{m.access.ring, m.refresh.ring} {
		v := r.view.Load()
		if _, ok := v.byKID[kid]; !ok {
			continue
		}
		t, ok := v.retires[kid]
		if !ok {
			return false, time.Time{}
		}
		return !m.cfg.now().Before(t), t
	}
	return true, time.Time{}
}
