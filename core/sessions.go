package core

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Session limits. Each is repeated in the doc comment of the option that changes it.
const (
	// DefaultMaxSessions is how many live sessions one subject may hold unless WithMaxSessions
	// says otherwise: 32.
	DefaultMaxSessions = 32
	// MaxSessionClientLen is the longest client description WithSessionClient keeps, in bytes;
	// a longer one is cut at a character boundary.
	MaxSessionClientLen = 128
)

// WithMaxSessions bounds the live sessions of one subject (default DefaultMaxSessions, 32). A
// login beyond the bound ends the subject's least recently used session (the one refreshed
// longest ago) in the same store call that records the new one: its refresh token stops working
// and its access tokens are refused, as after a logout. Without a bound, anyone holding one
// password could grow the store with every login. n must be at least 1.
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return configError("WithMaxSessions: %d is not positive: allow at least one session per subject", n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithIdleTimeout ends a session that nobody refreshed within d (default: off; then only the
// refresh TTL and the maximum session age end it). Each refresh token of the session then
// expires d after its issue (and never after the session's maximum age), and the store drops the
// session at that time: a refresh after it is refused with invalid_grant, as for any ended
// session. Rotation never moves the maximum age, so an active session still ends at it.
//
// d must be at least the access TTL (an access token is then never valid longer than its
// session), shorter than the refresh TTL (which already ends a session unused for that long), and
// needs rotation; New reports anything else as an error naming what to change.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("WithIdleTimeout: %v is not positive: leave the option out to turn the idle timeout off", d)
		}
		c.idleTimeout = d
		return nil
	}
}

// validateSessions checks the session options against the rest of the configuration.
func (c *config) validateSessions() []error {
	if c.idleTimeout == 0 {
		return nil
	}
	var errs []error
	if !c.rotation {
		errs = append(errs, configError("WithIdleTimeout needs refresh-token rotation: drop WithRotation(false) or the idle timeout"))
	}
	if c.idleTimeout < c.accessTTL {
		errs = append(errs, configError("idle timeout %v is shorter than access TTL %v: raise it or shorten the access TTL", c.idleTimeout, c.accessTTL))
	}
	if c.idleTimeout >= c.refreshTTL {
		errs = append(errs, configError("idle timeout %v is not shorter than refresh TTL %v, which already ends an unused session: shorten it or drop it", c.idleTimeout, c.refreshTTL))
	}
	return errs
}

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

// IssueOption adds something to the session Manager.Issue starts.
type IssueOption func(*issueOptions)

type issueOptions struct {
	client     string
	remoteAddr string // WithRemoteAddr
	userAgent  string // set by ServeLogin when WithSessionClients is on
	describe   bool   // ServeLogin with WithSessionClients: describe the client if no client was given
}

// WithRemoteAddr names the network address the login came from ("host:port", as
// http.Request.RemoteAddr has it). The adapters' LoginHandler pass it; it is used only when the
// Manager was built with WithSessionClients, and then only coarsely (see DescribeClient). Behind
// a proxy it is the proxy's address unless the application passes the client address the proxy
// vouches for.
func WithRemoteAddr(addr string) IssueOption {
	return func(o *issueOptions) { o.remoteAddr = addr }
}

// WithSessionClients makes ServeLogin (and so every adapter's LoginHandler) record with each new
// session a description of its client, DescribeClient of the request's User-Agent and remote
// address ("Firefox on Linux, 192.0.2.0/24"), for the list of sessions the user sees. Without
// it nothing is recorded unless the application passes WithSessionClient itself. The
// description is personal data: see WithSessionClient.
func WithSessionClients() Option {
	return func(c *config) error {
		c.sessionClients = true
		return nil
	}
}

// WithSessionClient records desc with the new session, for the list of sessions a user sees
// ("Firefox on Linux, 192.0.2.0/24"; see DescribeClient). It is kept in the store with the
// session and only as long as the session, is never put in a token, and is shown only to the
// session's subject. Without this option nothing is recorded.
//
// A client description is personal data (it can tell where and on what device someone signed
// in): record only what your privacy notice covers, and keep it coarse. Control characters and
// invalid UTF-8 are replaced, surrounding space is trimmed, and the text is cut to
// MaxSessionClientLen bytes.
func WithSessionClient(desc string) IssueOption {
	return func(o *issueOptions) { o.client = cleanClient(desc) }
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

// DescribeClient summarises a client for WithSessionClient: the browser and operating system
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
	Client    string // what WithSessionClient recorded at login; "" when nothing was
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
	if err := m.call(ctx, StoreOpSessions, "list sessions", func(ctx context.Context) error {
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
	if err := m.call(ctx, StoreOpSessions, "end session", func(ctx context.Context) error {
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
	if err := m.call(ctx, StoreOpEndSessions, "end other sessions", func(ctx context.Context) error {
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

// ServeSessions answers "list my sessions" for the verified claims c of the request (the
// adapters' SessionsHandler): 200 with
//
//	{"sessions": [{"id", "created_at", "last_used_at", "expires_at", "current", "client"}]}
//
// most recently used first; times are NumericDate seconds (RFC 7519 §2), expires_at is the
// absolute end, current marks the session of c, client is null when none was recorded. nil
// claims answer 401, a store failure 503.
func (m *Manager) ServeSessions(ctx context.Context, c *Claims) Response {
	if c == nil {
		return m.Problem(ErrTokenMissing)
	}
	list, err := m.Sessions(ctx, c.Subject, c.SessionID)
	if err != nil {
		return m.Problem(err)
	}
	b := make([]byte, 0, 16+len(list)*160)
	b = append(b, `{"sessions":[`...)
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, s.ID)
		b = append(b, `,"created_at":`...)
		b = appendJSONInt(b, s.CreatedAt.Unix())
		b = append(b, `,"last_used_at":`...)
		b = appendJSONInt(b, s.LastUsedAt.Unix())
		b = append(b, `,"expires_at":`...)
		b = appendJSONInt(b, s.ExpiresAt.Unix())
		b = append(b, `,"current":`...)
		if s.Current {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
		b = append(b, `,"client":`...)
		if s.Client == "" {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, s.Client)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return Response{Status: http.StatusOK, CacheControl: "no-store", Body: b}
}

// ServeEndSession answers "end session id" for the verified claims c of the request (the
// adapters' EndSessionHandler): 204 when id was one of c's subject's live sessions (ended as by
// EndSession), 404 not_found otherwise (whoever the id belongs to), 401 for nil claims, 503 on a
// store failure.
func (m *Manager) ServeEndSession(ctx context.Context, c *Claims, id string) Response {
	if c == nil {
		return m.Problem(ErrTokenMissing)
	}
	if err := m.EndSession(ctx, c.Subject, id); err != nil {
		return m.Problem(err)
	}
	return Response{Status: http.StatusNoContent, CacheControl: "no-store"}
}

// ServeEndOtherSessions answers "sign out other devices" for the verified claims c of the
// request (the adapters' EndOtherSessionsHandler): every session of c's subject but c's own ends
// (EndOtherSessions) and the answer is 204; 401 for nil claims, 503 on a store failure.
func (m *Manager) ServeEndOtherSessions(ctx context.Context, c *Claims) Response {
	if c == nil {
		return m.Problem(ErrTokenMissing)
	}
	if _, err := m.EndOtherSessions(ctx, c.Subject, c.SessionID); err != nil {
		return m.Problem(err)
	}
	return Response{Status: http.StatusNoContent, CacheControl: "no-store"}
}
