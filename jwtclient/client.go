package jwtclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client holds one session (a token pair) with a jwtexp server: it logs in, refreshes ahead of
// expiry, and attaches the access token to requests. Build it with New; it is safe for
// concurrent use by any number of goroutines, and every goroutine shares one refresh.
type Client struct {
	cfg config

	persist sync.Mutex // serializes the WithOnTokens and WithOnSessionEnd callbacks

	mu       sync.Mutex
	cur      *session // nil: no session
	ended    error    // non-nil once the session ended (matches ErrSessionEnded)
	epoch    uint64   // changes on login and logout: a refresh begun before is discarded
	flight   *flight  // the refresh under way, shared by every caller
	retryKey string   // Idempotency-Key of a refresh that got no answer yet
	lastErr  error    // the last refresh's transient failure, until a refresh succeeds
	failedAt time.Time
}

// flight is one refresh, shared by every goroutine that needs it.
type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// New returns a Client configured by opts. Every option is checked: a bad value returns an
// error matching ErrInvalidConfig that names the option. WithBaseURL or WithRefreshURL is
// required.
func New(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, configError("nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg}
	if cfg.initial != nil {
		c.cur = c.restore(*cfg.initial)
	}
	return c, nil
}

// Login posts {"username", "password"} as JSON to the login endpoint and keeps the token pair
// of the answer, replacing any session the client had. A refusal (4xx but 408) returns an error
// matching ErrLoginRefused with the server's *ServerError in the chain. A network error, a
// timeout, a 5xx or 408 is retried as a refresh is (WithRefreshRetries, WithRetryBackoff),
// every attempt with the same Idempotency-Key, so a server that recorded an attempt whose
// answer was lost answers the retry with that attempt's session rather than a second one.
func (c *Client) Login(ctx context.Context, username, password string) error {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return c.login(ctx, "application/json", body)
}

// LoginForm posts form as application/x-www-form-urlencoded to the login endpoint (for servers
// that take a form, such as an OAuth 2.0 password grant, RFC 6749 §4.3.2) and keeps the token
// pair of the answer, as Login does.
func (c *Client) LoginForm(ctx context.Context, form url.Values) error {
	return c.login(ctx, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

func (c *Client) login(ctx context.Context, contentType string, body []byte) error {
	if c.cfg.loginURL == nil {
		return errors.New("jwtclient: login: no login endpoint (WithBaseURL or WithLoginURL)")
	}
	// Every attempt of one login carries the same Idempotency-Key: a server that recorded the
	// session of an attempt whose answer was lost (a timeout, a 503 after its store had written)
	// answers the retry with that session instead of starting a second one.
	hdr := http.Header{"Idempotency-Key": {`"` + newRetryKey() + `"`}}
	var resp *http.Response
	var sentAt time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 && c.cfg.backoff > 0 {
			t := time.NewTimer(time.Duration(attempt) * c.cfg.backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("jwtclient: login: %w", ctx.Err())
			case <-t.C:
			}
		}
		var err error
		sentAt = c.cfg.now()
		resp, err = c.post(ctx, c.cfg.loginURL, contentType, body, hdr)
		if err != nil {
			if attempt < c.cfg.retries && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("jwtclient: login: %w", err)
		}
		if resp.StatusCode/100 == 2 {
			break
		}
		se := serverError("login", resp)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout:
			// A refusal, 429 included: a login refused for the user's session churn waits
			// for minutes (its Retry-After), not for a retry.
			return fmt.Errorf("%w: %w", ErrLoginRefused, se)
		case attempt < c.cfg.retries:
			continue
		}
		return se
	}
	defer resp.Body.Close()
	s, err := c.readTokens("login", resp, sentAt, "")
	if err != nil {
		return err
	}
	c.persist.Lock()
	defer c.persist.Unlock()
	c.mu.Lock()
	c.epoch++
	c.cur, c.ended, c.flight, c.retryKey, c.lastErr = s, nil, nil, "", nil
	c.mu.Unlock()
	if c.cfg.onTokens != nil {
		c.cfg.onTokens(s.Token)
	}
	return nil
}

// Token returns a valid token pair, refreshing first when the access token is due (as
// oauth2.TokenSource's Token does). Before the refresh point it returns the current pair at
// once; past it, and while the access token is still valid, it starts the one shared refresh in
// the background and returns the current pair; once the access token has expired it waits for
// the refresh. Errors: ErrNotLoggedIn, ErrSessionEnded (log in again) or ErrRefreshUnavailable
// (try again later).
func (c *Client) Token() (*Token, error) {
	return c.TokenContext(context.Background())
}

// TokenContext is Token with a context bounding the wait for a refresh (the refresh itself goes
// on for the other callers when ctx ends).
func (c *Client) TokenContext(ctx context.Context) (*Token, error) {
	t, err := c.token(ctx, "")
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// token returns the access token to send. rejected is the access token the server has just
// refused with invalid_token ("" if none): unless it was replaced meanwhile, the client then
// refreshes whatever its schedule says, and waits for it.
func (c *Client) token(ctx context.Context, rejected string) (Token, error) {
	c.mu.Lock()
	switch {
	case c.ended != nil:
		err := c.ended
		c.mu.Unlock()
		return Token{}, err
	case c.cur == nil:
		c.mu.Unlock()
		return Token{}, ErrNotLoggedIn
	}
	cur := c.cur.Token
	now := c.cfg.now()
	forced := rejected != "" && cur.AccessToken == rejected
	if !forced && rejected != "" {
		c.mu.Unlock()
		return cur, nil // replaced since the rejected request was sent: retry with this one
	}
	valid := cur.AccessToken != "" && (cur.Expiry.IsZero() || now.Before(cur.Expiry))
	if !forced && cur.AccessToken != "" && now.Before(c.cur.refreshAt) {
		c.mu.Unlock()
		return cur, nil
	}
	f := c.flight
	if f == nil {
		if c.lastErr != nil && now.Before(c.failedAt.Add(c.cfg.backoff)) {
			// The last refresh failed on every attempt a moment ago: no storm of new ones.
			err := c.lastErr
			c.mu.Unlock()
			if valid && !forced {
				return cur, nil
			}
			return Token{}, fmt.Errorf("%w: %w", ErrRefreshUnavailable, err)
		}
		f = c.startRefresh()
	}
	c.mu.Unlock()
	if valid && !forced {
		return cur, nil // refreshing ahead of expiry: the current token still serves meanwhile
	}
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// startRefresh starts the one shared refresh; c.mu is held.
func (c *Client) startRefresh() *flight {
	f := &flight{done: make(chan struct{})}
	c.flight = f
	if c.retryKey == "" {
		c.retryKey = newRetryKey()
	}
	go c.runRefresh(f, c.epoch, c.cur.RefreshToken, c.retryKey)
	return f
}

// runRefresh carries out a refresh and publishes its outcome to c and to the flight's callers.
func (c *Client) runRefresh(f *flight, epoch uint64, refreshToken, key string) {
	defer close(f.done)
	s, err := c.refresh(refreshToken, key)
	c.persist.Lock()
	defer c.persist.Unlock()
	c.mu.Lock()
	if c.flight == f {
		c.flight = nil
	}
	if epoch != c.epoch { // logged in anew, or out, meanwhile: this refresh is of no session
		f.tok, f.err = c.stateLocked()
		c.mu.Unlock()
		return
	}
	switch {
	case err == nil:
		c.cur, c.retryKey, c.lastErr = s, "", nil
		f.tok = s.Token
	case errors.Is(err, ErrSessionEnded):
		c.cur, c.ended, c.retryKey, c.lastErr = nil, err, "", nil
		f.err = err
	default: // no usable answer: keep the session and the key for the next attempt
		c.lastErr, c.failedAt = err, c.cfg.now()
		f.err = fmt.Errorf("%w: %w", ErrRefreshUnavailable, err)
	}
	c.mu.Unlock()
	// Still under persist: callbacks see the pairs in the order they were issued.
	switch {
	case err == nil && c.cfg.onTokens != nil:
		c.cfg.onTokens(s.Token)
	case errors.Is(err, ErrSessionEnded) && c.cfg.onEnd != nil:
		c.cfg.onEnd(err)
	}
}

// stateLocked is what a caller gets from the session as it stands; c.mu is held.
func (c *Client) stateLocked() (Token, error) {
	switch {
	case c.ended != nil:
		return Token{}, c.ended
	case c.cur == nil:
		return Token{}, ErrNotLoggedIn
	}
	return c.cur.Token, nil
}

// refresh sends the refresh request, again after a network error, timeout, 5xx, 408 or 429,
// every attempt with the same Idempotency-Key.
func (c *Client) refresh(refreshToken, key string) (*session, error) {
	body, _ := json.Marshal(map[string]string{"refresh_token": refreshToken})
	// The Idempotency-Key header is a Structured Field string (IETF httpapi draft).
	hdr := http.Header{"Idempotency-Key": {`"` + key + `"`}}
	var err error
	for attempt := 0; attempt <= c.cfg.retries; attempt++ {
		if attempt > 0 && c.cfg.backoff > 0 {
			time.Sleep(time.Duration(attempt) * c.cfg.backoff)
		}
		var s *session
		if s, err = c.refreshOnce(body, hdr, refreshToken); err == nil || !transient(err) {
			return s, err
		}
	}
	return nil, err
}

func (c *Client) refreshOnce(body []byte, hdr http.Header, refreshToken string) (*session, error) {
	sentAt := c.cfg.now()
	resp, err := c.post(context.Background(), c.cfg.refreshURL, "application/json", body, hdr)
	if err != nil {
		return nil, fmt.Errorf("jwtclient: refresh: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		se := serverError("refresh", resp)
		if !transient(se) {
			// 400 invalid_grant (RFC 6749 §5.2), or 401 from servers of before 2026-12: the
			// refresh token is dead. Any other refusal will not change on a retry either.
			return nil, fmt.Errorf("%w: %w", ErrSessionEnded, se)
		}
		return nil, se
	}
	return c.readTokens("refresh", resp, sentAt, refreshToken)
}

// Logout ends the session: it posts to the logout endpoint with the access token as Bearer (a
// server accepts one that has just expired for logout) and {"refresh_token"} as JSON, then
// forgets both whatever the answer, so that Token and requests through the client return
// ErrSessionEnded until the next Login. It returns nil when the server confirmed (2xx, 204 for
// jwtexp servers), and otherwise the error: the session may then still be live on the server
// until its refresh token expires.
func (c *Client) Logout(ctx context.Context) error {
	c.persist.Lock()
	c.mu.Lock()
	cur := c.cur
	c.epoch++
	c.cur, c.ended, c.flight, c.retryKey, c.lastErr = nil, fmt.Errorf("%w: logged out", ErrSessionEnded), nil, "", nil
	ended := c.ended
	c.mu.Unlock()
	if c.cfg.onEnd != nil {
		c.cfg.onEnd(ended)
	}
	c.persist.Unlock()
	if cur == nil {
		return nil
	}
	if c.cfg.logoutURL == nil {
		return errors.New("jwtclient: logout: no logout endpoint (WithBaseURL or WithLogoutURL)")
	}
	var hdr http.Header
	if cur.AccessToken != "" {
		hdr = http.Header{"Authorization": {"Bearer " + cur.AccessToken}}
	}
	body, _ := json.Marshal(map[string]string{"refresh_token": cur.RefreshToken})
	resp, err := c.post(ctx, c.cfg.logoutURL, "application/json", body, hdr)
	if err != nil {
		return fmt.Errorf("jwtclient: logout: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return serverError("logout", resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return nil
}

// post sends one request to an endpoint of the server, bounded by the configured timeout.
func (c *Client) post(ctx context.Context, u *url.URL, contentType string, body []byte, hdr http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the request's timeout when the answer has been read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// newRetryKey returns a random Idempotency-Key for one refresh or login (128 bits, hex).
func newRetryKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a time-based key still separates
		// this client's refreshes from each other.
		return strings.ReplaceAll(time.Now().Format("20060102150405.000000000"), ".", "")
	}
	return hex.EncodeToString(b[:])
}
