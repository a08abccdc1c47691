// Verifies JWTs the way a Node service would: jose's jwtVerify with createRemoteJWKSet, fetching
// each issuer's JWK Set over HTTP. Used by exampletest.JoseInterop.
//
//   node verify.mjs < cases.json
//
// stdin: [{"jwks": url, "token": jwt, "issuer": iss, "audience": aud}, ...]
// stdout: [{"ok": true, "payload": {...}, "protectedHeader": {...}} | {"ok": false, "error": "..."}, ...]
import { createRemoteJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const sets = new Map();
const results = [];
for (const c of cases) {
  if (!sets.has(c.jwks)) sets.set(c.jwks, createRemoteJWKSet(new URL(c.jwks)));
  try {
    const { payload, protectedHeader } = await jwtVerify(c.token, sets.get(c.jwks), {
      issuer: c.issuer,
      audience: c.audience,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
    });
    results.push({ ok: true, payload, protectedHeader });
  } catch (err) {
    results.push({ ok: false, error: `${err.code ?? 'ERROR'}: ${err.message}` });
  }
}
process.stdout.write(JSON.stringify(results));
