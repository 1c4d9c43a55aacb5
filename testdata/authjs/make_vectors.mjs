// make_vectors.mjs writes vectors.json: session tokens made by the real
// Auth.js v5 (@auth/core's encode()) and NextAuth.js v4 (next-auth/jwt's
// encode()), pinned in package.json and package-lock.json, with the
// cookies the real SessionStore chunks them into, and what the real
// decode() makes of each (the claims, or a rejection). The Go tests read
// the committed file and never need Node:
//
//   npm ci && node make_vectors.mjs     # in testdata/authjs: rewrite vectors.json
//
// encode() takes the clock and draws a random IV and jti, so every run
// writes other tokens; each vector records the time it was made ("now"),
// which the Go tests give their clock. The few forms encode() never writes
// but decode() accepts (no kid, A256GCM under v5) are made with the same
// jose and @panva/hkdf that @auth/core uses, and decode() is asked about
// each of them too.
import { encode, decode } from "@auth/core/jwt";
import v4jwt from "next-auth/jwt";
import { hkdf } from "@panva/hkdf";
import { EncryptJWT, base64url, calculateJwkThumbprint } from "jose";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";

const require = createRequire(import.meta.url);
// The packages' own cookie chunking (not exported: loaded by file).
const { SessionStore: SessionStore5 } = await import("./node_modules/@auth/core/lib/utils/cookie.js");
const { SessionStore: SessionStore4 } = require("./node_modules/next-auth/core/lib/cookie.js");

// Test secrets (the Go tests' authjsSecret1..3 and authjsOther).
export const SECRETS = {
  s1: "authjs-test-secret-1-0123456789abcdefghij",
  s2: "authjs-test-secret-2-KLMNOPQRSTUVWXYZklmnop",
  s3: "authjs-test-secret-3-!#$%&()*+,-./:;<=>?@[]",
  other: "authjs-test-secret-other-qrstuvwxyz012345",
};

const quiet = { debug() {}, warn() {}, error() {} };

// cookieHeader returns the Cookie header a browser sends after the app set
// token under name: the real SessionStore's chunks, "name=value; …".
function cookieHeader(format, name, token) {
  const store =
    format === "authjs"
      ? new SessionStore5({ name, options: {} }, {}, quiet)
      : new SessionStore4({ name, options: {} }, { cookies: {}, headers: {} }, quiet);
  return store
    .chunk(token, {})
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
}

// decodeWith asks the real decode() about token: the claims, or the error.
async function decodeWith(format, token, secrets, name) {
  try {
    const claims =
      format === "authjs"
        ? await decode({ token, secret: secrets, salt: name })
        : await v4jwt.decode({ token, secret: secrets[0] });
    return { claims };
  } catch (e) {
    return { error: String(e && e.message) };
  }
}

// v5Token builds a v5 token encode() would not write: enc A256GCM and/or no
// kid, with encode()'s key derivation and thumbprint.
async function v5Token({ claims, secret, name, enc, kid, nbf }) {
  const key = await hkdf("sha256", secret, name, `Auth.js Generated Encryption Key (${name})`, enc === "A256GCM" ? 32 : 64);
  const header = { alg: "dir", enc };
  if (kid) {
    header.kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, `sha${key.byteLength << 3}`);
  }
  const now = (Date.now() / 1000) | 0;
  let jwt = new EncryptJWT(claims).setProtectedHeader(header).setIssuedAt().setExpirationTime(now + 30 * 24 * 3600).setJti(crypto.randomUUID());
  if (nbf) jwt = jwt.setNotBefore(nbf);
  return jwt.encrypt(key);
}

const profile = {
  name: "Ada Lovelace",
  email: "ada@example.com",
  picture: "https://avatars.example.com/u/1815?v=4",
  sub: "1815",
};
const unicode = {
  name: "Zoë Ångström 🦊",
  email: "zoë@例え.jp",
  sub: "42",
  note: "日本語 — \u2028 line sep, \"quotes\", back\\slash, tab\t, emoji 👩‍💻, nul \u0000",
};
const nested = {
  ...profile,
  account: {
    provider: "github",
    type: "oauth",
    access_token: "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    expires_at: 1798761600,
    scope: ["read:user", "user:email"],
    nested: { deeper: { deepest: [1, [2, [3, { four: null }]]] } },
  },
  roles: ["admin", "billing"],
  flags: { beta: true, legacy: false, none: null },
  numbers: { pi: 3.141592653589793, tiny: 1e-7, big: 1e21, neg: -17, zero: 0, tooBigForJS: 12345678901234567890 },
};
const large = { ...profile, blob: "x".repeat(2500) + "🦊".repeat(900) + "y".repeat(2000) };

const vectors = [];

// add makes one vector: the token, the cookies, and decode()'s verdict,
// which must be what the vector expects.
async function add(v) {
  const name = v.cookie_name;
  const token = v.token;
  const got = await decodeWith(v.format, token, v.secrets.map((k) => SECRETS[k]), name);
  const out = {
    name: v.name,
    format: v.format,
    cookie_name: name,
    secrets: v.secrets,
    now: (Date.now() / 1000) | 0,
    cookie: cookieHeader(v.format, name, token),
    token,
    expect: v.expect,
  };
  if (v.expect === "accept") {
    if (!got.claims) throw new Error(`${v.name}: decode() refused a vector meant to be accepted: ${got.error}`);
    if (v.claims && !isDeepStrictEqual(Object.fromEntries(Object.entries(got.claims).filter(([k]) => !["iat", "exp", "jti"].includes(k))), JSON.parse(JSON.stringify(v.claims)))) {
      throw new Error(`${v.name}: decode() returned other claims`);
    }
    // The claims as decode() returns them, serialised as encode() did:
    // the plaintext's own text, which the Go side must read exactly.
    out.claims_json = JSON.stringify(got.claims);
  } else if (got.claims) {
    throw new Error(`${v.name}: decode() accepted a vector meant to be rejected (${v.expect})`);
  } else {
    out.decode_error = got.error;
  }
  if (v.note) out.note = v.note;
  vectors.push(out);
}

const v5 = (token, secret, name, maxAge) => encode({ token, secret, salt: name, ...(maxAge !== undefined && { maxAge }) });
const v4 = (token, secret, maxAge) => v4jwt.encode({ token, secret, ...(maxAge !== undefined && { maxAge }) });
const N5 = "authjs.session-token";
const S5 = "__Secure-authjs.session-token";
const N4 = "next-auth.session-token";
const S4 = "__Secure-next-auth.session-token";

// Auth.js v5: encode() output.
await add({ name: "v5 profile", format: "authjs", cookie_name: N5, secrets: ["s1"], claims: profile, token: await v5(profile, SECRETS.s1, N5), expect: "accept" });
await add({ name: "v5 profile, __Secure- name", format: "authjs", cookie_name: S5, secrets: ["s1"], claims: profile, token: await v5(profile, SECRETS.s1, S5), expect: "accept" });
await add({ name: "v5 unicode", format: "authjs", cookie_name: S5, secrets: ["s2"], claims: unicode, token: await v5(unicode, SECRETS.s2, S5), expect: "accept" });
await add({ name: "v5 nested", format: "authjs", cookie_name: N5, secrets: ["s1"], claims: nested, token: await v5(nested, SECRETS.s1, N5), expect: "accept" });
await add({ name: "v5 empty claims", format: "authjs", cookie_name: N5, secrets: ["s1"], claims: {}, token: await v5({}, SECRETS.s1, N5), expect: "accept" });
await add({ name: "v5 large, chunked", format: "authjs", cookie_name: S5, secrets: ["s1"], claims: large, token: await v5(large, SECRETS.s1, S5), expect: "accept" });
await add({ name: "v5 custom cookie name", format: "authjs", cookie_name: "myapp.sid", secrets: ["s3"], claims: profile, token: await v5(profile, SECRETS.s3, "myapp.sid"), expect: "accept" });
await add({ name: "v5 older secret, newest-first list", format: "authjs", cookie_name: N5, secrets: ["s1", "s2", "s3"], claims: profile, token: await v5(profile, SECRETS.s3, N5), expect: "accept", note: "sealed under s3, read with [s1, s2, s3]: found by kid" });
await add({ name: "v5 exp 10 s ago", format: "authjs", cookie_name: N5, secrets: ["s1"], claims: profile, token: await v5(profile, SECRETS.s1, N5, -10), expect: "accept", note: "within decode()'s 15 s clock tolerance" });
// Auth.js v5: what decode() accepts that encode() does not write.
await add({ name: "v5 no kid", format: "authjs", cookie_name: N5, secrets: ["s1", "s2"], claims: profile, token: await v5Token({ claims: profile, secret: SECRETS.s1, name: N5, enc: "A256CBC-HS512" }), expect: "accept", note: "no kid: the first secret" });
await add({ name: "v5 A256GCM", format: "authjs", cookie_name: N5, secrets: ["s2", "s1"], claims: profile, token: await v5Token({ claims: profile, secret: SECRETS.s1, name: N5, enc: "A256GCM", kid: true }), expect: "accept", note: "kid = SHA-256 thumbprint of the 32-byte key" });
await add({ name: "v5 A256GCM no kid", format: "authjs", cookie_name: N5, secrets: ["s1"], claims: nested, token: await v5Token({ claims: nested, secret: SECRETS.s1, name: N5, enc: "A256GCM" }), expect: "accept" });
// Auth.js v5: rejected.
await add({ name: "v5 wrong secret", format: "authjs", cookie_name: N5, secrets: ["s1", "s2"], token: await v5(profile, SECRETS.other, N5), expect: "ErrUnknownKey", note: "the kid names no secret" });
await add({ name: "v5 another cookie name", format: "authjs", cookie_name: N5, secrets: ["s1"], token: await v5(profile, SECRETS.s1, "authjs.csrf-token"), expect: "ErrUnknownKey", note: "the name is the key's salt" });
await add({ name: "v5 no kid, second secret", format: "authjs", cookie_name: N5, secrets: ["s1", "s2"], token: await v5Token({ claims: profile, secret: SECRETS.s2, name: N5, enc: "A256CBC-HS512" }), expect: "ErrDecrypt", note: "no kid: only the first secret is tried" });
await add({ name: "v5 expired", format: "authjs", cookie_name: N5, secrets: ["s1"], token: await v5(profile, SECRETS.s1, N5, -60), expect: "ErrExpired" });
await add({ name: "v5 not yet valid", format: "authjs", cookie_name: N5, secrets: ["s1"], token: await v5Token({ claims: profile, secret: SECRETS.s1, name: N5, enc: "A256CBC-HS512", kid: true, nbf: ((Date.now() / 1000) | 0) + 3600 }), expect: "ErrNotYetValid" });
{
  const t = (await v5(profile, SECRETS.s1, N5)).split(".");
  const ct = Buffer.from(t[3], "base64url");
  ct[5] ^= 1;
  t[3] = ct.toString("base64url");
  await add({ name: "v5 tampered ciphertext", format: "authjs", cookie_name: N5, secrets: ["s1"], token: t.join("."), expect: "ErrDecrypt" });
  const tag = Buffer.from(t[4], "base64url");
  tag[0] ^= 0x80;
  t[4] = tag.toString("base64url");
  await add({ name: "v5 tampered tag", format: "authjs", cookie_name: N5, secrets: ["s1"], token: t.join("."), expect: "ErrDecrypt" });
}

// NextAuth.js v4: encode() output.
await add({ name: "v4 profile", format: "nextauth4", cookie_name: N4, secrets: ["s1"], claims: profile, token: await v4(profile, SECRETS.s1), expect: "accept" });
await add({ name: "v4 profile, __Secure- name", format: "nextauth4", cookie_name: S4, secrets: ["s2"], claims: profile, token: await v4(profile, SECRETS.s2), expect: "accept" });
await add({ name: "v4 unicode", format: "nextauth4", cookie_name: N4, secrets: ["s1"], claims: unicode, token: await v4(unicode, SECRETS.s1), expect: "accept" });
await add({ name: "v4 nested", format: "nextauth4", cookie_name: N4, secrets: ["s1"], claims: nested, token: await v4(nested, SECRETS.s1), expect: "accept" });
await add({ name: "v4 empty claims", format: "nextauth4", cookie_name: N4, secrets: ["s1"], claims: {}, token: await v4({}, SECRETS.s1), expect: "accept" });
await add({ name: "v4 large, chunked", format: "nextauth4", cookie_name: S4, secrets: ["s1"], claims: large, token: await v4(large, SECRETS.s1), expect: "accept" });
await add({ name: "v4 exp 10 s ago", format: "nextauth4", cookie_name: N4, secrets: ["s1"], claims: profile, token: await v4(profile, SECRETS.s1, -10), expect: "accept" });
// Rotation on the Go side only: decode() takes one secret, so the vector
// is checked with the one that sealed it.
{
  const token = await v4(profile, SECRETS.s2);
  const got = await decodeWith("nextauth4", token, [SECRETS.s2], N4);
  if (!got.claims) throw new Error("v4 older secret: decode() refused it");
  vectors.push({
    name: "v4 older secret, newest-first list",
    format: "nextauth4",
    cookie_name: N4,
    secrets: ["s1", "s2"],
    now: (Date.now() / 1000) | 0,
    cookie: cookieHeader("nextauth4", N4, token),
    token,
    expect: "accept",
    claims_json: JSON.stringify(got.claims),
    note: "sealed under s2, read with [s1, s2]: no kid, so each secret is tried (decode() checked with s2)",
  });
}
// NextAuth.js v4: rejected.
await add({ name: "v4 wrong secret", format: "nextauth4", cookie_name: N4, secrets: ["s1"], token: await v4(profile, SECRETS.other), expect: "ErrDecrypt" });
await add({ name: "v4 expired", format: "nextauth4", cookie_name: N4, secrets: ["s1"], token: await v4(profile, SECRETS.s1, -60), expect: "ErrExpired" });
{
  const t = (await v4(profile, SECRETS.s1)).split(".");
  const ct = Buffer.from(t[3], "base64url");
  ct[0] ^= 1;
  t[3] = ct.toString("base64url");
  await add({ name: "v4 tampered ciphertext", format: "nextauth4", cookie_name: N4, secrets: ["s1"], token: t.join("."), expect: "ErrDecrypt" });
}
// A v5 token is not a v4 token, and the reverse.
await add({ name: "v5 token read as v4", format: "nextauth4", cookie_name: N4, secrets: ["s1"], token: await v5(profile, SECRETS.s1, N4), expect: "ErrUnsupported" });
await add({ name: "v4 token read as v5", format: "authjs", cookie_name: N4, secrets: ["s1"], token: await v4(profile, SECRETS.s1), expect: "ErrDecrypt", note: "no kid: the first secret's A256GCM key for this name, which is not v4's" });

const out = {
  comment: "Made by make_vectors.mjs with the real @auth/core and next-auth/jwt encode() and decode(); see that file.",
  versions: {
    "@auth/core": require("./node_modules/@auth/core/package.json").version,
    "next-auth": require("./node_modules/next-auth/package.json").version,
    node: process.version,
  },
  secrets: SECRETS,
  vectors,
};
writeFileSync(new URL("./vectors.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
console.error(`wrote vectors.json: ${vectors.length} vectors`);
