package connectjwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"github.com/jwtexp/jwtexp/connectjwt/authv1connect"
	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/internal/testutil"
	"github.com/jwtexp/jwtexp/rpcproto/authv1"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestDPoP: over Connect, a DPoP-bound token is accepted with a proof for POST and the public
// origin (WithDPoPPublicURL) plus the procedure, and refused with a proof for another procedure
// or a replayed one; without WithDPoPPublicURL a proof is refused, since an interceptor does not
// see the request's scheme and host. Refusals carry the DPoP challenge and DPoP-Nonce. The
// AuthService binds a login with a proof to its key and refreshes it only with that key's proof.
func TestDPoP(t *testing.T) {
	const origin = "https://api.example.com"
	clock := testutil.NewClockNow()
	for name, opts := range map[string][]core.Option{
		"public URL":    {core.WithDPoPPublicURL(origin), core.WithDPoPNonce()},
		"no public URL": {core.WithDPoPNonce()},
	} {
		t.Run(name, func(t *testing.T) {
			m := testutil.SuiteManager(t, clock, opts...)
			url, client := serve(t, m, false)
			me := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](client, url+testutil.RPCMe)
			key := testutil.NewDPoPKey(t)
			nonce := m.HTTP().Problem(core.ErrDPoPNonce).DPoPNonce
			loginURL := origin + "/login"
			if name == "no public URL" {
				loginURL = "http://example.com/login"
			}
			r := httptest.NewRequest("POST", "http://example.com/login", nil)
			r.Header.Set("DPoP", key.Proof(t, "POST", loginURL, "", nonce, clock.Now()))
			resp := m.HTTP().ServeLogin(context.Background(), core.HTTPRequest(r), func() (string, any, error) { return "alice", nil, nil })
			var body map[string]any
			if err := json.Unmarshal(resp.Body, &body); err != nil || body["token_type"] != "DPoP" {
				t.Fatalf("login: %d %s", resp.Status, resp.Body)
			}
			access := body["access_token"].(string)
			call := func(proof string) (string, *connect.Error) {
				req := connect.NewRequest(&emptypb.Empty{})
				req.Header().Set("Authorization", "DPoP "+access)
				req.Header().Set("DPoP", proof)
				res, err := me.CallUnary(context.Background(), req)
				if err != nil {
					var ce *connect.Error
					errors.As(err, &ce)
					return "", ce
				}
				return res.Msg.GetValue(), nil
			}
			proof := key.Proof(t, "POST", origin+testutil.RPCMe, access, nonce, clock.Now())
			sub, err := call(proof)
			if name == "no public URL" {
				if err == nil || err.Message() != "request method and URL unknown" || err.Meta().Get("DPoP-Nonce") != nonce {
					t.Fatalf("proof without WithDPoPPublicURL: %q %v", sub, err)
				}
				// The AuthService cannot check a proof either: with DPoP allowed it ignores it
				// and issues Bearer tokens (a client must read token_type, RFC 9449 §5).
				auth := authv1connect.NewAuthServiceClient(client, url)
				req := connect.NewRequest(&authv1.LoginRequest{Username: "alice", Password: "wonderland"})
				req.Header().Set("DPoP", key.Proof(t, "POST", "http://example.com"+authv1connect.AuthServiceLoginProcedure, "", nonce, clock.Now()))
				if res, err := auth.Login(context.Background(), req); err != nil || res.Msg.GetTokenType() != "Bearer" {
					t.Fatalf("login with a proof it cannot check, DPoP allowed: %v, want Bearer tokens", err)
				}
				return
			}
			if err != nil || sub != "alice" {
				t.Fatalf("call with a proof: %q %v", sub, err)
			}
			for what, p := range map[string]string{
				"DPoP proof replayed":        proof,
				"DPoP proof for another URL": key.Proof(t, "POST", origin+testutil.RPCAdmin, access, nonce, clock.Now()),
			} {
				_, err := call(p)
				if err == nil || err.Code() != connect.CodeUnauthenticated || err.Message() != what ||
					err.Meta().Get("DPoP-Nonce") != nonce || err.Meta().Get("WWW-Authenticate")[:5] != "DPoP " {
					t.Errorf("%s: %v (meta %v)", what, err, err.Meta())
				}
			}

			// Binding through the AuthService: a Login with a proof for the public origin and
			// its procedure gets tokens bound to the key; Refresh needs a proof of that key.
			auth := authv1connect.NewAuthServiceClient(client, url)
			loginURL, refreshURL := origin+authv1connect.AuthServiceLoginProcedure, origin+authv1connect.AuthServiceRefreshProcedure
			key2 := testutil.NewDPoPKey(t)
			loginWith := func(proof string) (*authv1.TokenResponse, *connect.Error) {
				req := connect.NewRequest(&authv1.LoginRequest{Username: "alice", Password: "wonderland"})
				if proof != "" {
					req.Header().Set("DPoP", proof)
				}
				res, err := auth.Login(context.Background(), req)
				var ce *connect.Error
				if errors.As(err, &ce) {
					return nil, ce
				}
				return res.Msg, nil
			}
			refreshWith := func(token, proof string) (*authv1.TokenResponse, *connect.Error) {
				req := connect.NewRequest(&authv1.RefreshRequest{RefreshToken: token})
				if proof != "" {
					req.Header().Set("DPoP", proof)
				}
				res, err := auth.Refresh(context.Background(), req)
				var ce *connect.Error
				if errors.As(err, &ce) {
					return nil, ce
				}
				return res.Msg, nil
			}
			if _, err := loginWith(key2.Proof(t, "POST", loginURL, "", "", clock.Now())); err == nil ||
				err.Code() != connect.CodeInvalidArgument || err.Meta().Get("DPoP-Nonce") != nonce {
				t.Fatalf("login with a proof without the nonce: %v, want InvalidArgument with DPoP-Nonce", err)
			}
			tr, err := loginWith(key2.Proof(t, "POST", loginURL, "", nonce, clock.Now()))
			if err != nil || tr.GetTokenType() != "DPoP" {
				t.Fatalf("login with a proof: %v %v, want token_type DPoP", tr, err)
			}
			access = tr.GetAccessToken()
			if sub, err := call(key2.Proof(t, "POST", origin+testutil.RPCMe, access, nonce, clock.Now())); err != nil || sub != "alice" {
				t.Fatalf("the AuthService's DPoP token with its key's proof: %q %v", sub, err)
			}
			if sub, err := call(key.Proof(t, "POST", origin+testutil.RPCMe, access, nonce, clock.Now())); err == nil {
				t.Fatalf("the AuthService's DPoP token with another key's proof: %q, want a refusal", sub)
			}
			if _, err := refreshWith(tr.GetRefreshToken(), ""); err == nil || err.Code() != connect.CodeInvalidArgument {
				t.Fatalf("refresh of a bound session without a proof: %v, want InvalidArgument", err)
			}
			tr2, err := refreshWith(tr.GetRefreshToken(), key2.Proof(t, "POST", refreshURL, "", nonce, clock.Now()))
			if err != nil || tr2.GetTokenType() != "DPoP" {
				t.Fatalf("refresh with the bound key's proof: %v %v", tr2, err)
			}
			if tr, err := loginWith(""); err != nil || tr.GetTokenType() != "Bearer" {
				t.Fatalf("login without a proof: %v %v, want Bearer", tr, err)
			}
		})
	}
}
