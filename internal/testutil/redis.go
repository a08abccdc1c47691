package testutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
}

// StartRedis launches redis-server on a free loopback port, waits until it answers PING and
// registers a cleanup that stops it. Tests build their own clients on Addr: this package speaks
// just enough RESP to manage the server, so the root module needs no Redis client.
//
// Without a redis-server binary on PATH the test is skipped, unless the environment variable
// JWTEXP_REQUIRE_REDIS is 1, in which case it fails: CI must never silently skip the Redis tests.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(tb, RequireRedisEnv, "redis-server not found on PATH (apt-get install redis-server)")
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

	deadline := time.Now().Add(redisStartTimeout)
	for {
		_, err := s.do(time.Second, "PING")
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

// do sends one command in RESP and returns the first line of the reply (without its type
// byte); an error reply becomes an error.
func (s *RedisServer) do(timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	if line[0] == '-' {
		return "", errors.New(line[1:])
	}
	return line[1:], nil
}

// Do runs one command on the server (for example "CONFIG", "SET", "maxmemory", "1mb") and
// returns the first line of its reply. It fails the test on an error reply.
func (s *RedisServer) Do(args ...string) string {
	s.tb.Helper()
	reply, err := s.do(5*time.Second, args...)
	if err != nil {
		s.tb.Fatalf("redis %v: %v", args, err)
	}
	return reply
}

// PID returns the process id of the running server (0 when stopped), for tests that SIGSTOP or
// kill it themselves.
func (s *RedisServer) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
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

// URL returns the server's address as a redis:// URL for database 0, as REDIS_URL takes it.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// FlushAll deletes every key on the server. It fails the test on error.
func (s *RedisServer) FlushAll() {
	s.tb.Helper()
	s.Do("FLUSHALL")
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
