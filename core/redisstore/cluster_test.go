package redisstore

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// startCluster starts a three-master Redis Cluster of real redis-server processes on loopback
// ports and returns their addresses. The processes are killed when the test ends.
func startCluster(t *testing.T) []string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testutil.Missing(t, testutil.RequireRedisEnv, "redis-server not found on PATH (apt-get install redis-server)")
	}
	dir := t.TempDir()
	var addrs []string
	var clients []*redis.Client
	for i := range 3 {
		port := clusterPort(t)
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir, "--cluster-enabled", "yes",
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr, MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		waitFor(t, "cluster node "+addr+" to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
		first := i * 16384 / 3
		last := (i+1)*16384/3 - 1
		if err := c.Do(context.Background(), "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatal(err)
		}
		addrs, clients = append(addrs, addr), append(clients, c)
	}
	ctx := context.Background()
	for _, addr := range addrs[1:] {
		host, port, _ := net.SplitHostPort(addr)
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", host, port).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the cluster to form", func() bool {
		for _, c := range clients {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
				return false
			}
		}
		return true
	})
	return addrs
}

// clusterPort returns a free port whose cluster bus port (port+10000) is free too.
func clusterPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port+10000 > 65535 {
			continue
		}
		if bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
			_ = bus.Close()
			return port
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// On Redis Cluster, revocations of subjects in every slot reach the other instance's replica,
// and a resync reads the records of every master.
func TestReplicaCluster(t *testing.T) {
	t.Parallel()
	addrs := startCluster(t)
	newClient := func() *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true, Addrs: addrs})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	prefix := WithPrefix(fmt.Sprintf("jwtexp-test-%d:", prefixes.Add(1)))
	a := newReplicaStore(t, newClient(), prefix)
	b := newReplicaStore(t, newClient(), prefix)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	const n = 60 // subjects hashing to every master
	masters := map[string]bool{}
	probe := newClient()
	for i := range n {
		subject := fmt.Sprintf("user-%d", i)
		if err := a.DenyToken(ctx, subject, "jti", until); err != nil {
			t.Fatal(err)
		}
		if err := a.RevokeFamily(ctx, subject, "sid", until); err != nil {
			t.Fatal(err)
		}
		slot, err := probe.ClusterKeySlot(ctx, a.denyKey(subject, "jti")).Result()
		if err != nil {
			t.Fatal(err)
		}
		for m := 2; m >= 0; m-- { // the master whose range (startCluster) holds the slot
			if slot >= int64(m*16384/3) {
				masters[strconv.Itoa(m)] = true
				break
			}
		}
	}
	if len(masters) != 3 {
		t.Fatalf("subjects hash to %d masters, want 3", len(masters))
	}
	for i := range n {
		subject := fmt.Sprintf("user-%d", i)
		waitFor(t, subject+"'s records in the other replica", func() bool {
			r := local(t, b, subject, "jti", "sid")
			return r.TokenDenied && r.SessionRevoked
		})
	}
	// A new instance finds every record by resyncing from all masters.
	c := newReplicaStore(t, newClient(), prefix)
	if st := c.ReplicaStats(); st.Entries != 2*n || st.Messages != 0 {
		t.Errorf("replica after resync on a cluster: got %+v, want %d entries from the resync", st, 2*n)
	}
	for i := range n {
		if r := local(t, c, fmt.Sprintf("user-%d", i), "jti", "sid"); !r.TokenDenied || !r.SessionRevoked {
			t.Fatalf("user-%d after resync: got %+v, want denied and revoked", i, r)
		}
	}
}
