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
// Bearer; with nonces on, the refusal carries dpop-nonce metadata. The AuthService binds a login
// with a proof to its key (token_type DPoP) and refreshes it only with a proof of that key; it
// issues Bearer tokens without a proof, none under WithDPoPRequired.
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

	// Binding through the AuthService: a Login with a proof for its own method gets tokens bound
	// to the proof's key; Refresh then needs a proof of that key.
	auth := authv1grpc.NewAuthServiceClient(conn)
	origin := "http://" + conn.Target()
	bob := &authv1.LoginRequest{Username: "alice", Password: "wonderland"}
	proved := func(proof string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "dpop", proof)
	}
	loginURL, refreshURL := origin+authv1grpc.AuthService_Login_FullMethodName, origin+authv1grpc.AuthService_Refresh_FullMethodName
	key2 := testutil.NewDPoPKey(t)
	var header metadata.MD
	_, err := auth.Login(proved(key2.Proof(t, "POST", loginURL, "", "", clock.Now())), bob, grpc.Header(&header))
	if got := result(err, ""); got.Code != 3 || header.Get("dpop-nonce") == nil || header.Get("dpop-nonce")[0] != nonce {
		t.Fatalf("RPC login with a proof without the nonce: %+v, dpop-nonce %v; want InvalidArgument and the nonce", got, header.Get("dpop-nonce"))
	}
	if _, err := auth.Login(proved(key2.Proof(t, "POST", refreshURL, "", nonce, clock.Now())), bob); result(err, "").Code != 3 {
		t.Fatalf("RPC login with a proof for Refresh: %+v, want InvalidArgument", result(err, ""))
	}
	tr, err := auth.Login(proved(key2.Proof(t, "POST", loginURL, "", nonce, clock.Now())), bob)
	if err != nil || tr.GetTokenType() != "DPoP" {
		t.Fatalf("RPC login with a proof: %v %v, want token_type DPoP", tr, err)
	}
	if got, _ := call("DPoP "+tr.GetAccessToken(), key2.Proof(t, "POST", target, tr.GetAccessToken(), nonce, clock.Now())); got.Code != 0 || got.Subject != "alice" {
		t.Fatalf("the RPC login's DPoP token with its key's proof: %+v", got)
	}
	if got, _ := call("DPoP "+tr.GetAccessToken(), key.Proof(t, "POST", target, tr.GetAccessToken(), nonce, clock.Now())); got.Code != 16 {
		t.Fatalf("the RPC login's DPoP token with another key's proof: %+v, want Unauthenticated", got)
	}
	if got, _ := call("Bearer "+tr.GetAccessToken(), ""); got.Code != 16 {
		t.Fatalf("the RPC login's DPoP token as Bearer: %+v, want Unauthenticated", got)
	}
	refresh := &authv1.RefreshRequest{RefreshToken: tr.GetRefreshToken()}
	if _, err := auth.Refresh(context.Background(), refresh); result(err, "").Code != 3 {
		t.Fatalf("refresh of a bound session without a proof: %+v, want InvalidArgument", result(err, ""))
	}
	if _, err := auth.Refresh(proved(key.Proof(t, "POST", refreshURL, "", nonce, clock.Now())), refresh); result(err, "").Code != 3 {
		t.Fatalf("refresh of a bound session with another key's proof: %+v, want InvalidArgument", result(err, ""))
	}
	tr2, err := auth.Refresh(proved(key2.Proof(t, "POST", refreshURL, "", nonce, clock.Now())), refresh)
	if err != nil || tr2.GetTokenType() != "DPoP" || tr2.GetRefreshToken() == tr.GetRefreshToken() {
		t.Fatalf("refresh with the bound key's proof (the refused attempts left the session intact): %v %v", tr2, err)
	}

	// Without a proof the RPC login issues Bearer tokens; under WithDPoPRequired none at all.
	if tr, err := auth.Login(context.Background(), bob); err != nil || tr.GetTokenType() != "Bearer" {
		t.Fatalf("RPC login without a proof: %v %v, want Bearer", tr, err)
	}
	required := serve(t, testutil.SuiteManager(t, clock, core.WithDPoPRequired()), false)
	_, _, r2 := login(t, required)
	if r2.Code != 3 || r2.Message != "DPoP proof required" {
		t.Fatalf("RPC login, DPoP required, no proof: %+v, want InvalidArgument \"DPoP proof required\"", r2)
	}
	key3 := testutil.NewDPoPKey(t)
	tr3, err := authv1grpc.NewAuthServiceClient(required).Login(proved(key3.Proof(t, "POST", "http://"+required.Target()+authv1grpc.AuthService_Login_FullMethodName, "", "", clock.Now())), bob)
	if err != nil || tr3.GetTokenType() != "DPoP" {
		t.Fatalf("RPC login, DPoP required, with a proof: %v %v", tr3, err)
	}
}

func login(t *testing.T, conn *grpc.ClientConn) (string, string, testutil.RPCResult) {
	r, err := authv1grpc.NewAuthServiceClient(conn).Login(context.Background(), &authv1.LoginRequest{Username: "alice", Password: "wonderland"})
	return r.GetAccessToken(), r.GetRefreshToken(), result(err, "")
}
