package redisstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// A Redis Cluster of six real redis-server processes (three masters, three replicas,
// cluster-node-timeout 2000 ms) on loopback, for the fault tests. Node 0's cluster bus is
// reached through a busProxy, which can drop one master's Pub/Sub messages to it.

type clusterNode struct {
	addr string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// kill ends the node's process with SIGKILL (no shutdown, no save) and waits for it to exit.
func (n *clusterNode) kill(t *testing.T) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

type testCluster struct {
	nodes []*clusterNode
	proxy *busProxy // in front of node 0's cluster bus
	admin []*redis.Client
}

const clusterNodeTimeout = 2000 // ms

// startCluster6 starts the cluster, waits until every node reports cluster_state:ok, knows six
// nodes, and every replica's link to its master is up. Processes are killed when the test ends.
func startCluster6(t *testing.T) *testCluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testutil.Missing(t, testutil.RequireRedisEnv, "redis-server not found on PATH (apt-get install redis-server)")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		testutil.Missing(t, testutil.RequireRedisEnv, "redis-cli not found on PATH (apt-get install redis-tools)")
	}
	dir := t.TempDir()
	tc := &testCluster{}
	for i := range 6 {
		port := clusterPort(t)
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
			"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
			// As README's production settings say: the masters that are up keep serving their
			// slots while one master's slots wait for its replica (no CLUSTERDOWN for everyone).
			"--cluster-require-full-coverage", "no"}
		if i == 0 {
			tc.proxy = startBusProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
			args = append(args, "--cluster-announce-bus-port", strconv.Itoa(tc.proxy.port))
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &clusterNode{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, cmd: cmd, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(n.done) }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-n.done })
		c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: n.addr, MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		waitForWithin(t, 10*time.Second, "cluster node "+n.addr+" to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
		tc.nodes, tc.admin = append(tc.nodes, n), append(tc.admin, c)
	}
	args := []string{"--cluster", "create"}
	for _, n := range tc.nodes {
		args = append(args, n.addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	waitForWithin(t, 30*time.Second, "the cluster to be ok on every node", func() bool {
		for _, c := range tc.admin {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:6") ||
				!strings.Contains(info, "cluster_slots_ok:16384") {
				return false
			}
			repl, err := c.Info(ctx, "replication").Result()
			if err != nil || (strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up")) {
				return false
			}
		}
		return true
	})
	return tc
}

// addrs returns the nodes' addresses, for ClusterOptions.Addrs.
func (tc *testCluster) addrs() []string {
	var out []string
	for _, n := range tc.nodes {
		out = append(out, n.addr)
	}
	return out
}

// clusterNodeInfo is one line of CLUSTER NODES.
type clusterNodeInfo struct {
	id, addr, masterID string
	master, failed     bool
}

// topology reads CLUSTER NODES from node i.
func (tc *testCluster) topology(ctx context.Context, i int) ([]clusterNodeInfo, error) {
	out, err := tc.admin[i].ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var nodes []clusterNodeInfo
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		nodes = append(nodes, clusterNodeInfo{id: f[0], addr: addr, masterID: f[3],
			master: strings.Contains(f[2], "master"), failed: strings.Contains(f[2], "fail")})
	}
	return nodes, nil
}

// node returns the node at addr.
func (tc *testCluster) node(addr string) int {
	for i, n := range tc.nodes {
		if n.addr == addr {
			return i
		}
	}
	return -1
}

// masterOfSlot returns the address of the master serving slot, as node i sees it.
func (tc *testCluster) masterOfSlot(ctx context.Context, i, slot int) (string, error) {
	ranges, err := tc.admin[i].ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, rg := range ranges {
		if slot >= rg.Start && slot <= rg.End && len(rg.Nodes) > 0 {
			return rg.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("slot %d is not served", slot)
}

// subjectsOn returns n subjects whose records live on the master at addr (as node 0 sees it).
func (tc *testCluster) subjectsOn(t *testing.T, addr string, n int) []string {
	t.Helper()
	ranges, err := tc.admin[0].ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 0; len(out) < n && i < 100000; i++ {
		subject := fmt.Sprintf("user-%d", i)
		slot := keySlot(encodeSubject(subject))
		for _, rg := range ranges {
			if slot >= rg.Start && slot <= rg.End && rg.Nodes[0].Addr == addr {
				out = append(out, subject)
			}
		}
	}
	return out
}

// waitForWithin polls cond until it holds, failing the test after limit.
func waitForWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond) // a bounded poll of real process state
	}
}

// busProxy forwards a node's cluster bus (TCP) and can drop the Pub/Sub messages (PUBLISH and
// PUBLISHSHARD) one sender node sends through it, leaving its pings, pongs and everything else
// alone: the failure the issue describes, where cluster_state stays ok.
type busProxy struct {
	port     int
	upstream string
	ln       net.Listener
	drop     atomic.Value // string: the node id whose Pub/Sub messages are dropped; "" none
	dropped  atomic.Int64
	wg       sync.WaitGroup
}

func startBusProxy(t *testing.T, upstream string) *busProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &busProxy{port: ln.Addr().(*net.TCPAddr).Port, upstream: upstream, ln: ln}
	p.drop.Store("")
	var conns sync.Map
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer conns.Delete(c)
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
		p.wg.Wait()
	})
	return p
}

// Cluster bus message header (Redis cluster.h): sig "RCmb" [0:4], totlen [4:8] (big endian),
// ver [8:10], port [10:12], type [12:14], ..., sender node id [40:80] (not in light headers,
// whose type has bit 0x8000 set).
const (
	busTypePublish      = 4
	busTypePublishShard = 10
	busTypeLight        = 0x8000
)

func (p *busProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	r := bufio.NewReader(c)
	sender := ""
	for {
		hdr, err := r.Peek(8)
		if err != nil {
			return
		}
		if string(hdr[:4]) != "RCmb" {
			return
		}
		total := int(binary.BigEndian.Uint32(hdr[4:8]))
		if total < 14 || total > 64<<20 {
			return
		}
		msg := make([]byte, total)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		typ := binary.BigEndian.Uint16(msg[12:14])
		if typ&busTypeLight == 0 && total >= 80 {
			sender = string(msg[40:80])
		}
		if kind := typ &^ busTypeLight; (kind == busTypePublish || kind == busTypePublishShard) && sender != "" && sender == p.drop.Load().(string) {
			p.dropped.Add(1)
			continue
		}
		if _, err := up.Write(msg); err != nil {
			return
		}
	}
}

// errNotMaster says node 0 did not become a master; the partition test needs it to be one.
var errNotMaster = errors.New("node 0 is not a master")
