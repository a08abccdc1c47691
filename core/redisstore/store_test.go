package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/core/storetest"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

// newStore returns a store on client under a prefix of its own, so tests can share one server.
func newStore(t testing.TB, client redis.UniversalClient) *Store {
	t.Helper()
	s, err := New(client, WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1))), withFreshMarkers())
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	return s
}

var prefixes atomic.Int64

func (s *Store) key(kind storetest.RecordKind, subject, id string) string {
	switch kind {
	case storetest.RecordFamily:
		return s.familyKey(subject, id)
	case storetest.RecordDenied:
		return s.denyKey(subject, id)
	case storetest.RecordRevokedSession:
		return s.revokedKey(subject, id)
	case storetest.RecordCutOff:
		return s.cutKey(subject)
	case storetest.RecordSessionIndex:
		return s.indexKey(subject)
	case storetest.RecordDPoPProof:
		return s.dpopKey(id)
	}
	panic(fmt.Sprintf("unknown record kind %v", kind))
}

func TestStoreSuite(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	storetest.Run(t, func(t *testing.T, _ *testutil.Clock) core.Store {
		s := newStore(t, client)
		s.requestClock = true // the suite drives rotation decisions with its fake clock
		return s
	}, storetest.Options{
		RealTime: true,
		TTL: func(t *testing.T, s core.Store, kind storetest.RecordKind, subject, id string) (time.Duration, bool) {
			t.Helper()
			key := s.(*Store).key(kind, subject, id)
			ttl, err := client.PTTL(context.Background(), key).Result()
			if err != nil {
				t.Fatalf("PTTL %s: %v", key, err)
			}
			switch ttl {
			case -2: // no such key
				return 0, false
			case -1: // no expiry
				return -1, true
			}
			return ttl, true
		},
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	cases := []struct {
		name    string
		client  redis.UniversalClient
		opts    []Option
		wantErr bool
	}{
		{"default", client, nil, false},
		{"custom prefix", client, []Option{WithPrefix("app:")}, false},
		{"nil client", nil, nil, true},
		{"typed nil client", (*redis.Client)(nil), nil, true},
		{"typed nil cluster client", (*redis.ClusterClient)(nil), nil, true},
		{"empty prefix", client, []Option{WithPrefix("")}, true},
		{"prefix with brace", client, []Option{WithPrefix("app{1}:")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tc.client, tc.opts...)
			if tc.wantErr {
				if !errors.Is(err, core.ErrInvalidConfig) {
					t.Fatalf("New: got error %v, want one matching core.ErrInvalidConfig", err)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("New: got (%v, %v), want a store and nil error", s, err)
			}
		})
	}
}

// hashTag returns the part of key Redis Cluster hashes: the content of the first {...} when
// non-empty, else the whole key.
func hashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

func TestKeysShareHashTag(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	s, err := New(client)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.familyKey("alice", "sid-1"), "jwtexp:{YWxpY2U}:fam:sid-1"; got != want {
		t.Errorf("family key: got %q, want %q", got, want)
	}
	subjects := []string{"alice", "", "{", "}", "{}", "a}:fam:{b", "a:b", "ünïcødé", strings.Repeat("x", 300)}
	seen := map[string]string{}
	for _, sub := range subjects {
		keys := []string{
			s.familyKey(sub, "sid{1}"), s.denyKey(sub, "}jti{"), s.revokedKey(sub, "sid:2"), s.cutKey(sub),
		}
		tag := hashTag(keys[0])
		if tag == keys[0] || tag == "" {
			t.Errorf("subject %q: key %q has no hash tag", sub, keys[0])
		}
		for _, k := range keys[1:] {
			if got := hashTag(k); got != tag {
				t.Errorf("subject %q: key %q has hash tag %q, want %q like %q", sub, k, got, tag, keys[0])
			}
		}
		if other, ok := seen[tag]; ok {
			t.Errorf("subjects %q and %q share hash tag %q", other, sub, tag)
		}
		seen[tag] = sub
	}
}

func TestKeysOnServer(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	s, err := New(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	if err := s.DenyToken(ctx, "alice", "jti-1", until); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{"jwtexp:{!}:live", "jwtexp:{YWxpY2U}:deny:jti-1"}; !slices.Equal(keys, want) {
		t.Fatalf("keys on server: got %q, want %q", keys, want)
	}
	if ttl, err := client.PTTL(ctx, keys[0]).Result(); err != nil || ttl != -1 {
		t.Errorf("loss marker TTL: got (%v, %v), want none: it must outlive every record", ttl, err)
	}
	at, err := client.PExpireTime(ctx, keys[1]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := at.Milliseconds(), until.UnixMilli(); got != want {
		t.Errorf("absolute expiry: got %d ms, want %d ms", got, want)
	}
}

// countingHook counts the commands a client sends.
type countingHook struct {
	mu   sync.Mutex
	cmds []string
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmdName(cmd))
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.add(cmdName(cmd))
		}
		return next(ctx, cmds)
	}
}

// cmdName is the command's name, with its subcommand for CLIENT ("client setinfo").
func cmdName(cmd redis.Cmder) string {
	if args := cmd.Args(); cmd.Name() == "client" && len(args) > 1 {
		return "client " + strings.ToLower(fmt.Sprint(args[1]))
	}
	return cmd.Name()
}

func (h *countingHook) add(name string) {
	h.mu.Lock()
	h.cmds = append(h.cmds, name)
	h.mu.Unlock()
}

// take returns the commands counted since the last call.
func (h *countingHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds := h.cmds
	h.cmds = nil
	return cmds
}

// takeQueries is take without the handshake of a new connection (HELLO, CLIENT SETINFO, AUTH,
// SELECT), which go-redis sends whenever it dials - a background reconnect may do so at any
// moment - and which is no query of the store's.
func (h *countingHook) takeQueries() []string {
	var out []string
	for _, c := range h.take() {
		switch c {
		case "hello", "client setinfo", "auth", "select":
		default:
			out = append(out, c)
		}
	}
	return out
}

func TestOneRoundTrip(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr, PoolSize: 1})
	t.Cleanup(func() { _ = client.Close() })
	s := newStore(t, client)
	ctx := context.Background()
	now := time.Now()
	f := core.Family{SessionID: "sid-1", Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
		CurrentExpires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)}
	if _, err := s.CreateFamily(ctx, f, core.SessionLimit{}); err != nil {
		t.Fatal(err)
	}
	// Load the rotate script into the server's cache, so what follows is the steady state.
	if _, _, err := s.Rotate(ctx, core.RotateRequest{Subject: "alice", SessionID: "sid-0", Now: now}); err != nil {
		t.Fatal(err)
	}
	hook := &countingHook{}
	client.AddHook(hook)

	req := core.RotateRequest{Subject: "alice", SessionID: "sid-1", Presented: "jti-1", PresentedIssuedAt: now,
		Next: "jti-2", NextIssuedAt: now, NextExpires: now.Add(time.Hour), Now: now, Grace: 0,
		RevokeUntil: now.Add(time.Minute)}
	if _, res, err := s.Rotate(ctx, req); err != nil || res != core.RotateOK {
		t.Fatalf("Rotate: got (%v, %v), want (ok, nil)", res, err)
	}
	if got := hook.take(); len(got) != 1 || got[0] != "evalsha" {
		t.Errorf("Rotate sent %q, want one evalsha", got)
	}
	if _, err := s.Revoked(ctx, "alice", "jti-2", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if got := hook.take(); len(got) != 1 || got[0] != "mget" {
		t.Errorf("Revoked sent %q, want one mget", got)
	}
}

func TestFailsClosedWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	// No command retries and one dial attempt per command keep the failures fast, and a pool
	// larger than the number of failures keeps go-redis's dial circuit breaker closed, so the
	// client reconnects as soon as the server is back.
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, PoolSize: 64})
	t.Cleanup(func() { _ = client.Close() })
	s := newStore(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	family := func(sid string) core.Family {
		return core.Family{SessionID: sid, Subject: "alice", Current: "jti-1", CurrentIssuedAt: now,
			CurrentExpires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)}
	}
	rotateAt := func(sid string, iat time.Time) (core.RotateResult, error) {
		_, res, err := s.Rotate(ctx, core.RotateRequest{Subject: "alice", SessionID: sid, Presented: "jti-1",
			PresentedIssuedAt: iat, Next: "jti-2", NextIssuedAt: iat, NextExpires: now.Add(time.Hour), Now: now,
			Grace: 0, RevokeUntil: now.Add(time.Minute)})
		return res, err
	}
	rotate := func(sid string) (core.RotateResult, error) { return rotateAt(sid, now) }
	if _, err := s.CreateFamily(ctx, family("sid-1"), core.SessionLimit{}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	_, revokedErr := s.Revoked(ctx, "alice", "jti-1", "sid-1")
	res, rotateErr := rotate("sid-1")
	_, createErr := s.CreateFamily(ctx, family("sid-2"), core.SessionLimit{Max: 2})
	_, sessionsErr := s.Sessions(ctx, "alice")
	_, endErr := s.EndSessions(ctx, "alice", "", now.Add(time.Hour))
	errs := map[string]error{
		"revoked":       revokedErr,
		"rotate":        rotateErr,
		"create family": createErr,
		"sessions":      sessionsErr,
		"end sessions":  endErr,
		"revoke family": s.RevokeFamily(ctx, "alice", "sid-1", now.Add(time.Hour)),
		"deny token":    s.DenyToken(ctx, "alice", "jti-1", now.Add(time.Hour)),
		"cut off":       s.CutOff(ctx, "alice", now, now.Add(time.Hour)),
	}
	for op, err := range errs {
		if err == nil {
			t.Errorf("%s with Redis down: got nil error, want an error", op)
		} else if !strings.HasPrefix(err.Error(), "jwtexp: redisstore: "+op+": ") {
			t.Errorf("%s with Redis down: got error %q, want it prefixed with the operation", op, err)
		}
	}
	if res != 0 {
		t.Errorf("Rotate with Redis down: got result %v, want none", res)
	}

	// The restarted server is empty and has no scripts cached: the store recovers by itself.
	// It lost its data, so a session it no longer knows is unknown, and every token issued
	// until the loss is refused.
	srv.Start()
	if res, err := rotate("sid-1"); err != nil || res != core.RotateUnknown {
		t.Fatalf("Rotate after restart: got (%v, %v), want (unknown, nil)", res, err)
	}
	if r, err := s.Revoked(ctx, "alice", "jti-1", "sid-1"); err != nil || !r.RevokesIssuedAt(now) {
		t.Fatalf("Revoked after restart without data: got (%+v, %v), want a cut-off covering tokens issued before", r, err)
	}
	// A session whose tokens would be issued before the loss (or in its second) is not started:
	// its tokens would be refused at once.
	if _, err := s.CreateFamily(ctx, family("sid-3"), core.SessionLimit{}); !errors.Is(err, core.ErrIssuedUnderCutOff) {
		t.Fatalf("CreateFamily of tokens issued before the loss: got error %v, want ErrIssuedUnderCutOff", err)
	}
	if res, err := rotate("sid-3"); err != nil || res != core.RotateUnknown {
		t.Fatalf("Rotate of the session not started: got (%v, %v), want (unknown, nil)", res, err)
	}
	later := time.Now().Add(2 * time.Second).Truncate(time.Second) // tokens issued after the loss
	f := family("sid-4")
	f.CurrentIssuedAt = later
	if _, err := s.CreateFamily(ctx, f, core.SessionLimit{}); err != nil {
		t.Fatalf("CreateFamily of tokens issued after the loss: got error %v, want nil", err)
	}
	if res, err := rotateAt("sid-4", later); err != nil || res != core.RotateOK {
		t.Fatalf("Rotate after restart: got (%v, %v), want (ok, nil)", res, err)
	}
}

func TestCorruptRecordFailsClosed(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	s := newStore(t, client)
	ctx := context.Background()
	if err := client.Set(ctx, s.cutKey("alice"), "garbage", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoked(ctx, "alice", "jti-1", "sid-1"); err == nil {
		t.Fatal("Revoked with a corrupt cut-off: got nil error, want an error")
	}
}

func TestCloseKeepsClientOpen(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	client := serverClient(t, srv)
	s := newStore(t, client)
	for i := 1; i <= 2; i++ {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: got error %v, want nil", i, err)
		}
	}
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Ping after Store.Close: got error %v, want nil", err)
	}
}

func BenchmarkStoreRevoked(b *testing.B) {
	srv := testutil.StartRedis(b)
	s := newStore(b, serverClient(b, srv))
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	if err := s.DenyToken(ctx, "alice", "jti-1", until); err != nil {
		b.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "alice", "sid-1", until); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Revoked(ctx, "alice", "jti-2", "sid-2"); err != nil {
			b.Fatal(err)
		}
	}
}
