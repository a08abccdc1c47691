package core

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// refreshExpiry is the exp of a refresh token issued at iat, before the cap at the session's end.
func (m *Manager) refreshExpiry(iat time.Time) time.Time {
	if m.cfg.idleTimeout > 0 {
		return iat.Add(m.cfg.idleTimeout)
	}
	return iat.Add(m.cfg.refreshTTL)
}

// sessionRevokeUntil is how long the sid of a session ended at now stays revoked: until the last
// access token it may have has expired, plus leeway. (With rotation the deleted family already
// stops its refresh tokens.)
func (m *Manager) sessionRevokeUntil(now time.Time) time.Time {
	return now.Add(m.maxLifetime + m.cfg.leeway)
}

// cleanClient makes desc safe to store and display: valid UTF-8, no control characters, at most
// MaxSessionClientLen bytes, cut at a character boundary.
func cleanClient(desc string) string {
	desc = strings.ToValidUTF8(desc, "\uFFFD")
	desc = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, desc)
	desc = strings.TrimSpace(desc)
	if len(desc) > MaxSessionClientLen {
		cut := MaxSessionClientLen
		for cut > 0 && !utf8.RuneStart(desc[cut]) {
			cut--
		}
		desc = strings.TrimSpace(desc[:cut])
	}
	return desc
}

// DescribeClient summarises a client for WithClientDescription: the browser and operating system
// named by userAgent ("Firefox on Linux"), and the network of remoteAddr ("192.0.2.0/24" for
// IPv4, a /48 for IPv6; "host:port" or a bare address), never the full address. Either may be
// empty; what cannot be recognised is left out, and the result may be "".
func DescribeClient(userAgent, remoteAddr string) string {
	var parts []string
	if ua := describeUserAgent(userAgent); ua != "" {
		parts = append(parts, ua)
	}
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		remoteAddr = host
	}
	if ip, err := netip.ParseAddr(remoteAddr); err == nil {
		ip = ip.Unmap().WithZone("")
		bits := 24
		if ip.Is6() {
			bits = 48
		}
		if p, err := ip.Prefix(bits); err == nil {
			parts = append(parts, p.String())
		}
	}
	return strings.Join(parts, ", ")
}

// describeUserAgent names the browser and the operating system of a User-Agent header, from a
// short list of well-known tokens (order matters: Edge and Opera also say Chrome and Safari).
func describeUserAgent(ua string) string {
	browsers := []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"HeadlessChrome/", "Headless Chrome"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	}
	systems := []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
	}
	var browser, system string
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	}
	return system
}

// Session is one live session of a subject, as Manager.Sessions lists it. It holds no token.
type Session struct {
	ID         string    // the sid its tokens carry
	CreatedAt  time.Time // login
	LastUsedAt time.Time // login or last refresh
	ExpiresAt  time.Time // absolute end (maximum session age); rotation never moves it
	// RefreshBy is when the session ends unless it is refreshed: the expiry of its current
	// refresh token (with WithIdleTimeout, the idle deadline). Never after ExpiresAt.
	RefreshBy time.Time
	Current   bool   // the session the request asking for the list belongs to
	Client    string // what WithClientDescription recorded at login; "" when nothing was
}

// Sessions lists the live sessions of subject, most recently used first, in one store call.
// currentSID, when not empty, marks the session of that id as Current (pass the Claims'
// SessionID of the request asking). A store failure returns ErrStoreUnavailable; a Manager that
// records no sessions returns ErrSessionsNotRecorded.
func (m *Manager) Sessions(ctx context.Context, subject, currentSID string) ([]Session, error) {
	if err := m.sessionsRecorded(subject); err != nil {
		return nil, err
	}
	var fams []Family
	if err := m.call(ctx, StoreOpSessions, "list sessions", subject, func(ctx context.Context) error {
		var err error
		fams, err = m.store.Sessions(ctx, subject)
		return err
	}); err != nil {
		return nil, err
	}
	now := m.cfg.now()
	out := make([]Session, 0, len(fams))
	for _, f := range fams {
		if f.Subject != subject || !f.live(now) {
			continue
		}
		out = append(out, Session{
			ID: f.SessionID, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsed, ExpiresAt: f.Expires,
			RefreshBy: f.CurrentExpires, Current: currentSID != "" && f.SessionID == currentSID,
			Client: f.Client,
		})
	}
	slices.SortFunc(out, func(a, b Session) int {
		if c := b.LastUsedAt.Compare(a.LastUsedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// EndSession ends one live session of subject, as a logout of it would: its refresh token stops
// working and its access tokens are refused at once (RevokeSession). An id that is not one of
// subject's live sessions - including another subject's - returns ErrSessionNotFound and changes
// nothing. A store failure returns ErrStoreUnavailable.
func (m *Manager) EndSession(ctx context.Context, subject, sid string) error {
	if err := m.sessionsRecorded(subject); err != nil {
		return err
	}
	if sid == "" {
		return ErrSessionNotFound
	}
	var fams []Family
	if err := m.call(ctx, StoreOpSessions, "end session", subject, func(ctx context.Context) error {
		var err error
		fams, err = m.store.Sessions(ctx, subject)
		return err
	}); err != nil {
		return err
	}
	now := m.cfg.now()
	if !slices.ContainsFunc(fams, func(f Family) bool {
		return f.SessionID == sid && f.Subject == subject && f.live(now)
	}) {
		return ErrSessionNotFound
	}
	// A refresh between the listing and this call cannot resurrect the session: RevokeFamily
	// deletes the family whatever its current token is.
	return m.RevokeSession(ctx, subject, sid)
}

// EndOtherSessions ends every live session of subject except keepSID ("sign out other
// devices"; an empty keepSID ends them all), in one atomic store call, and returns how many it
// ended. Each ended session is refused at once, as after a logout. A store failure returns
// ErrStoreUnavailable.
func (m *Manager) EndOtherSessions(ctx context.Context, subject, keepSID string) (int, error) {
	if err := m.sessionsRecorded(subject); err != nil {
		return 0, err
	}
	var ended []string
	until := m.sessionRevokeUntil(m.cfg.now())
	if err := m.call(ctx, StoreOpEndSessions, "end other sessions", subject, func(ctx context.Context) error {
		var err error
		ended, err = m.store.EndSessions(ctx, subject, keepSID, until)
		return err
	}); err != nil {
		return 0, err
	}
	for _, sid := range ended {
		m.emit(ctx, Event{Kind: EventRevoked, Subject: subject, SessionID: sid})
	}
	return len(ended), nil
}

func (m *Manager) sessionsRecorded(subject string) error {
	if !m.cfg.rotation || m.cfg.verificationOnly() {
		return ErrSessionsNotRecorded
	}
	if subject == "" {
		return ErrSubjectEmpty
	}
	return nil
}
