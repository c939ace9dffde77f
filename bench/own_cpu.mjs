// The worker's own CPU per request, measured directly (issue 13): the built worker (build/, from
// `worker-build --release`) in a bare workerd whose bindings answer at once from memory, so that
// the CPU time of the workerd process is the worker's and the runtime's HTTP work only, and a
// trivial JS worker answering the same bytes in the same setup gives the runtime's share.
//
//   1. Record: the built worker under `wrangler dev` with real local D1/KV
//      (tests/harness/local-worker.mjs), behind a JS main module that wraps DB and every KV
//      namespace to log each call (SQL, parameters, result) and keeps the response bytes. It
//      serves a login (a user seeded with a 1-iteration PBKDF2 hash, PBKDF2_ITERATIONS=1), me/,
//      token/refresh/ and a 401 (GET me/ without a token).
//   2. Replay: a bare workerd serving the same build behind a JS main module whose env holds
//      fakes answering from the recording by SQL text (parameters ignored; KV get → null unless
//      recorded, put → ok; rate limiters → { success: true }), so the same request can be
//      replayed N times: the same access token, the same refresh token (every refresh "rotates",
//      since the fake D1 says so). Each replayed status is checked.
//   3. Measure: CPU of the workerd process (all threads, ns resolution, /proc schedstat) over many
//      sequential keep-alive requests, in batches interleaved across the scenarios; medians.
//
// The wrapper's own work per request is a constructor call and a Map clear; the fakes hand back
// the recorded objects as they are (nothing copied). What Cloudflare runs inside the isolate for
// a real D1/KV call (the binding's JS, the RPC) is not in these figures.
//
// Module: ownCpuBench(log) → { own_cpu_ms, above_trivial_ms, ... };
//         loginCpu({ vars, storedHash, password }) → CPU of one login with that stored hash.
// CLI:    node bench/own_cpu.mjs            (knobs: OWN_CPU_REQUESTS 3000, OWN_CPU_BATCHES 5)
//         node bench/own_cpu.mjs login '<stored hash>' '<password>' [NAME=VALUE]...
//         node bench/own_cpu.mjs compare before=DIR after=DIR...   (builds side by side, one run)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareLocalWorker } from "../tests/harness/local-worker.mjs";
import { builtModules, djangoHash, median, PREFIX, request, root, round, serveWithWorkerd, threadsCpuMs } from "./lib.mjs";

const REQUESTS = Number(process.env.OWN_CPU_REQUESTS ?? 3000);
const BATCHES = Number(process.env.OWN_CPU_BATCHES ?? 5);
const WARM_UP = 300;
const PASSWORD = "correct-horse-battery-staple";
const EMAIL = "owncpu@bench.example.com";
// What the platform adds in production; the worker reads both (request id, rate-limit key).
const EDGE_HEADERS = { "cf-ray": "8f3c5a1b2c3d4e5f-AMS", "cf-connecting-ip": "203.0.113.7", "user-agent": "edge-auth-bench" };

/** The bindings wrangler.toml declares, by kind (a line parser: enough for this file's shape). */
export function declaredBindings(text = readFileSync(join(root, "wrangler.toml"), "utf8")) {
  const out = { d1: [], kv: [], ratelimits: [], send_email: [] };
  const sections = { d1_databases: ["d1", "binding"], kv_namespaces: ["kv", "binding"], ratelimits: ["ratelimits", "name"], send_email: ["send_email", "name"] };
  let current = null;
  for (const line of text.split("\n")) {
    const header = /^\s*\[\[?([a-z0-9_]+)\]?\]\s*$/.exec(line);
    if (header) {
      current = sections[header[1]] ?? null;
      continue;
    }
    const field = /^\s*([a-z_]+)\s*=\s*"([^"]*)"/.exec(line);
    if (current && field && field[1] === current[1]) out[current[0]].push(field[2]);
  }
  return out;
}

// ---- 1. Record ----------------------------------------------------------------------------------

/** The recording main module: the build behind wrappers of D1 and KV that log every call. */
function recorderSource(bindings) {
  return `import Shim from "./build/worker/shim.mjs";
const D1 = ${JSON.stringify(bindings.d1)};
const KV = ${JSON.stringify(bindings.kv)};
let calls = [];
let response = null;
const copy = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));
async function logged(key, params, run) {
  try {
    const result = await run();
    calls.push({ key, params, result: copy(result) });
    return result;
  } catch (e) {
    calls.push({ key, params, error: String(e && e.message || e) });
    throw e;
  }
}
class D1PreparedStatement {
  constructor(inner, sql, params = []) { this.inner = inner; this.sql = sql; this.params = params; }
  bind(...values) { return new D1PreparedStatement(this.inner.bind(...values), this.sql, copy(values)); }
  first(column) {
    const key = (column == null ? "first " : "first:" + column + " ") + this.sql;
    return logged(key, this.params, () => (column == null ? this.inner.first() : this.inner.first(column)));
  }
  all() { return logged("all " + this.sql, this.params, () => this.inner.all()); }
  run() { return logged("run " + this.sql, this.params, () => this.inner.run()); }
  raw(options) { return logged("raw " + this.sql, this.params, () => this.inner.raw(options)); }
}
class D1Database {
  constructor(inner) { this.inner = inner; }
  prepare(sql) { return new D1PreparedStatement(this.inner.prepare(sql), sql); }
  async batch(statements) {
    try {
      const results = await this.inner.batch(statements.map((s) => s.inner));
      statements.forEach((s, i) => calls.push({ key: "batch " + s.sql, params: s.params, result: copy(results[i]) }));
      return results;
    } catch (e) {
      calls.push({ key: "batch " + statements.map((s) => s.sql).join(";"), error: String(e && e.message || e) });
      throw e;
    }
  }
  exec(query) { return logged("exec " + query, [], () => this.inner.exec(query)); }
}
class KvNamespace {
  constructor(inner, name) { this.inner = inner; this.name = name; }
  get(key, options) { return logged("kv.get " + this.name + " " + key, [options], () => this.inner.get(key, options)); }
  getWithMetadata(key, options) { return logged("kv.getWithMetadata " + this.name + " " + key, [options], () => this.inner.getWithMetadata(key, options)); }
  put(key, value, options) { return logged("kv.put " + this.name, [key, value, options], () => this.inner.put(key, value, options)); }
  delete(key) { return logged("kv.delete " + this.name, [key], () => this.inner.delete(key)); }
  list(options) { return logged("kv.list " + this.name, [options], () => this.inner.list(options)); }
}
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__recording") {
      const strings = {};
      for (const key in env) if (typeof env[key] === "string") strings[key] = env[key];
      const out = { calls, response, env: strings };
      calls = [];
      response = null;
      return Response.json(out);
    }
    calls = [];
    const wrapped = Object.create(env);
    for (const name of D1) wrapped[name] = new D1Database(env[name]);
    for (const name of KV) wrapped[name] = new KvNamespace(env[name], name);
    const res = await new Shim(ctx, wrapped).fetch(request);
    response = { status: res.status, headers: [...res.headers], body: await res.clone().text() };
    return res;
  },
};
`;
}

/**
 * Serves the build under `wrangler dev` (local D1/KV) behind the recorder, seeds `users`
 * ({ email: storedHash }), runs `script(call)` where `call(name, method, path, options)` makes
 * a request and keeps its recording under `name`. Returns { env, scenarios: { name: {...} } }.
 * The recording holds the throwaway signing key: keep it in memory or temporary files only.
 */
export async function record({ vars = {}, users, script, log = () => {} }) {
  const site = await prepareLocalWorker({ ipLimit: 100_000_000 });
  try {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const seed = Object.entries(users)
      .map(([email, hash]) => `INSERT INTO users (uuid, email, password, first_name, last_name, date_joined) VALUES ` +
        `('${crypto.randomUUID()}', '${email}', '${hash.replaceAll("'", "''")}', 'Bench', 'Own', '${now}');`)
      .join("\n");
    writeFileSync(join(site.dir, "seed.sql"), seed + "\n");
    site.wrangler(["d1", "execute", "DB", "--local", "--persist-to", site.state, "--file", join(site.dir, "seed.sql")]);
    const main = join(site.dir, "record.mjs");
    writeFileSync(main, recorderSource(declaredBindings()));
    const server = await site.serve({
      main,
      vars: { LOGIN_BACKOFF_THRESHOLD: "1000000000", ...vars },
      ready: { path: `${PREFIX}/me/`, status: 401 },
      logLevel: "warn",
      timeoutMs: 60_000,
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const out = { scenarios: {} };
    try {
      const call = async (name, method, path, options = {}) => {
        const req = { method, path, options: { ...options, headers: { ...EDGE_HEADERS, ...options.headers } } };
        const response = await request(agent, server.port, method, path, req.options);
        const recording = JSON.parse((await request(agent, server.port, "GET", "/__recording")).body);
        out.env = recording.env;
        if (name) out.scenarios[name] = { request: req, calls: recording.calls, response: recording.response };
        log(`  recorded ${name ?? "(warm-up)"}: ${method} ${path} → ${response.status}, ${recording.calls.length} storage calls`);
        return response;
      };
      await script(call);
    } finally {
      agent.destroy();
      await server.stop();
    }
    return out;
  } finally {
    await site.dispose();
  }
}

/** The four scenarios of ownCpuBench (and a cheap login), recorded in one wrangler dev run. */
export async function recordEndpoints(log = () => {}) {
  return record({
    vars: { PBKDF2_ITERATIONS: "1" },
    users: { [EMAIL]: djangoHash(PASSWORD, 1) },
    log,
    script: async (call) => {
      const login = () => call(null, "POST", `${PREFIX}/login/`, { body: { email: EMAIL, password: PASSWORD } });
      await login(); // the first request builds the isolate's state: not a typical one
      const first = await call("login/ (1-iteration hash)", "POST", `${PREFIX}/login/`, { body: { email: EMAIL, password: PASSWORD } });
      if (first.status !== 200) throw new Error(`login: ${first.status} ${first.body}`);
      const tokens = JSON.parse(first.body);
      const second = JSON.parse((await login()).body);
      await call("401", "GET", `${PREFIX}/me/`);
      await call("me/", "GET", `${PREFIX}/me/`, { token: tokens.access_token });
      await call("token/refresh/", "POST", `${PREFIX}/token/refresh/`, { body: { refresh_token: second.refresh_token } });
    },
  });
}

// ---- 2. Replay ----------------------------------------------------------------------------------

/** The replaying main module: the build with an env of fakes answering from recording.json. */
function replayerSource(bindings) {
  return `import "./memory.mjs";
import Shim from "./worker/shim.mjs";
import recording from "./recording.json";
const answers = new Map();
for (const { key, result, error } of recording.calls) {
  if (!answers.has(key)) answers.set(key, []);
  answers.get(key).push(error === undefined ? Promise.resolve(result) : Promise.reject(new Error(error)));
}
for (const list of answers.values()) for (const p of list) p.catch(() => {});
const seen = new Map();
let unknown = 0;
function answer(key, fallback) {
  const list = answers.get(key);
  if (list === undefined) {
    unknown++;
    return Promise.resolve(fallback);
  }
  const n = seen.get(key) ?? 0;
  seen.set(key, n + 1);
  return list[n < list.length ? n : list.length - 1];
}
const META = { changed_db: true, changes: 1, duration: 0, last_row_id: 0, rows_read: 1, rows_written: 1, size_after: 0 };
const RESULT = { success: true, results: [], meta: META };
class D1PreparedStatement {
  constructor(sql) { this.sql = sql; }
  bind() { return this; }
  first(column) { return answer((column == null ? "first " : "first:" + column + " ") + this.sql, null); }
  all() { return answer("all " + this.sql, RESULT); }
  run() { return answer("run " + this.sql, RESULT); }
  raw() { return answer("raw " + this.sql, []); }
}
class D1Database {
  prepare(sql) { return new D1PreparedStatement(sql); }
  batch(statements) {
    const out = [];
    for (const s of statements) {
      const list = answers.get("batch " + s.sql);
      if (list === undefined) { unknown++; out.push(RESULT); continue; }
      const n = seen.get("batch " + s.sql) ?? 0;
      seen.set("batch " + s.sql, n + 1);
      out.push(list[n < list.length ? n : list.length - 1]);
    }
    return Promise.all(out);
  }
  exec() { return Promise.resolve({ count: 0, duration: 0 }); }
}
class KvNamespace {
  constructor(name) { this.name = name; }
  get(key) { return answer("kv.get " + this.name + " " + key, null); }
  getWithMetadata(key) { return answer("kv.getWithMetadata " + this.name + " " + key, { value: null, metadata: null }); }
  put() { return Promise.resolve(); }
  delete() { return Promise.resolve(); }
  list() { return Promise.resolve({ keys: [], list_complete: true, cacheStatus: null }); }
}
const ALLOWED = Promise.resolve({ success: true });
class Ratelimit { limit() { return ALLOWED; } }
class SendEmail { send() { return Promise.resolve({}); } }
const env = { ...recording.env };
for (const name of ${JSON.stringify(bindings.d1)}) env[name] = new D1Database();
for (const name of ${JSON.stringify(bindings.kv)}) env[name] = new KvNamespace(name);
for (const name of ${JSON.stringify(bindings.ratelimits)}) env[name] = new Ratelimit();
for (const name of ${JSON.stringify(bindings.send_email)}) env[name] = new SendEmail();
export default {
  fetch(request, _env, ctx) {
    if (request.method === "REPORT") return Response.json({ unknown, wasm_memory_bytes: globalThis.__wasmMemory?.buffer.byteLength ?? null });
    seen.clear();
    return new Shim(ctx, env).fetch(request);
  },
};
`;
}

/**
 * Evaluated before the build's glue instantiates its module: keeps the instance's linear memory
 * where REPORT can read its size. Wasm memory only grows, so its size is the peak so far.
 */
const MEMORY = `const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  if (instance.exports.memory) globalThis.__wasmMemory = instance.exports.memory;
  return instance;
};
WebAssembly.Instance.prototype = Instance.prototype;
`;

/** A trivial JS worker answering every request with the recorded response's bytes. */
const TRIVIAL = `import recording from "./recording.json";
const { status, headers, body } = recording.response;
export default {
  fetch() {
    return new Response(body, { status, headers });
  },
};
`;

/**
 * A bare workerd serving `kind` ("replay": the build behind the fakes; "trivial": the trivial
 * worker) for one recorded scenario; `env` overrides the recorded env's strings.
 */
export async function serveScenario(kind, scenario, { env = {}, inspectorPort, build, prelude = "" } = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), `edge-auth-owncpu-${kind}-`));
  try {
    writeFileSync(join(dir, "recording.json"), JSON.stringify({ ...scenario, env: { ...scenario.env, ...env } }), { mode: 0o600 });
    // `prelude`: code run first in the main module (experiments, e.g. `console.log = () => {};`).
    writeFileSync(join(dir, "main.mjs"), prelude + (kind === "replay" ? replayerSource(declaredBindings()) : TRIVIAL));
    writeFileSync(join(dir, "memory.mjs"), MEMORY);
    const modules = [["main.mjs", "esModule", join(dir, "main.mjs")], ["recording.json", "json", join(dir, "recording.json")]];
    if (kind === "replay") modules.push(["memory.mjs", "esModule", join(dir, "memory.mjs")], ...builtModules(build));
    const server = await serveWithWorkerd(dir, modules, {}, { inspectorPort });
    const stop = server.stop;
    server.stop = async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    };
    return server;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** One replay of `scenario`'s request; throws unless it gets the recorded status. */
export async function replayOnce(agent, port, scenario) {
  const { method, path, options } = scenario.request;
  const response = await request(agent, port, method, path, options);
  if (response.status !== scenario.response.status) {
    throw new Error(`replay of ${method} ${path}: ${response.status} (recorded ${scenario.response.status}) ${response.body.slice(0, 300)}`);
  }
  return response;
}

/** What the replayer saw: storage calls it could not answer from the recording (fallbacks used),
 * and the size of the worker's wasm memory (its peak so far). */
async function report(port) {
  const agent = new http.Agent({ keepAlive: false });
  return JSON.parse((await request(agent, port, "REPORT", "/")).body);
}

async function unknownCalls(port) {
  return (await report(port)).unknown;
}

// ---- 3. Measure ---------------------------------------------------------------------------------

/** workerd CPU ms per request over `n` sequential keep-alive replays. */
async function batch(agent, server, scenario, n) {
  const before = threadsCpuMs(server.child.pid);
  for (let i = 0; i < n; i++) await replayOnce(agent, server.port, scenario);
  return (threadsCpuMs(server.child.pid) - before) / n;
}

/**
 * The worker's own CPU per request for `401` (GET me/ without a token), `me/` and
 * `token/refresh/`, and the trivial JS worker's for the same bytes. `log` prints progress.
 */
export async function ownCpuBench(log = console.log) {
  log(`\nthe worker's own CPU, measured directly (build/ in a bare workerd, storage answered from memory):`);
  const recording = await recordEndpoints(log);
  const endpoints = ["401", "me/", "token/refresh/"];
  const cases = [
    ...endpoints.map((name) => ({ name, kind: "replay", scenario: name })),
    ...endpoints.map((name) => ({ name: `trivial_js ${name}`, kind: "trivial", scenario: name })),
    // A whole login but for the hash (1 iteration): the rest of login/'s own CPU.
    { name: "login/ (1-iteration hash)", kind: "replay", scenario: "login/ (1-iteration hash)" },
  ];
  const servers = [];
  const agents = [];
  const samples = Object.fromEntries(cases.map((c) => [c.name, []]));
  const unknown = {};
  try {
    for (const c of cases) {
      const scenario = { ...recording.scenarios[c.scenario], env: recording.env };
      const server = await serveScenario(c.kind, scenario);
      servers.push(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      for (let i = 0; i < WARM_UP; i++) await replayOnce(agent, server.port, scenario);
      c.server = server;
      c.agent = agent;
      c.scenario = scenario;
    }
    // Interleaved batches: drift in the machine's load touches every case alike.
    for (let b = 0; b < BATCHES; b++) {
      for (const c of cases) samples[c.name].push(await batch(c.agent, c.server, c.scenario, REQUESTS));
    }
    for (const c of cases) if (c.kind === "replay") unknown[c.name] = await unknownCalls(c.server.port);
  } finally {
    for (const agent of agents) agent.destroy();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const med = (name) => round(median(samples[name]), 4);
  const own = {
    "401": med("401"),
    "me/": med("me/"),
    "token/refresh/": med("token/refresh/"),
    trivial_js: med("trivial_js 401"),
  };
  const trivialFor = Object.fromEntries(endpoints.map((e) => [e, med(`trivial_js ${e}`)]));
  const above = Object.fromEntries(endpoints.map((e) => [e, round(own[e] - trivialFor[e], 4)]));
  const out = {
    what: "CPU ms per request of a bare workerd process (all threads, /proc schedstat) serving build/ with D1/KV/rate limiters " +
      "answered from a recording of the same request under wrangler dev; medians of batches of sequential keep-alive requests",
    own_cpu_ms: own,
    trivial_js_ms: trivialFor,
    login_1_iteration_ms: med("login/ (1-iteration hash)"),
    above_trivial_ms: above,
    requests_per_batch: REQUESTS,
    batches: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x, 4))])),
    unanswered_storage_calls: unknown,
    storage_calls: Object.fromEntries(endpoints.map((e) => [e, recording.scenarios[e].calls.map((c) => c.key.slice(0, 60))])),
    response_bytes: Object.fromEntries(endpoints.map((e) => [e, Buffer.byteLength(recording.scenarios[e].response.body)])),
    method:
      "record/replay: each request recorded once under wrangler dev (local D1/KV) through a JS wrapper logging every " +
      "storage call, then replayed in a bare workerd with fakes answering by SQL text; trivial_js answers the same bytes " +
      "(status, headers, body) from JS. Excludes what D1/KV/rate-limit bindings cost inside the isolate in production.",
  };
  for (const e of endpoints) {
    log(`  ${e.padEnd(15)} ${own[e].toFixed(3)} ms/req; a trivial JS worker, same bytes: ${trivialFor[e].toFixed(3)} ms; ` +
      `the worker above it: ${above[e].toFixed(3)} ms  (batches: ${samples[e].map((x) => x.toFixed(3)).join(" ")})`);
  }
  log(`  login/ with a 1-iteration hash (all of a login but the hash): ${out.login_1_iteration_ms.toFixed(3)} ms/req`);
  if (Object.values(unknown).some((n) => n > 0)) log(`  storage calls answered by fallback (not recorded): ${JSON.stringify(unknown)}`);
  return out;
}

/**
 * Two or more builds side by side in one run (a change's before/after): for each endpoint, a
 * replay server per build and the trivial JS worker, batches interleaved (the order rotating
 * from batch to batch), so that the machine's drift touches every build alike. `builds` is
 * [[label, dir]...]; the recording is made with build/. Prints, per endpoint, each build's
 * median, above the trivial worker's, and the median of the per-batch differences from the first.
 */
export async function compareBuilds(builds, log = console.log) {
  const recording = await recordEndpoints(() => {});
  const endpoints = ["401", "me/", "token/refresh/"];
  const cases = endpoints.flatMap((e) => [
    { name: `trivial ${e}`, endpoint: e, kind: "trivial" },
    ...builds.map(([label, dir]) => ({ name: `${label} ${e}`, endpoint: e, kind: "replay", build: dir })),
  ]);
  const samples = Object.fromEntries(cases.map((c) => [c.name, []]));
  const servers = [];
  const agents = [];
  try {
    for (const c of cases) {
      c.scenario = { ...recording.scenarios[c.endpoint], env: recording.env };
      c.server = await serveScenario(c.kind, c.scenario, { build: c.build });
      servers.push(c.server);
      c.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(c.agent);
      for (let i = 0; i < WARM_UP; i++) await replayOnce(c.agent, c.server.port, c.scenario);
    }
    for (let b = 0; b < BATCHES; b++) {
      for (const e of endpoints) {
        const group = cases.filter((c) => c.endpoint === e);
        for (let i = 0; i < group.length; i++) {
          const c = group[(i + b) % group.length];
          samples[c.name].push(await batch(c.agent, c.server, c.scenario, REQUESTS));
        }
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const out = {};
  for (const e of endpoints) {
    const trivial = median(samples[`trivial ${e}`]);
    const first = samples[`${builds[0][0]} ${e}`];
    out[e] = { trivial_ms: round(trivial, 4) };
    log(`${e}: trivial JS ${trivial.toFixed(4)} ms`);
    for (const [label] of builds) {
      const xs = samples[`${label} ${e}`];
      const m = median(xs);
      const diff = median(xs.map((x, i) => x - first[i]));
      out[e][label] = { ms: round(m, 4), above_trivial_ms: round(m - trivial, 4), vs_first_ms: round(diff, 4), batches: xs.map((x) => round(x, 4)) };
      log(`  ${label.padEnd(12)} ${m.toFixed(4)} ms  above trivial ${(m - trivial).toFixed(4)}  vs ${builds[0][0]} ${diff >= 0 ? "+" : ""}${diff.toFixed(4)}` +
        `  (batches: ${xs.map((x) => x.toFixed(3)).join(" ")})`);
    }
  }
  return out;
}

/**
 * CPU of one login of a user whose stored hash is `storedHash` (any format the worker verifies),
 * with `vars` for the worker (e.g. { PASSWORD_HASHER: "argon2id" } or { PBKDF2_ITERATIONS:
 * "1000000" }: match them to the hash, or the login also re-hashes). The login is recorded under
 * wrangler dev with that hash and those vars, then replayed `rounds` times in a bare workerd,
 * each login timed alone. Returns { cpu_ms_median, cpu_ms_samples, ... }.
 */
export async function loginCpu({ vars = {}, storedHash, password, rounds = 7, log = () => {} }) {
  const email = "login-cpu@bench.example.com";
  const recording = await record({
    vars,
    users: { [email]: storedHash },
    log,
    script: async (call) => {
      // Warm up with a wrong password: a right one would upgrade a hash that is not at the target,
      // and the recorded login would then check the upgraded hash instead of the one given.
      await call(null, "POST", `${PREFIX}/login/`, { body: { email, password: `${password}-wrong` } });
      const response = await call("login/", "POST", `${PREFIX}/login/`, { body: { email, password } });
      if (response.status !== 200) throw new Error(`login: ${response.status} ${response.body}`);
    },
  });
  const scenario = { ...recording.scenarios["login/"], env: recording.env };
  const server = await serveScenario("replay", scenario);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  let unanswered;
  let memory;
  try {
    const baseline = (await report(server.port)).wasm_memory_bytes;
    await replayOnce(agent, server.port, scenario);
    memory = { before_first_login: baseline, after_logins: null };
    for (let i = 0; i < rounds; i++) {
      const before = threadsCpuMs(server.child.pid);
      await replayOnce(agent, server.port, scenario);
      samples.push(threadsCpuMs(server.child.pid) - before);
    }
    const seen = await report(server.port);
    unanswered = seen.unknown;
    memory.after_logins = seen.wasm_memory_bytes;
  } finally {
    agent.destroy();
    await server.stop();
  }
  return {
    what: "workerd CPU ms of one login (200) replayed in a bare workerd, storage answered from a recording; median",
    hash: storedHash.split("$").slice(0, 2).join("$"),
    vars,
    cpu_ms_median: round(median(samples), 2),
    cpu_ms_min: round(Math.min(...samples), 2),
    cpu_ms_samples: samples.map((x) => round(x, 2)),
    storage_calls: scenario.calls.map((c) => c.key.slice(0, 60)),
    unanswered_storage_calls: unanswered,
    // Linear memory only grows: its size after the logins is the peak a login needed.
    wasm_memory_mib: { before_first_login: round(memory.before_first_login / 2 ** 20, 1), peak: round(memory.after_logins / 2 ** 20, 1) },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [verb, ...args] = process.argv.slice(2);
  if (verb === "compare") {
    // node bench/own_cpu.mjs compare LABEL=DIR LABEL=DIR...  (each DIR a worker-build output)
    const builds = args.map((a) => [a.slice(0, a.indexOf("=")), resolve(a.slice(a.indexOf("=") + 1))]);
    console.log(JSON.stringify(await compareBuilds(builds, console.log), null, 2));
  } else if (verb === "login") {
    const [storedHash, password, ...assignments] = args;
    const vars = Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
    console.log(JSON.stringify(await loginCpu({ vars, storedHash, password, log: console.log }), null, 2));
  } else {
    const out = await ownCpuBench(console.log);
    console.log(JSON.stringify(out, null, 2));
  }
}
