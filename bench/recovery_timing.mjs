// Benchmark (not a test): does the answer time of `password/reset/` or `registration/resend-email/`
// tell whether an address has an account? Serves the release worker under `wrangler dev` (through
// tests/harness/local-worker.mjs: a copy of the build, fresh local D1/KV, per-IP limits raised) with
// EMAIL_RATE_LIMIT_PER_HOUR raised so that the per-address budget never decides anything, registers
// one account (not verified, so a resend mails it too), and times each endpoint for that address
// and for an unknown one (a new address every time), interleaved so that machine noise hits both
// alike (the order within a pair alternates, so neither always follows the other's after-response
// work). Prints the median and p90 wall time of each, and the gap of the medians; the target: under
// 10%. Writes bench/results/recovery_timing.json.
//
// Knobs (environment): ROUNDS (timed requests per series, 200), WARMUP (untimed rounds, 30).
import http from "node:http";
import os from "node:os";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { prepareLocalWorker } from "../tests/harness/local-worker.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const WARMUP = Number(process.env.WARMUP ?? 30);
const PREFIX = "/api/v1/drf/auth";
const BUDGET_PERCENT = 10;

/** One POST over `agent`; resolves { status, body, ms }. */
function post(agent, port, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(data) };
    const start = performance.now();
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: `${PREFIX}/${path}`, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - start }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const site = await prepareLocalWorker({ ipLimit: 100_000_000 });
try {
  // --log-level warn: no log line per request (or per mail) for wrangler to write while timing.
  const server = await site.serve({
    vars: { EMAIL_RATE_LIMIT_PER_HOUR: "100000000", PBKDF2_ITERATIONS: "1000" },
    logLevel: "warn",
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const known = `bench-recovery.${Date.now()}@example.com`;
    const registered = await post(agent, server.port, "register/", {
      email: known,
      password: "correct-horse-battery-staple",
      password_confirm: "correct-horse-battery-staple",
      first_name: "Bench",
      last_name: "Recovery",
    });
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.body}`);

    const paths = ["password/reset/", "registration/resend-email/"];
    const bodies = Object.fromEntries(paths.map((path) => [path, {}])); // the first body seen, per kind
    let unknowns = 0;
    const time = async (path, kind) => {
      const email = kind === "known" ? known : `nobody.${(unknowns += 1)}.${Date.now()}@example.com`;
      const response = await post(agent, server.port, path, { email });
      if (response.status !== 200) throw new Error(`${path} (${kind}): ${response.status} ${response.body}`);
      // The same body for both: anything else would tell them apart without a clock.
      bodies[path][kind] ??= response.body;
      if (bodies[path][kind] !== response.body) throw new Error(`${path} (${kind}): the body changed: ${response.body}`);
      return response.ms;
    };
    const samples = Object.fromEntries(paths.map((path) => [path, { known: [], unknown: [] }]));
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      for (const path of paths) {
        const order = i % 2 ? ["unknown", "known"] : ["known", "unknown"];
        for (const kind of order) {
          const ms = await time(path, kind);
          if (i >= WARMUP) samples[path][kind].push(ms);
        }
      }
    }

    const result = {
      date: new Date().toISOString(),
      node: process.version,
      nproc: os.availableParallelism?.() ?? os.cpus().length,
      loadavg_end: os.loadavg().map((x) => round(x)),
      where: "wrangler dev on loopback, one keep-alive connection, sequential",
      rounds: ROUNDS,
      warmup: WARMUP,
      endpoints: {},
      budgets: [],
    };
    console.log(`recovery timing under wrangler dev, ${ROUNDS} requests per series after ${WARMUP} warm-up rounds (wall ms):`);
    for (const [path, { known: k, unknown: u }] of Object.entries(samples)) {
      const entry = {
        known: { median_ms: round(median(k)), p90_ms: round(percentile(k, 90)) },
        unknown: { median_ms: round(median(u)), p90_ms: round(percentile(u, 90)) },
        same_body: bodies[path].known === bodies[path].unknown,
      };
      // As bench/login_timing.mjs: the gap relative to the known address's median.
      entry.gap_percent = round((Math.abs(entry.unknown.median_ms - entry.known.median_ms) / entry.known.median_ms) * 100, 1);
      result.endpoints[path] = entry;
      const pass = entry.gap_percent < BUDGET_PERCENT && entry.same_body;
      result.budgets.push({ name: `\`${path}\` registered vs unknown address`, value: entry.gap_percent, limit: BUDGET_PERCENT, unit: "%", pass });
      console.log(`  ${path}`);
      console.log(`    registered address  median ${entry.known.median_ms.toFixed(2)}, p90 ${entry.known.p90_ms.toFixed(2)}`);
      console.log(`    unknown address     median ${entry.unknown.median_ms.toFixed(2)}, p90 ${entry.unknown.p90_ms.toFixed(2)}`);
      console.log(`    gap of the medians: ${entry.gap_percent.toFixed(1)}% (budget ${BUDGET_PERCENT}%), ` +
        `${entry.same_body ? "same body" : "DIFFERENT BODIES"}: ${pass ? "PASS" : "FAIL"}`);
    }
    writeFileSync(new URL("results/recovery_timing.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
  } finally {
    agent.destroy();
    await server.stop();
  }
} finally {
  await site.dispose();
}
