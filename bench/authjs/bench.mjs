// Times Auth.js's own encode() and decode() from @auth/core/jwt (the pinned
// version in package.json) on the same claims as the Go benchmarks in
// ../peers_test.go, and prints the results as Go benchmark lines, e.g.
//
//   BenchmarkAuthJS/Decode   3000   490000 ns/op
//
// so that ../cmd/benchtable reads them next to `go test -bench` output.
//
//   node bench.mjs [--op all|decode|encode] [--iterations N] [--warmup N]
//
// Each call is awaited before the next, as one request is served after
// another. There is no HTTP here: the figure is Auth.js's JWT step alone.
import { decode, encode } from "@auth/core/jwt";
import { isDeepStrictEqual } from "node:util";

// The claims of peers_test.go's benchValue, flat, as an Auth.js token holds
// them; encode() adds iat, exp and jti around them.
const claims = {
  user: "alice.example",
  email: "alice@example.com",
  roles: ["admin", "billing", "support"],
  tenant: "tenant-0042",
  theme: "dark",
};
// The same secret as the Go side; its bytes are the secret (AUTH_SECRET).
const secret = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
// The production cookie name of Auth.js v5, which is also the HKDF salt.
const salt = "__Secure-authjs.session-token";

function parseArgs(argv) {
  const opts = { op: "all", iterations: 3000, warmup: 500 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case "--op":
        opts.op = v;
        i++;
        break;
      case "--iterations":
        opts.iterations = Number(v);
        i++;
        break;
      case "--warmup":
        opts.warmup = Number(v);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (!["all", "decode", "encode"].includes(opts.op)) {
    throw new Error(`--op must be all, decode or encode, not ${opts.op}`);
  }
  for (const k of ["iterations", "warmup"]) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0 || opts[k] > 1_000_000) {
      throw new Error(`--${k} must be an integer from 0 to 1000000`);
    }
  }
  if (opts.iterations < 1) throw new Error("--iterations must be at least 1");
  return opts;
}

async function time(name, iterations, warmup, fn) {
  for (let i = 0; i < warmup; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${name}\t${iterations}\t${ns.toFixed(0)} ns/op`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const token = await encode({ token: claims, secret, salt });
  const back = await decode({ token, secret, salt });
  const { iat, exp, jti, ...rest } = back ?? {};
  if (!isDeepStrictEqual(rest, claims) || !iat || !exp || !jti) {
    throw new Error(`decode(encode(claims)) did not give the claims back: ${JSON.stringify(back)}`);
  }
  console.log(`# @auth/core/jwt on node ${process.version}: token of ${token.length} bytes, claims ${JSON.stringify(claims).length} bytes`);
  if (opts.op === "all" || opts.op === "decode") {
    await time("BenchmarkAuthJS/Decode", opts.iterations, opts.warmup, async () => {
      const p = await decode({ token, secret, salt });
      if (p.user !== claims.user) throw new Error("decode lost the claims");
    });
  }
  if (opts.op === "all" || opts.op === "encode") {
    await time("BenchmarkAuthJS/Encode", opts.iterations, opts.warmup, () => encode({ token: claims, secret, salt }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
