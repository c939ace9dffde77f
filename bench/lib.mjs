// What the benchmarks share (bench/run.mjs, bench/own_cpu.mjs, bench/profile.mjs): statistics, a
// keep-alive HTTP client, a bare workerd process serving a set of modules, and CPU time of a
// process read from /proc.
import { execFileSync, spawn } from "node:child_process";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { freePort } from "../tests/harness/local-worker.mjs";

export { freePort };
export const root = fileURLToPath(new URL("..", import.meta.url));
export const WORKERD = join(root, "node_modules/.bin/workerd");
export const PREFIX = "/api/v1/drf/auth";

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
export const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One HTTP request over `agent`; resolves { status, headers, body, ms } and never rejects.
 * `body` (an object) is sent as JSON; `token` as a Bearer token; `headers` as given.
 */
export function request(agent, port, method, path, { body, token, headers: extra } = {}) {
  return new Promise((resolve) => {
    const headers = { ...extra };
    const data = body === undefined ? undefined : JSON.stringify(body);
    if (data !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(data);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const start = performance.now();
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - start });
      });
      res.on("error", (e) => resolve({ status: 0, headers: {}, body: String(e), ms: performance.now() - start }));
    });
    req.on("error", (e) => resolve({ status: 0, headers: {}, body: String(e), ms: performance.now() - start }));
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export async function waitForResponse(port, deadlineMs, intervalMs, child, path = `${PREFIX}/me/`) {
  const agent = new http.Agent({ keepAlive: false });
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.exitCode ?? child.signalCode})`);
    const response = await request(agent, port, "GET", path);
    if (response.status !== 0) return response;
    await sleep(intervalMs);
  }
  throw new Error(`no response on port ${port} within ${deadlineMs} ms`);
}

/** The compatibility date to run under: wrangler.toml's, or workerd's own if that is older. */
export function compatibilityDate() {
  const workerdDate = /(\d{4}-\d{2}-\d{2})/.exec(execFileSync(WORKERD, ["--version"], { encoding: "utf8" }))?.[1];
  const configured = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))[1];
  return workerdDate && workerdDate < configured ? workerdDate : configured;
}

/** The built worker's modules as serveWithWorkerd takes them, from `build` (default build/). */
export const builtModules = (build = join(root, "build")) => [
  ["worker/shim.mjs", "esModule", join(build, "worker/shim.mjs")],
  ["index.js", "esModule", join(build, "index.js")],
  ["index_bg.wasm", "wasm", join(build, "index_bg.wasm")],
];

/**
 * Starts a bare workerd process (no wrangler, no miniflare) serving one worker made of
 * `modules` ([name, kind, source file]; the first is the main module; kinds are workerd's:
 * esModule, wasm, json, text) with text `bindings`. `inspectorPort` opens the V8 inspector there.
 * Returns { child, port, first, startMs, stderr(), stop() } once the port answers HTTP.
 */
export async function serveWithWorkerd(dir, modules, bindings = {}, { inspectorPort } = {}) {
  const port = await freePort();
  // capnp embeds are relative to the config file: copy the sources beside it.
  for (const [name, , source] of modules) {
    mkdirSync(join(dir, "src", name, ".."), { recursive: true });
    copyFileSync(source, join(dir, "src", name));
  }
  const config = join(dir, "config.capnp");
  writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
${modules.map(([name, kind]) => `    (name = ${JSON.stringify(name)}, ${kind} = embed ${JSON.stringify(`src/${name}`)}),`).join("\n")}
  ],
  compatibilityDate = "${compatibilityDate()}",
  bindings = [
${Object.entries(bindings).map(([k, v]) => `    (name = ${JSON.stringify(k)}, text = ${JSON.stringify(v)}),`).join("\n")}
  ],
);
`);
  const args = ["serve", config, ...(inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [])];
  const start = performance.now();
  const child = spawn(WORKERD, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  };
  try {
    const first = await waitForResponse(port, 10_000, 1, child);
    return { child, port, first, startMs: performance.now() - start, stderr: () => stderr, stop };
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n${stderr}`);
  }
}

/** CPU time of every live thread of `pid`, in ms, from /proc/<pid>/task/<tid>/schedstat (ns). */
export function threadsCpuMs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended while we looked
    }
  }
  return ns / 1e6;
}

/** Django's `pbkdf2_sha256$…` for `password`, made with OpenSSL (same bytes as Django's). */
export function djangoHash(password, iterations) {
  const salt = randomBytes(16).toString("base64url").replace(/[^A-Za-z0-9]/g, "a").slice(0, 22);
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

/** Every process below `pid`, as { pid, comm }, depth first. */
export function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(entry), comm });
    } catch {
      // the process ended while we looked
    }
  }
  const out = [];
  const walk = (p) => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      walk(child.pid);
    }
  };
  walk(pid);
  return out;
}
