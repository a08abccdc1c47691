package benchmarks_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/jwtexp/jwtexp/core"
)

// Benchmark-only key material and claims. Never use these secrets anywhere else.
var (
	accessSecret  = []byte("bench-access-secret-0123456789abcdef")
	refreshSecret = []byte("bench-refresh-secret-0123456789abcdef")
)

const (
	issuer   = "jwtexp-bench"
	audience = "jwtexp-bench-api"
	subject  = "alice"
	// garbage is three base64url segments ("garbage" each) that are not a JWS.
	garbage = "Z2FyYmFnZQ.Z2FyYmFnZQ.Z2FyYmFnZQ"
)

// asymmetricKeys are generated once per process: RSA-2048, ECDSA P-256, Ed25519.
var asymmetricKeys = sync.OnceValue(func() map[string]crypto.Signer {
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{"RS256": rs, "ES256": ec, "EdDSA": ed}
})

// fixture is everything one algorithm's benchmarks share: the jwtexp Manager that verifies, the
// key material the peers verify with, and the Authorization header of each case.
type fixture struct {
	alg string
	// m verifies: defaults everywhere (memory store, revocation check on, leeway 0, 15-minute
	// access tokens, slog.Default logger, the verified-token cache), plus the issuer, audience
	// and keys.
	m *core.Manager
	// noCache is m with core.WithVerifiedCache(0): the cost of a token the Manager has not
	// verified before.
	noCache *core.Manager
	// verifyKey is what a golang-jwt, go-jose or jwx verifier takes: the HMAC secret or the public
	// key.
	verifyKey any
	// privatePEM and publicPEM are the RSA key in PEM (gin-jwt's built-in RS256 configuration).
	privatePEM, publicPEM []byte
	// authorization maps a case name to the Authorization header value of its request.
	authorization map[string]string
}

// newFixture builds the fixture of alg with freshly issued tokens (they live 15 minutes, longer
// than one algorithm's benchmarks take even at -count 10) and closes the Manager after b.
func newFixture(b *testing.B, alg string) *fixture {
	b.Helper()
	fx := &fixture{alg: alg}
	var key core.Key
	if alg == "HS256" {
		key = core.Key{Secret: accessSecret}
		fx.verifyKey = accessSecret
	} else {
		priv := asymmetricKeys()[alg]
		key = core.Key{Private: priv}
		fx.verifyKey = priv.Public()
		if rs, ok := priv.(*rsa.PrivateKey); ok {
			fx.privatePEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rs)})
			der, err := x509.MarshalPKIXPublicKey(&rs.PublicKey)
			if err != nil {
				b.Fatal(err)
			}
			fx.publicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
	}
	opts := func(extra ...core.Option) []core.Option {
		return append([]core.Option{
			core.WithAccessKeys(key), core.WithRefreshKeys(core.Key{Secret: refreshSecret}),
			core.WithIssuer(issuer), core.WithAudience(audience),
		}, extra...)
	}
	newManager := func(extra ...core.Option) *core.Manager {
		m, err := core.New(opts(extra...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close() })
		return m
	}
	fx.m = newManager()
	fx.noCache = newManager(core.WithVerifiedCache(0))

	// The tokens are issued by separate Managers with the same keys (logging off, so that setup
	// prints nothing): the verifying Manager's store holds no session, as on a server that did
	// not issue the token itself; the revocation lookup still runs on every request.
	issue := func(now func() time.Time) string {
		im, err := core.New(opts(core.WithClock(now), core.WithLogger(nil))...)
		if err != nil {
			b.Fatal(err)
		}
		defer im.Close()
		p, err := im.Issue(context.Background(), subject, nil)
		if err != nil {
			b.Fatal(err)
		}
		return p.AccessToken
	}
	fx.authorization = map[string]string{
		"valid":   "Bearer " + issue(time.Now),
		"expired": "Bearer " + issue(func() time.Time { return time.Now().Add(-time.Hour) }),
		"garbage": "Bearer " + garbage,
	}
	return fx
}

// noCache returns the cache-less Manager of fx.
func noCache(fx *fixture) *core.Manager { return fx.noCache }

// strictClaims is what the golang-jwt v5 based peers (echo-jwt, gofiber/contrib/jwt) decode into.
// Neither middleware lets parser options through, so exp, iss and aud are required by the
// ClaimsValidator hook golang-jwt calls after its own checks: the most these peers can be told to
// check without replacing their parsing.
type strictClaims struct {
	jwtv5.RegisteredClaims
}

var (
	errNoExp    = errors.New("exp is required")
	errIssuer   = errors.New("wrong issuer")
	errAudience = errors.New("wrong audience")
)

// Validate implements jwtv5.ClaimsValidator.
func (c *strictClaims) Validate() error {
	if c.ExpiresAt == nil {
		return errNoExp
	}
	if c.Issuer != issuer {
		return errIssuer
	}
	if !slices.Contains(c.Audience, audience) {
		return errAudience
	}
	return nil
}

// discard is a ResponseWriter that keeps nothing but the status, so that the benchmark measures
// the framework and the middleware, not httptest.ResponseRecorder.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header { return d.h }

func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(p), nil
}

func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

// httpTarget is the target of an http.Handler (net/http, Gin, Echo): httpRunner in process, an
// http.Server on the listener end to end.
func httpTarget(h http.Handler) target {
	return target{
		newRunner: func(auth string) runner { return httpRunner(h, auth) },
		listen: func(ln net.Listener) func() {
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			return func() { _ = srv.Close(); <-done }
		},
	}
}

// httpRunner serves GET /api/me with the given Authorization header through h (net/http, Gin and
// Echo all implement http.Handler), reusing the request and the writer. The header map is
// cleared before each request, as a server starts every response with an empty one.
func httpRunner(h http.Handler, authorization string) runner {
	req, err := http.NewRequest(http.MethodGet, "http://bench.example/api/me", nil)
	if err != nil {
		panic(err)
	}
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("Authorization", authorization)
	w := &discard{h: http.Header{}}
	return runner{
		serve: func() {
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, req)
		},
		status: func() int {
			if w.status == 0 {
				return http.StatusOK
			}
			return w.status
		},
	}
}
