package core

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Manager verifies and issues tokens, refreshes and revokes sessions. Build it once with New and
// share it: it is immutable and safe for concurrent use by any number of goroutines and adapters.
type Manager struct {
	cfg         config
	access      *keySet
	refresh     *keySet
	store       Store
	ownStore    bool
	maxLifetime time.Duration // cap on exp - iat of access tokens
	logger      *slog.Logger
	jwks        []byte                         // JWK Set of the public access keys, built once (see JWKS)
	cache       *verifiedCache                 // verified access tokens; nil: off
	lastHeader  [2]atomic.Pointer[headerEntry] // the header segment of an access, a refresh token read last (readHeader)
	problemsMu  sync.RWMutex
	problems    map[problemKey]Response // error answers, built once each (see Problem)
	breaker     breaker                 // in front of the store (storeguard.go)
	shards      shardBreakers           // one breaker per shard of a ShardedStore (storeguard.go)
	mem         *MemoryStore            // the store, when it is a *MemoryStore: the guard is not needed
	http        HTTP                    // the adapters' side (see HTTP); http.m is the Manager
	ringStop    chan struct{}           // WithKeyRotation: closed by Close to stop the key ring's sync loop
	ringDone    chan struct{}           // closed when the loop has returned
	closeOnce   sync.Once
	conns       connRegistry // bound connections (connections.go)
	issuers     *issuerSet   // WithTrustedIssuers, WithIssuerResolver (issuers.go); nil: one issuer
	dpop        *dpopState   // DPoP (dpop.go); nil: off
	own         *ownLayout   // the layout of the claims this Manager mints (claims_own.go); nil: none
}

// New builds a Manager from options. It fails with an error matching ErrInvalidConfig that names
// the setting to change when the configuration cannot work safely: a missing key, issuer or
// audience; an HMAC secret shorter than its hash (32/48/64 bytes for HS256/384/512); an RSA key
// under 2048 bits; the same key for access and refresh tokens; a non-positive TTL; a refresh TTL
// shorter than the access TTL; a leeway over one minute; an unknown algorithm.
//
// Without WithStore the Manager keeps sessions and revocations in a MemoryStore of its own,
// which Close stops.
func New(opts ...Option) (*Manager, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, configError("nil option")
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	m, err := build(c)
	if err != nil {
		return nil, err
	}
	if err := m.initDPoP(); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// build makes the Manager of a validated configuration.
func build(c config) (*Manager, error) {
	if c.ring.period > 0 {
		m := newManager(c, nil, nil)
		if err := m.newRings(); err != nil {
			_ = m.Close()
			return nil, err
		}
		m.ringStop, m.ringDone = make(chan struct{}), make(chan struct{})
		go m.keyRingLoop(m.ringStop, m.ringDone)
		return m, nil
	}
	if c.verificationOnly() {
		access, refresh, err := verifyOnlyKeySets(&c)
		if err != nil {
			return nil, err
		}
		var issuers *issuerSet
		if c.trustedIssuers() {
			if issuers, err = newIssuerSet(&c); err != nil {
				return nil, err
			}
		}
		m := newManager(c, access, refresh)
		if issuers != nil {
			issuers.base = &m.cfg
			m.issuers = issuers
		}
		return m, nil
	}
	access, err := newKeySet("access", *c.accessKey, c.accessOlder)
	if err != nil {
		return nil, err
	}
	refresh, err := newKeySet("refresh", *c.refreshKey, c.refreshOlder)
	if err != nil {
		return nil, err
	}
	for _, a := range access.all() {
		for _, r := range refresh.all() {
			if sameSecret(a, r) {
				return nil, configError("access and refresh tokens use the same key: give each its own, so one can never pass as the other")
			}
		}
	}
	if access.active.signKey == nil || refresh.active.signKey == nil {
		return nil, configError("the active access and refresh keys must be able to sign: set Secret or Private")
	}
	return newManager(c, access, refresh), nil
}

// newManager builds the Manager of a checked configuration and its key sets.
func newManager(c config, access, refresh *keySet) *Manager {
	m := &Manager{cfg: c, access: access, refresh: refresh, store: c.store, maxLifetime: c.accessTTL}
	m.http.m = m
	m.own = newOwnLayout(c.issuer, c.audience)
	if c.maxLifetime > 0 {
		m.maxLifetime = c.maxLifetime
	}
	if m.store == nil {
		m.store, m.ownStore = NewMemoryStore(WithMemoryClock(c.now)), true
	}
	m.mem, _ = m.store.(*MemoryStore)
	m.shards.store, _ = m.store.(ShardedStore)
	if !c.cacheSet {
		c.cacheSize = DefaultVerifiedCacheSize
	}
	if c.keySource == nil && (c.ring.period > 0 || len(access.all()) > 0) { // a remote key set may withdraw a key at any time
		m.cache = newVerifiedCache(c.cacheSize)
	}
	m.logger = slog.Default()
	if c.loggerSet {
		m.logger = c.logger
	}
	if access != nil {
		m.jwks = buildJWKS(access)
	}
	m.configWarnings()
	return m
}

// Close ends every bound connection (Bind) with context.Canceled, stops the key ring's
// background sync (WithKeyRotation) and the MemoryStore the Manager created for itself, if any.
// A store passed with WithStore is left to its owner.
func (m *Manager) Close() error {
	m.closeConnections()
	m.closeOnce.Do(func() {
		if m.ringStop != nil {
			close(m.ringStop)
			<-m.ringDone
		}
	})
	if m.ownStore {
		return m.store.Close()
	}
	return nil
}

// AccessTTL is the lifetime of the access tokens this Manager issues.
func (m *Manager) AccessTTL() time.Duration { return m.cfg.accessTTL }

// RefreshTTL is the lifetime of one refresh token.
func (m *Manager) RefreshTTL() time.Duration { return m.cfg.refreshTTL }

// Leeway is the configured clock-skew tolerance.
func (m *Manager) Leeway() time.Duration { return m.cfg.leeway }

// Realm is the realm of this Manager's WWW-Authenticate challenges.
func (m *Manager) Realm() string { return m.cfg.realm }

// Store is the store sessions and revocations live in.
func (m *Manager) Store() Store { return m.store }

// Now reads the Manager's clock.
func (m *Manager) Now() time.Time { return m.cfg.now() }

// MustManager panics, naming who, when m is nil. The adapters call it as they build a middleware
// or handler, so that a Manager that was never built (an error from New left unchecked) fails
// at setup with a message that says so, not with a nil dereference on the first request.
func MustManager(m *Manager, who string) {
	if m == nil {
		panic(who + ": the *core.Manager is nil: pass the Manager core.New returned, after checking its error")
	}
}

// MustRouteParam panics, naming who, when param, the name of a route parameter, is empty: the
// adapters' EndSessionHandler calls it at setup, so that a route built without the name of its
// session-id parameter fails when it is built instead of answering every request 404.
func MustRouteParam(who, param string) {
	if param == "" {
		panic(who + ": the route parameter name is empty: pass the name the route gives the session id (\"id\" for /sessions/{id} or /sessions/:id)")
	}
}

// MustRequirements panics, naming who, when reqs is empty or holds a nil requirement or a zero
// one no Require* constructor built: the adapters' Authorize calls it at setup, so that such a
// route fails when it is built instead of answering every request 500 (Manager.Authorize fails
// closed on them) or, with no requirement at all, letting every authenticated request through.
func MustRequirements(who string, reqs []*Requirement) {
	if len(reqs) == 0 {
		panic(who + ": no requirement: give at least one (core.RequireScope, core.RequireClaims, core.RequireStepUp)")
	}
	for i, r := range reqs {
		if r == nil || r.zero() {
			panic(fmt.Sprintf("%s: requirement %d was never built: make it with core.RequireScope, core.RequireClaims or core.RequireStepUp", who, i))
		}
	}
}
