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
	"time"
)

// The key ring's synchronisation with the store (keyring.go has its types and API): read the
// ring, rotate it when due by the store's clock or retire a compromised key, propose the result
// with a compare-and-swap on the generation, and install what the store holds as this instance's
// view, opening the sealed keys once each.

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
			e := Event{Kind: EventKeyRotated, Op: r.name, Reason: reason, KeyID: compromised}
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
