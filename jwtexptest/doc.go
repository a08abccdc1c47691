// Package jwtexptest helps test applications protected by jwtexp: a Manager on a fake clock
// (Kit), tokens for every case a handler must get right (Kit.Token with TokenOptions), a store
// that fails, stalls or loses its data on command (FaultyStore), and an httptest identity
// provider with a JWK Set, an OpenID Connect discovery document and key rotation on demand
// (IdentityProvider). It depends on the standard library, core and golang-jwt only, and is meant
// for _test.go files.
//
// # Quick start
//
//	func TestMe(t *testing.T) {
//		k := jwtexptest.New(t)                      // Manager, fake clock, in-memory store
//		h := nethttpjwt.Middleware(k.Manager)(myHandler)
//
//		req := httptest.NewRequest("GET", "/api/me", nil)
//		req.Header.Set("Authorization", "Bearer "+k.Token(t, jwtexptest.Expired(time.Minute)))
//		rec := httptest.NewRecorder()
//		h.ServeHTTP(rec, req)
//		// rec.Code == 401, WWW-Authenticate: Bearer ..., error="invalid_token", error_description="token expired"
//	}
//
// # Tokens
//
// Kit.Token signs exactly what it is told with the Kit's keys, so the Manager judges the token as
// it would in production: Expired(d), NotYetValid(d), IssuedAt(t), WrongIssuer, WrongAudience,
// WrongKey, AsRefreshToken (wrong type), WithoutExp, WithLifetime (too long a lifetime is
// refused), WithScopes, WithAuthTime (RFC 9470 step-up), WithClaims (the application's custom
// claims), WithClaim and WithHeader for anything else. Kit.Login starts a real session instead,
// with a refresh token the store knows.
//
// # Time
//
// Every time check of the Kit's Manager and store reads Kit.Clock, which moves only when the
// test calls Advance or Set: no sleeping, no flaky boundaries.
//
// # Store failures
//
// The Kit's store is a FaultyStore over an in-memory store. Fail, Stall and Lose make it
// misbehave, Heal ends it. The Manager fails closed on a store error (core.ErrStoreUnavailable,
// 503 with Retry-After), which is what an application's tests should see. The store keeps what
// the in-memory store offers beyond core.Store (DPoP replay records, key rings, revocation
// notices), so DPoP, key rotation and bound connections work on a Kit as in production.
package jwtexptest
