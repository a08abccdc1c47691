package core

import "time"

// KeyRetirable tells when an older key (access or refresh, named by its kid) may be removed from
// the configuration, given the time it stopped signing: the moment the last instance started
// signing with the new active key. It returns whether that is already the case on the Manager's
// clock, and the time from which it is:
//
//	drop after = stoppedSigning + longest lifetime of a token the key signed + leeway
//
// where the lifetime is the access TTL (or WithMaxTokenLifetime, if longer) for access keys and the
// refresh TTL for refresh keys. Every token the key signed has expired by then, even with the
// leeway (RFC 7519 §4.1.4), so removing the key refuses nothing that would still be accepted;
// before then, removing it would log users out early. After removal, a token naming the kid is
// refused with ErrSignature ("unknown key id"). The Manager does not decide this by itself because
// it cannot know when other instances stopped signing with the key.
//
// The active keys are never retirable (false, zero time); a kid this Manager does not know is
// (true, zero time): there is nothing to keep.
//
// A rotation of an access key that others verify through the JWKS (RFC 7517 §5) takes three
// configuration changes:
//
//  1. publish: add the new key as an older, verification-only key (Key.Public) so it is in the
//     JWKS; wait at least the JWKS cache lifetime (JWKSCacheControl, 5 minutes);
//  2. switch: make the new key active and keep the old one as an older key; note the time;
//  3. retire: once KeyRetirable(oldKID, switchTime) reports true, remove the old key.
func (m *Manager) KeyRetirable(kid string, stoppedSigning time.Time) (bool, time.Time) {
	var lifetime time.Duration
	switch {
	case m.isActive(m.access, kid) || m.isActive(m.refresh, kid):
		return false, time.Time{}
	case m.holds(m.access, kid):
		lifetime = max(m.cfg.accessTTL, m.maxLifetime)
	case m.holds(m.refresh, kid):
		lifetime = m.cfg.refreshTTL
	default:
		return true, time.Time{}
	}
	at := stoppedSigning.Add(lifetime + m.cfg.leeway)
	return !m.cfg.now().Before(at), at
}

func (m *Manager) isActive(ks *keySet, kid string) bool {
	return ks != nil && ks.active != nil && ks.active.kid == kid
}

func (m *Manager) holds(ks *keySet, kid string) bool {
	if ks == nil || ks.byKID == nil {
		return false
	}
	_, ok := ks.byKID[kid]
	return ok
}
