package redisstore

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
)

// The keyspace: every name Redis sees - keys, hash tags, channels, slots - is built here and
// nowhere else in Go, so this file is the store's lowest layer. (The Lua scripts, scripts.go,
// build the names of the families and sid marks they end from the session index's own name,
// "<tag>:fam:<sid>" and "<tag>:rsid:<sid>", the layout below.) The layout, for a prefix P and a
// subject encoded as E (base64url; "=" for the empty subject):
//
//	P{E}:fam:<sid>    hash: a session (token family)
//	P{E}:sess         sorted set: the subject's session index
//	P{E}:deny:<jti>   a denied access token
//	P{E}:rsid:<sid>   a revoked session id
//	P{E}:cut          the subject's cut-off
//	P{E}:ended        how many sid marks the subject's window holds (core.SessionLimit.MaxEnded)
//	P{!<n>}:live      a loss marker (one per Cluster slot, "{!}" elsewhere)
//	P{~keyring}:k:<name>  hash: a signing-key ring (core.KeyRingStore): gen, due, doc
//	Pdpop:<id>        a DPoP proof seen (core.DPoPReplayStore); no hash tag: any slot
//	Prevocations      the Pub/Sub channel of revocations ("{!<n>}Prevocations", a shard
//	                  channel per slot, on Cluster)
//
// Every key of a subject shares the hash tag {E}, so one script may touch them all on Cluster.

// DefaultPrefix is the prefix of every key the store writes unless WithPrefix sets another.
const DefaultPrefix = "jwtexp:"

// channelSuffix is appended to the key prefix to name the Pub/Sub channel revocations are
// announced on.
const channelSuffix = "revocations"

// markerSuffix ends every marker key. It starts with 'l', so the replica's SCAN pattern (kinds
// starting with c, d or r) never matches a marker.
const markerSuffix = ":live"

// tag returns "<prefix>{<encoded subject>}", the part every key of subject starts with.
func (s *Store) tag(subject string) string {
	return s.prefix + "{" + encodeSubject(subject) + "}"
}

func (s *Store) familyKey(subject, sid string) string  { return s.tag(subject) + ":fam:" + sid }
func (s *Store) denyKey(subject, jti string) string    { return denyKeyOf(s.tag(subject), jti) }
func (s *Store) revokedKey(subject, sid string) string { return revokedKeyOf(s.tag(subject), sid) }
func (s *Store) cutKey(subject string) string          { return cutKeyOf(s.tag(subject)) }
func (s *Store) indexKey(subject string) string        { return s.tag(subject) + ":sess" }

// The revocation keys of a subject's tag, for callers that build several of them.
func denyKeyOf(tag, jti string) string    { return tag + ":deny:" + jti }
func revokedKeyOf(tag, sid string) string { return tag + ":rsid:" + sid }
func cutKeyOf(tag string) string          { return tag + ":cut" }

// channelName is the store's Pub/Sub channel of revocations (on Cluster see channelFor).
func channelName(prefix string) string { return prefix + channelSuffix }

// channelFor returns the channel the scripts announce subject's records on: the store's channel,
// or on Redis Cluster the shard channel of the subject's slot, "{<slot tag>}<prefix>revocations"
// (SPUBLISH reaches only the subscribers of the slot's own master, with no detour through the
// cluster bus).
func (s *Store) channelFor(subject string) string {
	if !s.guard.cluster {
		return s.channel
	}
	return shardChannel(s.prefix, keySlot(encodeSubject(subject)))
}

// shardChannel is the shard channel of one slot.
func shardChannel(prefix string, slot int) string {
	return "{" + slotTag(slot) + "}" + prefix + channelSuffix
}

// keyRingKey is the hash of the key ring called name. "~" is outside the alphabet of encoded
// subjects, and ":k:" matches neither the replica's scan pattern nor parseKey.
func (s *Store) keyRingKey(name string) string { return s.prefix + "{~keyring}:k:" + name }

// dpopKey is the replay record of a DPoP proof id (22 base64url characters from core). It has
// no braces, so neither the replica's scan pattern nor parseKey match it.
func (s *Store) dpopKey(id string) string { return s.prefix + "dpop:" + id }

// markerKey returns the loss marker of subject's slot.
func (s *Store) markerKey(subject string) string {
	if !s.guard.cluster {
		return s.prefix + "{!}" + markerSuffix
	}
	return s.prefix + "{" + slotTag(keySlot(encodeSubject(subject))) + "}" + markerSuffix
}

// markerKeys returns every marker key of the store.
func (s *Store) markerKeys() []string {
	if !s.guard.cluster {
		return []string{s.prefix + "{!}" + markerSuffix}
	}
	keys := make([]string, slotCount)
	for i := range keys {
		keys[i] = s.prefix + "{" + slotTag(i) + "}" + markerSuffix
	}
	return keys
}

// Redis Cluster hash slots (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model):
// CRC16 (XMODEM) of the key's hash tag, modulo 16384.
const slotCount = 16384

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// keySlot returns the slot of a hash tag's content (the part between the braces).
func keySlot(tag string) int {
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^tag[i]]
	}
	return int(crc) & (slotCount - 1)
}

var (
	slotTagsOnce sync.Once
	slotTags     []string
)

// slotTag returns a short hash tag content in slot: "!" followed by a base-36 number. "!" is
// outside the alphabet of encoded subjects, so no subject's keys share a marker's name.
func slotTag(slot int) string {
	slotTagsOnce.Do(func() {
		slotTags = make([]string, slotCount)
		left := slotCount
		for n := int64(0); left > 0; n++ {
			tag := "!" + strconv.FormatInt(n, 36)
			if sl := keySlot(tag); slotTags[sl] == "" {
				slotTags[sl] = tag
				left--
			}
		}
	})
	return slotTags[slot]
}

func encodeSubject(subject string) string {
	if subject == "" {
		return "=" // not in the base64url alphabet, and never the whole of an encoding
	}
	return base64.RawURLEncoding.EncodeToString([]byte(subject))
}

func decodeSubject(enc string) (string, error) {
	if enc == "=" {
		return "", nil
	}
	if enc == "" {
		return "", errors.New("empty subject encoding")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	return string(b), err
}

// messageTail returns "<encoded subject>:<id>", the part of a message the scripts are given.
func messageTail(subject, id string) string {
	return encodeSubject(subject) + ":" + id
}

// parseKey recognises a revocation key of this prefix: "<prefix>{<subject>}:deny:<jti>",
// ":rsid:<sid>" or ":cut". ok is false for families and anything else.
func (r *replica) parseKey(key string) (kind byte, subject, id string, ok bool) {
	rest, found := strings.CutPrefix(key, r.prefix+"{")
	if !found {
		return 0, "", "", false
	}
	enc, rest, found := strings.Cut(rest, "}") // the encoded subject holds no '}'
	if !found {
		return 0, "", "", false
	}
	subject, err := decodeSubject(enc)
	if err != nil {
		return 0, "", "", false
	}
	switch {
	case rest == ":cut":
		return kindCutOff, subject, "", true
	case strings.HasPrefix(rest, ":deny:") && len(rest) > len(":deny:"):
		return kindDenied, subject, rest[len(":deny:"):], true
	case strings.HasPrefix(rest, ":rsid:") && len(rest) > len(":rsid:"):
		return kindRevoked, subject, rest[len(":rsid:"):], true
	}
	return 0, "", "", false
}

// scanPattern is the SCAN MATCH pattern of the revocation keys: the prefix (glob characters
// escaped), a hash tag, and a kind starting with 'c' (cut), 'd' (deny) or 'r' (rsid). Families
// ("fam:") do not match; parseKey checks every key matched anyway.
func (r *replica) scanPattern() string {
	var b strings.Builder
	for _, c := range []byte(r.prefix) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteString("{*}:[cdr]*")
	return b.String()
}
