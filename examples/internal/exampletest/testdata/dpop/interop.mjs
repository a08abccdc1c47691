// A DPoP client made with panva's dpop package (RFC 9449), run against a jwtexp example by
// exampletest.DPoPInterop. For each algorithm it logs in with a proof (answering a DPoP-Nonce
// challenge if the server sends one), calls GET /api/me with the bound token and a fresh proof,
// replays that proof, sends the token as Bearer, and refreshes with a proof.
//
//   node interop.mjs < config.json
//
// stdin: {"base": url, "username": u, "password": p, "algs": ["ES256", ...]}
// stdout: {"<alg>": {"thumbprint", "jkt" (the access token's cnf.jkt), "login": {status, token_type}, "me": status, "replay":
//          {status, challenge}, "bearer": {status, challenge}, "refresh": {status, token_type},
//          "meAfterRefresh": status, "nonces": n}, ...}
import * as DPoP from 'dpop';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const c = JSON.parse(Buffer.concat(chunks).toString('utf8'));

// send makes a request with a fresh proof, once more with the server's nonce if it asks for one.
async function send(state, keypair, method, path, { token, body, scheme = 'DPoP', proof } = {}) {
  const url = c.base + path;
  for (let attempt = 0; ; attempt++) {
    const p = proof ?? (await DPoP.generateProof(keypair, url, method, state.nonce, token));
    const headers = { DPoP: p };
    if (body) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `${scheme} ${token}`;
    const res = await fetch(url, { method, headers, body: body && JSON.stringify(body) });
    const nonce = res.headers.get('dpop-nonce');
    if (nonce) state.nonce = nonce;
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    const asked = json && json.error === 'use_dpop_nonce';
    if (asked) state.nonces++;
    if (!asked || attempt > 0 || proof) {
      return { status: res.status, json, challenge: res.headers.get('www-authenticate'), proof: p };
    }
  }
}

const out = {};
for (const alg of c.algs) {
  const keypair = await DPoP.generateKeyPair(alg);
  const state = { nonce: undefined, nonces: 0 };
  const r = { thumbprint: await DPoP.calculateThumbprint(keypair.publicKey) };
  const login = await send(state, keypair, 'POST', '/login', { body: { username: c.username, password: c.password } });
  r.login = { status: login.status, token_type: login.json?.token_type };
  const access = login.json?.access_token;
  r.jkt = access && JSON.parse(Buffer.from(access.split('.')[1], 'base64url').toString('utf8')).cnf?.jkt;
  const me = await send(state, keypair, 'GET', '/api/me', { token: access });
  r.me = me.status;
  const replay = await send(state, keypair, 'GET', '/api/me', { token: access, proof: me.proof });
  r.replay = { status: replay.status, challenge: replay.challenge };
  const bearer = await send(state, keypair, 'GET', '/api/me', { token: access, scheme: 'Bearer' });
  r.bearer = { status: bearer.status, challenge: bearer.challenge };
  const refresh = await send(state, keypair, 'POST', '/refresh', { body: { refresh_token: login.json?.refresh_token } });
  r.refresh = { status: refresh.status, token_type: refresh.json?.token_type };
  r.meAfterRefresh = (await send(state, keypair, 'GET', '/api/me', { token: refresh.json?.access_token })).status;
  r.nonces = state.nonces;
  out[alg] = r;
}
process.stdout.write(JSON.stringify(out));
