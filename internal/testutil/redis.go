package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireRedisEnv names the environment variable that turns a missing redis-server into a test
// failure instead of a skip. CI sets it to 1.
const RequireRedisEnv = "JWTEXP_REQUIRE_REDIS"

// redisStartTimeout bounds how long StartRedis and Start wait for a new server to answer PING.
const redisStartTimeout = 10 * time.Second

// RedisServer is a real redis-server process on a loopback port, owned by one test. It keeps no
// data on disk (--save "" --appendonly no), so a restart starts empty.
type RedisServer struct {
	// Addr is the server's address, "127.0.0.1:<port>". It stays the same across Stop and Start.
	Addr string

	tb   testing.TB
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	output *lockedBuffer // the server's log, for failure messages
	client *redis.Client
}

// StartRedis launches redis-server on a free loopback port, waits until it answers PING and
// registers a cleanup that stops it (and closes the client returned by Client).
//
// Without a redis-server binary on PATH the test is skipped, unless the environment variable
// JWTEXP_REQUIRE_REDIS is 1, in which case it fails: CI must never silently skip the Redis tests.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireRedisEnv) == "1" {
			tb.Fatalf("redis-server not found on PATH and %s=1: install redis-server (e.g. apt-get install redis-server)", RequireRedisEnv)
		}
		tb.Skipf("redis-server not installed; set %s=1 to make this a failure", RequireRedisEnv)
	}
	s := &RedisServer{tb: tb, bin: bin, dir: tb.TempDir()}
	tb.Cleanup(s.Stop)

	// A free port can be taken by someone else between our probe and redis-server's bind; try
	// a few ports before giving up.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("StartRedis: find a free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("StartRedis: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start launches the process on s.port and waits for PING. On failure the process is stopped.
func (s *RedisServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redis-server already running")
	}
	out := &lockedBuffer{}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.output = cmd, exited, out

	probe := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer probe.Close()
	deadline := time.Now().Add(redisStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := probe.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server on port %d exited during start-up: %s", s.port, out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %v; log: %s",
				s.port, redisStartTimeout, err, out.String())
		}
		// Readiness polling of an external process, not test synchronisation.
		time.Sleep(10 * time.Millisecond)
	}
}

// Start restarts a stopped server on the same port (so clients reconnect to it by themselves),
// empty. It fails the test if the server cannot be started.
func (s *RedisServer) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("RedisServer.Start: %v", err)
	}
}

// Stop kills the server and waits for it to exit. Clients then get connection errors: use it to
// test that callers fail closed. It is safe to call when the server is already stopped.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *RedisServer) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Client returns a client for the server, created on first use and closed when the test ends.
func (s *RedisServer) Client() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		s.client = c
		s.tb.Cleanup(func() { _ = c.Close() })
	}
	return s.client
}

// URL returns the server's address as a redis:// URL for database 0, as REDIS_URL takes it.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// FlushAll deletes every key on the server. It fails the test on error.
func (s *RedisServer) FlushAll() {
	s.tb.Helper()
	if err := s.Client().FlushAll(context.Background()).Err(); err != nil {
		s.tb.Fatalf("RedisServer.FlushAll: %v", err)
	}
}

// lockedBuffer collects the server's output; the process writes it while tests may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
