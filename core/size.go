package core

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"time"
)

// A token the Manager would refuse on every request (over WithMaxTokenSize) is never issued: the
// user would log in and then find that nothing works.

// checkTokenSize refuses a token of size bytes over the configured maximum.
func (m *Manager) checkTokenSize(size int) error {
	if size <= m.cfg.maxTokenSize {
		return nil
	}
	return fmt.Errorf("%w: %d bytes, the limit is %d: carry fewer custom claims or raise WithMaxTokenSize",
		ErrTokenTooLarge, size, m.cfg.maxTokenSize)
}

// signatureLen is the length of the base64url signature segment k produces (RFC 7518 §3).
func (k *key) signatureLen() int {
	n := k.macSize
	switch pub := k.verifyKey.(type) {
	case *rsa.PublicKey:
		n = pub.Size()
	case *ecdsa.PublicKey:
		n = 2 * ((pub.Curve.Params().BitSize + 7) / 8)
	case ed25519.PublicKey:
		n = ed25519.SignatureSize
	}
	return base64.RawURLEncoding.EncodedLen(n)
}

// checkPairSize reports, without signing anything, whether the access and refresh tokens of a
// refresh of c with the custom members custom would fit the maximum token size. Refresh calls it
// before rotating when a hook may have grown the claims, so a pair that cannot be minted never
// retires the presented refresh token.
func (m *Manager) checkPairSize(c *Claims, now time.Time, custom []byte) error {
	const id = "0123456789012345678901" // every jti is 22 characters (newID)
	b := m.claimsJSON(c.Subject, c.SessionID, id, now, now.Add(m.cfg.refreshTTL), c.AuthTime, custom)
	enc := base64.RawURLEncoding
	for _, k := range [2]struct {
		key *key
		hdr string
	}{{m.access.active, m.access.active.header}, {m.refresh.active, m.refresh.active.refresh}} {
		if err := m.checkTokenSize(len(k.hdr) + 1 + enc.EncodedLen(len(b)) + 1 + k.key.signatureLen()); err != nil {
			return err
		}
	}
	return nil
}
