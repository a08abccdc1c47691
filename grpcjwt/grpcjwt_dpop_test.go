package grpcjwt_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/grpcjwt/authv1grpc"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestDPoP: a DPoP-bound token (from an HTTP login) is accepted over gRPC with a proof for POST
// and http://<authority>/<method>, and refused with a proof for another method, replayed, or as
// Bearer; with nonces on, the refusal carries dpop-nonce metadata. The RPC login issues Bearer
// tokens, and refuses to issue any under WithDPoPRequired.
func TestDPoP(t *testing.T) {
	clock := testutil.NewClockNow()
	m := testutil.SuiteManager(t, clock, core.WithDPoPNonce())
	conn := serve(t, m, false)
	key := testutil.NewDPoPKey(t)
	nonce := m.HTTP().Problem(core.ErrDPoPNonce).DPoPNonce
	r := httptest.NewRequest("POST", "http://example.com/login", nil)
	r.Header.Set("DPoP", key.Proof(t, "POST", "http://example.com/login", "", nonce, clock.Now()))
	resp := m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil || body["token_type"] != "DPoP" {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	access := body["access_token"].(string)
	target := "http://" + conn.Target() + testutil.RPCMe
	call := func(auth, proof string) (testutil.RPCResult, metadata.MD) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", auth)
		if proof != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "dpop", proof)
		}
		out := new(wrapperspb.StringValue)
		var header metadata.MD
		err := conn.Invoke(ctx, testutil.RPCMe, new(emptypb.Empty), out, grpc.Header(&header))
		return result(err, out.GetValue()), header
	}
	proof := key.Proof(t, "POST", target, access, nonce, clock.Now())
	if got, _ := call("DPoP "+access, proof); got.Code != 0 || got.Subject != "alice" {
		t.Fatalf("call with a proof: %+v", got)
	}
	for name, tc := range map[string]struct{ auth, proof, msg string }{
		"replayed":       {"DPoP " + access, proof, "DPoP proof replayed"},
		"another method": {"DPoP " + access, key.Proof(t, "POST", "http://"+conn.Target()+testutil.RPCAdmin, access, nonce, clock.Now()), "DPoP proof for another URL"},
		"as Bearer":      {"Bearer " + access, "", "DPoP-bound token sent without DPoP"},
		"no nonce":       {"DPoP " + access, key.Proof(t, "POST", target, access, "", clock.Now()), "DPoP nonce required"},
	} {
		got, header := call(tc.auth, tc.proof)
		if got.Code != 16 || got.Message != tc.msg {
			t.Errorf("%s: %+v, want Unauthenticated %q", name, got, tc.msg)
		}
		if v := header.Get("www-authenticate"); len(v) != 1 || v[0][:5] != "DPoP " {
			t.Errorf("%s: www-authenticate %v, want a DPoP challenge", name, v)
		}
		if v := header.Get("dpop-nonce"); len(v) != 1 || v[0] != nonce {
			t.Errorf("%s: dpop-nonce %v, want %q", name, v, nonce)
		}
	}

	// The RPC login sees no proof: Bearer tokens, and none at all when DPoP is required.
	_, _, r1 := login(t, conn)
	if r1.Code != 0 {
		t.Fatalf("RPC login: %+v", r1)
	}
	_, _, r2 := login(t, serve(t, testutil.SuiteManager(t, clock, core.WithDPoPRequired()), false))
	if r2.Code != 16 || r2.Message != "DPoP proof required" {
		t.Fatalf("RPC login, DPoP required: %+v", r2)
	}
}

func login(t *testing.T, conn *grpc.ClientConn) (string, string, testutil.RPCResult) {
	r, err := authv1grpc.NewAuthServiceClient(conn).Login(context.Background(), &authv1.LoginRequest{Username: "alice", Password: "wonderland"})
	return r.GetAccessToken(), r.GetRefreshToken(), result(err, "")
}
