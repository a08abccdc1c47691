package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jwtexp/jwtexp/connectjwt/authv1connect"
	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
)

// TestExample drives the example's server with connect-go's client over the Connect, gRPC and
// gRPC-Web protocols, on the in-memory store and on Redis: login, Me, Admin refused, Ticks
// ending with the token, refresh, logout.
func TestExample(t *testing.T) {
	protocols := map[string][]connect.ClientOption{
		"connect": nil, "grpc": {connect.WithGRPC()}, "grpcweb": {connect.WithGRPCWeb()},
	}
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			redisURL := ""
			if store == "redis" {
				redisURL = startRedis(t)
			}
			url := start(t, redisURL)
			for name, opts := range protocols {
				t.Run(name, func(t *testing.T) { testExample(t, url, opts) })
			}
		})
	}
}

func start(t *testing.T, redisURL string) string {
	env := map[string]string{"JWT_ACCESS_TTL": "2s", "JWT_LEEWAY": "0s", "REDIS_URL": redisURL,
		"JWT_ACCESS_SECRET": "an-access-secret-of-32-bytes-min", "JWT_REFRESH_SECRET": "a-refresh-secret-of-32-bytes-min"}
	cfg, err := configFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := newManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer("", m)
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	return "http://" + lis.Addr().String()
}

func testExample(t *testing.T, url string, opts []connect.ClientOption) {
	// HTTP/2 with prior knowledge, as the server speaks it without TLS.
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: p}}
	ctx := context.Background()
	auth := authv1connect.NewAuthServiceClient(client, url, opts...)
	me := connect.NewClient[MeRequest, MeResponse](client, url+meProcedure, opts...)
	admin := connect.NewClient[MeRequest, MeResponse](client, url+adminProcedure, opts...)
	ticks := connect.NewClient[TicksRequest, Tick](client, url+ticksProcedure, opts...)

	_, err := auth.Login(ctx, connect.NewRequest(&authv1.LoginRequest{Username: "alice", Password: "nope"}))
	wantCode(t, err, connect.CodeUnauthenticated, "invalid username or password")
	pair, err := auth.Login(ctx, connect.NewRequest(&authv1.LoginRequest{Username: "alice", Password: "wonderland"}))
	if err != nil {
		t.Fatal(err)
	}
	access, refresh := pair.Msg.AccessToken, pair.Msg.RefreshToken
	r, err := me.CallUnary(ctx, withToken(&MeRequest{}, access))
	if err != nil || r.Msg.Subject != "alice" || len(r.Msg.Scopes) != 1 || r.Msg.Scopes[0] != "profile" {
		t.Fatalf("Me: got %v, %v; want alice with scope profile", r, err)
	}
	_, err = me.CallUnary(ctx, connect.NewRequest(&MeRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated, "missing bearer token")
	_, err = admin.CallUnary(ctx, withToken(&MeRequest{}, access))
	wantCode(t, err, connect.CodePermissionDenied, `insufficient scope, scope="admin"`)

	s, err := ticks.CallServerStream(ctx, withToken(&TicksRequest{}, access))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.Receive() {
		n++
	}
	wantCode(t, s.Err(), connect.CodeUnauthenticated, "token expired")
	s.Close()
	if n < 1 || n > 3 {
		t.Fatalf("Ticks: got %d messages before the end, want 1 to 3", n)
	}

	next, err := auth.Refresh(ctx, connect.NewRequest(&authv1.RefreshRequest{RefreshToken: refresh}))
	if err != nil {
		t.Fatal(err)
	}
	list, err := auth.ListSessions(ctx, withToken(&authv1.ListSessionsRequest{}, next.Msg.AccessToken))
	if err != nil || len(list.Msg.Sessions) == 0 {
		t.Fatalf("ListSessions: got %v, %v", list, err)
	}
	if _, err := auth.Logout(ctx, withToken(&authv1.LogoutRequest{}, next.Msg.AccessToken)); err != nil {
		t.Fatal(err)
	}
	_, err = me.CallUnary(ctx, withToken(&MeRequest{}, next.Msg.AccessToken))
	wantCode(t, err, connect.CodeUnauthenticated, "session revoked")
	_, err = auth.Refresh(ctx, connect.NewRequest(&authv1.RefreshRequest{RefreshToken: next.Msg.RefreshToken}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("Refresh after logout: got %v, want invalid_argument", err)
	}
}

func withToken[T any](msg *T, token string) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", "Bearer "+token)
	return r
}

func wantCode(t *testing.T, err error, code connect.Code, msg string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code || ce.Message() != msg {
		t.Fatalf("got %v, want %v %q", err, code, msg)
	}
}

// startRedis starts a real redis-server on a free loopback port for the test and returns its
// URL; the test is skipped without redis-server, unless JWTEXP_REQUIRE_REDIS=1.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("JWTEXP_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server not found")
		}
		t.Skip("redis-server not found")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		}
	}
	t.Fatal("redis-server did not start")
	return ""
}

// TestBadConfigExits runs the real binary with bad variables, an ADDR it cannot listen on and a
// Redis it cannot reach: exit 2 and one line naming what to fix, nothing else.
func TestBadConfigExits(t *testing.T) {
	exampletest.ExitsOnBadConfig(t, map[string]string{
		"JWT_ACCESS_TTL=soon": "JWT_ACCESS_TTL",
		"JWT_ISSUER=":         "JWT_ISSUER is set but empty",
		"JWT_LEEWAY=10m":      "leeway",
	})
}
