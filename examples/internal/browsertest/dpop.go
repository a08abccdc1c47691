package browsertest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/jwtexp/jwtexp/internal/testutil"
)

// RunDPoP runs the browser client with DPoP (RFC 9449; the page's "?dpop=1") against an example
// with DPoP allowed (its default):
//
//   - LoginRefreshParallelReload: log in; the page says token_type DPoP; the key pair is in
//     IndexedDB and its private key cannot be exported; calls carry "Authorization: DPoP" and a
//     proof that an independent verifier (crypto/ecdsa, here) accepts: typ dpop+jwt, ES256, a
//     public jwk only, htm, htu without query, iat, jti, ath. Expire, click #call-api: all 200
//     after exactly one refresh. A reload resumes the session (the key survives in IndexedDB).
//   - StolenTokensAreWorthless: with the body transport, the refresh token the page holds is
//     copied out (from the login answer, as a script reading the page would) and replayed from
//     Go: without a proof, and with a proof by another key, the refresh is refused (400
//     invalid_grant); the access token is refused as Bearer and with another key's proof (401).
//     The page's own session is untouched: its next refresh works.
//   - LiveConnections: the stream (GET /api/events, a fetch with a proof) ticks, ends with the
//     token and reconnects after one refresh; the socket, whose handshake cannot carry a proof,
//     says it is not available instead of retrying.
//   - Logout: the page logs out and its key is deleted from IndexedDB (a new login makes a new
//     one: one key never links two sessions).
//
// Hooks.Now (optional) is the server's clock: the proofs made in Go use it, and the page's clock
// (Date.now, which the client's proofs read) is kept pageClockLag behind it, so that a server on a
// fake clock that stands still between steps never sees a proof from its future.
func RunDPoP(t *testing.T, baseURL string, h Hooks) {
	t.Helper()
	if h.RefreshCalls == nil || h.Expire == nil {
		t.Fatal("browsertest: Hooks.RefreshCalls and Hooks.Expire are required")
	}
	d := start(t, strings.TrimRight(baseURL, "/"), h.withDefaults())
	d.installPageClock(t, 0)
	expire := d.h.Expire
	d.h.Expire = func() { expire(); d.syncClock(t) }
	t.Run("LoginRefreshParallelReload", d.dpopParallel)
	t.Run("StolenTokensAreWorthless", d.dpopStolen)
	t.Run("LiveConnections", d.dpopLive)
	t.Run("Logout", d.dpopLogout)
}

// RunDPoPNonce runs the browser client with DPoP against an example started with
// JWT_DPOP_NONCE=1 and an access TTL of at least 30 minutes, with Hooks.Advance. The page's clock
// (Date.now) is moved with the server's, so that its proofs stay fresh while the server's nonce
// goes stale:
//
//   - the first login is answered 400 use_dpop_nonce and retried once, with the nonce: 200;
//   - calls carry the nonce: all 200 at once;
//   - 11 minutes later the nonce is stale: each call gets 401 use_dpop_nonce and is retried once
//     with the new nonce, 200, without a refresh; the next calls are 200 at once;
//   - 22 minutes later the access token has expired too: all calls 200 after one refresh.
func RunDPoPNonce(t *testing.T, baseURL string, h Hooks) {
	t.Helper()
	if h.RefreshCalls == nil || h.Advance == nil || h.Now == nil {
		t.Fatal("browsertest: Hooks.RefreshCalls, Hooks.Advance and Hooks.Now are required")
	}
	d := start(t, strings.TrimRight(baseURL, "/"), h.withDefaults())
	d.installPageClock(t, 0)
	t.Run("NonceRetries", d.dpopNonce)
}

// dpopKeyState reads the page's DPoP key from IndexedDB: whether there is one, whether its private
// key claims to be extractable, and whether exporting it fails as it must.
func (d *driver) dpopKeyState(t *testing.T) string {
	t.Helper()
	return eval[string](t, d, "read the DPoP key in IndexedDB", `(async () => {
		const db = await new Promise((ok, fail) => { const r = indexedDB.open('jwtexp-dpop', 1);
			r.onupgradeneeded = () => r.result.createObjectStore('keys'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
		const key = await new Promise((ok, fail) => { const r = db.transaction('keys').objectStore('keys').get('default');
			r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
		db.close();
		if (!key) return 'none';
		let exported = 'refused';
		try { await crypto.subtle.exportKey('jwk', key.privateKey); exported = 'EXPORTED'; } catch {}
		return 'key extractable=' + key.privateKey.extractable + ' type=' + key.privateKey.type + ' export=' + exported +
			' jwk=' + Object.keys(key.jwk).sort().join(',');
	})()`)
}

// lastCall returns the Authorization and DPoP headers of the last GET /api/me.
func (d *driver) lastCall() (auth, proof string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastBearer, d.lastProof
}

// dpopParallel: login, calls, one refresh for parallel calls, reload.
func (d *driver) dpopParallel(t *testing.T) {
	d.guard(t)
	d.openSynced(t, "/?dpop=1")
	d.login(t)
	if got := eval[string](t, d, "read #token-type", `document.getElementById('token-type').textContent`); got != "DPoP" {
		t.Fatalf("#token-type = %q after login with ?dpop=1, want DPoP%s", got, d.diagnostics())
	}
	if got, want := d.dpopKeyState(t), "key extractable=false type=private export=refused jwk=crv,kty,x,y"; got != want {
		t.Errorf("DPoP key in IndexedDB: %s, want %s", got, want)
	}
	checkStatuses(t, d.callAPI(t), "200")
	auth, proof := d.lastCall()
	token, ok := strings.CutPrefix(auth, "DPoP ")
	if !ok {
		t.Fatalf("GET /api/me carried Authorization %q, want the DPoP scheme", auth)
	}
	now := time.Now
	if d.h.Now != nil {
		now = d.h.Now // the page's clock follows the server's
	}
	checkProof(t, proof, "GET", d.base+"/api/me", token, now())

	checkStatuses(t, d.expireAndCall(t), "200")
	d.waitState(t, "logged-in")

	before := d.h.RefreshCalls()
	d.do(t, "reload the page", chromedp.Reload())
	until[bool](t, d, "the page to be ready (body[data-ready])", `document.body?.dataset.ready === 'true'`)
	d.waitState(t, "logged-in")
	d.syncClock(t)
	if n := d.h.RefreshCalls() - before; n != 1 {
		t.Errorf("resuming after a reload: %d refreshes, want 1", n)
	}
	checkStatuses(t, d.callAPI(t), "200")
	if got := eval[string](t, d, "read #token-type", `document.getElementById('token-type').textContent`); got != "DPoP" {
		t.Errorf("#token-type = %q after the reload, want DPoP (the key in IndexedDB proved the refresh)", got)
	}
}

// dpopStolen: the page's tokens, copied out, are refused without the page's key.
func (d *driver) dpopStolen(t *testing.T) {
	d.guard(t)
	mark := d.seenCount()
	d.openSynced(t, "/?transport=body&dpop=1")
	d.login(t)
	var tokens struct {
		Access    string `json:"access_token"`
		Refresh   string `json:"refresh_token"`
		TokenType string `json:"token_type"`
	}
	logins := d.seenSince(mark, "/login")
	if len(logins) == 0 {
		t.Fatalf("no answer to POST /login seen%s", d.diagnostics())
	}
	ctx, cancel := d.step()
	res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: logins[len(logins)-1].id})
	cancel()
	if err != nil {
		t.Fatalf("read the login answer: %v", err)
	}
	if err := json.Unmarshal(res.Body, &tokens); err != nil || tokens.Refresh == "" || tokens.TokenType != "DPoP" {
		t.Fatalf("login answer %s: want token_type DPoP and a refresh_token in the body (body transport)", res.Body)
	}

	now := time.Now
	if d.h.Now != nil {
		now = d.h.Now
	}
	thief := testutil.NewDPoPKey(t)
	post := func(what, proof string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", d.base+"/refresh", strings.NewReader(`{"refresh_token":"`+tokens.Refresh+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		return send(t, what, req)
	}
	if code, body := post("replayed refresh without a proof", ""); code != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the page's refresh token replayed without a proof: %d %v, want 400 invalid_grant", code, body)
	}
	if code, body := post("replayed refresh with another key", thief.Proof(t, "POST", d.base+"/refresh", "", "", now())); code != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the page's refresh token replayed with another key's proof: %d %v, want 400 invalid_grant", code, body)
	}
	me := func(what, auth, proof string) int {
		req, _ := http.NewRequest("GET", d.base+"/api/me", nil)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		code, _ := send(t, what, req)
		return code
	}
	if code := me("stolen access token as Bearer", "Bearer "+tokens.Access, ""); code != 401 {
		t.Errorf("the page's access token as Bearer: %d, want 401", code)
	}
	if code := me("stolen access token with another key", "DPoP "+tokens.Access, thief.Proof(t, "GET", d.base+"/api/me", tokens.Access, "", now())); code != 401 {
		t.Errorf("the page's access token with another key's proof: %d, want 401", code)
	}
	// The thief's attempts did not touch the session: the page refreshes as usual.
	checkStatuses(t, d.expireAndCall(t), "200")
	d.waitState(t, "logged-in")
}

// dpopLive: the stream works with DPoP; the socket declines.
func (d *driver) dpopLive(t *testing.T) {
	d.guard(t)
	d.openSynced(t, "/?dpop=1")
	d.login(t)
	d.do(t, "click #live-toggle", chromedp.Click(chromedp.ID("live-toggle")))
	until[bool](t, d, "the stream to tick", `document.getElementById('stream-state').textContent === 'open' && document.getElementById('stream-exp').textContent !== '-'`)
	until[bool](t, d, "the socket to decline", `document.getElementById('socket-state').textContent === 'closed: not available with DPoP-bound tokens'`)
	_, _, exp := d.liveState(t, "stream")
	before := d.h.RefreshCalls()
	d.h.Expire()
	until[bool](t, d, "the stream to tick with a new token", fmt.Sprintf(
		`document.getElementById('stream-state').textContent === 'open' && !['-', %q].includes(document.getElementById('stream-exp').textContent)`, exp))
	if n := d.h.RefreshCalls() - before; n != 1 {
		t.Errorf("%d refreshes for the stream's expired token, want 1", n)
	}
	d.do(t, "click #live-toggle", chromedp.Click(chromedp.ID("live-toggle")))
}

// dpopLogout: logout forgets the key.
func (d *driver) dpopLogout(t *testing.T) {
	d.guard(t)
	d.openSynced(t, "/?dpop=1")
	d.login(t)
	checkStatuses(t, d.callAPI(t), "200")
	d.do(t, "click #logout", chromedp.Click(chromedp.ID("logout")))
	d.waitState(t, "logged-out")
	until[bool](t, d, "the DPoP key to be deleted", `(async () => {
		const db = await new Promise((ok) => { const r = indexedDB.open('jwtexp-dpop', 1); r.onsuccess = () => ok(r.result); });
		const n = await new Promise((ok) => { const r = db.transaction('keys').objectStore('keys').count(); r.onsuccess = () => ok(r.result); });
		db.close();
		return n === 0;
	})()`)
}

// pageClock lets the test set the page's Date.now (window.__jwtexpClockOffset, in ms, added to
// the real time), starting at the offset given in place of %d: the script runs before the
// page's own scripts on every load, so the client captures the shifted Date.now.
const pageClock = `(() => {
	const real = Date.now.bind(Date);
	let offset = %d;
	Object.defineProperty(window, '__jwtexpClockOffset', { get: () => offset, set: (v) => { offset = v; } });
	Date.now = () => real() + offset;
})();`

// installPageClock installs pageClock, at offset ms, for every page the tab loads from now on,
// in place of the one installed before.
func (d *driver) installPageClock(t *testing.T, offset int64) {
	t.Helper()
	ctx, cancel := d.step()
	defer cancel()
	if d.clockScript != "" {
		if _, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument,
			page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: page.ScriptIdentifier(d.clockScript)}); err != nil {
			t.Fatalf("remove the page clock: %v", err)
		}
	}
	res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(pageClock, offset)})
	if err != nil {
		t.Fatalf("install the page clock: %v", err)
	}
	d.clockScript = string(res.Identifier)
}

// pageClockLag is how far syncClock sets the page's clock behind the server's. The examples' fake
// clock stands still between the test's steps while the page's runs on: the lag keeps the page's
// proofs out of the server's future (jwtexp allows 5 s ahead) for 25 s of real time after each
// sync, however slow a loaded machine runs a step, and a proof 20 s old is well within the
// default window of a minute.
const pageClockLag = 20 * time.Second

// syncClock sets the page's clock pageClockLag behind the server's (Hooks.Now; nothing without
// it).
func (d *driver) syncClock(t *testing.T) {
	t.Helper()
	if d.h.Now == nil {
		return
	}
	offset := (d.h.Now().Sub(time.Now()) - pageClockLag).Milliseconds()
	eval[bool](t, d, "set the page's clock", fmt.Sprintf(`(window.__jwtexpClockOffset = %d, true)`, offset))
	d.installPageClock(t, offset) // a reload starts from it too
}

// openSynced opens the page and sets its clock.
func (d *driver) openSynced(t *testing.T, path string) {
	t.Helper()
	if d.h.Now != nil { // the page's first scripts (restore) already on the server's time
		d.installPageClock(t, (d.h.Now().Sub(time.Now()) - pageClockLag).Milliseconds())
	}
	d.open(t, path)
	d.syncClock(t)
}

// dpopNonce: the nonce dance at login, on calls, and at refresh.
func (d *driver) dpopNonce(t *testing.T) {
	d.guard(t)
	advance := func(dur time.Duration) {
		d.h.Advance(dur)
		d.syncClock(t)
	}
	statuses := func(since int, path string) string {
		var out []string
		for _, r := range d.seenSince(since, path) {
			out = append(out, fmt.Sprint(r.status))
		}
		return strings.Join(out, " ")
	}
	mark := d.seenCount()
	d.openSynced(t, "/?dpop=1")
	d.login(t)
	if got := statuses(mark, "/login"); got != "400 200" {
		t.Errorf("POST /login answers: %q, want \"400 200\" (use_dpop_nonce, then the retry with the nonce)", got)
	}
	mark = d.seenCount()
	checkStatuses(t, d.callAPI(t), "200")
	if got := statuses(mark, "/api/me"); strings.Contains(got, "401") {
		t.Errorf("GET /api/me answers %q right after login, want only 200 (the login's nonce is in the proofs)", got)
	}

	before := d.h.RefreshCalls()
	advance(11 * time.Minute) // two nonce steps: the page's nonce is stale, its token is not
	mark = d.seenCount()
	checkStatuses(t, d.callAPI(t), "200")
	if got := statuses(mark, "/api/me"); strings.Count(got, "401") != 5 || strings.Count(got, "200") != 5 {
		t.Errorf("GET /api/me answers with a stale nonce: %q, want each of the 5 calls 401 (use_dpop_nonce) then 200", got)
	}
	if n := d.h.RefreshCalls() - before; n != 0 {
		t.Errorf("%d refreshes for a stale nonce, want 0 (the token was fine)", n)
	}
	mark = d.seenCount()
	checkStatuses(t, d.callAPI(t), "200")
	if got := statuses(mark, "/api/me"); strings.Contains(got, "401") {
		t.Errorf("GET /api/me answers after the nonce retry: %q, want only 200 (the new nonce is remembered)", got)
	}

	advance(22 * time.Minute) // the access token (30 min) has expired and the nonce is stale again
	before = d.h.RefreshCalls()
	checkStatuses(t, d.callAPI(t), "200")
	if n := d.h.RefreshCalls() - before; n < 1 || n > 2 {
		t.Errorf("%d POST /refresh after expiry with a stale nonce, want 1, or 2 when the first is answered use_dpop_nonce", n)
	}
	d.waitState(t, "logged-in")
}

func send(t *testing.T, what string, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body
}

// checkProof verifies a DPoP proof the page sent, independently of the server: the JWS shape,
// its ES256 signature over the embedded public key (crypto/ecdsa), and the claims of RFC 9449
// §4.2 for a request to htm and htu presenting token.
func checkProof(t *testing.T, proof, htm, htu, token string, now time.Time) {
	t.Helper()
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		t.Fatalf("DPoP proof %q: not a compact JWS", proof)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("DPoP proof: segment %q is not base64url without padding: %v", s, err)
		}
		return b
	}
	var header struct {
		Typ string            `json:"typ"`
		Alg string            `json:"alg"`
		JWK map[string]string `json:"jwk"`
	}
	var claims struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT int64  `json:"iat"`
		ATH string `json:"ath"`
	}
	if err := json.Unmarshal(dec(parts[0]), &header); err != nil {
		t.Fatalf("DPoP proof header: %v", err)
	}
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatalf("DPoP proof claims: %v", err)
	}
	if header.Typ != "dpop+jwt" || header.Alg != "ES256" {
		t.Errorf("DPoP proof header typ %q alg %q, want dpop+jwt ES256", header.Typ, header.Alg)
	}
	if _, private := header.JWK["d"]; private || header.JWK["kty"] != "EC" || header.JWK["crv"] != "P-256" || len(header.JWK) != 4 {
		t.Errorf("DPoP proof jwk %v, want exactly kty EC, crv P-256, x, y", header.JWK)
	}
	x, y := dec(header.JWK["x"]), dec(header.JWK["y"])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("DPoP proof jwk is not a P-256 point: %v", err)
	}
	sig := dec(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("DPoP proof signature does not verify with its jwk (ES256, r||s of 32 bytes each)")
	}
	ath := sha256.Sum256([]byte(token))
	if claims.HTM != htm || claims.HTU != htu || claims.ATH != base64.RawURLEncoding.EncodeToString(ath[:]) {
		t.Errorf("DPoP proof claims htm %q htu %q ath %q, want %q %q and the token's hash", claims.HTM, claims.HTU, claims.ATH, htm, htu)
	}
	if jti := dec(claims.JTI); len(jti) < 16 || bytes.Equal(jti, make([]byte, len(jti))) {
		t.Errorf("DPoP proof jti %q, want at least 128 random bits", claims.JTI)
	}
	if age := now.Unix() - claims.IAT; age < -5 || age > 60 {
		t.Errorf("DPoP proof iat %d is %d s from now", claims.IAT, age)
	}
}
