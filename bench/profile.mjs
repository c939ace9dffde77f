// A V8 CPU profile of the worker's own work per request (issue 13): `node bench/profile.mjs`.
//
// The release build with the wasm name section kept (CARGO_PROFILE_RELEASE_STRIP=false, its own
// target dir target/profiling/, output target/profiling/build/; build/ stays stripped) served in a
// bare workerd with the inspector open, storage answered from a recording (bench/own_cpu.mjs), and
// for each of the 401 (GET me/ without a token), me/ and token/refresh/: many sequential requests
// while the CDP Profiler samples. Writes bench/results/profiles/<name>.cpuprofile (open them in
// Chrome DevTools → Performance, or speedscope) and prints the top self-time functions and the
// split between wasm, the wasm-bindgen JS glue, the runtime's native APIs, GC and the rest; and
// the same for a trivial JS worker answering the 401's bytes (the runtime's share). The profiler
// and the open inspector inflate native calls (console.log is formatted for the inspector, each
// sample costs): read the shares, and take per-request CPU from bench/own_cpu.mjs.
//
// Knobs: PROFILE_REQUESTS (per endpoint, 3000), PROFILE_INTERVAL_US (sampling, 50),
// PROFILE_TOP (rows printed, 25), PROFILE_SKIP_BUILD=1 (use target/profiling/build as it is).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort, root, round } from "./lib.mjs";
import { recordEndpoints, replayOnce, serveScenario } from "./own_cpu.mjs";

const REQUESTS = Number(process.env.PROFILE_REQUESTS ?? 3000);
const INTERVAL_US = Number(process.env.PROFILE_INTERVAL_US ?? 50);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const TARGET = join(root, "target/profiling");
const BUILD = join(TARGET, "build");
const OUT = join(root, "bench/results/profiles");

/** The release build with function names, beside build/ (never in it). */
function buildWithNames() {
  const tools = join(root, ".tools/bin");
  const env = {
    ...process.env,
    PATH: `${tools}:${join(root, "node_modules/.bin")}:${process.env.HOME}/.cargo/bin:${process.env.PATH}`,
    WASM_BINDGEN_BIN: join(tools, "wasm-bindgen"),
    ESBUILD_BIN: join(root, "node_modules/.bin/esbuild"),
    CARGO_PROFILE_RELEASE_STRIP: "false",
    CARGO_TARGET_DIR: TARGET,
  };
  console.log(`building the release worker with names into ${BUILD} ...`);
  execFileSync(join(tools, "worker-build"), ["--release", "--out-dir", BUILD], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
}

/** A minimal CDP client over the inspector's WebSocket. */
async function inspector(port) {
  const list = await new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/json/list" }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(JSON.parse(body)));
    }).on("error", reject);
  });
  const target = list.find((t) => t.webSocketDebuggerUrl) ?? list[0];
  const url = target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${target.id}`;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let next = 1;
  const pending = new Map();
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(JSON.stringify(message.error)));
      else resolve(message.result);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Rust's legacy symbol mangling (`_ZN3foo3bar17h0123456789abcdefE`) to `foo::bar`. */
export function demangle(name) {
  const m = /^_?_ZN(.*)E$/.exec(name);
  if (!m) return name;
  const parts = [];
  let rest = m[1];
  while (rest.length) {
    const len = /^(\d+)/.exec(rest);
    if (!len) break;
    const n = Number(len[1]);
    parts.push(rest.slice(len[1].length, len[1].length + n));
    rest = rest.slice(len[1].length + n);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
  const unescape = (s) =>
    s.replace(/^_\$/, "$").replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">").replace(/\$u20\$/g, " ").replace(/\$RF\$/g, "&")
      .replace(/\$C\$/g, ",").replace(/\$BP\$/g, "*").replace(/\$u7b\$/g, "{").replace(/\$u7d\$/g, "}").replace(/\$u5b\$/g, "[")
      .replace(/\$u5d\$/g, "]").replace(/\$u27\$/g, "'").replace(/\.\./g, "::");
  return parts.map(unescape).join("::");
}

/** Where a profile node's self time belongs. */
function category({ functionName, url }) {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)") return "runtime (native, outside JS)";
  if (functionName === "(root)") return "root";
  if (url.startsWith("wasm://")) return "wasm";
  if (url.endsWith("index.js")) return "wasm-bindgen JS glue (index.js)";
  if (url.endsWith("shim.mjs")) return "worker-build shim";
  if (url.endsWith("main.mjs")) return "bench wrapper and fakes";
  if (url === "") return "runtime API (native builtins)";
  return `runtime JS (${url.split("/").pop()})`;
}

/** The crate (or runtime area) of a wasm function's name. */
function crateOf(name) {
  // Crate disambiguators (`dlmalloc[e24a27700634d609]::`) dropped.
  const clean = name.replace(/^[<&]+/, "").replace(/\[[0-9a-f]+\]/g, "");
  const head = /^([A-Za-z_][A-Za-z0-9_]*)::/.exec(clean)?.[1];
  if (head) return head;
  if (/^(malloc|free|realloc|calloc|dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_)/.test(name)) return "allocator";
  if (/^(memcpy|memmove|memset|memcmp)$/.test(name)) return "mem*";
  return name.startsWith("$") || /^\d+$/.test(name) ? "(unnamed)" : name.split(/[:<( ]/)[0];
}

/** Self time by function, by category and, for wasm, by crate; `requests` sets the per-request figures. */
export function summarize(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const functions = new Map();
  const categories = new Map();
  const crates = new Map();
  let busy = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const cat = category(callFrame);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    if (cat === "idle" || cat === "root") continue;
    busy += us;
    const name = cat === "wasm" ? demangle(callFrame.functionName) : callFrame.functionName || "(anonymous)";
    const key = `${name}\u0000${cat}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    if (cat === "wasm") crates.set(crateOf(name), (crates.get(crateOf(name)) ?? 0) + us);
  }
  const perRequest = (us) => round(us / 1000 / requests, 4);
  const share = (us) => round((100 * us) / busy, 1);
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    requests,
    busy_ms_per_request: perRequest(busy),
    categories: sorted(categories).filter(([c]) => c !== "idle" && c !== "root").map(([c, us]) => ({ category: c, ms_per_request: perRequest(us), percent: share(us) })),
    wasm_crates: sorted(crates).map(([c, us]) => ({ crate: c, ms_per_request: perRequest(us), percent: share(us) })),
    top: sorted(functions).slice(0, TOP).map(([key, us]) => {
      const [fn, cat] = key.split("\u0000");
      return { function: fn, category: cat, ms_per_request: perRequest(us), percent: share(us) };
    }),
  };
}

function print(name, s) {
  console.log(`\n== ${name}: ${s.busy_ms_per_request.toFixed(4)} ms/request on the isolate thread (sampled, idle excluded), ${s.requests} requests`);
  console.log("  by category:");
  for (const c of s.categories) console.log(`    ${c.percent.toFixed(1).padStart(5)}%  ${c.ms_per_request.toFixed(4)} ms  ${c.category}`);
  console.log("  wasm by crate:");
  for (const c of s.wasm_crates.slice(0, 12)) console.log(`    ${c.percent.toFixed(1).padStart(5)}%  ${c.ms_per_request.toFixed(4)} ms  ${c.crate}`);
  console.log(`  top ${s.top.length} functions by self time:`);
  for (const t of s.top) console.log(`    ${t.percent.toFixed(1).padStart(5)}%  ${t.ms_per_request.toFixed(4)} ms  ${t.function.slice(0, 110)}  [${t.category}]`);
}

async function main() {
  if (process.env.PROFILE_SKIP_BUILD !== "1" || !existsSync(join(BUILD, "index_bg.wasm"))) buildWithNames();
  const recording = await recordEndpoints(console.log);
  mkdirSync(OUT, { recursive: true });
  const summaries = {};
  // The trivial JS worker answering the 401's bytes: the runtime's share, profiled alike.
  for (const [name, kind, recorded] of [["401", "replay", "401"], ["me/", "replay", "me/"], ["token/refresh/", "replay", "token/refresh/"], ["trivial_js", "trivial", "401"]]) {
    const scenario = { ...recording.scenarios[recorded], env: recording.env };
    const inspectorPort = await freePort();
    const server = await serveScenario(kind, scenario, { inspectorPort, build: BUILD });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 300; i++) await replayOnce(agent, server.port, scenario);
      const cdp = await inspector(inspectorPort);
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
      await cdp.send("Profiler.start");
      for (let i = 0; i < REQUESTS; i++) await replayOnce(agent, server.port, scenario);
      const { profile } = await cdp.send("Profiler.stop");
      cdp.close();
      const file = join(OUT, `${name.replace(/\/$/, "").replace(/\//g, "_")}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      summaries[name] = summarize(profile, REQUESTS);
      print(name, summaries[name]);
      console.log(`  wrote ${file}`);
    } finally {
      agent.destroy();
      await server.stop();
    }
  }
  writeFileSync(join(OUT, "summary.json"), JSON.stringify({ date: new Date().toISOString(), interval_us: INTERVAL_US, summaries }, null, 2) + "\n");
}

if (process.argv[1] && process.argv[1].endsWith("profile.mjs")) {
  await main();
}
