// gen_vectors.mjs writes testdata/vectors.json: known-answer vectors for the
// jwesession cookie formats (the session token, the companion of the sliding
// refresh, the tombstone of a sign-out), computed by an implementation
// independent of the Go library (Node's built-in crypto only, no npm
// packages). It also writes the Node-made seeds of the fuzz corpora
// (testdata/fuzz/Fuzz{Open,Differential,CookieHeader}/*_node and
// chunks_out_of_order), under the Go tests' secrets.
//
//   node testdata/gen_vectors.mjs          # rewrite vectors.json and the seeds
//   node testdata/gen_vectors.mjs --check  # exit 1 if any of them differs
//
// The output is deterministic (fixed IVs and times), so running it again
// gives the same files. The Go tests read the committed files and never
// need Node.
//
// The format, as DESIGN.md states it:
//   key   = HKDF-SHA256(ikm = the secret's bytes, salt = "jwesession v1",
//           info, 32 bytes), with info per purpose:
//             session token  "A256GCM " + cookie base name
//             companion      "A256GCM companion " + cookie base name
//             tombstone      "A256GCM tombstone " + cookie base name
//             flash          "A256GCM flash " + cookie base name
//   kid   = explicit, or base64url(HKDF-SHA256(secret, "jwesession v1", "kid", 12 bytes))
//   token = b64u(header) + "." + "" + "." + b64u(iv) + "." + b64u(ciphertext) + "." + b64u(tag)
//           header = {"alg":"dir","enc":"A256GCM","kid":KID} exactly,
//           AES-256-GCM, 12-byte IV, 16-byte tag, AAD = the ASCII header segment
//           (the same form for all three purposes)
//   plaintexts (the field order of the Go structs):
//     session token (format version 2)
//       {"v":2,"sid":...,"sin":...,"org":KID,"iat":...,"exp":...,"abs":...,"rem":false or true,"tbs":"" or IV segment,"data":...}
//       (rem: a "remember me" sign-in, whose lifetimes are the Remember ones)
//     companion   {"v":1,"sid":...,"iat":...,"exp":...}
//     tombstone   {"v":1,"out":[{"sin":...,"end":...},...]}
//     flash       {"v":1,"iat":...,"msgs":["...",...]}

import { createCipheriv, hkdfSync } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const SALT = "jwesession v1";
const IDLE = 1800; // the default IdleTimeout, seconds
const ABSOLUTE = 8 * 3600; // the default AbsoluteTimeout, seconds
const REMEMBER_IDLE = 7 * 24 * 3600; // the default RememberIdleTimeout, seconds

const b64u = (buf) => Buffer.from(buf).toString("base64url");

const INFO = {
  data: (base) => "A256GCM " + base,
  companion: (base) => "A256GCM companion " + base,
  tombstone: (base) => "A256GCM tombstone " + base,
  flash: (base) => "A256GCM flash " + base,
};

function deriveKey(secret, info) {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), SALT, info, 32));
}

function defaultKid(secret) {
  return b64u(Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), SALT, "kid", 12)));
}

// headerSeg is the protected-header segment of kid. The header is built as
// a string so that its bytes are exactly the ones the format fixes,
// whatever JSON.stringify would do.
const headerSeg = (kid) => b64u(Buffer.from('{"alg":"dir","enc":"A256GCM","kid":"' + kid + '"}', "ascii"));

// sealParts returns the five segments of plaintext sealed under key.
function sealParts(key, kid, iv, plaintext) {
  const h = headerSeg(kid);
  if (iv.length !== 12) throw new Error("IV must be 12 bytes");
  const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
  c.setAAD(Buffer.from(h, "ascii"));
  const ct = Buffer.concat([c.update(Buffer.from(plaintext, "utf8")), c.final()]);
  return [h, "", b64u(iv), b64u(ct), b64u(c.getAuthTag())];
}

const seal = (key, kid, iv, plaintext) => sealParts(key, kid, iv, plaintext).join(".");

// Plaintexts. Insertion order is the field order of the Go structs.
const envelope = (e) =>
  JSON.stringify({ v: 2, sid: e.sid, sin: e.sin, org: e.org, iat: e.iat, exp: e.exp, abs: e.abs, rem: e.rem ?? false, tbs: e.tbs, data: e.data });
const companion = (c) => JSON.stringify({ v: 1, sid: c.sid, iat: c.iat, exp: c.exp });
const flash = (f) => JSON.stringify({ v: 1, iat: f.iat, msgs: f.msgs });
const tombstone = (out) => JSON.stringify({ v: 1, out: out.map((o) => ({ sin: o.sin, end: o.end })) });

// A note of about n bytes, varied enough not to be a run of one character.
function note(n) {
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[i % words.length] + "-" + i + " ";
  return s.slice(0, n);
}

// ---- the known-answer vectors ----

const S1 = "vector-secret-1-0123456789abcdefghijklmnopqrstuv";
const S2 = "vector-secret-2-QRSTUVWXYZ_-~!@#$%^&*()[]{}";
const S4 = "vector-secret-4-ßüñçøπ∂ƒ©˙∆˚¬…æ«“‘";

// The sign-out in the browser of vector 1: its tombstone names vector 1's
// sign-in and an older one; vector 6 is the sign-in that followed it, and
// records the tombstone's IV.
const T1_IV = "0c0d0e0f1011121314151617";
const V1 = { sid: "AAECAwQFBgcICQoLDA0ODw", sin: "c2lnbi1pbi0xLWFsaWNlLQ", iat: 1795000000, abs: 1795000000 };
const V2 = { sid: "8PHy8_T19vf4-fr7_P3-_w", iat: 1795003600 };

const inputs = [
  {
    name: "derived kid, default cookie name, small data",
    purpose: "data",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: "000102030405060708090a0b",
    claims: { ...V1, tbs: "", data: { user: "alice" } },
  },
  {
    name: "explicit kid, other cookie name, unicode data, sign-in first sealed under an older key",
    purpose: "data",
    secret: S2,
    cookie_base_name: "app_session",
    kid: "2026-11.k1",
    iv_hex: "f0e1d2c3b4a5968778695a4b",
    claims: {
      sid: V2.sid,
      sin: "2-_bjorn-sign-in_2-2w",
      org: "2026-10.k0",
      iat: V2.iat,
      abs: 1794990000,
      tbs: "",
      data: { user: "bjørn", n: 42, note: "héllo wörld ✓ 日本語 \"quoted\" back\\slash" },
    },
  },
  {
    name: "derived kid, about 3 KB of data (two chunks)",
    purpose: "data",
    secret: "vector-secret-3-zyxwvutsrqponmlkjihgfedcba9876",
    cookie_base_name: "s-3kb",
    kid: null,
    iv_hex: "a1a2a3a4a5a6a7a8a9aaabac",
    claims: { sid: "q6usra6vsLGys7S1tre4uQ", sin: "Y2Fyb2wtc2lnbi1pbi0zLQ", iat: 1795010000, abs: 1795009000, tbs: "", data: { user: "carol", n: 7, note: note(3000) } },
  },
  {
    name: "explicit kid, secret with non-ASCII bytes",
    purpose: "data",
    secret: S4,
    cookie_base_name: "session",
    kid: "k.2",
    iv_hex: "ffffffffffffffffffffffff",
    claims: { sid: "_____________________w", sin: "ZGF2ZS1zaWduLWluLTQtLQ", iat: 1795020000, abs: 1795020000, tbs: "", data: { user: "dave", note: note(200) } },
  },
  {
    name: "derived kid, keygen-style secret, expiry capped by the absolute lifetime",
    purpose: "data",
    secret: "q3Xv0n9Zb1R7y_Kd4mWc8TgE2hJpLsA6uQfNxYiO-oM",
    cookie_base_name: "session",
    kid: null,
    iv_hex: "5e1f0c2d3b4a69788796a5b4",
    // Signed in 7h50m before iat: the absolute end (abs + 8h) comes 600 s
    // after iat, before iat + IdleTimeout.
    claims: { sid: "Xh8MLTtKaXiHlqW0w9Lh8A", sin: "ZXJpbi1zaWduLWluLTUtLQ", iat: 1795030000, abs: 1795030000 - ABSOLUTE + 600, exp: 1795030600, tbs: "", data: { user: "erin", n: 1 } },
  },
  {
    name: "derived kid, a sign-in after a sign-out: tbs is the tombstone's IV segment",
    purpose: "data",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: "606162636465666768696a6b",
    claims: { sid: "YWxpY2UtYWdhaW4tc2lkLQ", sin: "c2lnbi1pbi02LWFsaWNlLQ", iat: 1795000900, abs: 1795000900, tbs: b64u(Buffer.from(T1_IV, "hex")), data: { user: "alice", n: 2 } },
  },
  {
    name: "derived kid, a remember-me sign-in: rem true, expiry the RememberIdleTimeout after iat",
    purpose: "data",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: "707172737475767778797a7b",
    claims: { sid: "cmVtZW1iZXJlZC1zaWQtNw", sin: "cmVtZW1iZXJlZC1zaW4tNw", iat: 1795040000, abs: 1795000000, exp: 1795040000 + REMEMBER_IDLE, rem: true, tbs: "", data: { user: "frank" } },
  },
  {
    name: "companion of vector 1 (derived kid, default cookie name)",
    purpose: "companion",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: "101112131415161718191a1b",
    claims: { sid: V1.sid, iat: V1.iat + 400, exp: V1.iat + 400 + IDLE },
  },
  {
    name: "companion of vector 2 (explicit kid, other cookie name)",
    purpose: "companion",
    secret: S2,
    cookie_base_name: "app_session",
    kid: "2026-11.k1",
    iv_hex: "202122232425262728292a2b",
    claims: { sid: V2.sid, iat: V2.iat + 600, exp: V2.iat + 600 + IDLE },
  },
  {
    name: "tombstone naming vector 1's sign-in and an older one (derived kid)",
    purpose: "tombstone",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: T1_IV,
    claims: {
      out: [
        { sin: "b2xkZXItc2lnbi1pbi0wMA", end: 1794990000 + ABSOLUTE },
        { sin: V1.sin, end: V1.abs + ABSOLUTE },
      ],
    },
  },
  {
    name: "tombstone, explicit kid, secret with non-ASCII bytes",
    purpose: "tombstone",
    secret: S4,
    cookie_base_name: "session",
    kid: "k.2",
    iv_hex: "303132333435363738393a3b",
    claims: { out: [{ sin: "b3RoZXItc2lnbi1pbi10Mg", end: 1795020000 + ABSOLUTE }] },
  },
  {
    name: "flash messages (derived kid, default cookie name), with characters JSON escapes",
    purpose: "flash",
    secret: S1,
    cookie_base_name: "session",
    kid: null,
    iv_hex: "404142434445464748494a4b",
    claims: { iat: 1795000000, msgs: ["signed out", "note \"saved\" ✓"] },
  },
];

const vectors = inputs.map((v) => {
  const info = INFO[v.purpose](v.cookie_base_name);
  const key = deriveKey(v.secret, info);
  const kid = v.kid ?? defaultKid(v.secret);
  let plaintext;
  switch (v.purpose) {
    case "data": {
      const c = v.claims;
      plaintext = envelope({ ...c, org: c.org ?? kid, exp: c.exp ?? c.iat + IDLE });
      break;
    }
    case "companion":
      plaintext = companion(v.claims);
      break;
    case "tombstone":
      plaintext = tombstone(v.claims.out);
      break;
    case "flash":
      plaintext = flash(v.claims);
      break;
  }
  return {
    name: v.name,
    purpose: v.purpose,
    secret: v.secret,
    cookie_base_name: v.cookie_base_name,
    kid,
    kid_derived: v.kid === null,
    hkdf_info: info,
    key_hex: key.toString("hex"),
    iv_hex: v.iv_hex,
    plaintext,
    token: seal(key, kid, Buffer.from(v.iv_hex, "hex"), plaintext),
  };
});

const files = new Map();
files.set(
  "vectors.json",
  JSON.stringify(
    {
      description:
        "Known-answer vectors for the jwesession cookie formats (session token, companion, tombstone), generated by gen_vectors.mjs (Node crypto, independent of the Go code). Do not edit by hand.",
      vectors,
    },
    null,
    2,
  ) + "\n",
);

// ---- the Node-made fuzz seeds ----
//
// Under the secrets of the Go tests (helpers_test.go), at the Go test
// clock's time (2026-11-23 12:00 UTC), key ids "a" and "b", the default
// cookie name. FuzzCookieHeader's entries hold three strings: the Cookie
// header, and the values of the companion and tombstone cookies the target
// puts in front of it ("" for none).

const SECRET_A = "test-secret-A-0123456789abcdefghijklmnop";
const SECRET_B = "test-secret-B-qrstuvwxyzABCDEFGHIJKLMNOP";
const T0 = 1795435200;
const SEED_IV = Buffer.from("node-seed-IV", "ascii");
const keyA = deriveKey(SECRET_A, INFO.data("session"));
const keyB = deriveKey(SECRET_B, INFO.data("session"));
const compA = deriveKey(SECRET_A, INFO.companion("session"));
const tombA = deriveKey(SECRET_A, INFO.tombstone("session"));
const SEED_SID = "bm9kZS1zZWVkLXNpZC0wMQ";
const SEED_SIN = "bm9kZS1zZWVkLXNpbi0wMQ";

const seedEnv = (o) =>
  envelope({ sid: SEED_SID, sin: SEED_SIN, org: "a", iat: T0, exp: T0 + IDLE, abs: T0, tbs: "", data: { user: "node", n: 2 }, ...o });

// A Go fuzz corpus file of string values. JSON's string escapes (\" \\ \n
// \r \t \b \f \uXXXX) are all valid in a Go interpreted string literal.
const corpus = (...vals) => "go test fuzz v1\n" + vals.map((s) => "string(" + JSON.stringify(s) + ")\n").join("");

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// nonCanonical sets an unused trailing bit of a segment whose length
// leaves some: the same bytes to a lenient decoder, refused by a strict one.
const nonCanonical = (s) => s.slice(0, -1) + B64[B64.indexOf(s.at(-1)) | 1];

{
  const pb = sealParts(keyB, "b", SEED_IV, seedEnv({ org: "b", data: { user: "node" } }));
  files.set("fuzz/FuzzOpen/valid_b_node", corpus(pb.join(".")));
  files.set("fuzz/FuzzOpen/noncanonical_tag_b", corpus([...pb.slice(0, 4), nonCanonical(pb[4])].join(".")));

  const pa = sealParts(keyA, "a", SEED_IV, seedEnv({}));
  const tokA = pa.join(".");
  files.set("fuzz/FuzzDifferential/valid_a_node", corpus(tokA));
  files.set("fuzz/FuzzDifferential/crlf_in_header", corpus([pa[0].slice(0, 10) + "\r\n" + pa[0].slice(10), ...pa.slice(1)].join(".")));
  // go-jose takes a 32-byte tag by re-splitting: the last 16 bytes of the
  // ciphertext become the first half of the tag.
  const ct = Buffer.from(pa[3], "base64url");
  const tag = Buffer.from(pa[4], "base64url");
  const k = ct.length - 16;
  files.set("fuzz/FuzzDifferential/tag32_resplit", corpus([pa[0], pa[1], pa[2], b64u(ct.subarray(0, k)), b64u(Buffer.concat([ct.subarray(k), tag]))].join(".")));

  files.set("fuzz/FuzzCookieHeader/valid_node", corpus("theme=dark; __Host-session=" + tokA + "; lang=en", "", ""));

  // About 4 KB: two chunks, sent in the wrong order.
  const big = seal(keyA, "a", SEED_IV, seedEnv({ data: { user: "node", note: note(3800) } }));
  if (big.length <= 3936) throw new Error("the chunked seed must need two chunks");
  files.set("fuzz/FuzzCookieHeader/chunks_out_of_order", corpus("__Host-session.1=" + big.slice(3936) + "; __Host-session.0=" + big.slice(0, 3936), "", ""));

  // A token whose own refresh is due (issued 6 minutes ago) and the
  // companion a refresh wrote a minute ago: the idle expiry is the
  // companion's.
  const old = seal(keyA, "a", SEED_IV, seedEnv({ iat: T0 - 360, exp: T0 - 360 + IDLE, abs: T0 - 360 }));
  const comp = seal(compA, "a", Buffer.from("node-comp-IV", "ascii"), companion({ sid: SEED_SID, iat: T0 - 60, exp: T0 - 60 + IDLE }));
  files.set("fuzz/FuzzCookieHeader/companion_node", corpus("__Host-session=" + old, comp, ""));

  // A tombstone naming the seed's sign-in: ErrSignedOut.
  const tombIV = Buffer.from("node-tomb-IV", "ascii");
  const tomb = seal(tombA, "a", tombIV, tombstone([{ sin: SEED_SIN, end: T0 + ABSOLUTE }]));
  files.set("fuzz/FuzzCookieHeader/tombstone_node", corpus("__Host-session=" + tokA, "", tomb));

  // The sign-in that followed that sign-out: its token records the
  // tombstone's IV, so the tombstone is not even decrypted.
  const after = seal(keyA, "a", SEED_IV, seedEnv({ sid: "bm9kZS1zZWVkLXNpZC0wMg", sin: "bm9kZS1zZWVkLXNpbi0wMg", tbs: b64u(tombIV) }));
  files.set("fuzz/FuzzCookieHeader/tombstone_earlier_node", corpus("__Host-session=" + after, "", tomb));
}

const check = process.argv.includes("--check");
let stale = 0;
for (const [name, content] of files) {
  const url = new URL("./" + name, import.meta.url);
  if (check) {
    let have = null;
    try {
      have = readFileSync(url, "utf8");
    } catch {}
    if (have !== content) {
      console.error(`${name} differs from what gen_vectors.mjs generates`);
      stale++;
    }
    continue;
  }
  mkdirSync(new URL(".", url), { recursive: true });
  writeFileSync(url, content);
}
if (check) {
  if (stale > 0) process.exit(1);
  console.log("vectors.json and the Node-made fuzz seeds are up to date");
} else {
  console.log(`wrote ${vectors.length} vectors and ${files.size - 1} fuzz seeds`);
}
