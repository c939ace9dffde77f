// The CPU and peak wasm memory of a login with each Django hasher, inside workerd: the built
// worker in a bare workerd with its storage replayed from a recording (bench/own_cpu.mjs
// `loginCpu`), one real login per hasher recorded first under wrangler dev with local D1.
//
// Every stored hash is real Django 5.2 output at Django's default cost (argon2-cffi 25.1.0,
// bcrypt 5.0.0; the vectors of src/domain/password/mod.rs), plus argon2id at OWASP's cost, the
// worker's other hashing target. A hash that is not at the target is upgraded by the login it is
// measured with: for those the target is pbkdf2_sha256 at one iteration, so the upgrade adds
// nothing worth counting and the figure is the hasher's own.
//
// Exports hashersBench(log) for bench/run.mjs; `node bench/hashers.mjs` runs it alone.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loginCpu } from "./own_cpu.mjs";

const CHEAP_UPGRADE = { PBKDF2_ITERATIONS: "1" };

export const HASHERS = [
  {
    name: "pbkdf2_sha256",
    what: "Django 5.2's default: 1,000,000 iterations (the default target)",
    password: "securepass123!",
    hash: "pbkdf2_sha256$1000000$r4nd0mS4ltW1thTw3ntyTw$fY7S763SIUq/TUqJdbHznXZm1yzUtz4PhRq8i3yAngA=",
    vars: {},
  },
  {
    name: "argon2id",
    what: "OWASP's cost: 19 MiB, 2 passes, 1 lane (PASSWORD_HASHER=argon2id)",
    password: "securepass123!",
    hash: "argon2$argon2id$v=19$m=19456,t=2,p=1$cjRuZDBtUzRsdFcxdGhUdzNudHlUdw$wdpnLng0CyNKyz3hpWR3lUEL+8y2PASIo22u7Ywck8U",
    vars: { PASSWORD_HASHER: "argon2id" },
  },
  {
    name: "argon2id (Django's default)",
    what: "Django's Argon2PasswordHasher default: 100 MiB, 2 passes, 8 lanes (kept: stronger than the target)",
    password: "correct horse battery staple",
    hash: "argon2$argon2id$v=19$m=102400,t=2,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA",
    vars: { PASSWORD_HASHER: "argon2id" },
  },
  {
    name: "bcrypt_sha256",
    what: "Django's default: cost 12",
    password: "日本語のパスワード",
    hash: "bcrypt_sha256$$2b$12$.gfUEqV9Drty4EaFcm7Es.9F6spYTYQhQYS4LueSP1THA/XASdk1i",
    vars: CHEAP_UPGRADE,
  },
  {
    name: "scrypt",
    what: "Django 5.2's default: n=2^14, r=8, p=5 (16 MiB)",
    password: "correct horse battery staple",
    hash: "scrypt$16384$Xk3vQ9mZp2Lr7Tw1Yb5NcD$8$5$gDI0sqAsbJb/X3Qs+GTXzJbtu/4+39wYtfELTNw1uVm+D1KTLLp9SfoKoBJvh5y3nd8YmVLZ/eLAJeIYybx1qQ==",
    vars: CHEAP_UPGRADE,
  },
  {
    name: "pbkdf2_sha1",
    what: "Django's default count: 1,000,000 iterations",
    password: "securepass123!",
    hash: "pbkdf2_sha1$1000000$r4nd0mS4ltW1thTw3ntyTw$zZeJH+qJwc45XF7GIIUUwU1yvpw=",
    vars: CHEAP_UPGRADE,
  },
  {
    name: "none (1-iteration pbkdf2_sha256)",
    what: "the login without its hash: what every figure above includes besides the hash",
    password: "securepass123!",
    hash: "pbkdf2_sha256$1$r4nd0mS4ltW1thTw3ntyTw$g/hJK1Dnu4o2+AS6M7HZjfCmz9Ix5A5ivyQB5hCBiQ4=",
    vars: CHEAP_UPGRADE,
  },
];

/** `{ [name]: { what, cpu_ms_median, cpu_ms_min, wasm_memory_mib } }`, printed as a table. */
export async function hashersBench(log = console.log) {
  log("\na login with each Django hasher, inside workerd (build/ in a bare workerd, storage replayed; median of 7):");
  const out = {};
  for (const { name, what, password, hash, vars } of HASHERS) {
    const r = await loginCpu({ vars, storedHash: hash, password });
    if (r.unanswered_storage_calls) throw new Error(`${name}: ${r.unanswered_storage_calls} storage calls were not in the recording`);
    out[name] = { what, cpu_ms_median: r.cpu_ms_median, cpu_ms_min: r.cpu_ms_min, wasm_memory_mib: r.wasm_memory_mib.peak };
    log(`  ${name.padEnd(34)} ${r.cpu_ms_median.toFixed(1).padStart(7)} ms CPU  ${r.wasm_memory_mib.peak.toFixed(1).padStart(6)} MiB wasm memory  ${what}`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await hashersBench(console.log), null, 2));
}
