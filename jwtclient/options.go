package jwtclient

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of the options, in the units the options take.
const (
	// DefaultRefreshAhead is the fraction of the access token's lifetime after which the client
	// refreshes it (see WithRefreshAhead).
	DefaultRefreshAhead = 0.8
	// DefaultRefreshJitter is how much earlier than DefaultRefreshAhead, as a fraction of the
	// lifetime, a refresh may start, chosen at random per token (see WithRefreshAhead).
	DefaultRefreshJitter = 0.1
	// DefaultTimeout bounds each request to the login, refresh and logout endpoints.
	DefaultTimeout = 10 * time.Second
	// DefaultRefreshRetries is how many times a refresh is sent again after a network error, a
	// timeout, a 5xx, 408 or 429.
	DefaultRefreshRetries = 2
	// DefaultRetryBackoff is the wait before the first retry of a refresh; the n-th retry waits n
	// times as long. It is also how long the client waits after a refresh that failed on every
	// attempt before it starts another one.
	DefaultRetryBackoff = 500 * time.Millisecond
)

// Option configures a Client. Each option checks its own argument and New checks the
// combination; a bad value is an error naming the option, never a panic.
type Option func(*config) error

type config struct {
	base                            *url.URL
	loginURL, refreshURL, logoutURL *url.URL
	httpClient                      *http.Client
	ahead, jitter                   float64
	timeout                         time.Duration
	retries                         int
	backoff                         time.Duration
	onTokens                        func(Token)
	onEnd                           func(error)
	initial                         *Token
	now                             func() time.Time
	origins                         map[string]bool
}

func defaultConfig() config {
	return config{
		httpClient: http.DefaultClient,
		ahead:      DefaultRefreshAhead,
		jitter:     DefaultRefreshJitter,
		timeout:    DefaultTimeout,
		retries:    DefaultRefreshRetries,
		backoff:    DefaultRetryBackoff,
		now:        time.Now,
	}
}

// WithBaseURL sets the server's base URL: the login, refresh and logout endpoints are its paths
// /login, /refresh and /logout (as in the jwtexp example apps) unless WithLoginURL,
// WithRefreshURL or WithLogoutURL name others. The URL must be absolute http or https.
func WithBaseURL(base string) Option {
	return func(c *config) error {
		u, err := parseEndpoint("WithBaseURL", base)
		if err != nil {
			return err
		}
		c.base = u
		return nil
	}
}

// WithLoginURL sets the login endpoint (absolute http or https URL), which answers a token
// response (RFC 6749 §5.1). Default: /login under WithBaseURL.
func WithLoginURL(u string) Option {
	return func(c *config) (err error) {
		c.loginURL, err = parseEndpoint("WithLoginURL", u)
		return err
	}
}

// WithRefreshURL sets the refresh endpoint (absolute http or https URL), which takes
// {"refresh_token": "..."} and answers a token response. Default: /refresh under WithBaseURL.
// Either this or WithBaseURL is required.
func WithRefreshURL(u string) Option {
	return func(c *config) (err error) {
		c.refreshURL, err = parseEndpoint("WithRefreshURL", u)
		return err
	}
}

// WithLogoutURL sets the logout endpoint (absolute http or https URL). Default: /logout under
// WithBaseURL.
func WithLogoutURL(u string) Option {
	return func(c *config) (err error) {
		c.logoutURL, err = parseEndpoint("WithLogoutURL", u)
		return err
	}
}

// WithHTTPClient sets the *http.Client used for the login, refresh and logout requests; its
// Transport (http.DefaultTransport when nil) is also the transport under Client.Transport and
// Client.HTTPClient. Its Timeout, if any, applies on top of WithTimeout. Default:
// http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return configError("WithHTTPClient: client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithRefreshAhead sets when the access token is refreshed: once a fraction of its lifetime
// between ahead-jitter and ahead has passed, the point drawn at random for each token, so that
// many clients started together do not refresh together. The lifetime is the token response's
// expires_in, counted from when the request was sent (else exp - iat of the token). 0 < ahead < 1
// and 0 <= jitter < ahead. Default: 0.8 and 0.1 (a refresh between 70% and 80% of the lifetime).
//
// A refresh ahead of expiry runs in the background: requests go on with the current token,
// still valid, while it runs, and every goroutine shares that one refresh.
func WithRefreshAhead(ahead, jitter float64) Option {
	return func(c *config) error {
		if !(ahead > 0 && ahead < 1) {
			return configError("WithRefreshAhead: fraction %v is not between 0 and 1", ahead)
		}
		if !(jitter >= 0 && jitter < ahead) {
			return configError("WithRefreshAhead: jitter %v is not in [0, %v)", jitter, ahead)
		}
		c.ahead, c.jitter = ahead, jitter
		return nil
	}
}

// WithTimeout bounds each request to the login, refresh and logout endpoints (each attempt of
// a refresh on its own). It must be positive and at most 5 minutes. Default: 10s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 5*time.Minute {
			return configError("WithTimeout: %v is not in (0, 5m]", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRefreshRetries sets how many times a refresh is sent again after a network error, a
// timeout, a 5xx, 408 or 429 answer, between 0 and 10; a login is sent again as often after a
// network error, a timeout, a 5xx or 408 (with its own Idempotency-Key). Every attempt of one refresh carries the
// same Idempotency-Key, so the server answers a retry of a rotation it already made with the
// session's current tokens instead of taking it for reuse of a stolen token. A refusal (any
// other 4xx) is never retried. Default: 2.
func WithRefreshRetries(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 10 {
			return configError("WithRefreshRetries: %d is not between 0 and 10", n)
		}
		c.retries = n
		return nil
	}
}

// WithRetryBackoff sets the wait before the first retry of a refresh or login (the n-th waits n
// times as long), and how long the client waits after a refresh that failed on every attempt before it
// starts another; between 0 and 1 minute. Default: 500ms.
func WithRetryBackoff(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > time.Minute {
			return configError("WithRetryBackoff: %v is not in [0, 1m]", d)
		}
		c.backoff = d
		return nil
	}
}

// WithOnTokens sets a function called with every new token pair, after a login and after each
// refresh, before the new tokens are used. Persist the refresh token there: with rotation every
// refresh returns a new one and the previous one is dead, so a program that restarts with an
// old one loses its session (and the server may take it for a stolen token). Calls never
// overlap, and they come in the order the pairs were issued. The function must not call the
// Client. Default: none.
func WithOnTokens(f func(Token)) Option {
	return func(c *config) error {
		if f == nil {
			return configError("WithOnTokens: function is nil")
		}
		c.onTokens = f
		return nil
	}
}

// WithOnSessionEnd sets a function called once when the session ends: the server refused a
// refresh (err matches ErrSessionEnded and carries the *ServerError) or Logout was called. Delete
// the persisted tokens there. The function must not call the Client. Default: none.
func WithOnSessionEnd(f func(err error)) Option {
	return func(c *config) error {
		if f == nil {
			return configError("WithOnSessionEnd: function is nil")
		}
		c.onEnd = f
		return nil
	}
}

// WithTokens starts the client from a stored token pair (what WithOnTokens received), so a
// restarted program resumes its session without logging in. RefreshToken is required;
// AccessToken may be empty (the first request then refreshes first). A zero Expiry is read from
// the access token's exp claim. Default: no session until Login.
func WithTokens(t Token) Option {
	return func(c *config) error {
		if t.RefreshToken == "" {
			return configError("WithTokens: the refresh token is empty")
		}
		if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
			return configError("WithTokens: token type %q is not Bearer", t.TokenType)
		}
		c.initial = &t
		return nil
	}
}

// WithClock sets the clock the client schedules refreshes by. Tests pass the fake clock the
// server under test uses. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return configError("WithClock: function is nil")
		}
		c.now = now
		return nil
	}
}

// WithTokenOrigins sets the origins (scheme://host[:port]) that requests through Transport and
// HTTPClient carry the access token to; a request to any other origin, such as a redirect to
// another site, is sent without it. Default: the origin of WithBaseURL, else of the refresh
// endpoint.
func WithTokenOrigins(origins ...string) Option {
	return func(c *config) error {
		if len(origins) == 0 {
			return configError("WithTokenOrigins: no origin")
		}
		c.origins = make(map[string]bool, len(origins))
		for _, o := range origins {
			u, err := parseEndpoint("WithTokenOrigins", o)
			if err != nil {
				return err
			}
			if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return configError("WithTokenOrigins: %q is not an origin (scheme://host[:port])", o)
			}
			c.origins[origin(u)] = true
		}
		return nil
	}
}

// validate completes the endpoints and checks the combination.
func (c *config) validate() error {
	join := func(p string) *url.URL {
		if c.base == nil {
			return nil
		}
		return c.base.JoinPath(p)
	}
	if c.loginURL == nil {
		c.loginURL = join("login")
	}
	if c.refreshURL == nil {
		c.refreshURL = join("refresh")
	}
	if c.logoutURL == nil {
		c.logoutURL = join("logout")
	}
	if c.refreshURL == nil {
		return configError("no refresh endpoint: use WithBaseURL or WithRefreshURL")
	}
	if c.origins == nil {
		from := c.base
		if from == nil {
			from = c.refreshURL
		}
		c.origins = map[string]bool{origin(from): true}
	}
	return nil
}

func parseEndpoint(option, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, configError("%s: %q is not an absolute http or https URL without user info", option, s)
	}
	return u, nil
}

// origin is scheme://host[:port] of u, lower-case, without a default port.
func origin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host
}
