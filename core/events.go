package core

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names what happened.
type EventKind uint8

// Event kinds.
const (
	EventRejected          EventKind = iota + 1 // a credential was refused; Err and Reason say why
	EventIssued                                 // a login issued a new session (token pair)
	EventRefreshed                              // a refresh token was rotated (or, without rotation, used)
	EventRefreshGrace                           // the previous refresh token was replayed inside the grace window
	EventReuseDetected                          // a retired refresh token was presented; its session was revoked
	EventRevoked                                // a token, session or subject was revoked (logout)
	EventStoreFailure                           // the store failed; the request was refused (fail closed)
	EventRevocationSkipped                      // the store failed and WithFailOpenRevocation accepted a token unchecked
)

// String returns the kind's name as used in logs: "rejected", "issued", ...
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
	case EventRevocationSkipped:
		return "revocation_skipped"
	}
	return "unknown"
}

// Event is what the hook of WithEventHook receives. It never contains a token or a secret.
type Event struct {
	Kind      EventKind
	Time      time.Time // from the Manager's clock
	Subject   string    // when known
	SessionID string    // when known
	TokenID   string    // when known
	Reason    string    // short reason, as in error_description (rejections, failures)
	Err       error     // the error, for rejections and failures
}

func (k EventKind) level() slog.Level {
	switch k {
	case EventRejected:
		return slog.LevelDebug
	case EventReuseDetected:
		return slog.LevelWarn
	case EventStoreFailure:
		return slog.LevelError
	case EventRevocationSkipped:
		return slog.LevelWarn
	}
	return slog.LevelInfo
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
	if m.logger != nil && m.logger.Enabled(ctx, e.Kind.level()) {
		attrs := []slog.Attr{slog.String("event", e.Kind.String())}
		if e.Subject != "" {
			attrs = append(attrs, slog.String("sub", e.Subject))
		}
		if e.SessionID != "" {
			attrs = append(attrs, slog.String("sid", e.SessionID))
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

func (m *Manager) storeFailed(ctx context.Context, err error) {
	m.emit(ctx, Event{Kind: EventStoreFailure, Reason: Reason(err), Err: err})
}
