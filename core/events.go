package core

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names what happened.
type EventKind uint8

// Event kinds. New kinds are added at the end; a hook should ignore kinds it does not know.
const (
	EventRejected            EventKind = iota + 1 // a credential was refused; Err and Reason say why
	EventIssued                                   // a login issued a new session (token pair)
	EventRefreshed                                // a refresh token was rotated (or, without rotation, used)
	EventRefreshGrace                             // the previous refresh token was replayed inside the grace window
	EventReuseDetected                            // a retired refresh token was presented; its session was revoked
	EventRevoked                                  // a token, session or subject was revoked (logout)
	EventStoreFailure                             // the store failed; the request was refused (fail closed). Op names the call
	EventAuthenticated                            // an access token was accepted (Verify, Authenticate)
	EventStoreCall                                // the Manager called its store; Op, Duration, and Err when it failed
	EventReplicaSync                              // a local revocation replica reports its state (InSync); see core/redisstore
	EventKeysFetched                              // a remote key set was fetched; Err is nil on success; see core/jwks
	EventConfigWarning                            // New accepted a configuration that weakens a safeguard; Reason says which
	EventRevocationSkipped                        // the store failed and WithFailOpenRevocation accepted a token unchecked
	EventStoreDataLoss                            // the store found it lost records (restart without data, eviction); older tokens are refused
	EventKeyRotated                               // a key ring rotated (WithKeyRotation): Op the ring, KeyID the key that stopped signing ("" when created), Duration how long it signed, Reason "created", "scheduled" or "emergency"
	EventKeyRetiredPresented                      // a token named a retired key of a key ring: Op the ring, KeyID the key; the token was refused
	EventConnectionEnded                          // a bound connection (Manager.Bind) ended; Err is its cause (ReasonCode: "expired", "revoked", ...), nil when the application or the client closed it
)

// String returns the kind's name as used in logs and metric labels: "rejected", "issued", ...
func (k EventKind) String() string {
	switch k {
	case EventRejected:
		return "rejected"
	case EventIssued:
		return "issued"
	case EventRefreshed:
		return "refreshed"
	case EventRefreshGrace:
		return "refresh_grace"
	case EventReuseDetected:
		return "reuse_detected"
	case EventRevoked:
		return "revoked"
	case EventStoreFailure:
		return "store_failure"
	case EventAuthenticated:
		return "authenticated"
	case EventStoreCall:
		return "store_call"
	case EventReplicaSync:
		return "replica_sync"
	case EventKeysFetched:
		return "keys_fetched"
	case EventConfigWarning:
		return "config_warning"
	case EventRevocationSkipped:
		return "revocation_skipped"
	case EventStoreDataLoss:
		return "store_data_loss"
	case EventKeyRotated:
		return "key_rotated"
	case EventKeyRetiredPresented:
		return "key_retired_presented"
	case EventConnectionEnded:
		return "connection_ended"
	}
	return "unknown"
}

// Store operations, the values of Event.Op for EventStoreCall and EventStoreFailure: the name of
// the Store method called, or StoreOpRefreshHook for a failure of the application's own store
// reported by its refresh hook (WithRefreshHook).
const (
	StoreOpCreateFamily = "create_family"
	StoreOpRotate       = "rotate"
	StoreOpRevokeFamily = "revoke_family"
	StoreOpDenyToken    = "deny_token"
	StoreOpCutOff       = "cut_off"
	StoreOpRevoked      = "revoked"
	StoreOpSessions     = "sessions"
	StoreOpEndSessions  = "end_sessions"
	StoreOpRefreshHook  = "refresh_hook"
	StoreOpLoadKeyRing  = "load_key_ring" // KeyRingStore.LoadKeyRing
	StoreOpSwapKeyRing  = "swap_key_ring" // KeyRingStore.SwapKeyRing
	StoreOpDPoPProof    = "dpop_proof"    // DPoPReplayStore.MarkDPoPProof
)

// StoreOps lists every StoreOp constant, so that metrics can be created up front and an Op
// outside the list (an application's own event) can be told apart.
func StoreOps() []string {
	return []string{StoreOpCreateFamily, StoreOpRotate, StoreOpRevokeFamily, StoreOpDenyToken,
		StoreOpCutOff, StoreOpRevoked, StoreOpSessions, StoreOpEndSessions, StoreOpRefreshHook,
		StoreOpLoadKeyRing, StoreOpSwapKeyRing, StoreOpDPoPProof}
}

// Event is what the hook of WithEventHook receives. It never contains a token or a secret. The
// Subject is the user id: a hook that exports events should drop it unless the application asked
// for it.
type Event struct {
	Kind      EventKind
	Time      time.Time     // from the Manager's clock (from the wall clock for events of a store or key source)
	Subject   string        // when known
	SessionID string        // when known
	TokenID   string        // when known
	Reason    string        // short reason, as in error_description (rejections, failures, warnings)
	Err       error         // the error, for rejections and failures
	Op        string        // EventStoreCall, EventStoreFailure: the store call, one of the StoreOp constants
	Duration  time.Duration // EventStoreCall: how long the call took, measured on the monotonic clock
	InSync    bool          // EventReplicaSync: the replica answers without a network call
	KeyID     string        // EventKeyRotated, EventKeyRetiredPresented: the kid of the key
}

// Hook is the type of an event hook (WithEventHook).
type Hook = func(context.Context, Event)

// CombineHooks returns one hook that calls each of hooks in order; nil hooks are skipped. Use it
// where a single hook is accepted (a store's or a key source's option) to feed several consumers,
// for example a metrics module and an audit log.
func CombineHooks(hooks ...Hook) Hook {
	hs := make([]Hook, 0, len(hooks))
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	switch len(hs) {
	case 0:
		return func(context.Context, Event) {}
	case 1:
		return hs[0]
	}
	return func(ctx context.Context, e Event) {
		for _, h := range hs {
			h(ctx, e)
		}
	}
}

// level is the log level of an event kind. Security-relevant events are Warn; routine ones Debug,
// so that a default logger (Info) writes nothing for a login, a refresh or an expired token.
func (k EventKind) level() slog.Level {
	switch k {
	case EventReuseDetected, EventStoreFailure, EventConfigWarning, EventRevocationSkipped, EventStoreDataLoss:
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// emit hands e to the hook and the logger. The logger is asked first whether the level is on, so
// a flood of rejected tokens costs nothing when Debug logging is off.
func (m *Manager) emit(ctx context.Context, e Event) {
	if m.cfg.hook == nil && (m.logger == nil || !m.logger.Enabled(ctx, e.Kind.level())) {
		return
	}
	e.Time = m.cfg.now()
	if m.cfg.hook != nil {
		m.cfg.hook(ctx, e)
	}
	if e.Kind == EventStoreCall {
		return // one per store call: metrics material, not a log line
	}
	if m.logger != nil && m.logger.Enabled(ctx, e.Kind.level()) {
		attrs := make([]slog.Attr, 0, 5)
		attrs = append(attrs, slog.String("event", e.Kind.String()))
		if e.Subject != "" && m.cfg.logSubject {
			attrs = append(attrs, slog.String("sub", e.Subject))
		}
		if e.SessionID != "" {
			attrs = append(attrs, slog.String("sid", e.SessionID))
		}
		if e.Op != "" {
			attrs = append(attrs, slog.String("op", e.Op))
		}
		if e.KeyID != "" {
			attrs = append(attrs, slog.String("kid", e.KeyID))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.Err != nil && e.Kind == EventStoreFailure {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		m.logger.LogAttrs(ctx, e.Kind.level(), "jwtexp "+e.Kind.String(), attrs...)
	}
}

func (m *Manager) rejected(ctx context.Context, err error) {
	if m.cfg.hook == nil && (m.logger == nil || !m.logger.Enabled(ctx, slog.LevelDebug)) {
		return
	}
	m.emit(ctx, Event{Kind: EventRejected, Reason: Reason(err), Err: err})
}

// accepted reports an accepted access token. Only the hook and a Debug logger see it.
func (m *Manager) accepted(ctx context.Context, c *Claims) {
	if m.cfg.hook == nil && (m.logger == nil || !m.logger.Enabled(ctx, slog.LevelDebug)) {
		return
	}
	m.emit(ctx, Event{Kind: EventAuthenticated, Subject: c.Subject, SessionID: c.SessionID, TokenID: c.TokenID})
}

func (m *Manager) storeFailed(ctx context.Context, op string, err error) {
	m.emit(ctx, Event{Kind: EventStoreFailure, Op: op, Reason: Reason(err), Err: err})
}

// storeStart returns the start of a store call to time, or the zero time when no hook listens:
// reading the clock is then not worth it.
func (m *Manager) storeStart() time.Time {
	if m.cfg.hook == nil {
		return time.Time{}
	}
	return time.Now()
}

// storeDone reports a store call that started at start (storeStart) to the hook.
func (m *Manager) storeDone(ctx context.Context, op string, start time.Time, err error) {
	if m.cfg.hook == nil || start.IsZero() {
		return
	}
	m.emit(ctx, Event{Kind: EventStoreCall, Op: op, Duration: time.Since(start), Err: err})
}

// configWarnings reports, once from New, settings that weaken a safeguard on purpose.
func (m *Manager) configWarnings() {
	ctx := context.Background()
	if m.cfg.leeway > MaxLeeway {
		m.emit(ctx, Event{Kind: EventConfigWarning, Reason: "leeway over " + MaxLeeway.String() + " (WithUnsafeLeeway)"})
	}
	if !m.cfg.cookie.secure {
		m.emit(ctx, Event{Kind: EventConfigWarning, Reason: "refresh cookie without Secure (WithInsecureCookie)"})
	}
}
