package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jwtexp/jwtexp/examples/internal/exampletest"
	"github.com/jwtexp/jwtexp/grpcjwt/authv1grpc"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// TestExample drives the example's server over a real connection, on the in-memory store and
// on Redis: login, Me, Admin refused, Ticks ending with the token, refresh, logout.
func TestExample(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testExample(t, "") })
	t.Run("redis", func(t *testing.T) { testExample(t, startRedis(t)) })
}

func testExample(t *testing.T, redisURL string) {
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
	srv := newServer(m)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx := context.Background()
	auth, demo := authv1grpc.NewAuthServiceClient(conn), NewDemoServiceClient(conn)
	with := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}

	_, err = auth.Login(ctx, &authv1.LoginRequest{Username: "alice", Password: "nope"})
	wantStatus(t, err, codes.Unauthenticated, "invalid username or password")
	pair, err := auth.Login(ctx, &authv1.LoginRequest{Username: "alice", Password: "wonderland"})
	if err != nil {
		t.Fatal(err)
	}
	me, err := demo.Me(with(pair.AccessToken), &MeRequest{})
	if err != nil || me.Subject != "alice" || len(me.Scopes) != 1 || me.Scopes[0] != "profile" {
		t.Fatalf("Me: got %v, %v; want alice with scope profile", me, err)
	}
	_, err = demo.Me(ctx, &MeRequest{})
	wantStatus(t, err, codes.Unauthenticated, "missing bearer token")
	_, err = demo.Admin(with(pair.AccessToken), &MeRequest{})
	wantStatus(t, err, codes.PermissionDenied, `insufficient scope, scope="admin"`)

	// Ticks: one message a second until the two-second token ends.
	s, err := demo.Ticks(with(pair.AccessToken), &TicksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ticks := 0
	for {
		if _, err = s.Recv(); err != nil {
			break
		}
		ticks++
	}
	wantStatus(t, err, codes.Unauthenticated, "token expired")
	if ticks < 1 || ticks > 3 {
		t.Fatalf("Ticks: got %d messages before the end, want 1 to 3", ticks)
	}

	next, err := auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: pair.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := auth.ListSessions(with(next.AccessToken), &authv1.ListSessionsRequest{})
	if err != nil || len(sessions.Sessions) != 1 || !sessions.Sessions[0].Current {
		t.Fatalf("ListSessions: got %v, %v; want the one current session", sessions, err)
	}
	if _, err := auth.Logout(with(next.AccessToken), &authv1.LogoutRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = demo.Me(with(next.AccessToken), &MeRequest{})
	wantStatus(t, err, codes.Unauthenticated, "session revoked")
	_, err = auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: next.RefreshToken})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Refresh after logout: got %v, want InvalidArgument", err)
	}

	// Reflection answers without a token and lists both services.
	rs, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sv := range resp.GetListServicesResponse().GetService() {
		found[sv.Name] = true
	}
	if !found["jwtexp.auth.v1.AuthService"] || !found["jwtexp.example.v1.DemoService"] {
		t.Fatalf("reflection: got services %v", found)
	}
	rs.CloseSend()
	_, _ = rs.Recv()
}

func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	s := status.Convert(err)
	if s.Code() != code || s.Message() != msg {
		t.Fatalf("got %v %q, want %v %q", s.Code(), s.Message(), code, msg)
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
