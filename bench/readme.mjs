// Writes the benchmark figures into README.md from bench/results/*.json, so that the README says
// what was measured and nothing else: `make bench` runs it after bench/login_timing.mjs,
// bench/recovery_timing.mjs, bench/prune.mjs and bench/run.mjs. It replaces the text between each pair of markers
//   <!-- bench:begin NAME --> … <!-- bench:end NAME -->
// (NAME: `figures` from latest.json, `login-timing` from login-timing.json, `recovery-timing` from
// recovery_timing.json, `prune` from prune.json) and leaves the rest of the README alone. Every budget is shown as
// measured, PASS or FAIL. Deterministic: the same JSON gives the same text.
//
//   node bench/readme.mjs           rewrite README.md (prints whether it changed)
//   node bench/readme.mjs --check   exit 1 if README.md is not what the JSON gives
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const README = `${root}README.md`;
const WIDTH = 100; // the README's line length
const readJson = (name) => JSON.parse(readFileSync(`${root}bench/results/${name}`, "utf8"));

const fixed = (x, digits) => x.toFixed(digits);
const grouped = (x) => x.toLocaleString("en");
/** Milliseconds: one decimal below 1000 ms, whole above; two decimals below 10 ms. */
const ms = (x) => (x >= 1000 ? fixed(x, 0) : x < 10 ? fixed(x, 2) : fixed(x, 1));
const ratio = (x) => `${fixed(x, 2)}×`;
const day = (iso) => iso.slice(0, 10);
const verdict = (pass) => (pass ? "**PASS**" : "**FAIL**");

/** The date a results file was last committed, for files written before they recorded their date. */
function committed(name) {
  try {
    const date = execFileSync("git", ["log", "-1", "--format=%cs", "--", `bench/results/${name}`], { cwd: root, encoding: "utf8" }).trim();
    return date || null;
  } catch {
    return null;
  }
}

function figures(r) {
  const m = r.machine;
  const h = r.hash;
  const w = r.hash_workerd;
  const dev = r.worker;
  const lines = [];
  lines.push(
    `\`make bench\` on ${day(r.date)} (\`bench/results/latest.json\`): ${m.nproc} cores (\`nproc\`), ` +
      `"${m.cpu}" (\`/proc/cpuinfo\` model name), node ${m.node}, ${m.workerd}` +
      `${m.wrangler ? `, wrangler ${m.wrangler}` : ""}, load average ${m.loadavg_start[0]} at the start. ${r.note}`,
    "",
    `PBKDF2-HMAC-SHA256, ${grouped(h.iterations)} iterations (median CPU ms of ${h.rounds} in node, ${w.rounds} in workerd):`,
    "",
    `| | ${h.engine} | ${w.engine} |`,
    "|---|---|---|",
    `| \`pbkdf2-fast\` (the worker's) | ${fixed(h.pbkdf2_fast.cpu_ms_median, 1)} (${ratio(h.fast_over_floor)} floor) | ` +
      `${fixed(w.pbkdf2_fast.cpu_ms_median, 1)} (${ratio(w.fast_over_floor)} floor) |`,
    `| floor: ${grouped(2 * h.iterations)} × \`sha2::compress256\` | ${fixed(h.floor_2x_compress256.cpu_ms_median, 1)} | ` +
      `${fixed(w.floor_2x_compress256.cpu_ms_median, 1)} |`,
    `| RustCrypto \`pbkdf2\` 0.12 at opt-level 3 (before) | ${fixed(h.pbkdf2_rustcrypto.cpu_ms_median, 1)} (${ratio(h.rustcrypto_over_floor)} floor) | ` +
      `${fixed(w.pbkdf2_rustcrypto.cpu_ms_median, 1)} (${ratio(w.rustcrypto_over_floor)} floor) |`,
    `| OpenSSL (\`crypto.pbkdf2Sync\`) | ${fixed(h.openssl_pbkdf2Sync.cpu_ms_median, 1)} (\`pbkdf2-fast\` takes ${ratio(h.fast_over_openssl)}) | – |`,
    `| inside the worker, under \`wrangler dev\` (median of ${dev.pbkdf2_in_worker.rounds}) | – | ` +
      `${fixed(dev.pbkdf2_in_worker.cpu_ms, 1)} CPU, ${fixed(dev.pbkdf2_in_worker.wall_ms, 1)} wall |`,
    "",
    `Under \`wrangler dev\` (${dev.workerd_processes} workerd processes, first response ` +
      `${grouped(dev.wrangler_dev_start_to_first_response_ms)} ms after start; workerd CPU per request includes local ` +
      `D1/KV/rate limiter and HTTP; ${dev.load_note}):`,
    "",
    "| endpoint | requests, in flight | req/s | p50 ms | p99 ms | workerd CPU ms/req | storage probe | worker's own (estimate) |",
    "|---|---|---|---|---|---|---|---|",
  );
  const probeOf = { "me/ without a token": "probe: no storage", "me/": "probe: as me/", "token/refresh/": "probe: as token/refresh/" };
  const label = { "me/ without a token": "`me/` without a token (401)", "login/": `\`login/\` (${grouped(h.iterations)} iterations)` };
  for (const [name, e] of Object.entries(dev.endpoints)) {
    const probe = dev.probe?.[probeOf[name]];
    const own = dev.worker_own_cpu_ms_estimate?.[name];
    const unexpected = e.all_expected ? "" : ` (statuses ${Object.entries(e.statuses).map(([s, n]) => `${s}: ${n}`).join(", ")})`;
    lines.push(
      `| ${label[name] ?? `\`${name}\``} | ${e.requests}, ${e.concurrency}${unexpected} | ` +
        `${e.req_per_s >= 10 ? fixed(e.req_per_s, 0) : fixed(e.req_per_s, 1)} | ${ms(e.p50_ms)} | ${ms(e.p99_ms)} | ` +
        `${ms(e.cpu_ms_per_request)} | ${probe ? ms(probe.cpu_ms_per_request) : "–"} | ${own === undefined ? "–" : ms(own)} |`,
    );
  }
  if (r.own_cpu) lines.push("", ...ownCpu(r.own_cpu));
  if (r.hashers) lines.push("", ...hashers(r.hashers));
  if (r.peer) lines.push("", ...peer(r.peer, r.login_cpu_ms));
  lines.push(
    "",
    `Wasm: ${grouped(r.wasm.raw_bytes)} bytes raw, ${grouped(r.wasm.gzip_bytes)} gzip. Cold start (fresh workerd, spawn to ` +
      `first response, median of ${r.cold_start.samples_ms.length}): ${fixed(r.cold_start.ms_median, 1)} ms` +
      (r.cold_start.trivial_js_ms_median === undefined ? "." : `; a trivial JS worker in the same way ${fixed(r.cold_start.trivial_js_ms_median, 1)} ms, so the worker adds ${fixed(r.cold_start.worker_own_ms, 1)} ms.`),
    "",
    "Budgets, as measured (printed by `bench/run.mjs`, not enforced):",
    "",
  );
  for (const b of r.budgets) lines.push(`- ${verdict(b.pass)} ${b.name}: ${b.value} ${b.unit} (budget ≤ ${b.limit} ${b.unit})`);
  return lines.join("\n");
}

/** The worker's own CPU per request, measured directly (bench/own_cpu.mjs). */
function ownCpu(o) {
  const batches = o.batches ? Object.values(o.batches)[0].length : "the";
  const out = [
    `The worker's own CPU, measured directly (\`own_cpu_ms\`; \`build/\` in a bare workerd with its storage answered ` +
      `from a recording, against a trivial JS worker answering the same bytes in the same workerd; workerd CPU ms per ` +
      `request, median of ${batches} interleaved batches of ${o.requests_per_batch ?? "many"} requests):`,
    "",
    "| request | edge-auth | trivial JS worker, same bytes | edge-auth's own, above it |",
    "|---|---|---|---|",
  ];
  for (const name of ["401", "me/", "token/refresh/"]) {
    const label = name === "401" ? "`me/` without a token (401)" : `\`${name}\``;
    out.push(`| ${label} | ${fixed(o.own_cpu_ms[name], 3)} | ${fixed(o.trivial_js_ms[name], 3)} | ` +
      `${fixed(o.own_cpu_ms[name] - o.trivial_js_ms[name], 3)} |`);
  }
  return out;
}

/** A login with each Django hasher, replayed inside workerd (bench/hashers.mjs). */
function hashers(h) {
  const out = [
    "A login with each Django hasher, inside workerd (the same replay; Django-made hashes at Django's default cost, " +
      "argon2id also at OWASP's; median CPU of 7 logins, and the wasm memory after them — it only grows, so that is the " +
      "peak):",
    "",
    "| stored hash | CPU ms per login | wasm memory MiB | |",
    "|---|---|---|---|",
  ];
  for (const [name, x] of Object.entries(h)) {
    out.push(`| \`${name}\` | ${fixed(x.cpu_ms_median, 1)} | ${fixed(x.wasm_memory_mib, 1)} | ${x.what} |`);
  }
  return out;
}

/** better-auth beside edge-auth, same wrangler dev, local D1 and client (bench/peer.mjs). */
function peer(p, loginCpu) {
  const ba = p.better_auth;
  const out = [
    `better-auth ${ba.version} (its Cloudflare Workers + D1 setup, email and password; ${ba.password_hash}) beside ` +
      "edge-auth, both under the same `wrangler dev` with local D1, one keep-alive client, requests one at a time; " +
      "workerd CPU ms per request (median of batches) and p50 wall ms:",
    "",
    "| | better-auth | edge-auth, `pbkdf2_sha256` 1,000,000 | edge-auth, `argon2id` OWASP |",
    "|---|---|---|---|",
  ];
  const cell = (x) => (x ? `${fixed(x.cpu_ms, 1)} CPU, ${fixed(x.p50_ms, 1)} wall` : "–");
  const ea = (hasher, what) => cell(p.edge_auth.hashers[hasher]?.[what]);
  out.push(
    `| sign-up / \`register/\` | ${cell(ba.sign_up)} | ${ea("pbkdf2_sha256", "register")} | ${ea("argon2id", "register")} |`,
    `| sign-in / \`login/\` | ${cell(ba.sign_in)} | ${ea("pbkdf2_sha256", "login")} | ${ea("argon2id", "login")} |`,
    `| \`getSession\` / \`me/\` | ${fixed(ba.get_session.cpu_ms, 2)} CPU, ${fixed(ba.get_session.p50_ms, 1)} wall | ` +
      `${fixed(p.edge_auth.hashers.pbkdf2_sha256.me.cpu_ms, 2)} CPU, ${fixed(p.edge_auth.hashers.pbkdf2_sha256.me.p50_ms, 1)} wall | ` +
      `${p.edge_auth.hashers.argon2id ? `${fixed(p.edge_auth.hashers.argon2id.me.cpu_ms, 2)} CPU, ${fixed(p.edge_auth.hashers.argon2id.me.p50_ms, 1)} wall` : "–"} |`,
  );
  if (loginCpu) {
    out.push(
      "",
      `\`login_cpu_ms\`: \`pbkdf2_sha256\` ${fixed(loginCpu.pbkdf2_sha256, 1)}, \`argon2id\` ${fixed(loginCpu.argon2id, 1)}, ` +
        `better-auth's sign-in ${fixed(loginCpu.better_auth_sign_in, 1)} (ms of workerd CPU, local D1 included).`,
    );
  }
  return out;
}

function loginTiming(t) {
  const m = t.median_ms;
  const when = t.date ? `${day(t.date)}` : `committed ${committed("login-timing.json") ?? "on an unrecorded date"}`;
  const where = t.node ? `node ${t.node}, ` : "";
  // bench/login_timing.mjs's budget: every gap under 10%.
  const gaps = t.budgets ?? [
    { name: "unknown vs known email", value: t.gap_percent, limit: 10, pass: t.gap_percent < 10 },
    { name: "weak hash vs known email", value: t.weak_hash_gap_percent, limit: 10, pass: t.weak_hash_gap_percent < 10 },
  ];
  return (
    `Latest (\`bench/results/login-timing.json\`, ${when}; ${where}Miniflare, median wall of ${t.rounds} rounds at ` +
    `PBKDF2 ${grouped(t.pbkdf2_iterations)}): unknown email ${fixed(m.unknown_email, 0)} ms, known email with a wrong ` +
    `password ${fixed(m.known_email_wrong_password, 0)} ms, weak hash ${fixed(m.weak_hash_wrong_password, 0)} ms, right ` +
    `password ${fixed(m.known_email_right_password, 0)} ms; ` +
    gaps.map((g) => `${verdict(g.pass)} ${g.name}: a ${fixed(g.value, 1)}% gap (budget < ${g.limit}%)`).join(", ") +
    "."
  );
}

function recoveryTiming(t) {
  const series = Object.entries(t.endpoints).map(
    ([path, e]) =>
      `\`${path}\` registered address ${ms(e.known.median_ms)} ms (p90 ${ms(e.known.p90_ms)} ms), unknown address ` +
      `${ms(e.unknown.median_ms)} ms (p90 ${ms(e.unknown.p90_ms)} ms)${e.same_body ? "" : ", **different bodies**"}`,
  );
  const n = t.next_request;
  return (
    `Latest (\`bench/results/recovery_timing.json\`, ${day(t.date)}; node ${t.node}, \`wrangler dev\`, median wall of ` +
    `${t.rounds} interleaved requests per series, ${t.idle_ms} ms apart, after ${t.warmup} warm-up rounds): ` +
    `${series.join("; ")}; ` +
    t.budgets.map((g) => `${verdict(g.pass)} ${g.name}: a ${fixed(g.value, 1)}% gap (budget < ${g.limit}%)`).join(", ") +
    `. Back to back, \`${n.path}\` for an unknown address takes ${ms(n.after_known.median_ms)} ms right after one for ` +
    `the registered address and ${ms(n.after_unknown.median_ms)} ms right after another unknown one ` +
    `(a ${fixed(n.gap_percent, 1)}% gap; no budget).`
  );
}

function pruneFigures(p) {
  const span = (name, r) =>
    `after ${name} ${grouped(r.without_prune)} rows without the prune and ${grouped(r.with_prune)} with it ` +
    `(${r.detail_with_prune.sessions} session + ${r.detail_with_prune.refresh_tokens} refresh tokens)`;
  const c = p.cpu;
  return (
    `Latest (\`bench/results/prune.json\`, ${day(p.date)}; node ${p.node}, Miniflare, ${p.users} users per span): ` +
    `per user refreshing every ${p.refresh_every_secs / 60} min, ${span("1 week", p.rows_per_active_user.one_week)}, ` +
    `${span("4 weeks", p.rows_per_active_user.four_weeks)}. CPU: ${ms(c.cpu_ms_per_1000_rows_median)} ms per ` +
    `1,000 rows deleted, ${ms(c.cpu_ms_per_batch_median)} ms per batch (median of ${c.runs} runs of ` +
    `${grouped(c.backlog_rows)} rows, ${c.batches_per_run} batches each, batches of ${grouped(c.batch_size)}); ` +
    `a run with nothing to delete ${ms(c.empty_run_cpu_ms_per_batch_median)} ms per batch.`
  );
}

/** Wraps prose and list lines at WIDTH (tables stay one row a line), each line prefixed by `indent`. */
function wrap(body, indent) {
  const out = [];
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("|")) {
      out.push(line && indent + line);
      continue;
    }
    const hanging = indent + (line.startsWith("- ") ? "  " : "");
    let current = indent;
    // Keep "≤ 1 ms" on one line: a comparison with its number, a number with its unit.
    const words = [];
    for (const word of line.split(" ")) {
      const last = words.length - 1;
      if (last >= 0 && (/^[≤<]$/.test(words[last]) || /^(ms|KB)\b/.test(word))) words[last] += ` ${word}`;
      else words.push(word);
    }
    for (const word of words) {
      if (current.trim() && current.length + 1 + word.length > WIDTH) {
        out.push(current);
        current = hanging + word;
      } else {
        current += (current.trim() ? " " : "") + word;
      }
    }
    out.push(current);
  }
  return out.join("\n");
}

/** `text` with the lines between `<!-- bench:begin NAME -->` and its end marker replaced by `body`. */
function replaceBetween(text, name, body) {
  const begin = new RegExp(`^([ \\t]*)<!-- bench:begin ${name} -->\n`, "m");
  const end = new RegExp(`^[ \\t]*<!-- bench:end ${name} -->$`, "m");
  const open = begin.exec(text);
  const close = end.exec(text);
  if (!open || !close || close.index < open.index || text.split(`<!-- bench:begin ${name} -->`).length !== 2) {
    throw new Error(`README.md needs exactly one <!-- bench:begin ${name} --> … <!-- bench:end ${name} --> pair`);
  }
  const indent = open[1];
  const note = `${indent}<!-- generated by bench/readme.mjs from bench/results/: edit the script, not this text -->`;
  const start = open.index + open[0].length;
  return `${text.slice(0, start)}${note}\n${wrap(body, indent)}\n${text.slice(close.index)}`;
}

const before = readFileSync(README, "utf8");
let after = replaceBetween(before, "figures", figures(readJson("latest.json")));
after = replaceBetween(after, "login-timing", loginTiming(readJson("login-timing.json")));
after = replaceBetween(after, "recovery-timing", recoveryTiming(readJson("recovery_timing.json")));
after = replaceBetween(after, "prune", pruneFigures(readJson("prune.json")));
if (process.argv.includes("--check")) {
  if (after !== before) {
    console.error("README.md's benchmark figures differ from bench/results/*.json: run `node bench/readme.mjs`");
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(README, after);
  console.log("README.md: benchmark figures rewritten from bench/results/");
} else {
  console.log("README.md: benchmark figures already match bench/results/");
}
