// The one way to serve the built worker under `wrangler dev` for anything that is not the Miniflare
// suite: the fuzz run and the example client (tests/fuzz/run.sh, through the CLI below), the
// benchmarks (bench/run.mjs, through the module API) and any later end-to-end test.
//
// Everything lives in one temporary directory, removed when done: a copy of build/ (a concurrent
// `worker-build` cannot reload it mid-run), a copy of wrangler.toml rewritten for a local run
// (absolute paths: `main`, the migrations and the copy's static assets; no [build] step, every
// per-IP `simple = { limit = N` raised; everything else,
// the Queue producers and consumers included, kept as it is), a `.dev.vars` beside it with a
// throwaway signing key and any other secrets the caller passes (wrangler reads it from there; the
// developer's own `.dev.vars` is never read or written), and a fresh D1/KV state (`--persist-to`,
// local Queues too) with the migrations applied. `wrangler dev` runs on 127.0.0.1 and a free port in its own process group,
// and stopping it stops that whole group (workerd included), also on SIGINT/SIGTERM or exit.
//
// Module:
//   const site = await prepareLocalWorker({ ipLimit, secrets }); // dir, state, config, migrations applied;
//                                                  // secrets: { NAME: value } for .dev.vars (JWT_SIGNING_KEY too)
//   site.wrangler(["d1", "execute", "DB", "--local", "--persist-to", site.state, "--file", f]);
//   const server = await site.serve({ vars, main, ready, logLevel });  // { origin, port, pid, startMs, log(), stop() }
//   await server.stop(); site.dispose();
// One server per site at a time; serve again (e.g. another `main` on the same state) after stop().
//
// CLI (runs one command against a served worker, then stops everything; exits with its status):
//   node tests/harness/local-worker.mjs run [--var NAME:VALUE]... [--ip-limit N] [--keep] -- COMMAND [ARG]...
// COMMAND gets LOCAL_WORKER_ORIGIN (http://127.0.0.1:PORT), LOCAL_WORKER_DIR (the temporary
// directory, for its scratch files) and LOCAL_WORKER_LOG (wrangler dev's output, growing: e.g. the
// send_email binding's "send_email binding called with MessageBuilder:" lines) in its environment
// and runs in its own process group; on failure the last lines of wrangler dev's log are printed.
// --keep keeps the directory.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };

/** Ready when the deep health check says D1 and KV answer. */
export const HEALTHY = { path: "/healthz?deep=1", status: 200, check: (body) => JSON.parse(body).status === "ok" };

/**
 * wrangler.toml rewritten for a local run from `dir`: `main`, `migrations_dir` and the static
 * assets' `directory` (`assets`, default the repository's) absolute, no [build] step, every
 * per-IP limit at `ipLimit`. Throws when a rewrite does not apply, so that a changed wrangler.toml
 * stops the run instead of silently keeping its limits.
 */
export function localConfig(text, { main, ipLimit, assets }) {
  const rewrites = [
    // pattern, replacement, the match counts that are fine
    [/^main\s*=\s*".*"$/gm, () => `main = ${JSON.stringify(main)}`, (n) => n === 1],
    [/^migrations_dir\s*=\s*"(.*)"$/gm, (_, p) => `migrations_dir = ${JSON.stringify(resolve(root, p))}`, (n) => n === 1],
    [/^directory\s*=\s*"(.*)"$/gm, (_, p) => `directory = ${JSON.stringify(assets ?? resolve(root, p))}`, (n) => n === 1],
    [/^\[build\]\n(?:[^[\n][^\n]*\n|\n)*/gm, () => "", (n) => n <= 1],
    [/simple\s*=\s*\{\s*limit\s*=\s*\d+/g, () => `simple = { limit = ${ipLimit}`, (n) => n >= 1],
  ];
  for (const [pattern, replacement, fine] of rewrites) {
    let count = 0;
    text = text.replace(pattern, (...match) => {
      count += 1;
      return replacement(...match);
    });
    if (!fine(count)) throw new Error(`cannot rewrite wrangler.toml: ${pattern} matched ${count} times`);
  }
  return text;
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** One GET; resolves { status, body } (status 0: nothing answered) and never rejects. */
function get(port, path) {
  return new Promise((resolveGet) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent: false, timeout: 2000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolveGet({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", () => resolveGet({ status: 0, body: "" }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolveGet({ status: 0, body: "" }));
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * Whether any process of group `pgid` still runs. A member that has exited but is not reaped yet
 * (a zombie: our own child while this process waits synchronously) does not count.
 */
export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (!existsSync("/proc/self/stat")) return true;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // After the ")" of comm: state, ppid, pgrp.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    } catch {
      // ended while we looked
    }
  }
  return false;
}
const signalGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
};

// What must not outlive this process: process groups to stop, directories to remove.
const groups = new Set();
const dirs = new Set();
let hooked = false;

/** Synchronous (usable in 'exit'): SIGTERM, up to `graceMs` for the group to go, then SIGKILL. */
function stopGroupSync(pid, graceMs = 5000) {
  signalGroup(pid, "SIGTERM");
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < end) Atomics.wait(tick, 0, 0, 100);
  signalGroup(pid, "SIGKILL"); // a wedged workerd can ignore SIGTERM
  groups.delete(pid);
}

function cleanUpEverything() {
  for (const pid of groups) signalGroup(pid, "SIGTERM"); // all at once: they stop in parallel
  for (const pid of [...groups]) stopGroupSync(pid);
  for (const dir of [...dirs]) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once("exit", cleanUpEverything);
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]]) {
    process.once(signal, () => {
      cleanUpEverything();
      process.exit(status);
    });
  }
}

/**
 * `.dev.vars` for these secrets: one `NAME="value"` line each. A value with a quote, a backslash, a
 * dollar or a line break is refused rather than escaped (wrangler's dotenv parser would read it otherwise).
 */
export function devVars(secrets) {
  return Object.entries(secrets)
    .map(([name, value]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`not a secret name: ${name}`);
      if (typeof value !== "string" || /["\\$\r\n]/.test(value)) throw new Error(`${name}: a string without quotes, backslashes, dollars or line breaks`);
      return `${name}="${value}"\n`;
    })
    .join("");
}

/**
 * A temporary directory holding a copy of the build, a local wrangler.toml, a throwaway signing key
 * and a D1/KV state with the migrations applied. `ipLimit` is every per-IP limit of the copy;
 * `secrets` ({ NAME: value }) go into the copy's `.dev.vars` beside the signing key (a
 * JWT_SIGNING_KEY among them replaces the throwaway one); `keep` leaves the directory in place on
 * dispose() (it is printed).
 */
export async function prepareLocalWorker({ ipLimit = 1_000_000, copyBuild = true, keep = false, secrets = {} } = {}) {
  if (!existsSync(join(root, "build/worker/shim.mjs"))) throw new Error("no build/worker/shim.mjs: build the worker first");
  hookExit();
  const dir = mkdtempSync(join(os.tmpdir(), "edge-auth-local-"));
  if (!keep) dirs.add(dir);
  try {
    const build = copyBuild ? join(dir, "build") : join(root, "build");
    if (copyBuild) cpSync(join(root, "build"), build, { recursive: true });
    const buildMain = join(build, "worker/shim.mjs");
    const template = readFileSync(join(root, "wrangler.toml"), "utf8");
    const config = join(dir, "wrangler.toml");
    const writeConfig = (main) => writeFileSync(config, localConfig(template, { main, ipLimit, assets: join(build, "assets") }));
    writeConfig(buildMain);
    const vars = devVars({ JWT_SIGNING_KEY: randomBytes(48).toString("base64url"), ...secrets });
    writeFileSync(join(dir, ".dev.vars"), vars, { mode: 0o600 });
    const state = join(dir, "state");
    const wrangler = (args) =>
      execFileSync(process.execPath, [WRANGLER, ...args, "-c", config], {
        cwd: dir,
        env: wranglerEnv,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    try {
      wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
    } catch (e) {
      throw new Error(`migrations failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    let serving = null;
    const site = {
      dir,
      state,
      config,
      wrangler,
      /**
       * Starts `wrangler dev` on this site's config and state. `main` overrides the worker served
       * (default: the build copy); `vars` become `--var`s (BREACHED_PASSWORD_CHECK=off unless
       * among them); `ready` is the request that says it
       * serves ({ path, status, check(body) }, default HEALTHY); the first answer must match.
       */
      async serve({ vars = {}, main = buildMain, ready = HEALTHY, logLevel, timeoutMs = 120_000 } = {}) {
        if (serving) throw new Error("this site already serves: stop() it first");
        writeConfig(main);
        const port = await freePort();
        const inspectorPort = await freePort();
        const logPath = join(dir, "wrangler.log");
        const logFd = openSync(logPath, "a");
        const args = [
          WRANGLER, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port),
          "--inspector-port", String(inspectorPort), "--persist-to", state,
          "--show-interactive-dev-session=false",
          ...(logLevel ? ["--log-level", logLevel] : []),
          // The breached-password check stays off unless a caller sets it: wrangler.toml ships
          // fail-open against api.pwnedpasswords.com, and no test or benchmark reaches the internet.
          ...Object.entries({ BREACHED_PASSWORD_CHECK: "off", ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
        ];
        const started = performance.now();
        // Its own process group, so that stop() reaches the workerd processes it starts, and only them.
        const dev = spawn(process.execPath, args, { cwd: dir, env: wranglerEnv, stdio: ["ignore", logFd, logFd], detached: true });
        closeSync(logFd);
        groups.add(dev.pid);
        const log = () => readFileSync(logPath, "utf8");
        const stop = async () => {
          if (!groups.has(dev.pid)) return;
          signalGroup(dev.pid, "SIGTERM");
          const end = performance.now() + 10_000;
          while (groupAlive(dev.pid) && performance.now() < end) await sleep(100);
          signalGroup(dev.pid, "SIGKILL"); // nothing of this group may outlive the run
          groups.delete(dev.pid);
          serving = null;
        };
        serving = stop;
        try {
          const end = performance.now() + timeoutMs;
          for (;;) {
            if (dev.exitCode !== null || dev.signalCode !== null) throw new Error(`wrangler dev exited (${dev.exitCode ?? dev.signalCode}) before serving`);
            if (performance.now() > end) throw new Error(`${ready.path} did not answer within ${timeoutMs} ms`);
            const response = await get(port, ready.path);
            if (response.status !== 0) {
              let fine = response.status === ready.status;
              try {
                fine &&= !ready.check || ready.check(response.body);
              } catch {
                fine = false;
              }
              if (!fine) throw new Error(`${ready.path}: ${response.status} ${response.body.slice(0, 300)}`);
              break;
            }
            await sleep(10);
          }
        } catch (e) {
          await stop();
          throw new Error(`${e.message}\n--- wrangler dev's log (${logPath}) ---\n${log().slice(-4000)}`);
        }
        return { origin: `http://127.0.0.1:${port}`, port, pid: dev.pid, startMs: performance.now() - started, log, logPath, stop };
      },
      /** Stops a running server and removes the directory (unless kept). */
      async dispose() {
        if (serving) await serving();
        if (keep) {
          console.error(`kept ${dir}`);
        } else {
          rmSync(dir, { recursive: true, force: true });
          dirs.delete(dir);
        }
      },
    };
    return site;
  } catch (e) {
    if (!keep) {
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    }
    throw e;
  }
}

/** The CLI: `run [--var NAME:VALUE]... [--ip-limit N] [--keep] -- COMMAND [ARG]...`. */
async function cli(argv) {
  const usage = "usage: local-worker.mjs run [--var NAME:VALUE]... [--ip-limit N] [--keep] -- COMMAND [ARG]...";
  const [verb, ...rest] = argv;
  const split = rest.indexOf("--");
  if (verb !== "run" || split < 0 || split === rest.length - 1) {
    console.error(usage);
    return 2;
  }
  const options = rest.slice(0, split);
  const command = rest.slice(split + 1);
  const vars = {};
  let ipLimit = 1_000_000;
  let keep = false;
  for (let i = 0; i < options.length; i++) {
    const option = options[i];
    if (option === "--var" && /^[A-Z0-9_]+:/.test(options[i + 1] ?? "")) {
      const [name, ...value] = options[++i].split(":");
      vars[name] = value.join(":");
    } else if (option === "--ip-limit" && /^\d+$/.test(options[i + 1] ?? "")) {
      ipLimit = Number(options[++i]);
    } else if (option === "--keep") {
      keep = true;
    } else {
      console.error(`unknown or incomplete option ${option}\n${usage}`);
      return 2;
    }
  }

  const site = await prepareLocalWorker({ ipLimit, keep });
  let server;
  try {
    server = await site.serve({ vars });
  } catch (e) {
    console.error(e.message);
    await site.dispose();
    return 1;
  }
  console.log(`wrangler dev serving ${server.origin} (state in ${site.dir})`);
  // The command in its own process group: a signal to this process reaches the whole command
  // (and whatever it started), then the server stops.
  const child = spawn(command[0], command.slice(1), {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, LOCAL_WORKER_ORIGIN: server.origin, LOCAL_WORKER_DIR: site.dir, LOCAL_WORKER_LOG: server.logPath },
    detached: true,
  });
  groups.add(child.pid);
  const status = await new Promise((resolveStatus) => {
    child.on("error", (e) => {
      console.error(`${command[0]}: ${e.message}`);
      resolveStatus(127);
    });
    child.on("exit", (code, signal) => resolveStatus(code ?? 128 + (os.constants.signals[signal] ?? 0)));
  });
  groups.delete(child.pid);
  const log = server.log();
  await site.dispose();
  if (status !== 0 && log.trim()) {
    console.error(`---- last lines of wrangler dev's log ----\n${log.trimEnd().split("\n").slice(-30).join("\n")}`);
  }
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli(process.argv.slice(2)).catch((e) => {
    console.error(e.stack ?? String(e));
    return 1;
  });
}
