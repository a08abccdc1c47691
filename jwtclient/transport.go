package jwtclient

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// Transport returns an http.RoundTripper that sends each request through the transport of
// WithHTTPClient (http.DefaultTransport when it has none) with "Authorization: Bearer" and the
// current access token, to the origins of WithTokenOrigins only; requests to other origins pass
// through untouched, so a redirect never carries the token away.
//
// When the server refuses the token as invalid (401 with a WWW-Authenticate Bearer challenge
// carrying error="invalid_token", RFC 6750 §3.1: expired, revoked, or signed with a retired
// key), the transport refreshes once, shared with every other request that was refused
// meanwhile, and sends the request once more with the new token, if its body can be sent again
// (no body, or http.Request.GetBody set, as http.NewRequest does for bytes and strings
// readers). Otherwise, or when the retry is refused too, the 401 is returned as it is. When the
// refresh reports a dead session the error matches ErrSessionEnded.
//
// Errors of the session (ErrNotLoggedIn, ErrSessionEnded, ErrRefreshUnavailable) are returned
// without sending the request; an *http.Client wraps them in a *url.Error, and errors.Is sees
// through it.
func (c *Client) Transport() http.RoundTripper {
	base := c.cfg.httpClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

// HTTPClient returns an *http.Client that sends its requests through Transport, with the
// redirect policy, cookie jar and timeout of the client given WithHTTPClient.
func (c *Client) HTTPClient() *http.Client {
	hc := *c.cfg.httpClient
	hc.Transport = c.Transport()
	return &hc
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.c.cfg.origins[origin(req.URL)] {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.c.token(ctx, "")
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.base.RoundTrip(withToken(req, tok.AccessToken))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !invalidToken(resp.Header) {
		return resp, err
	}
	next, err := t.c.token(ctx, tok.AccessToken)
	if err != nil {
		if errors.Is(err, ErrSessionEnded) {
			discard(resp)
			return nil, err
		}
		return resp, nil // the refresh is unavailable: the caller sees the server's answer
	}
	if !replayable {
		return resp, nil // the next request gets the new token; this one cannot be sent again
	}
	retry := withToken(req, next.AccessToken)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	discard(resp)
	// The retry's answer is final: no second refresh, no loop.
	return t.base.RoundTrip(retry)
}

// withToken is a copy of req carrying the access token (a RoundTripper must not change req).
func withToken(req *http.Request, access string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+access)
	return r
}

// invalidToken reports whether a 401's challenges include a Bearer challenge with error
// invalid_token (RFC 6750 §3.1): the token itself was refused, so a new one may succeed. A
// challenge without an error code means no token arrived, and another error (e.g.
// insufficient_user_authentication, RFC 9470 §3) will not be cured by a refresh.
func invalidToken(h http.Header) bool {
	for _, v := range h.Values("Www-Authenticate") {
		l := strings.ToLower(v)
		if !strings.HasPrefix(strings.TrimSpace(l), "bearer") {
			continue
		}
		if strings.Contains(l, `error="invalid_token"`) || strings.Contains(l, "error=invalid_token") {
			return true
		}
	}
	return false
}

// discard reads a little of an answer that will not be returned, so its connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
