// gen_vectors.mjs writes testdata/vectors.json: known-answer vectors for the
// jwesession token format, computed by an implementation independent of the
// Go library (Node's built-in crypto only, no npm packages).
//
//   node testdata/gen_vectors.mjs          # rewrite vectors.json
//   node testdata/gen_vectors.mjs --check  # exit 1 if vectors.json differs
//
// The output is deterministic (fixed IVs and times), so running it again
// gives the same file. The Go tests read the committed JSON and never need
// Node.
//
// The format, as DESIGN.md states it:
//   key   = HKDF-SHA256(ikm = the secret's bytes, salt = "jwesession v1",
//           info = "A256GCM " + cookie base name, 32 bytes)
//   kid   = explicit, or base64url(HKDF-SHA256(secret, "jwesession v1", "kid", 12 bytes))
//   token = b64u(header) + "." + "" + "." + b64u(iv) + "." + b64u(ciphertext) + "." + b64u(tag)
//           header = {"alg":"dir","enc":"A256GCM","kid":KID} exactly,
//           AES-256-GCM, 12-byte IV, 16-byte tag, AAD = the ASCII header segment
//   plaintext = {"v":1,"sid":...,"iat":...,"exp":...,"abs":...,"data":...}
//           (the field order of the Go struct envelope)

import { createCipheriv, hkdfSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const SALT = "jwesession v1";

const b64u = (buf) => Buffer.from(buf).toString("base64url");

function deriveKey(secret, base) {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), SALT, "A256GCM " + base, 32));
}

function defaultKid(secret) {
  return b64u(Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), SALT, "kid", 12)));
}

function seal(key, kid, ivHex, plaintext) {
  // The header is built as a string so that its bytes are exactly the ones
  // the format fixes, whatever JSON.stringify would do.
  const header = '{"alg":"dir","enc":"A256GCM","kid":"' + kid + '"}';
  const h = b64u(Buffer.from(header, "ascii"));
  const iv = Buffer.from(ivHex, "hex");
  if (iv.length !== 12) throw new Error("IV must be 12 bytes");
  const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
  c.setAAD(Buffer.from(h, "ascii"));
  const ct = Buffer.concat([c.update(Buffer.from(plaintext, "utf8")), c.final()]);
  const tag = c.getAuthTag();
  return [h, "", b64u(iv), b64u(ct), b64u(tag)].join(".");
}

// A note of about n bytes, varied enough not to be a run of one character.
function note(n) {
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[i % words.length] + "-" + i + " ";
  return s.slice(0, n);
}

const inputs = [
  {
    name: "derived kid, default cookie name, small data",
    secret: "vector-secret-1-0123456789abcdefghijklmnopqrstuv",
    cookie_base_name: "session",
    kid: null,
    iv_hex: "000102030405060708090a0b",
    sid: "AAECAwQFBgcICQoLDA0ODw",
    iat: 1795000000,
    abs: 1795000000,
    data: { user: "alice" },
  },
  {
    name: "explicit kid, other cookie name, unicode data",
    secret: "vector-secret-2-QRSTUVWXYZ_-~!@#$%^&*()[]{}",
    cookie_base_name: "app_session",
    kid: "2026-11.k1",
    iv_hex: "f0e1d2c3b4a5968778695a4b",
    sid: "8PHy8_T19vf4-fr7_P3-_w",
    iat: 1795003600,
    abs: 1794990000,
    data: { user: "bjørn", n: 42, note: "héllo wörld ✓ 日本語 \"quoted\" back\\slash" },
  },
  {
    name: "derived kid, about 3 KB of data (two chunks)",
    secret: "vector-secret-3-zyxwvutsrqponmlkjihgfedcba9876",
    cookie_base_name: "s-3kb",
    kid: null,
    iv_hex: "a1a2a3a4a5a6a7a8a9aaabac",
    sid: "q6usra6vsLGys7S1tre4uQ",
    iat: 1795010000,
    abs: 1795009000,
    data: { user: "carol", n: 7, note: note(3000) },
  },
  {
    name: "explicit kid, secret with non-ASCII bytes",
    secret: "vector-secret-4-ßüñçøπ∂ƒ©˙∆˚¬…æ«“‘",
    cookie_base_name: "session",
    kid: "k.2",
    iv_hex: "ffffffffffffffffffffffff",
    sid: "_____________________w",
    iat: 1795020000,
    abs: 1795020000,
    data: { user: "dave", note: note(200) },
  },
  {
    name: "derived kid, keygen-style secret (32 random bytes in base64url)",
    secret: "q3Xv0n9Zb1R7y_Kd4mWc8TgE2hJpLsA6uQfNxYiO-oM",
    cookie_base_name: "session",
    kid: null,
    iv_hex: "5e1f0c2d3b4a69788796a5b4",
    sid: "Xh8MLTtKaXiHlqW0w9Lh8A",
    iat: 1795030000,
    abs: 1795028200,
    data: { user: "erin", n: 1 },
  },
];

const vectors = inputs.map((v) => {
  const key = deriveKey(v.secret, v.cookie_base_name);
  const kid = v.kid ?? defaultKid(v.secret);
  // Insertion order is the field order of the Go struct envelope.
  const plaintext = JSON.stringify({ v: 1, sid: v.sid, iat: v.iat, exp: v.iat + 1800, abs: v.abs, data: v.data });
  return {
    name: v.name,
    secret: v.secret,
    cookie_base_name: v.cookie_base_name,
    kid,
    kid_derived: v.kid === null,
    key_hex: key.toString("hex"),
    iv_hex: v.iv_hex,
    plaintext,
    token: seal(key, kid, v.iv_hex, plaintext),
  };
});

const out =
  JSON.stringify(
    {
      description:
        "Known-answer vectors for the jwesession token format, generated by gen_vectors.mjs (Node crypto, independent of the Go code). Do not edit by hand.",
      vectors,
    },
    null,
    2,
  ) + "\n";

const path = new URL("./vectors.json", import.meta.url);
if (process.argv.includes("--check")) {
  if (readFileSync(path, "utf8") !== out) {
    console.error("vectors.json differs from what gen_vectors.mjs generates");
    process.exit(1);
  }
  console.log("vectors.json is up to date");
} else {
  writeFileSync(path, out);
  console.log(`wrote ${vectors.length} vectors to ${path.pathname}`);
}
