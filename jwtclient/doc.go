// Package jwtclient is the client side of a jwtexp-protected API, for Go programs: services that
// call other services, command-line tools, backends. It logs in, keeps the token pair, sends the
// access token as "Authorization: Bearer" (RFC 6750 §2.1) and refreshes it so that no goroutine
// ever races another into the server's refresh-token reuse detection (RFC 9700 §4.14.2).
//
// It depends on the standard library only. It never verifies the tokens it holds (the server
// does); it reads the access token's exp and iat only to schedule refreshes when the token
// response has no expires_in.
//
// # Quick start
//
//	c, err := jwtclient.New(
//		jwtclient.WithBaseURL("https://api.example.com"),
//		jwtclient.WithOnTokens(func(t jwtclient.Token) { save(t) }), // persist the rotated refresh token
//	)
//	if err != nil {
//		return err
//	}
//	if err := c.Login(ctx, "alice", "wonderland"); err != nil {
//		return err
//	}
//	resp, err := c.HTTPClient().Get("https://api.example.com/api/me")
//
// # Refresh
//
// The access token is refreshed ahead of expiry, once a random point between 70% and 80% of its
// lifetime has passed (WithRefreshAhead), in the background while the current token still
// serves. However many goroutines use the client, one refresh runs at a time and all share its
// outcome (single flight). A request refused with 401 and error="invalid_token" (the token
// expired early, was revoked, or the clocks disagree) triggers one shared refresh and is sent
// once more, when its body can be sent again; never twice.
//
// Rotation: a jwtexp server answers every refresh with a new refresh token and retires the old
// one. The client uses the new one from then on and hands every new pair to WithOnTokens before
// using it, so the stored refresh token is always the current one. A program restarted with
// WithTokens resumes the session.
//
// Retries: a refresh that gets no answer (network error, timeout) or a 5xx, 408 or 429 is sent
// again (WithRefreshRetries) with the same Idempotency-Key header. If the server had carried
// out the lost rotation, it recognizes the retry and answers with the session's current tokens,
// where a retry without the key would look like a stolen, replayed refresh token and end the
// session.
//
// # Errors
//
// A refused refresh (400 invalid_grant, RFC 6749 §5.2, or 401 from servers of before December
// 2026) means the session is over: logged out, ended from another device, expired, or its
// refresh token reused. The client then returns ErrSessionEnded from Token and from every
// request, without sending anything to the server again, until the next Login. A refresh
// without a usable answer keeps the session and returns ErrRefreshUnavailable while the access
// token is expired; the next call tries again after WithRetryBackoff. Check both with errors.Is.
//
// # Not covered
//
// DPoP (RFC 9449) proofs and cookie-held refresh tokens (a browser's transport) are not
// supported: the refresh token travels in the JSON body, as the example apps' body transport.
package jwtclient
