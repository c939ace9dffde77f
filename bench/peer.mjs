// Benchmark (not a test; it enforces nothing): edge-auth beside a peer, better-auth, on the same
// runtime in the same run. Both are served by `wrangler dev` (node_modules/wrangler, with its
// workerd) on loopback with local D1; edge-auth exactly as bench/run.mjs serves it
// (tests/harness/local-worker.mjs: a copy of build/, its wrangler.toml with per-IP limits no load
// reaches, the migrations), better-auth from bench/peer/better-auth-worker.mjs (its documented
// Workers + D1 setup, email and password on, rate limiting off) with its schema,
// bench/peer/better-auth-schema.sql, in a temporary directory of its own. For each pair
//   sign-up   better-auth POST /api/auth/sign-up/email   edge-auth POST register/
//   sign-in   better-auth POST /api/auth/sign-in/email   edge-auth POST login/
//   session   better-auth GET /api/auth/get-session      edge-auth GET me/ (Bearer access token)
//             (session cookie)
// it reports the CPU time per request of the busiest workerd process (the one running the isolate
// and local D1; the other is wrangler's proxy), read from /proc/<pid>/task/*/schedstat (ns, every
// thread), the median over batches of sequential requests, the two sides' batches interleaved so
// that machine noise hits both alike; and the median wall time per request. Same client (node:http,
// one keep-alive connection, one request at a time, Origin: http://localhost:3000) for both.
//
// Hashes as shipped: better-auth's scrypt (N=16384, r=16, p=1) against edge-auth's
// PASSWORD_HASHER, pbkdf2_sha256 at PBKDF2_ITERATIONS=1,000,000 and argon2id — each measured with a
// user registered through the API under that hasher, so the stored hash follows it. A worker that
// does not know PASSWORD_HASHER=argon2id (it stores a pbkdf2_sha256 hash anyway) gets null there.
//
// Run: `worker-build --release` (build/ must exist), then `node bench/peer.mjs`; it prints a table
// and writes bench/results/peer.json. Module: `peerBench(log)` returns the same object.
// Knobs (environment): PEER_SIGN_UP_BATCHES (5) of PEER_SIGN_UP_BATCH (10), PEER_SIGN_IN_BATCHES (5)
// of PEER_SIGN_IN_BATCH (4), PEER_SESSION_BATCHES (5) of PEER_SESSION_BATCH (300),
// PEER_HASHERS (pbkdf2_sha256,argon2id), PEER_NODE_MODULES (where better-auth is installed; default
// the project's node_modules).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { freePort, groupAlive, prepareLocalWorker } from "../tests/harness/local-worker.mjs";
import { descendants, request as sendRequest, round as roundNumber, sleep, threadsCpuMs } from "./lib.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const SIGN_UP_BATCHES = env("PEER_SIGN_UP_BATCHES", 5);
const SIGN_UP_BATCH = env("PEER_SIGN_UP_BATCH", 10);
const SIGN_IN_BATCHES = env("PEER_SIGN_IN_BATCHES", 5);
const SIGN_IN_BATCH = env("PEER_SIGN_IN_BATCH", 4);
const SESSION_BATCHES = env("PEER_SESSION_BATCHES", 5);
const SESSION_BATCH = env("PEER_SESSION_BATCH", 300);
const HASHERS = (process.env.PEER_HASHERS ?? "pbkdf2_sha256,argon2id").split(",").map((s) => s.trim()).filter(Boolean);
const NODE_MODULES = resolve(process.env.PEER_NODE_MODULES ?? join(root, "node_modules"));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const PREFIX = "/api/v1/drf/auth";
// The frontend's origin, sent with every request to both (a browser sends it with a cross-origin
// fetch): edge-auth's default ALLOWED_ORIGINS has it, the peer gets it as its trusted origin.
const ORIGIN = "http://localhost:3000";
const PASSWORD = "Quartz-lantern-91-orbit"; // passes edge-auth's validators and better-auth's length check
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, digits = 2) => (x === null || x === undefined ? null : roundNumber(x, digits));

/** The workerd processes under `pid` (wrangler dev), the busiest first. */
function workerdProcesses(pid) {
  const workerd = descendants(pid).filter((p) => p.comm.startsWith("workerd")).map((p) => p.pid);
  return workerd.map((p) => [p, threadsCpuMs(p)]).sort((a, b) => b[1] - a[1]).map(([p]) => p);
}

/** One HTTP request; resolves { status, headers, body, ms } and never rejects. */
function request(agent, port, method, path, { cookie, ...options } = {}) {
  // better-auth refuses a POST without a trusted Origin: both sides get the frontend's.
  return sendRequest(agent, port, method, path, { ...options, headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) } });
}

/**
 * One side of the comparison: a served worker with its busiest workerd process and one keep-alive
 * connection. `batch(n, make, expect)` sends n requests one after another and returns the CPU ms
 * per request of that process and the requests' wall times.
 */
function side(name, server, pid) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method, path, options) => request(agent, server.port, method, path, options);
  return {
    name,
    send,
    sendPlan: ({ method, path, options }) => send(method, path, options),
    async batch(n, make, expect) {
      const walls = [];
      const before = threadsCpuMs(pid);
      for (let i = 0; i < n; i++) {
        const { method, path, options } = make();
        const response = await send(method, path, options);
        if (response.status === 503 && response.body.includes("restarted mid-request")) {
          // wrangler dev reloaded the worker (its file watcher can fire late, after the first
          // answer): this batch measured a restart, not the endpoint. interleaved() redoes it.
          throw Object.assign(new Error(`${name}: the worker restarted mid-batch`), { restarted: true });
        }
        if (response.status !== expect) {
          throw new Error(`${name} ${method} ${path}: ${response.status} ${response.body.slice(0, 300)}\n--- wrangler dev's log ---\n${server.log().slice(-4000)}`);
        }
        walls.push(response.ms);
      }
      let after;
      try {
        after = threadsCpuMs(pid);
      } catch {
        throw Object.assign(new Error(`${name}: the workerd process went away mid-batch`), { restarted: true });
      }
      return { cpu: (after - before) / n, walls };
    },
    /** After a restart: warm the new isolate up with `make`, then follow the busiest workerd again. */
    async rewarm(make) {
      for (let i = 0; i < 3; i++) {
        const { method, path, options } = make();
        await send(method, path, options);
      }
      pid = workerdProcesses(server.pid)[0];
    },
    close: () => agent.destroy(),
  };
}

/**
 * Runs `rounds` batches on each side, interleaved (a, b, a, b, …); `plans` is { sideName: { side,
 * size, make, expect } }. Returns, per side, the median CPU ms per request over the batches, the
 * median wall ms over all requests, and the batch figures.
 */
async function interleaved(rounds, plans) {
  const samples = Object.fromEntries(Object.keys(plans).map((k) => [k, { cpu: [], walls: [], restarts: 0 }]));
  for (let r = 0; r < rounds; r++) {
    for (const [key, plan] of Object.entries(plans)) {
      let batch;
      for (let attempt = 1; !batch; attempt++) {
        try {
          batch = await plan.side.batch(plan.size, plan.make, plan.expect);
        } catch (e) {
          if (!e.restarted || attempt === 3) throw e;
          samples[key].restarts += 1;
          await sleep(2000);
          await plan.side.rewarm(plan.make);
        }
      }
      const { cpu, walls } = batch;
      samples[key].cpu.push(cpu);
      samples[key].walls.push(...walls);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, s]) => [k, {
      cpu_ms: round(median(s.cpu), 3),
      p50_ms: round(median(s.walls), 2),
      batches_cpu_ms: s.cpu.map((x) => round(x, 3)),
      batch_size: plans[k].size,
      batches: rounds,
      batches_redone_after_a_worker_restart: s.restarts,
    }]),
  );
}

// The peer's site: its own temporary directory, wrangler.toml, secret, D1 state and process group.
const peerGroups = new Set();
process.once("exit", () => {
  for (const pid of peerGroups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});


/** better-auth's version as installed where the peer's bundle resolves it from. */
function betterAuthVersion() {
  const file = join(NODE_MODULES, "better-auth/package.json");
  if (!existsSync(file)) {
    throw new Error(`better-auth is not installed in ${NODE_MODULES}: run npm ci (it is a devDependency), or set PEER_NODE_MODULES`);
  }
  return JSON.parse(readFileSync(file, "utf8")).version;
}

async function servePeer() {
  const version = betterAuthVersion();
  const dir = mkdtempSync(join(os.tmpdir(), "edge-auth-peer-"));
  const dispose = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    // wrangler bundles the entry itself, as in a team's project: the entry beside a node_modules
    // that has better-auth, the same compatibility date as edge-auth's wrangler.toml, and
    // nodejs_compat, which better-auth's Workers guide asks for.
    copyFileSync(join(root, "bench/peer/better-auth-worker.mjs"), join(dir, "worker.mjs"));
    symlinkSync(NODE_MODULES, join(dir, "node_modules"), "dir");
    const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))[1];
    const config = join(dir, "wrangler.toml");
    writeFileSync(config, `name = "better-auth-peer"
main = "worker.mjs"
compatibility_date = "${date}"
compatibility_flags = ["nodejs_compat"]

[[d1_databases]]
binding = "DB"
database_name = "better-auth-peer"
database_id = "00000000-0000-0000-0000-000000000000"
`);
    writeFileSync(join(dir, ".dev.vars"), `BETTER_AUTH_SECRET="${randomBytes(32).toString("base64url")}"\n`, { mode: 0o600 });
    const state = join(dir, "state");
    const wrangler = (args) =>
      execFileSync(process.execPath, [WRANGLER, ...args, "-c", config], { cwd: dir, env: wranglerEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    try {
      wrangler(["d1", "execute", "DB", "--local", "--persist-to", state, "--file", join(root, "bench/peer/better-auth-schema.sql")]);
    } catch (e) {
      throw new Error(`better-auth schema failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }

    const port = await freePort();
    const inspectorPort = await freePort();
    const logPath = join(dir, "wrangler.log");
    const logFd = openSync(logPath, "a");
    const started = performance.now();
    const dev = spawn(process.execPath, [
      WRANGLER, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
      "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "warn",
      "--var", `BETTER_AUTH_URL:http://127.0.0.1:${port}`, "--var", `TRUSTED_ORIGINS:${ORIGIN}`,
    ], { cwd: dir, env: wranglerEnv, stdio: ["ignore", logFd, logFd], detached: true });
    closeSync(logFd);
    peerGroups.add(dev.pid);
    const log = () => readFileSync(logPath, "utf8");
    const stop = async () => {
      if (!peerGroups.has(dev.pid)) return;
      try {
        process.kill(-dev.pid, "SIGTERM");
      } catch {
        // gone
      }
      const end = performance.now() + 10_000;
      while (groupAlive(dev.pid) && performance.now() < end) await sleep(100);
      try {
        process.kill(-dev.pid, "SIGKILL");
      } catch {
        // gone
      }
      peerGroups.delete(dev.pid);
    };
    dispose.unshift(stop);
    const probe = new http.Agent({ keepAlive: false });
    const end = performance.now() + 120_000;
    for (;;) {
      if (dev.exitCode !== null || dev.signalCode !== null) throw new Error(`wrangler dev (peer) exited before serving\n${log().slice(-4000)}`);
      if (performance.now() > end) throw new Error(`the peer did not answer within 120 s\n${log().slice(-4000)}`);
      const response = await request(probe, port, "GET", "/api/auth/ok");
      if (response.status === 200) break;
      if (response.status !== 0) throw new Error(`peer /api/auth/ok: ${response.status} ${response.body.slice(0, 300)}\n${log().slice(-4000)}`);
      await sleep(20);
    }
    probe.destroy();
    return {
      version, port, pid: dev.pid, startMs: performance.now() - started, log,
      dispose: async () => {
        for (const step of dispose) await step();
      },
    };
  } catch (e) {
    for (const step of dispose) await step();
    throw e;
  }
}

/**
 * An edge-auth user's stored password hash without its salt and hash (Django's format: the
 * algorithm and its cost, e.g. `pbkdf2_sha256$1000000`, `argon2$argon2id$v=19$m=…,t=…,p=…`),
 * read from local D1.
 */
function storedHashParams(site, email) {
  const out = site.wrangler(["d1", "execute", "DB", "--local", "--persist-to", site.state, "--json",
    "--command", `SELECT password FROM users WHERE email = '${email.replaceAll("'", "''")}'`]);
  const stored = JSON.parse(out)[0]?.results?.[0]?.password;
  return stored ? stored.split("$").slice(0, -2).join("$") : null;
}

const cookieOf = (response) => (response.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");

export async function peerBench(log = (line = "") => console.log(line)) {
  if (!existsSync(join(root, "build/worker/shim.mjs"))) throw new Error("no build/: run `worker-build --release` first");
  const run = Date.now().toString(36);
  const result = {
    date: new Date().toISOString(),
    machine: { nproc: os.availableParallelism?.() ?? os.cpus().length, node: process.version, loadavg_start: os.loadavg().map((x) => round(x)) },
    better_auth: null,
    edge_auth: { hashers: {} },
  };
  const peer = await servePeer();
  const site = await prepareLocalWorker({ ipLimit: 100_000_000 });
  const sides = [];
  try {
    // The peer: warm up every route (and let the busiest process show), then keep its connection.
    const ba = side("better-auth", peer, null);
    let n = 0;
    const baEmail = (tag) => `ba.${tag}.${run}.${n++}@bench.example.com`;
    const baSignUp = (email) => ({ method: "POST", path: "/api/auth/sign-up/email", options: { body: { name: "Bench User", email, password: PASSWORD } } });
    const baUser = baEmail("signin");
    let response = await ba.sendPlan(baSignUp(baUser));
    if (response.status !== 200) throw new Error(`better-auth sign-up: ${response.status} ${response.body}\n${peer.log().slice(-3000)}`);
    for (let i = 0; i < 3; i++) await ba.sendPlan(baSignUp(baEmail("warm")));
    for (let i = 0; i < 3; i++) response = await ba.send("POST", "/api/auth/sign-in/email", { body: { email: baUser, password: PASSWORD } });
    if (response.status !== 200) throw new Error(`better-auth sign-in: ${response.status} ${response.body}`);
    const baCookie = cookieOf(response);
    if (!/session_token=/.test(baCookie)) throw new Error(`better-auth sign-in set no session cookie: ${JSON.stringify(response.headers["set-cookie"])}`);
    for (let i = 0; i < 50; i++) response = await ba.send("GET", "/api/auth/get-session", { cookie: baCookie });
    if (response.status !== 200 || JSON.parse(response.body)?.user?.email !== baUser) throw new Error(`better-auth get-session: ${response.status} ${response.body}`);
    ba.close();
    const baPid = workerdProcesses(peer.pid)[0];
    const baSide = side("better-auth", peer, baPid);
    sides.push(baSide);

    // edge-auth, once per hasher; the peer's batches interleaved with the first (default) one.
    let eaEmailN = 0;
    const eaEmail = (tag) => `ea.${tag}.${run}.${eaEmailN++}@bench.example.com`;
    const eaRegister = (email) => ({
      method: "POST", path: `${PREFIX}/register/`,
      options: { body: { email, password: PASSWORD, password_confirm: PASSWORD, first_name: "Bench", last_name: "User" } },
    });
    let peerDone = false;
    for (const hasher of HASHERS) {
      const vars = { PASSWORD_HASHER: hasher, PBKDF2_ITERATIONS: "1000000", LOGIN_BACKOFF_THRESHOLD: "1000000000" };
      let server;
      try {
        server = await site.serve({ vars, ready: { path: `${PREFIX}/me/`, status: 401 }, logLevel: "warn", timeoutMs: 60_000 });
      } catch (e) {
        // A worker that refuses the var (e.g. an unknown hasher as a misconfiguration) has no figure for it.
        log(`edge-auth with PASSWORD_HASHER=${hasher} did not serve: ${e.message.split("\n")[0]}`);
        result.edge_auth.hashers[hasher] = { served: false, error: e.message.split("\n")[0] };
        continue;
      }
      const warm = side("edge-auth", server, null);
      const user = eaEmail(`login-${hasher}`);
      response = await warm.sendPlan(eaRegister(user));
      if (response.status !== 201) throw new Error(`edge-auth register: ${response.status} ${response.body}`);
      for (let i = 0; i < 3; i++) await warm.sendPlan(eaRegister(eaEmail("warm")));
      for (let i = 0; i < 3; i++) response = await warm.send("POST", `${PREFIX}/login/`, { body: { email: user, password: PASSWORD } });
      if (response.status !== 200) throw new Error(`edge-auth login: ${response.status} ${response.body}`);
      const access = JSON.parse(response.body).access_token;
      for (let i = 0; i < 50; i++) response = await warm.send("GET", `${PREFIX}/me/`, { token: access });
      if (response.status !== 200) throw new Error(`edge-auth me/: ${response.status} ${response.body}`);
      warm.close();
      const ea = side("edge-auth", server, workerdProcesses(server.pid)[0]);
      sides.push(ea);
      const first = !peerDone;
      peerDone = true;
      const withPeer = (plans, peerPlan) => (first ? { ...plans, better_auth: { side: baSide, ...peerPlan } } : plans);
      let m = 0;
      const signUps = await interleaved(SIGN_UP_BATCHES, withPeer(
        { edge_auth: { side: ea, size: SIGN_UP_BATCH, make: () => eaRegister(eaEmail(`reg-${hasher}-${m++}`)), expect: 201 } },
        { size: SIGN_UP_BATCH, make: () => baSignUp(baEmail("signup")), expect: 200 },
      ));
      const signIns = await interleaved(SIGN_IN_BATCHES, withPeer(
        { edge_auth: { side: ea, size: SIGN_IN_BATCH, make: () => ({ method: "POST", path: `${PREFIX}/login/`, options: { body: { email: user, password: PASSWORD } } }), expect: 200 } },
        { size: SIGN_IN_BATCH, make: () => ({ method: "POST", path: "/api/auth/sign-in/email", options: { body: { email: baUser, password: PASSWORD } } }), expect: 200 },
      ));
      const sessions = await interleaved(SESSION_BATCHES, withPeer(
        { edge_auth: { side: ea, size: SESSION_BATCH, make: () => ({ method: "GET", path: `${PREFIX}/me/`, options: { token: access } }), expect: 200 } },
        { size: SESSION_BATCH, make: () => ({ method: "GET", path: "/api/auth/get-session", options: { cookie: baCookie } }), expect: 200 },
      ));
      ea.close();
      sides.pop();
      await server.stop();
      // Which hash the worker stored: PASSWORD_HASHER is only measured if the worker followed it.
      const stored = storedHashParams(site, user);
      const algorithm = stored?.split("$")[0];
      const followed = algorithm === hasher || (hasher === "argon2id" && stored?.startsWith("argon2$argon2id$"));
      result.edge_auth.hashers[hasher] = {
        served: true,
        stored_hash: stored,
        followed,
        register: signUps.edge_auth,
        login: signIns.edge_auth,
        me: sessions.edge_auth,
        wrangler_dev_start_to_first_response_ms: round(server.startMs, 0),
      };
      if (!followed) log(`edge-auth with PASSWORD_HASHER=${hasher} stored a ${algorithm} hash: no ${hasher} figure (the worker does not take the var yet)`);
      if (first) {
        result.better_auth = {
          version: peer.version,
          sign_up: signUps.better_auth,
          sign_in: signIns.better_auth,
          get_session: sessions.better_auth,
          wrangler_dev_start_to_first_response_ms: round(peer.startMs, 0),
        };
      }
    }
  } finally {
    for (const s of sides) s.close();
    await site.dispose();
    await peer.dispose();
  }

  if (!result.better_auth) throw new Error(`edge-auth served under none of PASSWORD_HASHER=${HASHERS.join(", ")}: nothing to compare`);
  // The summary, beside the batch figures.
  const ba = result.better_auth;
  const hashers = result.edge_auth.hashers;
  const figure = (hasher, what, key = "cpu_ms") => (hashers[hasher]?.followed ? hashers[hasher][what][key] : null);
  const main = HASHERS.find((h) => hashers[h]?.followed);
  Object.assign(result.better_auth, {
    sign_up_cpu_ms: ba.sign_up.cpu_ms, sign_in_cpu_ms: ba.sign_in.cpu_ms, get_session_cpu_ms: ba.get_session.cpu_ms,
    sign_up_p50_ms: ba.sign_up.p50_ms, sign_in_p50_ms: ba.sign_in.p50_ms, get_session_p50_ms: ba.get_session.p50_ms,
    password_hash: "scrypt N=16384 r=16 p=1 dkLen=64 (better-auth's default; node:crypto scrypt under nodejs_compat)",
  });
  Object.assign(result.edge_auth, {
    register_cpu_ms: main ? figure(main, "register") : null,
    register_cpu_ms_by_hasher: Object.fromEntries(HASHERS.map((h) => [h, figure(h, "register")])),
    login_cpu_ms: Object.fromEntries(HASHERS.map((h) => [h, figure(h, "login")])),
    me_cpu_ms: main ? figure(main, "me") : null,
    register_p50_ms: main ? figure(main, "register", "p50_ms") : null,
    login_p50_ms: Object.fromEntries(HASHERS.map((h) => [h, figure(h, "login", "p50_ms")])),
    me_p50_ms: main ? figure(main, "me", "p50_ms") : null,
    pbkdf2_iterations: 1_000_000,
  });
  result.method =
    `Both under wrangler dev ${JSON.parse(readFileSync(join(root, "node_modules/wrangler/package.json"), "utf8")).version} ` +
    `(its workerd) on 127.0.0.1 with local D1, same compatibility date; better-auth ${ba.version} from ` +
    `bench/peer/better-auth-worker.mjs (database: env.DB, emailAndPassword on, rateLimit off, nodejs_compat), bundled by ` +
    `wrangler; edge-auth from build/ with per-IP limits raised and the login back-off off. CPU: the busiest workerd ` +
    `process's CPU time (all threads, /proc/<pid>/task/*/schedstat) per request, median over batches of sequential ` +
    `requests on one keep-alive connection, the two sides' batches interleaved (sign-up ${SIGN_UP_BATCHES}×${SIGN_UP_BATCH} ` +
    `distinct emails, sign-in ${SIGN_IN_BATCHES}×${SIGN_IN_BATCH}, session ${SESSION_BATCHES}×${SESSION_BATCH}, after warm-up). ` +
    `The figure includes local D1 (SQLite in the same process) and HTTP, for both alike. p50: median wall time per request. ` +
    `edge-auth's login/register per hasher with a user registered under it (PASSWORD_HASHER; null when the stored hash did not follow).`;

  // The table.
  const cell = (x) => (x === null || x === undefined ? "—" : x.toFixed(2)).padStart(9);
  log(`\nbetter-auth ${ba.version} vs edge-auth, same workerd under wrangler dev, CPU ms per request (median of batches) / p50 wall ms:`);
  log(`  ${"".padEnd(34)} ${"better-auth".padStart(21)}   ${"edge-auth".padStart(21)}`);
  const row = (label, b, e) => log(`  ${label.padEnd(34)} ${cell(b?.cpu_ms)} / ${cell(b?.p50_ms)}   ${cell(e?.cpu_ms)} / ${cell(e?.p50_ms)}`);
  // better-auth's figure (one hasher: its scrypt) on every row, beside each of edge-auth's.
  for (const h of HASHERS) row(`sign-up / register/ [${h}]`, ba.sign_up, hashers[h]?.followed ? hashers[h].register : null);
  for (const h of HASHERS) row(`sign-in / login/ [${h}]`, ba.sign_in, hashers[h]?.followed ? hashers[h].login : null);
  row("get-session / me/", ba.get_session, main ? hashers[main].me : null);
  log(`  better-auth hashes with scrypt N=16384 r=16 p=1 (its default); edge-auth stored ` +
    HASHERS.map((h) => `${h}: ${hashers[h]?.stored_hash ?? "—"}`).join(", ") + `; "—": not measured`);
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await peerBench();
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/peer.json"), JSON.stringify(result, null, 2) + "\n");
  console.log("\nwrote bench/results/peer.json");
}
