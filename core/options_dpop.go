package core

import (
	"net/url"
	"strings"
	"time"
)

// Defaults and bounds of the DPoP options (RFC 9449). Each is repeated in the doc comment of the
// option that changes it.
const (
	// DefaultDPoPProofWindow is how old a DPoP proof's iat may be (plus the Manager's leeway).
	DefaultDPoPProofWindow = time.Minute
	// MaxDPoPProofWindow bounds WithDPoPProofWindow: a long window keeps pre-computed proofs
	// usable and the replay cache large.
	MaxDPoPProofWindow = 5 * time.Minute
	// DPoPFutureSkew is how far in the future a proof's iat may lie (plus the Manager's
	// leeway): a client whose clock runs a little ahead is not refused.
	DPoPFutureSkew = 5 * time.Second
	// DefaultDPoPNonceStep is how long one server nonce is current; a nonce is accepted during
	// its step and the next one, so a nonce handed out just before a step ends stays usable.
	DefaultDPoPNonceStep = 5 * time.Minute
	// MaxDPoPProofSize bounds the DPoP header's value; the embedded jwk is bounded on its own
	// (an RSA modulus of at most 4096 bits).
	MaxDPoPProofSize = 4 << 10
	// DefaultMaxDPoPProofs bounds MemoryStore's DPoP replay cache: a million live proofs, about
	// a thousand a second for the proof window of a minute plus its leeway (see
	// WithMaxDPoPProofs).
	DefaultMaxDPoPProofs = 1 << 20
)

type dpopMode uint8

const (
	dpopAllowed dpopMode = iota
	dpopRequired
	dpopOff
)

// dpopConfig is the DPoP part of config.
type dpopConfig struct {
	mode        dpopMode
	window      time.Duration
	nonces      bool   // WithDPoPNonce or WithDPoPNonceKey
	nonceKey    []byte // WithDPoPNonceKey; nil: derived from the refresh signing key
	nonceStep   time.Duration
	publicURL   string // WithDPoPPublicURL as given, for messages
	scheme      string // of publicURL; "": the request's
	host        string // of publicURL, lower case, default port dropped; "": the request's
	replayStore bool   // set by New: the store implements DPoPReplayStore
}

func defaultDPoP() dpopConfig {
	return dpopConfig{window: DefaultDPoPProofWindow, nonceStep: DefaultDPoPNonceStep}
}

// WithDPoPRequired makes DPoP (RFC 9449) mandatory: a login or refresh without a valid DPoP
// proof is refused (400 invalid_dpop_proof), and an access token that is not bound to a DPoP key
// is refused (401 invalid_token), so every token in use is sender-constrained. The store must
// implement DPoPReplayStore (MemoryStore and redisstore.Store do), or New fails.
//
// Default: DPoP allowed. A login or refresh carrying a valid proof gets tokens bound to the
// proof's key (token_type "DPoP"); one without gets Bearer tokens; a bound token is accepted only
// with a fresh proof of its key.
func WithDPoPRequired() Option {
	return func(c *config) error { c.dpop.mode = dpopRequired; return nil }
}

// WithoutDPoP turns DPoP off: DPoP headers are ignored at login and refresh (Bearer tokens are
// issued), the DPoP authorization scheme is not a credential, and a DPoP-bound token (from an
// earlier configuration) is refused, since its proof can no longer be checked. Default: DPoP
// allowed (see WithDPoPRequired).
func WithoutDPoP() Option {
	return func(c *config) error { c.dpop.mode = dpopOff; return nil }
}

// WithDPoPProofWindow sets how old a DPoP proof may be: a proof is accepted while its iat is at
// most d (plus the leeway of WithLeeway) in the past and at most DPoPFutureSkew (plus the leeway)
// in the future. Replay records live exactly that long. Default: 1 minute; at most 5 minutes.
func WithDPoPProofWindow(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > MaxDPoPProofWindow {
			return configError("WithDPoPProofWindow: %v is not in (0, %v]", d, MaxDPoPProofWindow)
		}
		c.dpop.window = d
		return nil
	}
}

// WithDPoPNonce turns server-provided DPoP nonces on (RFC 9449 §8): every proof must carry a
// nonce the server handed out in a DPoP-Nonce header, else it is refused with use_dpop_nonce and
// a fresh nonce. Nonces are stateless: an HMAC of the current time step (DefaultDPoPNonceStep)
// under a key derived from the refresh-token signing key, so every instance sharing the keys
// accepts the others' nonces without sharing state. A nonce is accepted during its step and the
// next. A proof made with a nonce cannot have been computed before the nonce existed, which
// bounds pre-computed proofs (RFC 9449 §11.2). With WithKeyRotation, WithKeySigners or a
// verification-only Manager there is no fixed signing key to derive from: use WithDPoPNonceKey.
// Default: off.
func WithDPoPNonce() Option {
	return func(c *config) error { c.dpop.nonces = true; return nil }
}

// WithDPoPNonceKey turns server nonces on (see WithDPoPNonce) with key as the HMAC key, which
// must be at least 32 bytes and the same on every instance.
func WithDPoPNonceKey(key []byte) Option {
	return func(c *config) error {
		if len(key) < 32 {
			return configError("WithDPoPNonceKey: key of %d bytes, want at least 32", len(key))
		}
		c.dpop.nonces, c.dpop.nonceKey = true, append([]byte(nil), key...)
		return nil
	}
}

// WithDPoPPublicURL states the scheme and host clients use to reach this server, as in
// "https://api.example.com", for the htu check of DPoP proofs (RFC 9449 §4.3): the proof names
// the URL the client called, which behind a TLS-terminating proxy or load balancer is not the
// one the server sees. The request's path is compared as received; query and fragment are never
// compared.
//
// Default: the scheme of the connection the server accepted ("https" over TLS, else "http") and
// the request's Host header. Forwarded, X-Forwarded-Proto or X-Forwarded-Host headers are never
// read: any client can send them.
func WithDPoPPublicURL(origin string) Option {
	return func(c *config) error {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return configError("WithDPoPPublicURL: %q is not an origin such as https://api.example.com", origin)
		}
		c.dpop.publicURL, c.dpop.scheme, c.dpop.host = origin, u.Scheme, normalHost(u.Scheme, u.Host)
		return nil
	}
}

// WithDPoPKey binds the session Issue starts to the DPoP key with the given JWK SHA-256
// thumbprint (RFC 7638, base64url): both tokens carry it as cnf.jkt (RFC 9449 §6.1) and every
// refresh must prove possession of the key (see WithRefreshDPoPKey). HTTP.ServeLogin passes the
// thumbprint of the request's verified DPoP proof; call it yourself only with the thumbprint of
// a proof you verified. An empty thumbprint binds nothing; one that is not 43 base64url
// characters makes Issue fail with ErrDPoPProof.
func WithDPoPKey(thumbprint string) IssueOption {
	return func(o *issueOptions) { o.dpopKey = thumbprint }
}

// WithRefreshDPoPKey says that the refresh request proved possession of the DPoP key with the
// given thumbprint; a refresh token bound to a key is refused without it (see Refresh).
// HTTP.ServeRefresh passes the thumbprint of the request's verified DPoP proof.
func WithRefreshDPoPKey(thumbprint string) RefreshOption {
	return func(o *refreshOptions) { o.dpopKey = thumbprint }
}

// validateDPoP checks the DPoP options against each other.
func (c *config) validateDPoP() []error {
	d := &c.dpop
	if d.mode == dpopOff && (d.nonces || d.publicURL != "") {
		return []error{configError("WithoutDPoP with DPoP options (WithDPoPNonce, WithDPoPPublicURL): drop one or the other")}
	}
	if d.nonces && d.nonceKey == nil && (c.ring.period > 0 || c.ring.signers != nil || c.verificationOnly()) {
		return []error{configError("WithDPoPNonce without a fixed refresh signing key to derive the nonce key from: use WithDPoPNonceKey")}
	}
	return nil
}

// normalHost lower-cases host and drops the scheme's default port (RFC 3986 §6.2.2.1, §6.2.3).
func normalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

// WithMaxDPoPProofs bounds the DPoP replay records the memory store keeps (see
// MemoryStore.MarkDPoPProof): past n live records, proofs are refused (503) until records
// expire, never forgotten early. Size it to the proofs a second you serve times the proof window
// (WithDPoPProofWindow plus the leeway). n <= 0 is ignored. Default: DefaultMaxDPoPProofs.
func WithMaxDPoPProofs(n int) MemoryOption {
	return func(s *MemoryStore) {
		if n > 0 {
			s.proofs.max = n
		}
	}
}
