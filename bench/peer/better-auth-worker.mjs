// The peer for bench/peer.mjs (never deployed): better-auth as a team would put it on Cloudflare
// Workers with D1, served by the same `wrangler dev` and workerd as edge-auth. bench/peer.mjs
// bundles this file with esbuild into one module and serves it from a temporary directory.
//
// The configuration is better-auth's documented minimum for Workers + D1, with email and password
// on, and everything else as shipped:
// - `database: env.DB`: the D1 binding itself; better-auth's built-in Kysely adapter recognises a
//   D1 binding (it has batch, exec and prepare) and uses its own D1 dialect — no Drizzle, no extra
//   package. The tables are bench/peer/better-auth-schema.sql, applied before the run.
// - `emailAndPassword: { enabled: true }`: sign-up/email and sign-in/email; passwords hashed with
//   better-auth's default, scrypt (N=16384, r=16, p=1, 64-byte key), untouched: the comparison is
//   with what a team gets out of the box. Bundled as wrangler bundles (the "workerd" export
//   condition), @better-auth/utils/password picks its node:crypto scrypt, which workerd runs
//   natively under nodejs_compat; @noble/hashes' pure-JS scrypt is only the fallback elsewhere.
// - `rateLimit: { enabled: false }`: a benchmark sends more than its default 100 requests per 10 s
//   (and 3 sign-ins per 10 s) from one address; edge-auth's limits are raised the same way.
// - `secret`: BETTER_AUTH_SECRET, random per run, passed as a var by bench/peer.mjs.
// - `baseURL`: BETTER_AUTH_URL, the local origin of the run.
// - `trustedOrigins`: TRUSTED_ORIGINS (comma-separated), the frontend's origin, as an SPA on another
//   origin would have it: better-auth refuses a POST without a trusted Origin (403
//   MISSING_OR_NULL_ORIGIN), so the bench client sends one — the same one, http://localhost:3000,
//   that edge-auth's ALLOWED_ORIGINS allows — to both.
// - sessions: the defaults (7-day session, refreshed after a day, no cookie cache), so every
//   get-session reads the session and its user from D1, as edge-auth's me/ reads its user.
// - telemetry: off (better-auth's default; said here so that nothing is sent from a bench run).
//
// The auth object is built once per isolate, on the first request (the env is only handed to
// fetch), and reused: building it per request would charge better-auth for its own setup on every
// request, which no careful deployment does.
import { betterAuth } from "better-auth";

/** The options, apart from the D1 binding and the secrets: also used to write the schema. */
export function options(env) {
  return {
    appName: "edge-auth bench peer",
    baseURL: env.BETTER_AUTH_URL,
    secret: env.BETTER_AUTH_SECRET,
    basePath: "/api/auth",
    trustedOrigins: (env.TRUSTED_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean),
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  };
}

let auth;

export default {
  async fetch(request, env) {
    auth ??= betterAuth({ ...options(env), database: env.DB });
    return auth.handler(request);
  },
};
