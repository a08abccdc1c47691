// Package core is the framework-neutral heart of jwtexp: it verifies and issues JSON Web Tokens
// with correct expiry, rotates refresh tokens with reuse detection, revokes sessions, and decides
// every HTTP answer. The six adapters only translate: nethttpjwt (net/http, chi, gorilla; in this
// module), ginjwt (Gin), echojwt (Echo v4), echo5jwt (Echo v5), fiberjwt (Fiber v2) and fiber3jwt
// (Fiber v3), each a module of its own but nethttpjwt; so do the RPC adapters grpcjwt (grpc-go)
// and connectjwt (connect-go), which answer with RPCStatus.
//
// # Quick start
//
//	m, err := core.New(
//		core.WithHMAC(accessSecret, refreshSecret),
//		core.WithIssuer("my-service"), core.WithAudience("my-api"),
//	)
//	if err != nil {
//		return err // names the setting to fix
//	}
//	pair, err := m.Issue(ctx, userID, nil)       // after your login check
//	claims, err := m.Verify(ctx, pair.AccessToken) // on every request (the adapters do it)
//	next, err := m.Refresh(ctx, pair.RefreshToken) // when the access token expired
//	err = m.Logout(ctx, next.AccessToken, "")
//
// # Tokens and lifetimes
//
// Access tokens live 15 minutes by default, refresh tokens 7 days, and a session (the chain of
// refresh tokens rotation produces) at most 30 days. Every token carries iss, sub, aud, iat, exp,
// a random 128-bit jti and the session's sid. Refresh tokens are signed with their own key and
// carry the JOSE header typ "refresh+jwt" (RFC 8725 §3.11), so neither kind passes as the other.
//
// Verification checks, cheapest first: size (8 KiB), the compact format (three base64url
// segments, RFC 7515 §7.1), the header (alg must be the algorithm of the configured key selected by
// kid - never "none", never taken from the token, RFC 8725 §3.1; crit is refused; jku, x5u, jwk
// and x5c are never used), the claims (exact-case names, RFC 7519 §10.1.1; no duplicate members;
// exp required and a sane NumericDate, RFC 7519 §4.1.4; nbf §4.1.5; iat not in the future; iss and
// aud §4.1.1, §4.1.3; exp - iat at most the access TTL), then the signature, then the revocation
// records. Expired and malformed tokens therefore cost no cryptography.
//
// # Clock skew
//
// One leeway (default 0) applies to exp, nbf and iat: a token is accepted while now < exp +
// leeway. Leeways above one minute are refused by New unless WithUnsafeLeeway is used. Every time
// comparison reads the clock of WithClock, so tests move time instead of sleeping.
//
// # Rotation and reuse
//
// Refresh presents the current refresh token of a session and receives a new pair; the store swaps
// the session's current token id atomically, so of many concurrent refreshes exactly one wins
// across all instances. Presenting an already-rotated token is reuse: the whole session is revoked
// (RFC 9700 §4.14.2) and EventReuseDetected is emitted - except inside the grace window
// (WithRefreshGrace, default 30 s): after a rotation, for that long, a session rotates no more,
// and every refresh presenting its current token or the one just replaced is answered with the
// current refresh token again, never with a second branch. So the client every tutorial teaches
// (each call that fails refreshes on its own) survives a burst of parallel calls at expiry,
// whatever order the answers arrive in. A refused refresh is 400 invalid_grant (RFC 6749 §5.2),
// so a client that retries every 401 through a refresh does not loop. Rotation never extends a
// session past WithMaxSessionAge. WithoutRotation() turns rotation off: refresh then returns only
// a new access token.
//
// # Login, scopes, roles and step-up
//
// HTTP.ServeLogin (each adapter's LoginHandler) calls the application's authenticate function, which
// checks the credentials (ReadCredentials reads them) against the application's user store and
// returns the subject and custom claims, or ErrInvalidCredentials (401 invalid_grant "invalid
// username or password"). Issue refuses to mint a token over the maximum token size
// (ErrTokenTooLarge), which every request would refuse.
//
// After authentication a route may require scopes (RequireScope, RequireAnyScope: read from
// scope, RFC 8693 §4.2 and RFC 9068 §2.2.3, or scp), a predicate on the application's own claims
// (RequireClaims, for roles), or a recent or stronger login (RequireStepUp: auth_time and acr,
// RFC 9470). Manager.Authorize checks them; refusals are 403 insufficient_scope with the required
// scopes in the challenge (RFC 6750 §3.1), or 401 insufficient_user_authentication with max_age
// and acr_values (RFC 9470 §3). Every token carries auth_time, the time of the login; refresh
// keeps it.
//
// Custom claims are copied from the refresh token on every refresh unless WithRefreshHook is set:
// the hook reads the user's current claims from the application's store on each refresh (a
// demoted admin is demoted in the next access token), and refusing ends the session.
//
// # Keys, rotation and JWKS
//
// Access tokens may be signed with RS256, PS256, ES256, ES384 or EdDSA keys (Key.Private; load a
// PEM file with LoadSigningKeyFile, ParsePrivateKeyPEM or ParsePublicKeyPEM) and published as a
// JWK Set (RFC 7517 §5) by JWKS, HTTP.ServeJWKS and each adapter's JWKSHandler, so that other services
// verify them without holding a secret. A rotation keeps the old key as an older key, selected by
// kid, and KeyRetirable says when it may be dropped (when the last token it signed has expired).
// A Manager verifies only - Issue and Refresh fail with ErrVerificationOnly - when its access key
// is a public key (Key.Public) without refresh keys, or when it is built WithKeySource, for
// example with core/jwks trusting another issuer's JWKS URL (RFC 7517, RFC 7518 §6, RFC 8037).
//
// # Tokens from identity providers
//
// WithTrustedIssuers makes a Manager accept the access tokens of several identity providers,
// each a TrustedIssuer with its own keys, algorithms, audiences (any of a list), leeway, lifetime
// cap and, optionally, the RFC 9068 rule that its access tokens say typ at+jwt;
// WithIssuerResolver adds issuers known only when their first token comes (a tenant per issuer),
// at most MaxResolvedIssuers of them kept. The token's iss, read before anything is verified,
// only picks whose keys and rules the token must pass: an issuer nobody trusts is refused with
// ErrIssuer and no network call. Package core/jwks finds an issuer's keys from its URL (OpenID
// Connect Discovery, RFC 8414) and keeps them as their Cache-Control says; a provider down for
// longer than its key set may be kept fails closed with ErrKeysUnavailable (503).
// ProtectedResourceMetadata serves RFC 9728 metadata, and WithResourceMetadata points every
// challenge to it.
//
// # Key rotation
//
// WithKeyRotation(alg, period) makes the Manager create, rotate and retire its signing keys by
// itself, in a key ring kept in the store and shared by every instance (keyring.go). Each key is
// Next (published in the JWK Set and verifying, not signing) for one period, Current (signing)
// for one period, then Previous (published, verifying) until every token it signed has expired,
// then retired. With a sync interval S (WithKeyRingSync; default 5 s or period/10) and a JWK Set
// max-age A (WithJWKSMaxAge; default 5 min or (period - 2S)/2):
//
//   - publish-ahead: a key is in every instance's JWK Set at least A before it signs, since New
//     refuses period < A + 2S; ServeJWKS answers with Cache-Control max-age=A, so a consumer that
//     caches as told never meets an unknown kid (RFC 7517 §5);
//   - retirement: stopped signing + the longest access-token lifetime + leeway + 2S (refresh
//     keys: the refresh TTL instead), after which a token naming the key is refused
//     (ErrSignature, "unknown key id") and EventKeyRetiredPresented is emitted;
//   - at most 16 keys live at once: New names the minimum period otherwise.
//
// The store decides each rotation once, by its own clock (the Redis server's TIME), however many
// instances ask (KeyRingStore); every instance reads the ring every S, and before signing when its
// copy is older than 2S, so a rotation reaches every instance within S. Private keys reach the
// store only sealed with AES-256-GCM under the application's key-encryption key
// (WithKeyEncryptionKey), or not at all: WithKeySigners keeps them in a KMS or HSM and signs
// through a crypto.Signer. RetireCompromisedKey retires a leaked Current key at once, promotes
// Next, and refuses every token the key signed on every instance within S (for the refresh
// key: every session ends).
//
// # Revocation
//
// RevokeToken denies one access token (its jti) until its exp; RevokeSession (logout) deletes a
// session and refuses its access tokens by sid; RevokeSubject refuses every token of a user issued
// before the call ("log out everywhere") and none issued after it, even within the same second:
// it ends the user's live sessions by id and cuts off only tokens issued before the current
// second, since iat has whole seconds (see RevokeSubject). Each record expires when the tokens it
// guards would have, so the store stays bounded. Verification asks the store once per request
// (WithoutRevocationCheck() makes it stateless).
//
// # Sessions
//
// With rotation each login is a session the store records with its creation, last refresh,
// absolute end and, when the application passes WithClientDescription to Issue (or builds the Manager
// with WithSessionClients, for the adapters' LoginHandler), a short client
// description (personal data: keep it coarse, see DescribeClient). Sessions lists a user's live
// sessions ("your devices", the current one marked), EndSession ends one of them (its tokens are
// refused at once, as after a logout; another user's id is ErrSessionNotFound) and
// EndOtherSessions ends all but the current one; HTTP.ServeSessions, HTTP.ServeEndSession and
// HTTP.ServeEndOtherSessions answer them over HTTP. WithMaxSessions bounds a user's live sessions
// (default 32: a login beyond it ends the least recently used one), WithIdleTimeout ends a
// session nobody refreshed for a while (off by default), and neither ever extends a session past
// WithMaxSessionAge.
//
// # Long-lived connections
//
// A Server-Sent Events stream, a WebSocket or a long poll outlives the check of its request's
// token. Bind ties one to the token: the Connection's context ends at exp plus leeway, by the
// Manager's clock, or as soon as the token, its session or its subject is revoked (logout, end
// session, end other sessions, log out everywhere, refresh-token reuse, the session limit, a
// store's data-loss cut-off), and context.Cause says which (ErrTokenExpired, ErrTokenRevoked).
// Reauthenticate moves a connection's deadline to a fresher token of the same session (ErrReauthRefused
// otherwise). One goroutine per Manager, alive only while connections are bound, serves them all
// from a heap of deadlines; stores announce revocations through the optional RevocationNotifier
// (MemoryStore in process, redisstore through its replica's Pub/Sub), others are asked every
// WithConnectionCheckInterval. EndReason, WebSocketClose, SSE, ParseReauth and ReauthAnswer are
// the wire contract every adapter (Events) and WebSocket helper (modules wsjwt, fastwsjwt) speaks.
//
// # Stores
//
// Without WithStore a MemoryStore is used: right for a single instance, no setup. For several
// instances use core/redisstore with a go-redis UniversalClient (single node, Sentinel, Cluster):
// rotation is one Lua script, a revocation lookup one round trip. When the store fails, the
// Manager fails closed: the request is refused with ErrStoreUnavailable (HTTP 503), never
// accepted.
//
// # Errors
//
// Every error matches one sentinel of this package with errors.Is, and golang-jwt's sentinel for
// the same failure where one exists. HTTP.Problem turns any error into the HTTP answer of the
// contract (status, WWW-Authenticate per RFC 6750 §3, JSON body); RPCStatus the RPC answer of
// the same row (a gRPC and Connect status code and the short reason); Reason gives the short
// client-safe text. No message contains a token or a secret.
//
// # The adapters' side: HTTP
//
// Manager is the application's type: it issues, verifies, refreshes and revokes, checks
// requirements and lists sessions. What only adapters need - authenticating a request into its
// context, the answer to an error, the token responses and the ready Serve* handlers - is on the
// type HTTP that Manager.HTTP returns (m.HTTP().Problem(err), m.HTTP().ServeRefresh(ctx, r)). An
// application needs it only to write an adapter for a framework the six do not cover; the example
// of HTTP.AuthenticateContext shows one.
//
// # Events, metrics and logs
//
// WithEventHook receives an Event for every accepted and refused token, login, refresh, reuse
// detection, revocation, store call (with its duration) and store failure; ReasonCode gives a
// refusal's label for metrics. The modules otelmetrics and prommetrics are ready-made hooks. The
// logger (slog.Default() unless WithLogger) writes reuse detection, store failures and
// configuration warnings at Warn and everything else at Debug, without the subject unless
// WithSubjectInLogs.
//
// # Where things go
//
// Files are arranged by rule, so the file of any rule can be named without searching:
//
//   - options.go: every Option (and IssueOption, RefreshOption, MemoryOption) with the default
//     it documents, and the checks of their combination; options_http.go: the HTTP-only ones
//     (token sources, cookies, trusted origins, realm, size); options_dpop.go: DPoP's.
//   - errors.go: every sentinel and error type, and errorTable, the one table that gives each
//     sentinel its reason code, description, HTTP status and OAuth 2.0 error code. Problem,
//     RPCStatus, Reason, ReasonCode and the events read it; nothing else decides an answer.
//   - http_*.go: the HTTP contract, and (with options_http.go, whose WithSameSite takes an
//     http.SameSite) the only files that import net/http: http_request.go reads a request
//     (the Request view, access-token extraction), http_credentials.go reads login and refresh
//     credentials, http_response.go writes answers (Response, Problem, token responses),
//     http_serve.go holds the Serve* handlers, http_crossorigin.go the cross-origin (CSRF)
//     decision for cookie credentials and cookie-only mode (net/http's CrossOriginProtection), and http_adapter.go the type HTTP that Manager.HTTP returns to adapters
//     (AuthenticateContext).
//   - one file per concept of the token life: keys.go (key sets, kid selection, rotation),
//     keysource.go (keys of another issuer), issuers.go (several issuers: selection by the
//     unverified iss, the resolver's bounded cache), http_resource.go (RFC 9728), publish.go (our public keys as a JWK Set, the key
//     ring's included), claims.go and scope.go (claims), claims_own.go (the claims of the Manager's
//     own layout, read by comparison with it), verify.go (verification, calling the
//     verified-token cache of cache.go), issue.go (minting, size limits), refresh.go (rotation,
//     the refresh hook), revoke.go, sessions.go, authorize.go, events.go, context.go.
//   - connections.go: connections bound to their token (Bind, the deadline heap and its
//     goroutine, revocation announcements); streams.go: their wire contract (end reasons,
//     WebSocket close codes, SSE, the reauthentication message), with no net/http.
//   - store.go: the Store interface and the optional KeyRingStore, RevocationNotifier and
//     ShardedStore (core/storetest: the conformance suite every store runs); memstore.go: the
//     default store (memstore_keyring.go: its key rings); storeguard.go: deadlines and the
//     circuit breaker around every store call.
//   - keyring.go: the key ring of WithKeyRotation (lifecycle, schedule, emergency retirement;
//     publish.go publishes it); keyring_sync.go: its rotation and synchronisation through the store;
//     keyring_seal.go: its keys at rest (AES-GCM) and signing through KeySigners.
//   - dpop.go: DPoP (RFC 9449): proof checks, key thumbprints, stateless nonces, the binding
//     decisions at login, refresh and on every request, and the optional DPoPReplayStore
//     (memstore_dpop.go: the memory store's bounded replay records); http_dpop.go: the DPoP
//     authorization scheme and the optional RequestTarget (method and URL) of a Request;
//     options_dpop.go: its options.
//   - jsonscan.go: the strict JSON scanner; unsafe.go: the package's only use of unsafe.
//
// A new concern (a new credential type, a new key source, a new store) gets a file or package
// named for it, at the layer it belongs to: its options still go to options.go, its sentinels
// to errors.go with a row of errorTable, and its HTTP handling to an http_*.go file.
//
// # Security notes
//
// Keep access tokens short. Prefer the HttpOnly refresh cookie (HTTP.LoginResponse with the header
// "X-Refresh-Transport: cookie") for browsers: a refresh token held by page script is exposed to
// XSS. WithCookieOnly goes further: the access token is an HttpOnly cookie too, no token reaches
// page scripts, and every unsafe request from another origin is refused. Use different secrets of at least 32 random bytes for access and refresh tokens, or
// asymmetric keys for access tokens when other services verify them.
package core
