package core

import (
	"context"
	"time"
)

// Store keeps the server-side state that expiry alone cannot express: refresh-token families (for
// rotation and reuse detection) and revocation records. Every method takes a context, every record
// carries an absolute expiry derived from token lifetimes (so a store never grows without bound), and
// every change that must be atomic is one call. "Not found" is a result, never an error: an error
// always means the store itself failed, and the Manager then fails closed with ErrStoreUnavailable.
//
// Every record of one subject is addressed with that subject, so a store may keep all of them
// together (the Redis store puts them in one Cluster hash slot and answers Revoked and Rotate in one
// round trip).
//
// Sessions. A store keeps a per-subject index of the subject's live families, so that Sessions
// lists them, EndSessions ends them and CreateFamily bounds their number without scanning other
// subjects. The index holds session ids only and expires with the last family it names: like
// every other record, it is bounded by the session lifetimes. Rotate and RevokeFamily keep it
// current in the same atomic step as the family itself, so an "end this session" racing a
// refresh either ends the rotated family or finds it gone; never a lost update.
//
// Implementations in this module: MemoryStore (the default) and redisstore.Store. Both pass the
// conformance suite in internal/testutil.
type Store interface {
	// CreateFamily records a new session (token family) at login. The record expires at
	// f.CurrentExpires, which never lies after f.Expires (the absolute session end; a store caps
	// it there). A family that would already be expired is not written. When f.LoginKey is not
	// empty and the subject holds a live family created from the same LoginKey less than
	// limit.LoginRetryWindow ago, nothing is written and a *LoginRepeatedError naming that family
	// is returned: a client that retries a login whose answer it never got (a 503 after the store
	// had written, a dropped connection) gets the session its first attempt created, not a second
	// one. A store that keeps no login keys may ignore LoginKey. A family without a
	// SessionID is a caller bug and is refused with an error. A store that keeps a cut-off
	// covering f.CurrentIssuedAt's second - the subject's (CutOff: a "log out everywhere" that
	// came between the minting of the tokens and this call) or a data loss it found in that
	// second - writes nothing and returns an error matching ErrIssuedUnderCutOff, so no session
	// whose tokens are already refused is started; the Manager answers 503 and the client
	// retries (a second later, its new tokens are issued after the cut-off).
	//
	// In the same atomic step it bounds the subject's live sessions: when, with f, the subject
	// would hold more than limit.Max live families, the least recently used ones (smallest
	// LastUsed) are deleted and their sids marked revoked until limit.RevokeUntil, exactly as
	// RevokeFamily does, until f fits; their sids are returned. limit.Max <= 0: no bound.
	//
	// It also bounds the revocation marks of the subject. Every sid mark the store writes for a
	// subject - here, in Rotate (reuse), RevokeFamily and EndSessions - counts towards the
	// subject's ended sessions; the count lives from its first mark until that mark's expiry
	// (one window). When limit.MaxEnded > 0 and the count has reached it, CreateFamily writes
	// nothing and returns a *SessionChurnError whose RetryAt is the count's expiry (a repeated
	// login, above, is still answered). limit.MaxEnded <= 0: no bound. A store that keeps no
	// count may ignore MaxEnded; its marks then grow with the subject's login rate.
	CreateFamily(ctx context.Context, f Family, limit SessionLimit) (ended []string, err error)

	// Rotate atomically moves the family req.SessionID forward, as described on RotateRequest and
	// RotateResult. Exactly one of many concurrent callers presenting the current jti gets RotateOK;
	// inside the grace window that rotation opens, no caller rotates the family again.
	// Rotate is idempotent: the same request arriving twice (a client library re-sending it after
	// a lost reply: same Presented and Next) gets RotateOK and the unchanged family again, never a
	// reuse verdict. Every decision (expiry, cut-off, grace) uses one clock for all instances
	// sharing the store: the store's own (the Redis store reads the server's TIME; the memory
	// store, which serves one instance, its clock), so instances whose clocks drift apart still
	// decide alike. The Family returned is the zero value for RotateUnknown, the family as deleted
	// for RotateReused, and the family as stored after the call otherwise.
	Rotate(ctx context.Context, req RotateRequest) (Family, RotateResult, error)

	// RevokeFamily deletes the family sid of subject (and its entry in the subject's session
	// index) and marks sid revoked until `until` (the
	// latest expiry of any token carrying that sid, plus leeway). Revoking an unknown sid still
	// writes the mark; an `until` in the past writes no mark (the family is deleted all the same:
	// a logout always ends the session). An existing mark is never shortened. An empty sid does
	// nothing.
	RevokeFamily(ctx context.Context, subject, sid string, until time.Time) error

	// DenyToken puts the token id jti of subject on the denylist until `until`; an `until` in the
	// past writes nothing, an existing entry is never shortened, and an empty jti does nothing.
	DenyToken(ctx context.Context, subject, jti string, until time.Time) error

	// CutOff rejects every token of subject issued at or before `at` (compared in whole seconds,
	// as iat is). The record lives until `until`; a later cut-off replaces an earlier one (and the
	// record then lives until the later of the two expiries, so nothing the earlier one revoked
	// becomes valid again), an earlier one never replaces a later one. An `until` in the past
	// writes nothing.
	//
	// Because iat has whole seconds, a cut-off "now" would also refuse tokens issued later within
	// the same second, such as those of a login right after "log out everywhere". The Manager
	// therefore ends the subject's live sessions by id first (EndSessions) and cuts off only
	// tokens issued before the current second; see Manager.RevokeSubject.
	CutOff(ctx context.Context, subject string, at, until time.Time) error

	// Sessions returns the subject's live families (not expired, not deleted), in no particular
	// order, from the per-subject session index; a subject without any gets none and no error.
	// It is one round trip.
	Sessions(ctx context.Context, subject string) ([]Family, error)

	// EndSessions deletes every live family of subject except the one with sid keep (keep ""
	// ends them all) and marks each sid revoked until `until`, as RevokeFamily does, in one
	// atomic step; it returns the sids it ended.
	EndSessions(ctx context.Context, subject, keep string, until time.Time) (ended []string, err error)

	// Revoked reports, in one round trip, whether jti is denied, whether sid is revoked, and the
	// subject's cut-off (zero when none). Empty jti or sid are reported as not revoked.
	Revoked(ctx context.Context, subject, jti, sid string) (Revocation, error)

	// Close stops background work and releases what the store owns (never a client it was
	// given). It is safe to call more than once.
	Close() error
}

// ShardedStore is a Store whose subjects' records live on separate servers (the masters of a
// Redis Cluster). The Manager then keeps one circuit breaker per shard instead of one for the
// whole store, so that a failing shard refuses its own subjects only: the others are served
// throughout. redisstore.Store implements it on a Cluster.
type ShardedStore interface {
	Store
	// Shard names the server that holds subject's records now, or "" when the store cannot tell
	// (the store-wide breaker then applies). Names are few - one per server - and come from the
	// store's topology, never from the subject itself. It must be cheap: it runs before every
	// store call.
	Shard(subject string) string
}

// Family is one login session: the chain of refresh tokens that rotation produces from it.
// Stores keep token ids (jti), never tokens.
type Family struct {
	SessionID string // sid: random, 128 bits
	Subject   string // sub of every token in the family

	Current         string    // jti of the only refresh token that may be rotated now
	CurrentIssuedAt time.Time // iat of the current refresh token (whole seconds)
	CurrentExpires  time.Time // exp of the current refresh token (whole seconds); the record's expiry
	Previous        string    // jti of the refresh token Current replaced; empty after login
	PreviousUntil   time.Time // end of the grace window the last rotation opened (Previous and Current then get RotateGrace); zero: none
	RetryKey        string    // RotateRequest.RetryKey of the rotation that retired Previous; "" if none
	Expires         time.Time // absolute end of the session (MaxSessionAge after login)

	CreatedAt time.Time // login time
	LastUsed  time.Time // login time, then the time of the last rotation (RotateOK sets it to Now)
	// Client is the short description of the client the application gave at login (see
	// WithClientDescription), empty when none was given. It is personal data (a device, a coarse
	// address): stores keep it only as long as the family and never log it.
	Client string
	// LoginKey is the Idempotency-Key of the login that created the family ("" if the client
	// sent none), kept with the family so that a retry of that login finds it.
	LoginKey string
	// DPoPThumbprint is the JWK SHA-256 thumbprint (RFC 7638) of the DPoP key the session is
	// bound to (RFC 9449 §5): every refresh must prove possession of that key. Empty: a Bearer
	// session. Set at login, never changed.
	DPoPThumbprint string
}

// SessionLimit bounds a subject's live sessions in CreateFamily.
type SessionLimit struct {
	// Max is the most live families a subject may hold; <= 0: no bound.
	Max int
	// RevokeUntil is how long the sid of a family ended to make room stays revoked (the latest
	// expiry of its access tokens, plus leeway).
	RevokeUntil time.Time
	// MaxEnded is how many of the subject's sessions may have ended within the current
	// window before CreateFamily refuses new ones (see Store.CreateFamily); <= 0: no bound.
	MaxEnded int
	// LoginRetryWindow is how long after a login (the family's CreatedAt) a repeat of it - the
	// same subject and Family.LoginKey - gets the session that login created instead of a new
	// one (see Store.CreateFamily); 0: never.
	LoginRetryWindow time.Duration
}

// RotateRequest asks a Store to rotate one family. All times are computed by the Manager from its
// clock, so every store agrees with the injectable clock.
type RotateRequest struct {
	Subject   string
	SessionID string
	// Presented is the jti of the refresh token the client sent; PresentedIssuedAt its iat.
	Presented         string
	PresentedIssuedAt time.Time
	// Next is the jti of the refresh token to install; NextIssuedAt its iat. Its exp is
	// NextExpires capped at the family's Expires; the store reports the capped value as
	// Family.CurrentExpires.
	Next         string
	NextIssuedAt time.Time
	NextExpires  time.Time
	// Now is the Manager's current time. A store shared by several instances decides by its own
	// clock instead (see Store.Rotate); Now is what a store without a clock of its own uses.
	Now time.Time
	// Grace is the grace window this rotation opens, from the store's now: until it ends, the
	// family rotates no more, and presenting either the token being replaced or the one
	// installed gets RotateGrace and the family as it is. Zero means no window at all: any later
	// presentation of the replaced token is reuse.
	Grace time.Duration
	// RetryKey identifies the client's request (the Idempotency-Key header of a refresh; empty
	// when the client sent none). A later request presenting the token this rotation retires,
	// with the same non-empty RetryKey, is the same client retrying after it lost the answer:
	// RotateRetry, not reuse - while it comes within RetryWindow.
	RetryKey string
	// RetryWindow is how long after the rotation that retired the presented token (the
	// Family's LastUsed, which that rotation set) a retry with its RetryKey is honored, by the
	// store's now; a later one is reuse, so that a token and key that leak together do not
	// keep yielding the session's current token. Zero: retries are never honored.
	RetryWindow time.Duration
	// RevokeUntil is how long the sid stays revoked when reuse is detected (the latest access
	// token expiry of the family, plus leeway).
	RevokeUntil time.Time
}

// RotateResult says what Rotate did.
type RotateResult int

const (
	// RotateOK: Presented was the current jti; Next is now current, Presented is the previous one,
	// and LastUsed is Now.
	RotateOK RotateResult = iota + 1
	// RotateGrace: the family rotated less than the grace window ago (now is before
	// PreviousUntil) and Presented is its previous or its current jti. Nothing changed: a family
	// rotates at most once per window, so a burst of refreshes all end with the same token. The
	// returned Family names the current token so the caller can hand it out again.
	RotateGrace
	// RotateReused: Presented belongs to the family but is neither current nor replayable. The
	// family was deleted and its sid marked revoked until RevokeUntil (RFC 9700 §4.14.2).
	RotateReused
	// RotateUnknown: no live family with that sid for that subject (logged out, expired, or never
	// existed), or the family is past its absolute expiry.
	RotateUnknown
	// RotateCutOff: the subject was cut off ("log out everywhere") at or after PresentedIssuedAt.
	// Nothing changed.
	RotateCutOff
	// RotateRetry: Presented was the previous jti, RetryKey matched the Family's, and the
	// rotation that retired Presented is less than RetryWindow old: the client that rotated it
	// retries a request whose answer it never got. Nothing changed; the returned
	// Family names the current token so the caller can hand it out again.
	RotateRetry
)

// String returns the result's name, for logs and test messages.
func (r RotateResult) String() string {
	switch r {
	case RotateOK:
		return "ok"
	case RotateGrace:
		return "grace"
	case RotateReused:
		return "reused"
	case RotateUnknown:
		return "unknown"
	case RotateCutOff:
		return "cut-off"
	case RotateRetry:
		return "retry"
	}
	return "invalid"
}

// Revocation is the answer of Store.Revoked.
type Revocation struct {
	TokenDenied    bool      // the jti is on the denylist
	SessionRevoked bool      // the sid was logged out or its family revoked after reuse
	CutOff         time.Time // tokens of the subject with iat at or before this are revoked; zero: none
}

// RevokesIssuedAt reports whether a token with the given iat (whole seconds) falls under the cut-off.
func (r Revocation) RevokesIssuedAt(iat time.Time) bool {
	return !r.CutOff.IsZero() && iat.Unix() <= r.CutOff.Unix()
}

// KeyRingStore is implemented by stores that keep the signing-key rings of WithKeyRotation, so
// that every instance sharing the store signs with the same key and publishes the same JWK Set.
// It is optional: New refuses WithKeyRotation with a store that does not implement it. MemoryStore
// and redisstore.Store do.
//
// A ring is a document the store keeps whole and never reads (public keys, sealed private keys,
// the schedule), a generation that counts its changes, and the time its next rotation is due.
// The store decides each rotation by its own clock, the same for every instance (the Redis store
// reads the server's TIME; the memory store, which serves one process, its clock): of many
// instances proposing the next ring for one generation, exactly one succeeds.
type KeyRingStore interface {
	// LoadKeyRing returns the ring called name (Generation 0 and no Document when there is
	// none) and the store's clock (KeyRingState.Now). now is the Manager's clock, for a store
	// without a clock of its own.
	LoadKeyRing(ctx context.Context, name string, now time.Time) (KeyRingState, error)
	// SwapKeyRing replaces the ring called name by next, atomically, if the stored ring's
	// Generation is next.Generation-1 (a missing ring has Generation 0) and, unless force, the
	// store's clock has reached the stored ring's Due (a missing ring is always due). It
	// returns the ring as stored after the call, with the store's clock, and whether it
	// replaced it. The ring never expires: it is small (at most 16 keys) and its names are
	// fixed ("access", "refresh").
	SwapKeyRing(ctx context.Context, name string, next KeyRingState, force bool, now time.Time) (KeyRingState, bool, error)
}

// KeyRingState is a key ring as a KeyRingStore keeps it.
type KeyRingState struct {
	Generation int64     // 1 for a new ring, one more on each change; 0: no ring
	Due        time.Time // when the next rotation is due, by the store's clock (millisecond precision)
	Document   []byte    // the ring, opaque to the store; never a private key in the clear
	Now        time.Time // the store's clock when it answered (set by the store, ignored in a proposal)
}

// RevocationNotifier is an optional interface of a Store: a store that can tell, as it writes or
// learns of a revocation record, whose records changed. The Manager uses it to end the
// connections bound to revoked tokens (Manager.Bind) within moments of the revocation, instead
// of asking the store again every WithConnectionCheckInterval.
//
// MemoryStore implements it in process (every record it writes is announced once written);
// redisstore.Store implements it through its local replica, which hears every instance's
// revocations on a Redis Pub/Sub channel (without the replica it reports ok false, and the
// Manager polls).
type RevocationNotifier interface {
	// NotifyRevocations registers fn to be called after each revocation record the store
	// writes or learns of (a denied jti, a revoked sid, a cut-off, a session ended to make room
	// or for reuse), with the subject it concerns; or with All set when the records of any
	// subject may have changed at once (a resync, a data-loss cut-off). fn may be called from
	// any goroutine, possibly while the store holds a lock: it must return quickly and must not
	// call the store. A notice may be spurious (nothing the listener cares for changed) but is
	// never missing while ok holds: the listener reads the records again on each notice.
	//
	// stop unregisters fn; it is safe to call more than once. ok false means this store cannot
	// notify (fn is not registered, stop does nothing).
	NotifyRevocations(fn func(RevocationNotice)) (stop func(), ok bool)
}

// RevocationNotice is what a RevocationNotifier announces.
type RevocationNotice struct {
	Subject string // whose revocation records changed; meaningful unless All
	All     bool   // the records of every subject may have changed
}
