package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
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

// sync reads the ring from the store, rotates it when due (or retires the key compromised at
// once, when not ""), and installs it.
func (r *ring) sync(ctx context.Context, compromised string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncLocked(ctx, compromised)
}

// syncLocked is sync; the caller holds r.mu.
func (r *ring) syncLocked(ctx context.Context, compromised string) error {
	for range 5 {
		st, err := r.load(ctx)
		if err != nil {
			return err
		}
		old := r.view.Load()
		var base ringDoc
		var due time.Time
		switch {
		case st.Generation != 0:
			if err := json.Unmarshal(st.Document, &base); err != nil {
				return fmt.Errorf("jwtexp: key ring %q: unreadable document: %w", r.name, err)
			}
			due = st.Due
		case old != nil: // the store lost the ring: put this copy back
			base, due = old.doc, old.due
		}
		now := st.Now.UnixMilli()
		reason := ""
		switch {
		case compromised != "":
			reason = "emergency"
		case st.Generation == 0 && old == nil:
			reason = "created"
		case !st.Now.Before(due):
			reason = "scheduled"
		}
		if reason == "" && st.Generation != 0 {
			if old != nil && old.gen == st.Generation && bytes.Equal(old.raw, st.Document) {
				r.syncedAt.Store(r.m.cfg.now().UnixNano()) // unchanged
				return nil
			}
			return r.install(ctx, st, base)
		}
		next, err := r.advance(ctx, base, due, now, compromised, reason != "")
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(next.doc)
		proposal := KeyRingState{Generation: st.Generation + 1, Due: next.due, Document: raw}
		got, swapped, err := r.swap(ctx, proposal, reason == "emergency")
		if err != nil {
			return err
		}
		if !swapped {
			continue // another instance swapped first: read again
		}
		if err := r.install(ctx, got, next.doc); err != nil {
			return err
		}
		if reason != "" {
			e := Event{Kind: EventKeyRotated, Op: r.name, Reason: reason}
			if k := next.stopped; k != nil {
				e.KeyID, e.Duration = k.ID, time.Duration(k.Stopped-k.Signs)*time.Millisecond
			}
			r.m.emit(ctx, e)
		}
		return nil
	}
	return fmt.Errorf("jwtexp: key ring %q: %w", r.name, errors.New("the ring changed five times during one sync"))
}

type advanced struct {
	doc     ringDoc
	due     time.Time
	stopped *ringKey // the key that stopped signing, if any
}

// advance returns the ring after a rotation at now (store clock, Unix ms) when rotate, after
// retiring the key compromised, and after dropping retired keys; due is the base's next
// rotation, kept unless the ring rotates.
func (r *ring) advance(ctx context.Context, base ringDoc, due time.Time, now int64, compromised string, rotate bool) (advanced, error) {
	out := advanced{due: due}
	keys := make([]ringKey, 0, len(base.Keys)+1)
	for _, k := range base.Keys {
		if k.Retires != 0 && now >= k.Retires {
			continue // retired: out of the ring
		}
		keys = append(keys, k)
	}
	cur, next := -1, -1
	for i := range keys {
		switch keys[i].state(now) {
		case KeyCurrent:
			cur = i
		case KeyNext:
			next = i
		}
	}
	promote := rotate && (compromised == "" || (cur >= 0 && keys[cur].ID == compromised))
	if promote {
		out.due = time.UnixMilli(now).Add(r.period)
		if cur >= 0 {
			keys[cur].Stopped, keys[cur].Retires = now, now+r.retain.Milliseconds()
			out.stopped = &keys[cur]
		}
		if next >= 0 {
			keys[next].Signs = now
		} else {
			k, err := r.newKey(ctx, now)
			if err != nil {
				return out, err
			}
			k.Signs = now
			keys = append([]ringKey{k}, keys...)
		}
		k, err := r.newKey(ctx, now)
		if err != nil {
			return out, err
		}
		keys = append([]ringKey{k}, keys...)
		if out.stopped != nil { // the slice moved
			for i := range keys {
				if keys[i].ID == out.stopped.ID {
					out.stopped = &keys[i]
				}
			}
		}
	}
	for i := range keys {
		if keys[i].ID == compromised {
			keys[i].Compromised, keys[i].Retires = true, now
			if keys[i].Stopped == 0 {
				keys[i].Stopped = now
			}
		}
	}
	if len(keys) > maxRingKeys {
		return out, fmt.Errorf("jwtexp: key ring %q would hold %d keys, more than %d: lengthen the rotation period", r.name, len(keys), maxRingKeys)
	}
	out.doc.Keys = keys
	return out, nil
}

// newKey creates a key for the ring, published at now (store clock, Unix ms).
func (r *ring) newKey(ctx context.Context, now int64) (ringKey, error) {
	rc := &r.m.cfg.ring
	k := ringKey{ID: newID(), Alg: r.alg, Published: now}
	var secret []byte
	switch {
	case r.alg == "HS256":
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return k, err
		}
	case rc.kek == nil:
		s, err := rc.signers.NewSigner(ctx, k.ID, r.alg)
		if err != nil {
			return k, fmt.Errorf("jwtexp: key ring %q: new signer: %w", r.name, err)
		}
		if s == nil {
			return k, fmt.Errorf("jwtexp: key ring %q: new signer: KeySigners returned nil", r.name)
		}
		if k.Public, err = x509.MarshalPKIXPublicKey(s.Public()); err != nil {
			return k, fmt.Errorf("jwtexp: key ring %q: signer's public key: %w", r.name, err)
		}
		k.External = true
		return k, nil
	default:
		priv, err := generateKey(r.alg)
		if err != nil {
			return k, err
		}
		if secret, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			return k, err
		}
		if k.Public, err = x509.MarshalPKIXPublicKey(priv.Public()); err != nil {
			return k, err
		}
	}
	sealed, err := sealKey(rc.kek, rc.kekID, r.name, k.ID, secret)
	if err != nil {
		return k, err
	}
	k.Sealed, k.KEK = sealed, rc.kekID
	return k, nil
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256", "PS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("jwtexp: no key generation for %q", alg)
}

// install makes st (whose document is doc) the ring's view, reusing the material of known keys.
func (r *ring) install(ctx context.Context, st KeyRingState, doc ringDoc) error {
	old := r.view.Load()
	v := &ringView{gen: st.Generation, due: st.Due, doc: doc, raw: st.Document,
		byKID: make(map[string]*key, len(doc.Keys)), retires: map[string]time.Time{}}
	keys := make(map[string]*key, len(doc.Keys))
	purge := false
	now := st.Now.UnixMilli()
	for i := range doc.Keys {
		rk := &doc.Keys[i]
		current := rk.state(now) == KeyCurrent
		k, err := r.material(ctx, rk, current)
		if err != nil {
			return err
		}
		keys[rk.ID] = k
		v.byKID[rk.ID] = k
		if rk.Retires != 0 {
			v.retires[rk.ID] = time.UnixMilli(rk.Retires)
		}
		if current {
			v.current = k
		}
		if rk.Compromised && old != nil && old.retires[rk.ID] != time.UnixMilli(rk.Retires) {
			purge = true // tokens it signed may sit in the verified-token cache
		}
	}
	if v.current == nil {
		return fmt.Errorf("jwtexp: key ring %q has no current key", r.name)
	}
	if old != nil {
		v.retired = append(v.retired, old.retired...)
		for kid := range old.byKID {
			if _, ok := keys[kid]; !ok {
				v.retired = append(v.retired, kid)
			}
		}
		if n := len(v.retired) - 4*maxRingKeys; n > 0 {
			v.retired = v.retired[n:]
		}
	}
	r.keys = keys
	r.view.Store(v)
	r.syncedAt.Store(r.m.cfg.now().UnixNano())
	if purge && r.publish {
		r.m.cache.purge()
	}
	return nil
}

// material returns the key of rk: from the ring's keys when known (fetching the external signer
// when it becomes current), else opened with the KEK or from the public key.
func (r *ring) material(ctx context.Context, rk *ringKey, current bool) (*key, error) {
	if k := r.keys[rk.ID]; k != nil && (!current || k.signKey != nil) {
		return k, nil
	}
	rc := &r.m.cfg.ring
	var kk Key
	kk.ID, kk.Algorithm = rk.ID, rk.Alg
	var pub crypto.PublicKey
	if rk.Public != nil {
		p, err := x509.ParsePKIXPublicKey(rk.Public)
		if err != nil {
			return nil, fmt.Errorf("jwtexp: key ring %q: key %q: unreadable public key: %w", r.name, rk.ID, err)
		}
		pub = p
	}
	switch {
	case rk.External && current:
		if rc.signers == nil {
			return nil, configError("key ring %q: key %q lives outside the store: this instance needs WithKeySigners", r.name, rk.ID)
		}
		s, err := rc.signers.Signer(ctx, rk.ID)
		if err != nil {
			return nil, fmt.Errorf("jwtexp: key ring %q: signer %q: %w", r.name, rk.ID, err)
		}
		if s == nil || !samePublic(pub, s.Public()) {
			return nil, fmt.Errorf("jwtexp: key ring %q: signer %q does not hold the ring's public key", r.name, rk.ID)
		}
		kk.Private = s
	case rk.External:
		kk.Public = pub
	default:
		if rc.kek == nil || rk.KEK != rc.kekID {
			return nil, configError("key ring %q: key %q is sealed with the key-encryption key %q: give this instance that key (WithKeyEncryptionKey)", r.name, rk.ID, rk.KEK)
		}
		plain, err := openKey(rc.kek, rc.kekID, r.name, rk.ID, rk.Sealed)
		if err != nil {
			return nil, configError("key ring %q: key %q does not open with the key-encryption key %q: every instance needs the same key", r.name, rk.ID, rc.kekID)
		}
		if rk.Alg == "HS256" {
			kk.Secret = plain
			break
		}
		priv, err := x509.ParsePKCS8PrivateKey(plain)
		if err != nil {
			return nil, fmt.Errorf("jwtexp: key ring %q: key %q: unreadable private key: %w", r.name, rk.ID, err)
		}
		s, ok := priv.(crypto.Signer)
		if !ok || !samePublic(pub, s.Public()) {
			return nil, fmt.Errorf("jwtexp: key ring %q: key %q: private and public key differ", r.name, rk.ID)
		}
		kk.Private = s
	}
	k, err := newKey(kk, r.name)
	if err != nil {
		return nil, err
	}
	if rk.External && current {
		k.external = true
	}
	return k, nil
}

// load reads the ring through the store guard: the store-wide breaker (subject ""), since a ring
// belongs to no subject.
func (r *ring) load(ctx context.Context) (KeyRingState, error) {
	var st KeyRingState
	err := r.m.call(ctx, StoreOpLoadKeyRing, "load key ring", "", func(ctx context.Context) error {
		var err error
		st, err = r.m.store.(KeyRingStore).LoadKeyRing(ctx, r.name, r.m.cfg.now())
		return err
	})
	return st, err
}

// swap proposes next through the store guard.
func (r *ring) swap(ctx context.Context, next KeyRingState, force bool) (KeyRingState, bool, error) {
	var st KeyRingState
	var ok bool
	err := r.m.call(ctx, StoreOpSwapKeyRing, "swap key ring", "", func(ctx context.Context) error {
		var err error
		st, ok, err = r.m.store.(KeyRingStore).SwapKeyRing(ctx, r.name, next, force, r.m.cfg.now())
		return err
	})
	return st, ok, err
}

// ringJWKS returns the JWK Set of the ring's keys not retired by now, and its Cache-Control.
func (r *ring) jwks(now time.Time) []byte {
	v := r.view.Load()
	if d := v.jwks.Load(); d != nil && (d.until.IsZero() || now.Before(d.until)) {
		return d.body
	}
	ks := &keySet{byKID: map[string]*key{}}
	var until time.Time
	for _, rk := range v.doc.Keys {
		t, retiring := v.retires[rk.ID]
		if retiring && !now.Before(t) {
			continue
		}
		if retiring && (until.IsZero() || t.Before(until)) {
			until = t
		}
		k := v.byKID[rk.ID]
		if ks.active == nil {
			ks.active = k
		}
		ks.byKID[rk.ID] = k
	}
	d := &jwksDoc{body: buildJWKS(ks), until: until}
	v.jwks.Store(d)
	return d.body
}

// publishedJWKS returns the Manager's JWK Set and the Cache-Control it is served with.
func (m *Manager) publishedJWKS() ([]byte, string) {
	if m.access != nil && m.access.ring != nil {
		return m.access.ring.jwks(m.cfg.now()), fmt.Sprintf("public, max-age=%d", int64(m.cfg.ring.maxAge/time.Second))
	}
	return m.jwks, JWKSCacheControl
}

// JWKSMaxAge is the max-age of the Cache-Control the JWK Set is served with: 5 minutes, or the
// WithJWKSMaxAge of a key ring.
func (m *Manager) JWKSMaxAge() time.Duration {
	if m.access != nil && m.access.ring != nil {
		return m.cfg.ring.maxAge
	}
	return 300 * time.Second
}

// KeyRingSync is the sync interval of the key ring (WithKeyRingSync), the bound on how long a
// rotation takes to reach every instance; 0 without WithKeyRotation.
func (m *Manager) KeyRingSync() time.Duration {
	if m.access != nil && m.access.ring != nil {
		return m.cfg.ring.sync
	}
	return 0
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
