// Follows a rotating key ring the way a Node service would: jose's jwtVerify with
// createRemoteJWKSet, caching the JWK Set for the max-age its Cache-Control names and never
// refetching early on an unknown kid (cooldown of an hour), so a key published too late fails a
// token. Used by exampletest.JoseKeyRing.
//
//   node follow.mjs < config.json
//
// stdin: {"jwks": url, "login": [url, ...], "issuer": iss, "audience": aud, "ms": duration,
//         "every": ms between tokens, "username": u, "password": p}
// stdout: {"tokens": n, "kids": [...], "unknownKid": n, "failed": n, "errors": [...], "maxAge": s}
import { createRemoteJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const c = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const head = await fetch(c.jwks);
await head.arrayBuffer();
const m = /max-age=(\d+)/.exec(head.headers.get('cache-control') ?? '');
const maxAge = m ? Number(m[1]) : 0;
const jwks = createRemoteJWKSet(new URL(c.jwks), { cacheMaxAge: maxAge * 1000, cooldownDuration: 3600000 });

const out = { tokens: 0, kids: [], unknownKid: 0, failed: 0, errors: [], maxAge };
const kids = new Set();
const end = Date.now() + c.ms;
for (let i = 0; Date.now() < end; i++) {
  const res = await fetch(c.login[i % c.login.length], {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: c.username, password: c.password }),
  });
  const { access_token: token } = await res.json();
  try {
    const { protectedHeader } = await jwtVerify(token, jwks, {
      issuer: c.issuer, audience: c.audience, algorithms: ['RS256', 'ES256', 'EdDSA'],
    });
    kids.add(protectedHeader.kid);
  } catch (err) {
    if (err.code === 'ERR_JWKS_NO_MATCHING_KEY') out.unknownKid++;
    else out.failed++;
    if (out.errors.length < 5) out.errors.push(`${err.code ?? 'ERROR'}: ${err.message}`);
  }
  out.tokens++;
  await new Promise((r) => setTimeout(r, c.every));
}
out.kids = [...kids];
process.stdout.write(JSON.stringify(out));
