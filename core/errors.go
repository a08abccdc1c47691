package core

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// Sentinel errors. Every error the Manager returns matches exactly one of the token sentinels below
// with errors.Is (ErrIssuer, ErrAudience, ErrExpMissing and ErrLifetime also match ErrClaims), and
// where golang-jwt has a sentinel for the same failure it is in the chain too, so
// errors.Is(err, jwt.ErrTokenExpired) keeps working for code written against golang-jwt.
//
// The HTTP answer for each is decided once, in Manager.Problem; the adapters only write it.
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

	// ErrInvalidConfig: New or an option was given a configuration that cannot work safely.
	ErrInvalidConfig = errors.New("jwtexp: invalid config")
)

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

// sentinelReason is the default short reason for a sentinel, used when an error carries no
// tokenError (for example an error a custom hook returned).
func sentinelReason(kind error) string {
	switch kind {
	case ErrRequestCanceled:
		return "request canceled"
	case ErrTokenMissing:
		return "missing bearer token"
	case ErrInvalidRequest:
		return "invalid request"
	case ErrTokenMalformed:
		return "malformed token"
	case ErrSignature:
		return "invalid signature"
	case ErrTokenExpired:
		return "token expired"
	case ErrTokenNotYetValid:
		return "token not yet valid"
	case ErrExpMissing:
		return "missing exp claim"
	case ErrIssuer:
		return "invalid issuer"
	case ErrAudience:
		return "invalid audience"
	case ErrLifetime:
		return "token lifetime too long"
	case ErrClaims:
		return "invalid claims"
	case ErrTokenType:
		return "wrong token type"
	case ErrTokenRevoked:
		return "token revoked"
	case ErrRefreshReused:
		return "refresh token reused"
	case ErrInvalidCredentials:
		return "invalid username or password"
	case ErrInvalidGrant:
		return "invalid refresh token"
	case ErrInsufficientUserAuthentication:
		return "more recent authentication is required"
	case ErrInsufficientScope:
		return "insufficient scope"
	case ErrStoreUnavailable:
		return "service temporarily unavailable"
	}
	return "invalid token"
}
