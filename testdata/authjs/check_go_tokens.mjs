// check_go_tokens.mjs reads Go-made session cookies (a JSON file written by
// the Go test TestAuthJSNodeDecodes) and reads each with the real Auth.js
// v5 (@auth/core) or NextAuth.js v4 (next-auth/jwt), pinned in
// package.json and package-lock.json, exactly as the app reads a request:
// getToken() on the Cookie header (the real SessionStore joins the
// chunks, the real decode() decrypts), and decode() on the joined value
// for its error. Then it re-issues each token as the app's session route
// does on every session request (encode() of the decoded claims, chunked
// by the real SessionStore over the request's cookies, stale chunks
// deleted), so the Go side can read what a round trip through Next.js
// leaves. It prints one JSON object:
//
//   {"versions": {...}, "results": [{"name", "claims" | "error", "set_cookies": [{"name", "value", "max_age"}]}]}
//
//   node check_go_tokens.mjs cases.json
import { decode, encode, getToken } from "@auth/core/jwt";
import v4jwt from "next-auth/jwt";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { SessionStore: SessionStore5 } = await import("./node_modules/@auth/core/lib/utils/cookie.js");
const { SessionStore: SessionStore4 } = require("./node_modules/next-auth/core/lib/cookie.js");

const quiet = { debug() {}, warn() {}, error() {} };

// parseCookies parses a Cookie header as a Next.js request's cookies: the
// first of a repeated name wins.
function parseCookies(header) {
  const out = {};
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

async function check(c) {
  const cookies = parseCookies(c.cookie);
  const secure = c.cookie_name.startsWith("__Secure-");
  let store, claims, viaGetToken, error;
  if (c.format === "authjs") {
    store = new SessionStore5({ name: c.cookie_name, options: {} }, cookies, quiet);
    viaGetToken = await getToken({ req: { headers: { cookie: c.cookie } }, secret: c.secrets, cookieName: c.cookie_name, salt: c.cookie_name, secureCookie: secure });
    try {
      claims = await decode({ token: store.value, secret: c.secrets, salt: c.cookie_name });
    } catch (e) {
      error = String(e && e.message);
    }
  } else {
    store = new SessionStore4({ name: c.cookie_name, options: {} }, { cookies, headers: {} }, quiet);
    viaGetToken = await v4jwt.getToken({ req: { headers: { cookie: c.cookie }, cookies }, secret: c.secrets[0], cookieName: c.cookie_name, secureCookie: secure });
    try {
      claims = await v4jwt.decode({ token: store.value, secret: c.secrets[0] });
    } catch (e) {
      error = String(e && e.message);
    }
  }
  if (JSON.stringify(viaGetToken ?? null) !== JSON.stringify(claims ?? null)) {
    throw new Error(`${c.name}: getToken() and decode() disagree`);
  }
  const result = { name: c.name };
  if (!claims) {
    result.error = error ?? "no token";
    return result;
  }
  result.claims = claims;
  if (c.reissue) {
    // The session route: decode, the default jwt callback (the claims as
    // they are), encode with a new expiry, chunk over the request's
    // cookies.
    const maxAge = 30 * 24 * 60 * 60;
    const token =
      c.format === "authjs"
        ? await encode({ token: claims, secret: c.secrets, salt: c.cookie_name, maxAge })
        : await v4jwt.encode({ token: claims, secret: c.secrets[0], maxAge });
    result.set_cookies = store.chunk(token, { maxAge }).map((x) => ({ name: x.name, value: x.value, max_age: x.options.maxAge }));
  }
  return result;
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const c of input.cases) results.push(await check(c));
console.log(
  JSON.stringify({
    versions: {
      "@auth/core": require("./node_modules/@auth/core/package.json").version,
      "next-auth": require("./node_modules/next-auth/package.json").version,
      node: process.version,
    },
    results,
  }),
);
