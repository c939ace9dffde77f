// Benchmark (not a test): what the scheduled prune keeps D1 at, and what a batch costs.
//
// 1. Rows per active user. An active user logs in once and refreshes every 30 minutes all day:
//    each refresh writes one refresh_tokens row (the rotated one is kept, marked used). The worker's
//    own clock cannot be sped up (Miniflare runs on real time), so the rows are seeded exactly as
//    the worker writes them (the columns rotation.rs sets, with the default lifetimes: access 30
//    min, refresh 7 days, sessions 30 days), their times in the past so that "now" is the end of
//    the simulated span; then one run of the real scheduled handler. One run at the end leaves
//    what runs every 15 minutes would have left: each row's fate depends on its own times and the
//    run's clock only, and every earlier run's cut-off is older. Printed for one week (the issue's
//    question) and for four (the steady state: without the prune the count keeps growing).
// 2. CPU per batch. The release build under Miniflare (tests/support.mjs) with local D1, a backlog
//    of expired token rows and dead sessions seeded, PRUNE_BATCH_SIZE 1000: the CPU time of the
//    workerd process (all threads, /proc schedstat, as bench/own_cpu.mjs reads it) over one
//    scheduled run, divided by the batches it ran; median over RUNS runs (reseeded each time). Local
//    D1 is SQLite inside that same workerd, so the figure includes the SQL's own work, which on
//    Cloudflare runs in D1 rather than in the worker; an empty run (seven batches that find
//    nothing) is printed beside it as the per-batch floor.
//
// Knobs (environment): USERS (active users simulated, 20), RUNS (timed runs, 7), BACKLOG (rows
// per timed run, 20000). Writes bench/results/prune.json. Needs build/ (worker-build --release).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { startWorker } from "../tests/support.mjs";
import { descendants, median, round, threadsCpuMs } from "./lib.mjs";

const USERS = Number(process.env.USERS ?? 20);
const RUNS = Number(process.env.RUNS ?? 7);
const BACKLOG = Number(process.env.BACKLOG ?? 20_000);
const BATCH = 1000;
const DAY = 86_400;
const REFRESH_EVERY = 30 * 60;
const REFRESH_TTL = 7 * DAY;
const SESSION_MAX = 30 * DAY;
const nowSecs = () => Math.floor(Date.now() / 1000);

async function scheduled(worker) {
  const seen = worker.output.length;
  const handler = await worker.mf.getWorker();
  const result = await handler.scheduled({ cron: "*/15 * * * *", scheduledTime: new Date() });
  assert.equal(result.outcome, "ok");
  for (let i = 0; i < 100; i++) {
    const line = worker.output.slice(seen).find((text) => text.includes('"event":"prune"'));
    if (line) return JSON.parse(line.slice(line.indexOf("{")));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the prune wrote no log line");
}

/** The rows `days` of an active user leave: a login at the start (again when a session reaches
 * its 30-day lifetime), then a refresh every 30 minutes, each rotating the last token. */
function activeUser(userId, days, now) {
  const sessions = [];
  const tokens = [];
  const start = now - days * DAY;
  let session = null;
  let previous = null;
  for (let t = start; t <= now - REFRESH_EVERY; t += REFRESH_EVERY) {
    if (!session || t - session.created_at >= SESSION_MAX) {
      session = { id: `u${userId}-s${sessions.length}`, user_id: userId, created_at: t, last_used_at: t };
      sessions.push(session);
      previous = null;
    }
    const token = { jti: `${session.id}-t${tokens.length}`, session_id: session.id, parent_jti: previous?.jti ?? null, issued_at: t, expires_at: t + REFRESH_TTL, used_at: null };
    if (previous) {
      previous.used_at = t;
      previous.successor_jti = token.jti;
      previous.successor_issued_at = t;
      previous.successor_expires_at = token.expires_at;
    }
    tokens.push(token);
    session.last_used_at = t;
    previous = token;
  }
  return { sessions, tokens };
}

/** Inserts `rows` (objects) into `table` in one statement: the rows go as one JSON parameter. */
async function insert(db, table, rows) {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]).concat(table === "refresh_tokens" ? ["successor_jti", "successor_issued_at", "successor_expires_at"] : []);
  const unique = [...new Set(columns)];
  const values = unique.map((c) => `json_extract(value, '$.${c}')`).join(", ");
  await db.prepare(`INSERT INTO ${table} (${unique.join(", ")}) SELECT ${values} FROM json_each(?1)`).bind(JSON.stringify(rows)).run();
}

async function seedUsers(db, count) {
  await db
    .prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO users (uuid, email, password, date_joined)
       SELECT lower(hex(randomblob(16))), 'bench' || i || '@prune.example', '!', '2026-01-01T00:00:00Z' FROM n`,
    )
    .bind(count)
    .run();
  const { results } = await db.prepare("SELECT id FROM users WHERE email LIKE 'bench%' ORDER BY id").all();
  return results.map((row) => row.id);
}

const rowsOf = async (db, ids) => {
  const list = ids.join(", ");
  const sessions = (await db.prepare(`SELECT count(*) AS n FROM sessions WHERE user_id IN (${list})`).first()).n;
  const tokens = (await db.prepare(`SELECT count(*) AS n FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id IN (${list}))`).first()).n;
  return { sessions, refresh_tokens: tokens, total: sessions + tokens };
};

async function rowsPerActiveUser() {
  const worker = await startWorker({ PRUNE_BATCH_SIZE: String(BATCH), PRUNE_MAX_BATCHES: "1000" });
  try {
    const db = worker.db;
    const ids = await seedUsers(db, USERS * 2);
    const spans = { one_week: ids.slice(0, USERS), four_weeks: ids.slice(USERS) };
    const now = nowSecs();
    for (const [span, users] of Object.entries(spans)) {
      const days = span === "one_week" ? 7 : 28;
      for (const id of users) {
        const { sessions, tokens } = activeUser(id, days, now);
        await insert(db, "sessions", sessions);
        await insert(db, "refresh_tokens", tokens);
      }
    }
    const before = {};
    for (const [span, users] of Object.entries(spans)) before[span] = await rowsOf(db, users);
    const run = await scheduled(worker);
    const out = {};
    for (const [span, users] of Object.entries(spans)) {
      const after = await rowsOf(db, users);
      out[span] = {
        without_prune: round(before[span].total / users.length, 1),
        with_prune: round(after.total / users.length, 1),
        detail_with_prune: { sessions: round(after.sessions / users.length, 1), refresh_tokens: round(after.refresh_tokens / users.length, 1) },
      };
    }
    out.run = run;
    return out;
  } finally {
    await worker.dispose();
  }
}

function workerdPid() {
  const found = descendants(process.pid).filter((p) => p.comm === "workerd");
  assert.ok(found.length >= 1, "no workerd below this process");
  return found.at(-1).pid;
}

/** Expired token rows of dead sessions: `rows` tokens, one session per 10 (all prunable). */
async function seedBacklog(db, userId, rows, tag) {
  const now = nowSecs();
  const sessions = rows / 10;
  await db
    .prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at)
       SELECT ?2 || i, ?3, ?4, ?5, ?5 FROM n`,
    )
    .bind(sessions, tag, userId, now - 20 * DAY, now - 10 * DAY)
    .run();
  await db
    .prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at, used_at)
       SELECT ?2 || i || '-t', ?2 || ((i - 1) / 10 + 1), ?3, ?4, ?3 FROM n`,
    )
    .bind(rows, tag, now - 10 * DAY, now - 3 * DAY)
    .run();
}

async function cpuPerBatch() {
  const worker = await startWorker({ PRUNE_BATCH_SIZE: String(BATCH), PRUNE_MAX_BATCHES: "1000" });
  try {
    const db = worker.db;
    const [userId] = await seedUsers(db, 1);
    const pid = workerdPid();
    const timed = async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = threadsCpuMs(pid);
      const run = await scheduled(worker);
      return { run, cpu: threadsCpuMs(pid) - before };
    };
    await timed(); // warm-up: the isolate and its wasm
    const empty = [];
    const full = [];
    const perRow = [];
    let batches = 0;
    for (let i = 0; i < RUNS; i++) {
      const idle = await timed();
      assert.equal(idle.run.batches, 7);
      empty.push(idle.cpu / idle.run.batches);
      await seedBacklog(db, userId, BACKLOG, `r${i}-`);
      const { run, cpu } = await timed();
      assert.equal(run.deleted.refresh_tokens, BACKLOG);
      assert.equal(run.deleted.sessions, BACKLOG / 10);
      assert.equal(run.complete, true);
      batches = run.batches;
      full.push(cpu / run.batches);
      perRow.push((cpu / (run.deleted.refresh_tokens + run.deleted.sessions)) * 1000);
    }
    return {
      batch_size: BATCH,
      backlog_rows: BACKLOG + BACKLOG / 10,
      batches_per_run: batches,
      runs: RUNS,
      cpu_ms_per_batch_median: round(median(full), 2),
      cpu_ms_per_1000_rows_median: round(median(perRow), 2),
      empty_run_cpu_ms_per_batch_median: round(median(empty), 2),
      what: "workerd process CPU (worker + local D1's SQLite) over one scheduled run / its batches",
    };
  } finally {
    await worker.dispose();
  }
}

const rows = await rowsPerActiveUser();
const cpu = await cpuPerBatch();
const result = { date: new Date().toISOString(), node: process.version, users: USERS, refresh_every_secs: REFRESH_EVERY, rows_per_active_user: { one_week: rows.one_week, four_weeks: rows.four_weeks }, cpu };
writeFileSync(new URL("results/prune.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
const line = (span, r) =>
  `  ${span}: ${r.without_prune} rows without the prune, ${r.with_prune} with it ` +
  `(${r.detail_with_prune.sessions} sessions + ${r.detail_with_prune.refresh_tokens} refresh tokens)`;
console.log(`prune — rows per active user refreshing every 30 min (${USERS} users each, default lifetimes):`);
console.log(line("after 1 week ", rows.one_week));
console.log(line("after 4 weeks", rows.four_weeks));
console.log(
  `prune — CPU per batch of ${BATCH} rows: ${cpu.cpu_ms_per_batch_median} ms median over ${RUNS} runs of ` +
    `${cpu.backlog_rows} rows (${cpu.batches_per_run} batches each; ${cpu.cpu_ms_per_1000_rows_median} ms per 1000 rows); ` +
    `an empty run ${cpu.empty_run_cpu_ms_per_batch_median} ms per batch. ${cpu.what}.`,
);
