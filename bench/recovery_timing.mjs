// Benchmark (not a test): does the answer time of `password/reset/` or `registration/resend-email/`
// tell whether an address has an account? Serves the release worker under `wrangler dev` (through
// tests/harness/local-worker.mjs: a copy of the build, fresh local D1/KV, per-IP limits raised) with
// EMAIL_RATE_LIMIT_PER_HOUR raised so that the per-address budget never decides anything, registers
// one account (not verified, so a resend mails it too), and times each endpoint for that address
// and for an unknown one (a new address every time), interleaved so that machine noise hits both
// alike: each round sends the four requests in a shuffled order (seeded, so a run can be repeated),
// IDLE_MS apart. The pause keeps the work a request leaves running after its response (for the
// registered address: the lookup finds someone, a key is stored, a mail is written) off the next
// request's clock: back to back, that work slows whatever comes next, and since an unknown
// address's request more often follows a registered one's than the reverse, it would be charged
// to the unknown series. Prints the median and p90 wall time of each, and the gap of the medians;
// the target: under 10%. Then, as information (no budget), that after-response work itself: an
// unknown address's `password/reset/` sent right after (no pause) one for the registered address
// vs right after one for another unknown address. Writes bench/results/recovery_timing.json.
//
// Knobs (environment): ROUNDS (timed requests per series, 200), WARMUP (untimed rounds, 30),
// IDLE_MS (pause before each request, 50), SEED (of the order, 1).
import http from "node:http";
import os from "node:os";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { prepareLocalWorker } from "../tests/harness/local-worker.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const WARMUP = Number(process.env.WARMUP ?? 30);
const IDLE_MS = Number(process.env.IDLE_MS ?? 50);
const SEED = Number(process.env.SEED ?? 1);
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
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: a small seeded PRNG, for an order that a rerun with the same SEED repeats. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
/** Fisher-Yates, in place. */
function shuffle(xs) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

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
    const requests = paths.flatMap((path) => ["known", "unknown"].map((kind) => [path, kind]));
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      for (const [path, kind] of shuffle([...requests])) {
        await sleep(IDLE_MS);
        const ms = await time(path, kind);
        if (i >= WARMUP) samples[path][kind].push(ms);
      }
    }

    // The work left running after a response, as the next request sees it.
    const after = { known: [], unknown: [] };
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      for (const first of shuffle(["known", "unknown"])) {
        await sleep(IDLE_MS);
        await time("password/reset/", first);
        const ms = await time("password/reset/", "unknown");
        if (i >= WARMUP) after[first].push(ms);
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
      order: `the four requests of each round shuffled (seed ${SEED}), ${IDLE_MS} ms apart`,
      idle_ms: IDLE_MS,
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
    const next = {
      path: "password/reset/",
      what: "an unknown address's request sent right after one for the registered (known) or an unknown address",
      after_known: { median_ms: round(median(after.known)), p90_ms: round(percentile(after.known, 90)) },
      after_unknown: { median_ms: round(median(after.unknown)), p90_ms: round(percentile(after.unknown, 90)) },
    };
    next.gap_percent = round((Math.abs(next.after_known.median_ms - next.after_unknown.median_ms) / next.after_unknown.median_ms) * 100, 1);
    result.next_request = next;
    console.log("  password/reset/ for an unknown address, right after another (no pause; information, no budget)");
    console.log(`    after the registered address   median ${next.after_known.median_ms.toFixed(2)}, p90 ${next.after_known.p90_ms.toFixed(2)}`);
    console.log(`    after an unknown address       median ${next.after_unknown.median_ms.toFixed(2)}, p90 ${next.after_unknown.p90_ms.toFixed(2)}`);
    console.log(`    gap of the medians: ${next.gap_percent.toFixed(1)}%`);
    writeFileSync(new URL("results/recovery_timing.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
  } finally {
    agent.destroy();
    await server.stop();
  }
} finally {
  await site.dispose();
}
