package core

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sentinel errors. Every error the Manager returns matches exactly one of the token sentinels below
// with errors.Is (ErrIssuer, ErrAudience, ErrExpMissing and ErrLifetime also match ErrClaims), and
// where golang-jwt has a sentinel for the same failure it is in the chain too, so
// errors.Is(err, jwt.ErrTokenExpired) keeps working for code written against golang-jwt.
//
// What each sentinel answers - its reason code, its default description, its HTTP status and its
// OAuth 2.0 / RFC 6750 error code - is one row of errorTable below: Problem, Reason, ReasonCode and
// the events read that table and nothing else, and the adapters only write what Problem decided.
var (
	// ErrTokenMissing: the request carries no credential. HTTP 401 with a bare Bearer challenge
	// (RFC 6750 §3.1: no error code when authentication information is absent).
	ErrTokenMissing = errors.New("jwtexp: token missing")

	// ErrInvalidRequest: the request carries more than one credential (two Authorization headers,
	// header and cookie, ...) or a malformed Authorization header. HTTP 400 invalid_request.
	ErrInvalidRequest = errors.New("jwtexp: invalid request")

	// ErrTokenMalformed: not a compact JWS of three base64url segments with JSON object header and
	// claims, a duplicate member name, bad JSON, or larger than the size limit. HTTP 401.
	ErrTokenMalformed = errors.New("jwtexp: token malformed")

	// ErrSignature: the signature does not verify, the header's alg is not the algorithm of the
	// selected key (including "none"), the kid names no configured key, or the header carries a
	// critical extension (crit) this library does not understand. HTTP 401.
	ErrSignature = errors.New("jwtexp: signature invalid")

	// ErrTokenExpired: the clock is at or past exp plus leeway (RFC 7519 §4.1.4). HTTP 401.
	ErrTokenExpired = errors.New("jwtexp: token expired")

	// ErrTokenNotYetValid: the clock is before nbf minus leeway (RFC 7519 §4.1.5), or iat lies in
	// the future beyond the leeway. HTTP 401.
	ErrTokenNotYetValid = errors.New("jwtexp: token not yet valid")

	// ErrClaims: a registered claim is missing, of the wrong JSON type, out of range, or does not
	// match the configuration. The more specific errors below match it too. HTTP 401.
	ErrClaims = errors.New("jwtexp: invalid claims")

	// ErrExpMissing: the token has no exp. Tokens that never expire are never accepted. HTTP 401.
	ErrExpMissing = &subError{msg: "jwtexp: exp claim missing", parent: ErrClaims}

	// ErrIssuer: iss differs from the configured issuer (RFC 7519 §4.1.1). HTTP 401.
	ErrIssuer = &subError{msg: "jwtexp: issuer mismatch", parent: ErrClaims}

	// ErrAudience: aud does not contain the configured audience (RFC 7519 §4.1.3). HTTP 401.
	ErrAudience = &subError{msg: "jwtexp: audience mismatch", parent: ErrClaims}

	// ErrLifetime: the token was minted to live longer than the configured maximum lifetime
	// (exp - iat, or exp - now without iat, above the cap plus leeway). A correctly signed token
	// meant to live for years is refused. HTTP 401.
	ErrLifetime = &subError{msg: "jwtexp: token lifetime exceeds maximum", parent: ErrClaims}

	// ErrTokenType: a refresh token presented as an access token or the reverse (RFC 8725 §3.11).
	// HTTP 401.
	ErrTokenType = errors.New("jwtexp: wrong token type")

	// ErrTokenRevoked: the jti is on the denylist, the session (sid) was logged out, or the subject
	// was cut off after the token was issued. HTTP 401.
	ErrTokenRevoked = errors.New("jwtexp: token revoked")

	// ErrRefreshReused: a refresh token that was already rotated was presented again, outside
	// the grace window. The whole family (session) has been revoked (RFC 9700 §4.14.2). HTTP 400
	// invalid_grant.
	ErrRefreshReused = errors.New("jwtexp: refresh token reused")

	// ErrInvalidGrant wraps every refusal of a refresh request (bad, expired, revoked, reused or
	// missing refresh token, malformed refresh request), so the refresh endpoint answers 400 with
	// RFC 6749 §5.2's code invalid_grant whatever the cause; the cause stays in the chain.
	// ErrInvalidCredentials (a refused login) matches it too but answers 401.
	ErrInvalidGrant = errors.New("jwtexp: invalid grant")

	// ErrInsufficientScope: the token is valid but lacks a required scope, or its claims fail a
	// route's check (a role). HTTP 403 insufficient_scope, with the required scopes in the
	// challenge's scope parameter when scopes were required (RFC 6750 §3.1).
	ErrInsufficientScope = errors.New("jwtexp: insufficient scope")

	// ErrInsufficientUserAuthentication: the token is valid but the user's authentication is
	// older than the route allows (auth_time) or of another class (acr). HTTP 401
	// insufficient_user_authentication with max_age and/or acr_values in the challenge, so the
	// client can send the user to log in again (RFC 9470 §3).
	ErrInsufficientUserAuthentication = errors.New("jwtexp: insufficient user authentication")

	// ErrInvalidCredentials is what an application's login function returns (or wraps) when the
	// username or password is wrong. It matches ErrInvalidGrant: HTTP 401 invalid_grant "invalid
	// username or password" (RFC 6749 §5.2). The description never says which of the two was
	// wrong.
	ErrInvalidCredentials = &subError{msg: "jwtexp: invalid username or password", parent: ErrInvalidGrant}

	// ErrTokenTooLarge: Issue or Refresh would mint a token larger than the maximum token size
	// (WithMaxTokenSize), which every request would then refuse. Nothing is issued; shrink the
	// custom claims or raise the limit. HTTP 500: it is the server's fault, not the client's.
	ErrTokenTooLarge = errors.New("jwtexp: token would exceed the maximum token size")

	// ErrStoreUnavailable: the store failed while a decision depended on it. The Manager fails
	// closed: the request is refused, never accepted. HTTP 503. The store's error is in the chain.
	ErrStoreUnavailable = errors.New("jwtexp: store unavailable")

	// ErrKeysUnavailable: the keys of a trusted issuer cannot be had - its key set expired and
	// could not be fetched again for longer than the key source keeps the last good set, or its
	// discovery failed. The Manager fails closed: the token is refused, never accepted, with HTTP
	// 503 temporarily_unavailable and Retry-After (not 401: the token may well be good, the client
	// should retry it rather than drop it). A KeySource or IssuerResolver returns an error
	// wrapping it; the source's error is in the chain.
	ErrKeysUnavailable = errors.New("jwtexp: issuer keys unavailable")

	// ErrIssuedUnderCutOff: Issue refused to start a session because the store reports a cut-off
	// that covers the current second - a data loss it has just found (a Redis restarted without
	// its data) refuses every token issued up to and including the second it was found in, since
	// iat has whole seconds. Tokens minted now would be refused at once, so none are handed out
	// and no session is recorded: HTTP 503 with Retry-After, and a login retried a second later
	// succeeds. It is no store failure: the circuit breaker does not count it.
	ErrIssuedUnderCutOff = errors.New("jwtexp: tokens issued now would fall under a cut-off; retry in a second")

	// ErrSessionChurn: Issue refused to start a session because so many of the subject's sessions
	// ended recently (by the session limit, logouts, reuse, "end my other sessions") that the
	// store keeps the most revocation marks it will keep for one subject
	// (WithSessionChurnLimit). Each ended session's mark lives one access-token lifetime, so
	// without this bound one holder of a password could grow the store with every login. No
	// session is recorded: HTTP 429 with Retry-After, the time until the oldest marks expire
	// (SessionChurnError carries it). It is no store failure.
	ErrSessionChurn = errors.New("jwtexp: too many sessions of this subject ended recently; retry later")

	// ErrSubjectEmpty is returned by Issue for an empty subject. It matches ErrClaims.
	ErrSubjectEmpty = &subError{msg: "jwtexp: subject is empty", parent: ErrClaims}

	// ErrReservedClaim is returned by Issue when the custom claims use a name the Manager writes
	// itself (iss, sub, aud, exp, nbf, iat, jti, sid, auth_time). It matches ErrClaims.
	ErrReservedClaim = &subError{msg: "jwtexp: custom claims use a reserved name", parent: ErrClaims}

	// ErrNoClaims is what CustomClaims (and each adapter's Custom) returns for a request without
	// verified claims: an anonymous request of the optional mode, a skipped route, or a route
	// without the middleware.
	ErrNoClaims = errors.New("jwtexp: no claims (anonymous request)")

	// ErrRequestCanceled: the caller's context was canceled (the client went away: net/http cancels
	// a request's context when its connection closes) before the store answered. It is not a store
	// failure: no EventStoreFailure is emitted and the circuit breaker does not count it. HTTP 503,
	// for whoever is still listening. A caller's deadline that passes first is different: the store
	// did not answer within the time the caller could give it, which is a store failure.
	ErrRequestCanceled = errors.New("jwtexp: request canceled")

	// ErrVerificationOnly is returned by Issue and Refresh of a verification-only Manager: one built
	// WithKeySource, or with WithAccessKeys whose active key is a public key (Key.Public) and no
	// refresh keys. It verifies tokens another service issues and has no key to sign with. Problem
	// answers it with 501 not_implemented.
	ErrVerificationOnly = errors.New("jwtexp: verification-only manager: tokens are issued by the key owner, not here")

	// ErrSessionNotFound is returned by EndSession for an id that is not one of the subject's
	// live sessions: unknown, ended, expired, or another subject's (the answer never tells these
	// apart). Problem answers it with 404 not_found.
	ErrSessionNotFound = errors.New("jwtexp: session not found")

	// ErrSessionsNotRecorded is returned by Sessions, EndSession and EndOtherSessions of a Manager
	// that records no sessions: one built WithoutRotation() (refresh tokens are then not kept in the
	// store) or a verification-only one. Problem answers it with 501 not_implemented.
	ErrSessionsNotRecorded = errors.New("jwtexp: sessions are not recorded: they need refresh-token rotation")

	// ErrReauthRefused: a bound connection (Manager.Bind) was handed a token that may not take
	// over from the one that opened it: it does not verify, or it belongs to another subject or
	// another session. The connection ends with this cause (the verification error, if any, is in
	// the chain); a WebSocket closes with 4003 (WebSocketClose). HTTP 401 invalid_token.
	ErrReauthRefused = errors.New("jwtexp: reauthentication refused")

	// ErrCrossOrigin: a browser sent the request on behalf of another origin (Fetch Metadata's
	// Sec-Fetch-Site, or an Origin header that is neither the server's own nor trusted), and the
	// request would act with a cookie the browser attached to it: an unsafe method of a protected
	// route in cookie-only mode (WithCookieOnly), or a logout with the refresh cookie; or its
	// answer would set cookies: a login in cookie-only mode or with "X-Refresh-Transport: cookie"
	// (login CSRF). It is the cross-site request forgery (CSRF) defence; the decision follows net/http's
	// CrossOriginProtection (WithTrustedOrigins, WithCrossOriginBypass). HTTP 403 forbidden,
	// without a challenge (the credential is not at fault). A refresh refused for it answers as
	// every refused refresh: 400 invalid_grant.
	ErrCrossOrigin = errors.New("jwtexp: cross-origin request refused")

	// ErrKeyFormat is returned by ParsePrivateKeyPEM, ParsePublicKeyPEM and LoadSigningKeyFile when the
	// input is not a usable key: no PEM block, an encrypted key, a key of the other kind (public where
	// a private one is wanted or the reverse), a key type JWS has no algorithm for here, an RSA key
	// under 2048 bits (RFC 7518 §3.3) or an unsupported curve. The message says which.
	ErrKeyFormat = errors.New("jwtexp: unusable key")

	// ErrInvalidConfig: New or an option was given a configuration that cannot work safely.
	ErrInvalidConfig = errors.New("jwtexp: invalid config")

	// ErrDPoPProof: a DPoP proof (RFC 9449 §4) was missing where one is required, or refused:
	// malformed, wrong typ, an algorithm outside the allow-list, a private or oversized jwk, a bad
	// signature, another method or URL, an iat outside the proof window, a wrong ath, a replayed
	// jti, or a key other than the one the token is bound to. A protected route answers 401
	// with WWW-Authenticate: DPoP error="invalid_dpop_proof" (RFC 9449 §7.1); login and refresh
	// answer 400 invalid_dpop_proof (RFC 9449 §5).
	ErrDPoPProof = errors.New("jwtexp: invalid DPoP proof")

	// ErrDPoPNonce: the DPoP proof carried no nonce, or one that is no longer current, while
	// server nonces are on (WithDPoPNonce). The answer carries a fresh nonce in the DPoP-Nonce
	// header: 401 with WWW-Authenticate: DPoP error="use_dpop_nonce" on a protected route, 400
	// use_dpop_nonce at login and refresh (RFC 9449 §8).
	ErrDPoPNonce = errors.New("jwtexp: DPoP nonce required")

	// ErrDPoPBinding: the access token and the way it was presented disagree: a DPoP-bound
	// token (cnf.jkt) sent as a Bearer token or read from a cookie, header or query parameter
	// (RFC 9449 §7.2), an unbound token sent with the DPoP scheme, an unbound token where
	// WithDPoPRequired is set, or a bound token at a Manager that cannot check proofs. 401
	// invalid_token with a DPoP challenge. At refresh, a refresh token bound to a key the
	// request proves no possession of is refused as ErrInvalidGrant with this cause.
	ErrDPoPBinding = errors.New("jwtexp: DPoP binding mismatch")
)

// LoginRepeatedError is what Store.CreateFamily returns for a family that repeats a login it
// already recorded (the same subject and Family.LoginKey, within SessionLimit.LoginRetryWindow):
// nothing was written, and Family is the session the first attempt created. Issue then answers
// with that session's tokens. It is no store failure.
type LoginRepeatedError struct {
	Family Family
}

// Error says that the login repeated an earlier attempt; it names no token or key.
func (e *LoginRepeatedError) Error() string {
	return "jwtexp: login repeated with its Idempotency-Key: the session of the first attempt"
}

// errIssuedUnderCutOff is the MemoryStore's answer to a family whose tokens a cut-off of the
// subject already covers.
var errIssuedUnderCutOff = fmt.Errorf("create family: the subject's cut-off covers its iat: %w", ErrIssuedUnderCutOff)

// SessionChurnError is what Store.CreateFamily returns when the subject has ended
// SessionLimit.MaxEnded sessions within the current window: nothing was written, and no new
// session of the subject is started before RetryAt, when the window's count expires. It matches
// ErrSessionChurn.
type SessionChurnError struct {
	RetryAt time.Time
}

// Error is ErrSessionChurn's message.
func (e *SessionChurnError) Error() string { return ErrSessionChurn.Error() }

// Unwrap returns ErrSessionChurn.
func (e *SessionChurnError) Unwrap() error { return ErrSessionChurn }

// subError is a sentinel that also matches a broader sentinel.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// tokenError is what verification returns: one sentinel (kind), a fixed short reason that is safe to
// show a client, and optionally golang-jwt's sentinel and a cause for errors.Is and logs. Its message
// never contains the token, a secret or a key.
type tokenError struct {
	kind   error  // one of the sentinels above
	reason string // fixed text, safe for error_description
	jwtErr error  // golang-jwt's sentinel for the same failure, or nil
	cause  error  // underlying error (store, base64, ...), or nil
	params string // extra challenge parameters, `, scope="admin"` (authorization refusals), or ""
	chain  []error
}

func (e *tokenError) Error() string {
	msg := e.kind.Error()
	if e.reason != "" && e.reason != sentinelReason(e.kind) {
		msg += ": " + e.reason
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the chain built once at construction: errors.Is calls it for every sentinel it
// tries, and a rejected request asks several times.
func (e *tokenError) Unwrap() []error { return e.chain }

// withChain fills e.chain from its parts and returns e.
func (e *tokenError) withChain() *tokenError {
	e.chain = append(make([]error, 0, 3), e.kind)
	if e.jwtErr != nil {
		e.chain = append(e.chain, e.jwtErr)
	}
	if e.cause != nil {
		e.chain = append(e.chain, e.cause)
	}
	return e
}

func newTokenError(kind error, reason string, jwtErr error) *tokenError {
	return (&tokenError{kind: kind, reason: reason, jwtErr: jwtErr}).withChain()
}

// Pre-built errors for the hot rejection paths, so a flood of bad tokens costs no allocation.
var (
	errTooLarge       = newTokenError(ErrTokenMalformed, "token too large", jwt.ErrTokenMalformed)
	errFormat         = newTokenError(ErrTokenMalformed, "malformed token", jwt.ErrTokenMalformed)
	errHeader         = newTokenError(ErrTokenMalformed, "malformed token header", jwt.ErrTokenMalformed)
	errPayload        = newTokenError(ErrTokenMalformed, "malformed token claims", jwt.ErrTokenMalformed)
	errDuplicate      = newTokenError(ErrTokenMalformed, "duplicate member in token", jwt.ErrTokenMalformed)
	errAlgNone        = newTokenError(ErrSignature, "unsigned token", jwt.ErrTokenUnverifiable)
	errAlgMismatch    = newTokenError(ErrSignature, "algorithm not allowed", jwt.ErrTokenSignatureInvalid)
	errUnknownKid     = newTokenError(ErrSignature, "unknown key id", jwt.ErrTokenUnverifiable)
	errCrit           = newTokenError(ErrSignature, "unsupported critical header", jwt.ErrTokenUnverifiable)
	errBadSignature   = newTokenError(ErrSignature, "invalid signature", jwt.ErrTokenSignatureInvalid)
	errExpired        = newTokenError(ErrTokenExpired, "token expired", jwt.ErrTokenExpired)
	errNotYetValid    = newTokenError(ErrTokenNotYetValid, "token not yet valid", jwt.ErrTokenNotValidYet)
	errIssuedInFuture = newTokenError(ErrTokenNotYetValid, "token issued in the future", jwt.ErrTokenUsedBeforeIssued)
	errExpMissing     = newTokenError(ErrExpMissing, "missing exp claim", jwt.ErrTokenRequiredClaimMissing)
	errIssuer         = newTokenError(ErrIssuer, "invalid issuer", jwt.ErrTokenInvalidIssuer)
	errAudience       = newTokenError(ErrAudience, "invalid audience", jwt.ErrTokenInvalidAudience)
	// errUntrustedIssuer: an iss that is neither a trusted issuer nor one the resolver accepts.
	errUntrustedIssuer = newTokenError(ErrIssuer, "untrusted issuer", jwt.ErrTokenInvalidIssuer)
	// errNotATJWT: a trusted issuer in RFC 9068 mode sent a token whose typ is not at+jwt.
	errNotATJWT       = newTokenError(ErrTokenType, "not an access token (typ at+jwt required)", jwt.ErrTokenInvalidClaims)
	errLifetime       = newTokenError(ErrLifetime, "token lifetime too long", jwt.ErrTokenInvalidClaims)
	errTypeRefresh    = newTokenError(ErrTokenType, "refresh token used as access token", jwt.ErrTokenInvalidClaims)
	errTypeAccess     = newTokenError(ErrTokenType, "not a refresh token", jwt.ErrTokenInvalidClaims)
	errTypeUnknown    = newTokenError(ErrTokenType, "unexpected token type", jwt.ErrTokenInvalidClaims)
	errRefreshClaims  = newTokenError(ErrClaims, "missing refresh token claims", jwt.ErrTokenRequiredClaimMissing)
	errRevoked        = newTokenError(ErrTokenRevoked, "token revoked", nil)
	errSessionRevoked = newTokenError(ErrTokenRevoked, "session revoked", nil)
	errCutOff         = newTokenError(ErrTokenRevoked, "token revoked", nil)
	errReused         = newTokenError(ErrRefreshReused, "refresh token reused", nil)
	errMissing        = newTokenError(ErrTokenMissing, "missing bearer token", nil)
	errTwoCredentials = newTokenError(ErrInvalidRequest, "more than one credential in request", nil)
	errBadAuthHeader  = newTokenError(ErrInvalidRequest, "malformed authorization header", nil)
	errSessionEnded   = newTokenError(ErrTokenRevoked, "session ended", nil)
	errNoRefresh      = newTokenError(ErrTokenMissing, "missing refresh token", nil)
	errRefreshBody    = newTokenError(ErrInvalidRequest, "malformed refresh request", nil)
	errLoginBody      = newTokenError(ErrInvalidRequest, "malformed login request", nil)
	// errCrossOrigin refuses a request a browser sent on behalf of another origin with a cookie
	// that would authenticate it (CSRF): a cookie refresh or logout, or an unsafe method of a
	// protected route in cookie-only mode; or a login whose answer would set cookies (login CSRF).
	errCrossOrigin = newTokenError(ErrCrossOrigin, "cross-origin request refused", nil)
	// errReauthMismatch refuses a reauthentication token of another subject or session.
	errReauthMismatch = newTokenError(ErrReauthRefused, "reauthentication refused", nil)

	// DPoP (dpop.go): each refusal of a proof has a fixed reason of its own.
	errDPoPMissing      = newTokenError(ErrDPoPProof, "DPoP proof required", nil)
	errDPoPTwo          = newTokenError(ErrDPoPProof, "more than one DPoP proof", nil)
	errDPoPMalformed    = newTokenError(ErrDPoPProof, "malformed DPoP proof", nil)
	errDPoPTooLarge     = newTokenError(ErrDPoPProof, "DPoP proof too large", nil)
	errDPoPType         = newTokenError(ErrDPoPProof, "DPoP proof typ is not dpop+jwt", nil)
	errDPoPAlg          = newTokenError(ErrDPoPProof, "DPoP proof algorithm not allowed", nil)
	errDPoPKey          = newTokenError(ErrDPoPProof, "unusable DPoP proof key", nil)
	errDPoPPrivate      = newTokenError(ErrDPoPProof, "private key in DPoP proof", nil)
	errDPoPCrit         = newTokenError(ErrDPoPProof, "unsupported critical header in DPoP proof", nil)
	errDPoPSignature    = newTokenError(ErrDPoPProof, "invalid DPoP proof signature", nil)
	errDPoPClaims       = newTokenError(ErrDPoPProof, "invalid DPoP proof claims", nil)
	errDPoPMethod       = newTokenError(ErrDPoPProof, "DPoP proof for another method", nil)
	errDPoPURL          = newTokenError(ErrDPoPProof, "DPoP proof for another URL", nil)
	errDPoPNoTarget     = newTokenError(ErrDPoPProof, "request method and URL unknown", nil)
	errDPoPOld          = newTokenError(ErrDPoPProof, "DPoP proof too old", nil)
	errDPoPFuture       = newTokenError(ErrDPoPProof, "DPoP proof issued in the future", nil)
	errDPoPAth          = newTokenError(ErrDPoPProof, "DPoP proof ath does not match the token", nil)
	errDPoPReplay       = newTokenError(ErrDPoPProof, "DPoP proof replayed", nil)
	errDPoPWrongKey     = newTokenError(ErrDPoPProof, "DPoP proof key does not match the token", nil)
	errDPoPNonceMissing = newTokenError(ErrDPoPNonce, "DPoP nonce required", nil)
	errDPoPNonceStale   = newTokenError(ErrDPoPNonce, "DPoP nonce expired or invalid", nil)
	errDPoPAsBearer     = newTokenError(ErrDPoPBinding, "DPoP-bound token sent without DPoP", nil)
	errDPoPUnbound      = newTokenError(ErrDPoPBinding, "token is not DPoP-bound", nil)
	errDPoPRequired     = newTokenError(ErrDPoPBinding, "DPoP-bound token required", nil)
	errDPoPUnchecked    = newTokenError(ErrDPoPBinding, "DPoP-bound token not accepted here", nil)
	errDPoPCnf          = claimTypeError("unsupported cnf claim")
	errDPoPKeyOption    = newTokenError(ErrDPoPProof, "WithDPoPKey: not a JWK SHA-256 thumbprint", nil)
	// errDPoPRefreshKey refuses a refresh whose refresh token is bound to a key the request
	// proves no possession of (no proof, or a proof by another key): 400 invalid_grant.
	errDPoPRefreshKey = newTokenError(ErrDPoPBinding, "refresh token is bound to another DPoP key", nil)
	// errDPoPScheme is extractProbe's signal that the Authorization header uses the DPoP scheme:
	// never an answer, the caller takes the DPoP path instead.
	errDPoPScheme = newTokenError(ErrInvalidRequest, "DPoP authorization scheme", nil)
)

// Plain errors: causes kept in a chain or answered as a 500, never a sentinel of their own.
var (
	errLoginInternal  = errors.New("jwtexp: login failed")
	errNilRequirement = errors.New("jwtexp: nil requirement")
	errBodyTooLarge   = errors.New("jwtexp: request body too large")
	// errNoSessionID is returned by CreateFamily for a family without a sid: such a family could
	// never be rotated or revoked, so accepting it would only hide a bug in the caller.
	errNoSessionID = errors.New("jwtexp: family has no session id")
	// errStoreDeadline is the cause of a store call that ran out of the Manager's own deadline.
	errStoreDeadline = errors.New("jwtexp: store call exceeded its deadline")
	// errTokenEndpointDPoP and errTokenEndpointNonce wrap a refused DPoP proof at login and
	// refresh (tokenEndpointError): the token endpoint answers 400, not the 401 of a protected
	// resource (RFC 9449 §5 and §8, RFC 6749 §5.2).
	errTokenEndpointDPoP  = errors.New("jwtexp: DPoP proof refused at the token endpoint")
	errTokenEndpointNonce = errors.New("jwtexp: DPoP nonce required at the token endpoint")
	// errDPoPReplayFull: the memory store's DPoP replay cache is full of live records; proofs
	// are refused (503) rather than a record dropped that would let a replay through.
	errDPoPReplayFull = errors.New("jwtexp: DPoP replay cache full")
	// errDPoPNoReplayStore: the store keeps no DPoP replay records (DPoPReplayStore).
	errDPoPNoReplayStore = errors.New("jwtexp: the store does not implement DPoPReplayStore")

	// errBreakerOpen is the error of a call the breaker refused without calling the store.
	errBreakerOpen = errors.New("jwtexp: store circuit open after repeated failures")
)

// claimTypeError reports a registered claim of the wrong JSON type or out of range.
func claimTypeError(reason string) *tokenError {
	return newTokenError(ErrClaims, reason, jwt.ErrTokenInvalidClaims)
}

// storeError wraps a store failure: fail closed.
func storeError(op string, err error) error {
	return (&tokenError{kind: ErrStoreUnavailable, reason: "service temporarily unavailable",
		cause: &opError{op: op, err: err}}).withChain()
}

type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// grantError marks err as a refusal of a refresh request (ErrInvalidGrant), keeping err in the chain
// and its short reason for the response. Store failures are not grant failures and pass unchanged.
func grantError(err error) error {
	if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrInvalidGrant) {
		return err
	}
	return &grantErr{err: err}
}

type grantErr struct{ err error }

func (e *grantErr) Error() string   { return ErrInvalidGrant.Error() + ": " + e.err.Error() }
func (e *grantErr) Unwrap() []error { return []error{ErrInvalidGrant, e.err} }

// errorRow is what one sentinel answers, everywhere: the reason code of metrics and events
// (ReasonCode; "" reports "other"), the default short description (Reason of an error that carries
// no fixed reason of its own, and error_description), the HTTP status and the OAuth 2.0 error code
// of the body and of the Bearer challenge (RFC 6750 §3.1, RFC 6749 §5.2, RFC 9470 §3).
type errorRow struct {
	kind   error
	code   string // ReasonCode; "": "other"
	desc   string // default error_description; "": "internal error"
	status int    // HTTP status Problem answers
	oauth  string // "error" member of the body
	// challenge is the WWW-Authenticate Bearer challenge of the answer (RFC 6750 §3).
	challenge challenge
	// class marks a sentinel that wraps the error that caused it (a store failure, a refused
	// refresh): its HTTP answer wins over the cause's, while Reason and ReasonCode name the cause.
	class bool
	// bare: Problem answers the sentinel with its row even when no error of this package carries
	// it (an application returned it); a token failure is answered as one only when this package
	// built it, anything else is a 500.
	bare bool
}

// challenge is what WWW-Authenticate an answer carries.
type challenge uint8

const (
	noChallenge   challenge = iota // none: the request is not refused for its bearer token
	bareChallenge                  // Bearer realm="..." alone: no credential (RFC 6750 §3.1), a refused login
	fullChallenge                  // with error, error_description and the requirement's parameters
	dpopChallenge                  // DPoP realm="...", error, error_description, algs (RFC 9449 §7.1)
)

// errorTable is the one table of sentinels, a row for each (TestEverySentinelHasARow). Order
// matters where an error matches several rows: the first matching row wins, so the narrower come
// before the broader (ErrExpMissing, ErrIssuer, ErrAudience, ErrLifetime, ErrSubjectEmpty and
// ErrReservedClaim match ErrClaims; ErrInvalidCredentials matches ErrInvalidGrant), and the
// answers that win over their cause (class) come before the token failures.
var errorTable = [...]errorRow{
	{kind: ErrVerificationOnly, desc: "this server only verifies tokens",
		status: 501, oauth: "not_implemented", bare: true},
	{kind: ErrSessionNotFound, desc: "session not found", status: 404, oauth: "not_found", bare: true},
	{kind: ErrSessionsNotRecorded, desc: "sessions are not recorded",
		status: 501, oauth: "not_implemented", bare: true},
	{kind: ErrRequestCanceled, code: "request_canceled", desc: "request canceled",
		status: 503, oauth: "temporarily_unavailable", class: true, bare: true},
	{kind: ErrStoreUnavailable, code: "store_unavailable", desc: "service temporarily unavailable",
		status: 503, oauth: "temporarily_unavailable", class: true, bare: true},
	{kind: ErrKeysUnavailable, code: "keys_unavailable", desc: "service temporarily unavailable",
		status: 503, oauth: "temporarily_unavailable", class: true, bare: true},
	{kind: ErrIssuedUnderCutOff, code: "cut_off_second", desc: "service temporarily unavailable",
		status: 503, oauth: "temporarily_unavailable", bare: true},
	{kind: ErrSessionChurn, code: "session_churn", desc: "too many sessions ended recently",
		status: 429, oauth: "temporarily_unavailable", bare: true},
	{kind: errTokenEndpointDPoP, desc: "invalid DPoP proof",
		status: 400, oauth: "invalid_dpop_proof", class: true, challenge: noChallenge},
	{kind: errTokenEndpointNonce, desc: "DPoP nonce required",
		status: 400, oauth: "use_dpop_nonce", class: true, challenge: noChallenge},
	{kind: ErrInvalidCredentials, code: "invalid_credentials", desc: "invalid username or password",
		status: 401, oauth: "invalid_grant", bare: true, challenge: bareChallenge},
	{kind: ErrInvalidGrant, desc: "invalid refresh token",
		status: 400, oauth: "invalid_grant", class: true, bare: true, challenge: noChallenge},
	{kind: ErrTokenMissing, code: "missing", desc: "missing bearer token",
		status: 401, oauth: "unauthorized", bare: true, challenge: bareChallenge},
	{kind: ErrCrossOrigin, code: "cross_origin", desc: "cross-origin request refused",
		status: 403, oauth: "forbidden", bare: true, challenge: noChallenge},
	{kind: ErrInvalidRequest, code: "invalid_request", desc: "invalid request",
		status: 400, oauth: "invalid_request", bare: true, challenge: fullChallenge},
	{kind: ErrInsufficientScope, code: "insufficient_scope", desc: "insufficient scope",
		status: 403, oauth: "insufficient_scope", bare: true, challenge: fullChallenge},
	{kind: ErrInsufficientUserAuthentication, code: "insufficient_user_authentication",
		desc: "more recent authentication is required", status: 401, oauth: "insufficient_user_authentication", bare: true, challenge: fullChallenge},
	{kind: ErrDPoPNonce, code: "dpop_nonce", desc: "DPoP nonce required",
		status: 401, oauth: "use_dpop_nonce", bare: true, challenge: dpopChallenge},
	{kind: ErrDPoPProof, code: "dpop_proof", desc: "invalid DPoP proof",
		status: 401, oauth: "invalid_dpop_proof", bare: true, challenge: dpopChallenge},
	{kind: ErrDPoPBinding, code: "dpop_binding", desc: "DPoP binding mismatch",
		status: 401, oauth: "invalid_token", bare: true, challenge: dpopChallenge},
	{kind: ErrReauthRefused, code: "reauth_refused", desc: "reauthentication refused",
		status: 401, oauth: "invalid_token", class: true, challenge: fullChallenge},
	{kind: ErrRefreshReused, code: "reused", desc: "refresh token reused",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrTokenRevoked, code: "revoked", desc: "token revoked",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrTokenMalformed, code: "malformed", desc: "malformed token",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrSignature, code: "bad_signature", desc: "invalid signature",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrTokenExpired, code: "expired", desc: "token expired",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrTokenNotYetValid, code: "not_yet_valid", desc: "token not yet valid",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrExpMissing, code: "exp_missing", desc: "missing exp claim",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrIssuer, code: "bad_issuer", desc: "invalid issuer",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrAudience, code: "bad_audience", desc: "invalid audience",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrLifetime, code: "lifetime_too_long", desc: "token lifetime too long",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrTokenType, code: "wrong_type", desc: "wrong token type",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrSubjectEmpty, code: "bad_claims", desc: "invalid claims",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrReservedClaim, code: "bad_claims", desc: "invalid claims",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	{kind: ErrClaims, code: "bad_claims", desc: "invalid claims",
		status: 401, oauth: "invalid_token", challenge: fullChallenge},
	// Not request failures: the application's or the operator's mistake, a 500 whose description
	// ("internal error") says nothing.
	{kind: ErrTokenTooLarge, status: 500, oauth: "server_error"},
	{kind: ErrNoClaims, status: 500, oauth: "server_error"},
	{kind: ErrKeyFormat, status: 500, oauth: "server_error"},
	{kind: ErrInvalidConfig, status: 500, oauth: "server_error"},
}

// defaultRows: a token failure of a kind without a row, and anything that is no failure of this
// package.
var (
	rowInvalidToken = errorRow{desc: "invalid token", status: 401, oauth: "invalid_token", challenge: fullChallenge}
	rowInternal     = errorRow{desc: "internal error", status: 500, oauth: "server_error"}
)

// rowOf is the row of kind, a sentinel itself (not an error wrapping one); nil if it has none.
func rowOf(kind error) *errorRow {
	for i := range errorTable {
		if errorTable[i].kind == kind {
			return &errorTable[i]
		}
	}
	return nil
}

// causeRow is the row that names what went wrong (Reason): the first row with a description err
// matches; a class (a wrapper such as ErrInvalidGrant) only when err matches nothing narrower, and
// then the last class it matches, the one nearest the cause (a refused grant inside a store
// failure); nil if err matches none.
func causeRow(err error) *errorRow {
	var class *errorRow
	for i := range errorTable {
		r := &errorTable[i]
		if r.desc == "" || !errors.Is(err, r.kind) {
			continue
		}
		if !r.class {
			return r
		}
		class = r
	}
	return class
}

// answerRow is the row whose status and code answer err (Problem): the first row err matches,
// where a token failure counts only when this package built it (a tokenError in the chain).
func answerRow(err error) *errorRow {
	if te, ok := err.(*tokenError); ok && te.cause == nil {
		// The common case, a refusal this package built: its chain is its kind and golang-jwt's
		// sentinel, which no row names, so its kind alone decides.
		if r, ok := answerOfKind[te.kind]; ok {
			return r
		}
	}
	return firstAnswerRow(err, isTokenError(err))
}

func firstAnswerRow(err error, token bool) *errorRow {
	for i := range errorTable {
		r := &errorTable[i]
		if (r.bare || token) && errors.Is(err, r.kind) {
			return r
		}
	}
	if token {
		return &rowInvalidToken
	}
	return &rowInternal
}

// answerOfKind is answerRow of a tokenError of each kind of the table, computed once.
var answerOfKind = func() map[error]*errorRow {
	m := make(map[error]*errorRow, len(errorTable))
	for _, r := range errorTable {
		m[r.kind] = firstAnswerRow(r.kind, true)
	}
	return m
}()

// sentinelReason is the default short reason for a sentinel (its row's description).
func sentinelReason(kind error) string {
	if r := rowOf(kind); r != nil {
		return r.desc
	}
	return rowInvalidToken.desc
}

// Reason returns the short, client-safe reason for an error of the Manager, as used in
// error_description ("token expired", "invalid signature", ...).
func Reason(err error) string {
	if te, ok := err.(*tokenError); ok {
		return te.reason
	}
	var te *tokenError
	if errors.As(err, &te) {
		return te.reason
	}
	if r := causeRow(err); r != nil {
		return r.desc
	}
	return rowInternal.desc
}

// ReasonCode returns a short, stable, low-cardinality code for why err refused a request, for
// metric labels and dashboards: "missing", "invalid_request", "malformed", "bad_signature",
// "expired", "not_yet_valid", "exp_missing", "bad_issuer", "bad_audience", "lifetime_too_long",
// "bad_claims", "wrong_type", "revoked", "reused", "reauth_refused" (a bound connection), "cross_origin" (a forged browser request), "insufficient_scope",
// "insufficient_user_authentication" (step-up), "invalid_credentials" (login), "store_unavailable",
// "request_canceled" (the client went away), or "other" for an error of none of these kinds (nil
// included). Unlike Reason it never varies with details of the token.
func ReasonCode(err error) string {
	if te, ok := err.(*tokenError); ok { // the common case: no walk of the chain
		if r := rowOf(te.kind); r != nil && r.code != "" {
			return r.code
		}
	}
	for i := range errorTable {
		if r := &errorTable[i]; r.code != "" && errors.Is(err, r.kind) {
			return r.code
		}
	}
	return "other"
}

// ReasonCodes lists every value ReasonCode returns, so that metrics can be created up front.
func ReasonCodes() []string {
	codes := make([]string, 0, len(errorTable)+1)
	for _, r := range errorTable {
		if r.code != "" && !slices.Contains(codes, r.code) {
			codes = append(codes, r.code)
		}
	}
	return append(codes, "other")
}

func isTokenError(err error) bool {
	if _, ok := err.(*tokenError); ok {
		return true
	}
	var te *tokenError
	return errors.As(err, &te)
}

// RPCStatus returns what an RPC adapter (grpcjwt, connectjwt) answers err with, read from the
// same table as Problem: code is the canonical status code gRPC and Connect share (the numbering
// of google.rpc.Code; codes.Code and connect.Code convert from it) and message the short
// client-safe reason (Reason), followed by the parameters of an authorization refusal as its
// challenge would carry them (scope="admin" per RFC 6750 §3.1; max_age, acr_values per RFC 9470
// §3). The message never contains the token, a secret or err.Error().
//
//   - a missing, invalid, expired, revoked or wrong-type token, a refused login, a step-up
//     refusal (HTTP 401): 16 Unauthenticated;
//   - insufficient scope or a failed claims predicate (403): 7 PermissionDenied;
//   - a refused refresh (400 invalid_grant) and a malformed request (400 invalid_request):
//     3 InvalidArgument. Not Unauthenticated, for the reason HTTP answers 400: a client that
//     refreshes on every Unauthenticated would take a refused refresh for one more expired
//     access token and refresh again, forever;
//   - the store failed (503): 14 Unavailable; the caller went away first: 1 Canceled;
//   - a login refused for the subject's session churn (429): 8 ResourceExhausted;
//   - ErrSessionNotFound: 5 NotFound; ErrVerificationOnly, ErrSessionsNotRecorded:
//     12 Unimplemented; anything else: 13 Internal "internal error".
func RPCStatus(err error) (code uint32, message string) {
	row := answerRow(err)
	switch {
	case row.kind == ErrRequestCanceled:
		code = 1
	case row.status == 401:
		code = 16
	case row.status == 403:
		code = 7
	case row.status == 400:
		code = 3
	case row.status == 404:
		code = 5
	case row.status == 501:
		code = 12
	case row.status == 503:
		code = 14
	case row.status == 429:
		code = 8
	default:
		return 13, rowInternal.desc
	}
	message = Reason(err)
	if params := challengeParams(err); params != "" {
		message += params // ", scope=\"admin\"": the challenge's own syntax
	}
	return code, message
}
