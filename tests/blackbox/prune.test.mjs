// The scheduled prune (issue 15): on a database seeded with thousands of rows of every kind, one
// run of the Cron Trigger's handler deletes exactly what nothing needs any more and keeps what
// revocation needs: a revoked or rotated refresh token's row stays until the token has expired,
// so that token stays refused after the prune, even with its KV copy gone; live sessions still
// refresh. Runs are bounded: a run larger than its budget leaves the rest for the next one.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DRF, decodeSegment, startWorker } from "../support.mjs";
import { accessTokenError, blacklist, claimsFor, mintToken, nowSecs, refreshTokenError } from "./helpers.mjs";

const DAY = 86_400;
const HOUR = 3_600;
const BLACKLISTED = refreshTokenError("Token is blacklisted");
/** ACCESS_TOKEN_LIFETIME_SECS + REFRESH_REUSE_INTERVAL_SECS + the clock-skew grace (300 s). */
const LAST_ACCESS_WINDOW = 1_800 + 10 + 300;

/** Runs the Cron Trigger's handler once; returns the log line it wrote. */
async function prune(worker) {
  const seen = worker.output.length;
  const handler = await worker.mf.getWorker();
  const result = await handler.scheduled({ cron: "*/15 * * * *", scheduledTime: new Date() });
  assert.equal(result.outcome, "ok");
  for (let i = 0; i < 50; i++) {
    const line = worker.output.slice(seen).find((text) => text.includes('"event":"prune"'));
    if (line) return JSON.parse(line.slice(line.indexOf("{")));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the prune wrote no log line");
}

/** `count` rows made by one SQL `INSERT ... SELECT` over i = 1..count (bound as ?1). */
function bulk(db, count, sql, ...values) {
  return db
    .prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) ${sql}`)
    .bind(count, ...values)
    .run();
}

const count = async (db, sql, ...values) => (await db.prepare(sql).bind(...values).first()).n;

/**
 * `count` sessions whose ids start with `tag`, of the seeded users, each with the given refresh
 * tokens (`expires` relative to now; `used` marks a rotated one). Times relative to now.
 */
async function seedSessions(db, base, tag, n, { created, lastUsed, revoked = null, tokens }) {
  const now = nowSecs();
  await bulk(
    db,
    n,
    `INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at)
     SELECT ?2 || printf('%06d', i), ?3 + (i % 200), ?4, ?5, ?6 FROM n`,
    tag,
    base,
    now + created,
    now + lastUsed,
    revoked === null ? null : now + revoked,
  );
  for (const [k, token] of tokens.entries()) {
    await bulk(
      db,
      n,
      `INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at, used_at)
       SELECT ?2 || printf('%06d', i) || '-' || ?3, ?2 || printf('%06d', i), ?4, ?5, ?6 FROM n`,
      tag,
      k,
      now + token.expires - 7 * DAY,
      now + token.expires,
      token.used ? now + lastUsed : null,
    );
  }
}

const sessionsTagged = (db, tag) => count(db, "SELECT count(*) AS n FROM sessions WHERE id LIKE ?1", `${tag}%`);
const tokensTagged = (db, tag) => count(db, "SELECT count(*) AS n FROM refresh_tokens WHERE jti LIKE ?1", `${tag}%`);

describe("one run on a database of thousands of rows", () => {
  let worker;
  let db;
  let log;
  // Sessions made through the API, then aged in D1 (see `before`).
  let live;
  let loggedOut;
  let rotated;
  let revokedExpired;
  let djangoToken;

  const refresh = (token) => worker.post(`${DRF}/token/refresh/`, { refresh_token: token });
  const me = (token) => worker.fetch(`${DRF}/me/`, { token });
  const sid = (token) => decodeSegment(token, 1).sid;

  before(async () => {
    worker = await startWorker({ PRUNE_BATCH_SIZE: "500", PRUNE_MAX_BATCHES: "1000" });
    db = worker.db;
    const now = nowSecs();

    // Real sessions, whose tokens the tests present after the prune.
    live = await worker.register();
    const first = await refresh(live.refresh_token);
    assert.equal(first.status, 200);
    live = { ...live, ...first.body };

    loggedOut = await worker.register();
    const other = await worker.post(`${DRF}/login/`, { email: loggedOut.email, password: loggedOut.password });
    assert.equal(other.status, 200);
    loggedOut.other = other.body;
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: loggedOut.refresh_token }, { token: loggedOut.access_token });
    assert.equal(out.status, 200);
    // Revoked two days ago and idle since: only its unexpired refresh token still needs it.
    await db
      .prepare("UPDATE sessions SET created_at = ?2, last_used_at = ?2, revoked_at = ?2 WHERE id = ?1")
      .bind(sid(loggedOut.refresh_token), now - 2 * DAY)
      .run();

    rotated = await worker.register();
    const next = await refresh(rotated.refresh_token);
    assert.equal(next.status, 200);
    rotated.next = next.body;
    // Rotated a minute ago (past the reuse interval) and the session idle for two days.
    await db.prepare("UPDATE refresh_tokens SET used_at = used_at - 60 WHERE session_id = ?1").bind(sid(rotated.refresh_token)).run();
    await db.prepare("UPDATE sessions SET created_at = ?2, last_used_at = ?2 WHERE id = ?1").bind(sid(rotated.refresh_token), now - 2 * DAY).run();

    revokedExpired = await worker.register();
    const gone = await worker.post(`${DRF}/logout/`, { refresh_token: revokedExpired.refresh_token }, { token: revokedExpired.access_token });
    assert.equal(gone.status, 200);
    // As if long ago: every token of the session expired (its access token here is still signed
    // as valid: a missing session must refuse it as a revoked one does).
    await db.prepare("UPDATE refresh_tokens SET expires_at = ?2 WHERE session_id = ?1").bind(sid(revokedExpired.refresh_token), now - DAY).run();
    await db.prepare("UPDATE sessions SET last_used_at = ?2, revoked_at = ?2 WHERE id = ?1").bind(sid(revokedExpired.refresh_token), now - 2 * DAY).run();

    // A refresh token minted by Django (no `sid`), logged out here: recorded revoked in D1, where
    // refresh/ would otherwise adopt it as a new session.
    djangoToken = mintToken(claimsFor(live.user.id, { type: "refresh", lifetime: 7 * DAY }));
    const foreign = await worker.post(`${DRF}/logout/`, { refresh_token: djangoToken }, { token: live.access_token });
    assert.equal(foreign.status, 200);

    // 200 users for the bulk rows.
    await bulk(
      db,
      200,
      `INSERT INTO users (uuid, email, password, date_joined)
       SELECT lower(hex(randomblob(16))), 'seed' || i || '@prune.test', '!', '2026-01-01T00:00:00Z' FROM n`,
    );
    const base = await count(db, "SELECT min(id) AS n FROM users WHERE email LIKE 'seed%@prune.test'");

    // Revoked long ago, every token expired: all goes.
    await seedSessions(db, base, "revoked-expired-", 3000, {
      created: -20 * DAY, lastUsed: -10 * DAY, revoked: -10 * DAY,
      tokens: [{ expires: -3 * DAY, used: true }, { expires: -3 * DAY }],
    });
    // Revoked, a token unexpired: all stays.
    await seedSessions(db, base, "revoked-unexpired-", 1000, {
      created: -3 * DAY, lastUsed: -2 * DAY, revoked: -2 * DAY, tokens: [{ expires: DAY }],
    });
    // Revoked, the token expired a minute ago (inside the clock-skew grace): all stays.
    await seedSessions(db, base, "revoked-grace-", 300, {
      created: -9 * DAY, lastUsed: -8 * DAY, revoked: -8 * DAY, tokens: [{ expires: -60 }],
    });
    // Live and in use: the rotated-out, expired token goes; the session and its live token stay.
    await seedSessions(db, base, "live-", 1000, {
      created: -DAY, lastUsed: -HOUR, tokens: [{ expires: -HOUR, used: true }, { expires: 6 * DAY }],
    });
    // Live but idle for 9 days, within its 30-day lifetime: its expired token goes, it stays.
    await seedSessions(db, base, "idle-", 500, {
      created: -10 * DAY, lastUsed: -9 * DAY, tokens: [{ expires: -2 * DAY }],
    });
    // Past its absolute lifetime, tokens expired: all goes.
    await seedSessions(db, base, "aged-", 500, {
      created: -40 * DAY, lastUsed: -9 * DAY, tokens: [{ expires: -2 * DAY }],
    });
    // Revoked without a token row, used just inside / just outside its last access token's life.
    await seedSessions(db, base, "recent-access-", 200, {
      created: -DAY, lastUsed: -(LAST_ACCESS_WINDOW - 60), revoked: -60, tokens: [],
    });
    await seedSessions(db, base, "old-access-", 200, {
      created: -DAY, lastUsed: -(LAST_ACCESS_WINDOW + 60), revoked: -60, tokens: [],
    });

    // Login back-off (window 900 s): decayed, recent, blocked, and not yet decayed.
    const failures = (tag, n, failures, lastAgo, blockedFor) =>
      bulk(
        db,
        n,
        `INSERT INTO login_failures (email, failures, last_failure_at, blocked_until)
         SELECT ?2 || i || '@prune.test', ?3, ?4, ?5 FROM n`,
        tag,
        failures,
        now - lastAgo,
        blockedFor === 0 ? 0 : now + blockedFor,
      );
    await failures("decayed-", 2000, 3, 2 * DAY, 0);
    await failures("recent-", 500, 3, 600, 0);
    await failures("blocked-", 300, 12, 2 * HOUR, 600);
    await failures("counting-", 200, 40, 5 * HOUR, 0);

    // One-time email keys: expired, used, still working.
    const keys = (tag, n, expires, used) =>
      bulk(
        db,
        n,
        `INSERT INTO email_keys (key_hash, user_id, purpose, email, expires_at, used_by)
         SELECT ?2 || i, ?3 + (i % 200), 'verify', 'seed@prune.test', ?4, CASE WHEN ?5 THEN ?2 || i END FROM n`,
        tag,
        base,
        now + expires,
        used ? 1 : 0,
      );
    await keys("expired-", 1000, -HOUR, false);
    await keys("used-", 500, DAY, true);
    await keys("working-", 500, DAY, false);

    // Mail budgets: windows over, and the current hour's.
    const quota = (tag, n, startedAgo) =>
      bulk(db, n, "INSERT INTO mail_quota (address_hash, window_start, sent) SELECT ?2 || i, ?3, 2 FROM n", tag, now - startedAgo);
    await quota("over-", 1000, 2 * HOUR);
    await quota("current-", 300, 600);

    // Received sync ids (30 days) and audit events (EVENT_RETENTION_DAYS, 90).
    const received = (tag, n, ago) =>
      bulk(db, n, "INSERT INTO sync_received_events (id, received_at) SELECT ?2 || i, ?3 FROM n", tag, now - ago);
    await received("old-", 1000, 31 * DAY);
    await received("kept-", 300, 29 * DAY);
    const events = (n, ago, tag) =>
      bulk(
        db,
        n,
        `INSERT INTO auth_events (occurred_at, user_id, type, outcome, ip, detail)
         SELECT ?2, ?3 + (i % 200), 'login', 'success', '203.0.113.7', ?4 FROM n`,
        now - ago,
        base,
        JSON.stringify({ seed: tag }),
      );
    await events(3000, 91 * DAY, "old");
    await events(1000, 89 * DAY, "kept");

    // The KV copies of dead tokens are only a fast path: with them gone, D1 must still refuse.
    const kv = await blacklist(worker);
    for (const key of (await kv.list()).keys) await kv.delete(key.name);

    log = await prune(worker);
  });
  after(() => worker?.dispose());

  test("the run logs one JSON line: rows deleted per table, the batches run, and that it finished", () => {
    assert.deepEqual(log.deleted, {
      refresh_tokens: 3000 * 2 + 1000 + 500 + 500 + 1,
      sessions: 3000 + 500 + 200 + 1,
      login_failures: 2000,
      email_keys: 1500,
      mail_quota: 1000,
      sync_received_events: 1000,
      auth_events: 3000,
    });
    assert.equal(log.complete, true);
    assert.equal(log.error, false);
    // 500 rows a batch: 17 for the 8,001 token rows, 8 for the 3,701 sessions, and so on.
    assert.ok(log.batches >= 17 + 8 + 5 + 4 + 3 + 3 + 7 && log.batches < 60, `${log.batches} batches`);
  });

  test("refresh-token rows go once expired past the grace; revoked but unexpired ones stay", async () => {
    assert.equal(await tokensTagged(db, "revoked-expired-"), 0);
    assert.equal(await tokensTagged(db, "revoked-unexpired-"), 1000);
    assert.equal(await tokensTagged(db, "revoked-grace-"), 300);
    assert.equal(await tokensTagged(db, "live-"), 1000, "the live token of each live session");
    assert.equal(await count(db, "SELECT count(*) AS n FROM refresh_tokens WHERE jti LIKE 'live-%-0'"), 0);
    assert.equal(await tokensTagged(db, "idle-"), 0);
    assert.equal(await tokensTagged(db, "aged-"), 0);
  });

  test("sessions go once dead with every token and the last access token expired, and only then", async () => {
    assert.equal(await sessionsTagged(db, "revoked-expired-"), 0);
    assert.equal(await sessionsTagged(db, "revoked-unexpired-"), 1000);
    assert.equal(await sessionsTagged(db, "revoked-grace-"), 300);
    assert.equal(await sessionsTagged(db, "live-"), 1000);
    assert.equal(await sessionsTagged(db, "idle-"), 500, "a live session stays until its absolute lifetime");
    assert.equal(await sessionsTagged(db, "aged-"), 0);
    assert.equal(await sessionsTagged(db, "recent-access-"), 200, "its last access token may still be in use");
    assert.equal(await sessionsTagged(db, "old-access-"), 0);
  });

  test("back-off rows go once decayed to nothing; recent, blocked and still-counting ones stay", async () => {
    const left = (tag) => count(db, "SELECT count(*) AS n FROM login_failures WHERE email LIKE ?1", `${tag}%`);
    assert.deepEqual(
      [await left("decayed-"), await left("recent-"), await left("blocked-"), await left("counting-")],
      [0, 500, 300, 200],
    );
  });

  test("used or expired email keys, spent mail budgets, old sync ids and events past retention go", async () => {
    const left = (table, column, tag) => count(db, `SELECT count(*) AS n FROM ${table} WHERE ${column} LIKE ?1`, `${tag}%`);
    assert.deepEqual(
      [await left("email_keys", "key_hash", "expired-"), await left("email_keys", "key_hash", "used-"), await left("email_keys", "key_hash", "working-")],
      [0, 0, 500],
    );
    assert.deepEqual([await left("mail_quota", "address_hash", "over-"), await left("mail_quota", "address_hash", "current-")], [0, 300]);
    assert.deepEqual([await left("sync_received_events", "id", "old-"), await left("sync_received_events", "id", "kept-")], [0, 300]);
    assert.deepEqual(
      [await left("auth_events", "detail", '{"seed":"old"'), await left("auth_events", "detail", '{"seed":"kept"')],
      [0, 1000],
    );
  });

  test("a logged-out refresh token that has not expired is still refused by refresh/ and logout/", async () => {
    assert.equal(await sessionsTagged(db, sid(loggedOut.refresh_token)), 1);
    assert.deepEqual((await refresh(loggedOut.refresh_token)).body, BLACKLISTED);
    assert.equal((await refresh(loggedOut.refresh_token)).status, 401);
    const again = await worker.post(`${DRF}/logout/`, { refresh_token: loggedOut.refresh_token }, { token: loggedOut.other.access_token });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, BLACKLISTED);
  });

  test("a logged-out token minted by Django is still refused, not adopted as a new session", async () => {
    const response = await refresh(djangoToken);
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, BLACKLISTED);
  });

  test("its access token is still refused by me/", async () => {
    const response = await me(loggedOut.access_token);
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, accessTokenError("Token is blacklisted"));
  });

  test("an access token whose session was pruned is refused as revoked, never revived", async () => {
    assert.equal(await sessionsTagged(db, sid(revokedExpired.refresh_token)), 0, "the session was pruned");
    const response = await me(revokedExpired.access_token);
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, accessTokenError("Token is blacklisted"));
  });

  test("a rotated token replayed after the prune is still caught as reuse and ends its session", async () => {
    const replay = await refresh(rotated.refresh_token);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.body, BLACKLISTED);
    assert.deepEqual((await refresh(rotated.next.refresh_token)).body, BLACKLISTED, "the session was revoked");
  });

  test("live sessions still refresh, and their access tokens still work", async () => {
    assert.equal((await me(live.access_token)).status, 200);
    const next = await refresh(live.refresh_token);
    assert.equal(next.status, 200);
    assert.equal((await me(next.body.access_token)).status, 200);
  });

  test("a second run finds nothing more to delete", async () => {
    const second = await prune(worker);
    assert.deepEqual(Object.values(second.deleted), [0, 0, 0, 0, 0, 0, 0]);
    assert.equal(second.batches, 7);
    assert.equal(second.complete, true);
  });
});

describe("bounded runs", () => {
  let worker;
  after(() => worker?.dispose());

  test("a run larger than its budget deletes that much and leaves the rest for the next run", async () => {
    worker = await startWorker({ PRUNE_BATCH_SIZE: "100", PRUNE_MAX_BATCHES: "10" });
    const db = worker.db;
    const now = nowSecs();
    await bulk(db, 1000, "INSERT INTO auth_events (occurred_at, type, outcome) SELECT ?2, 'login', 'failure' FROM n", now - 100 * DAY);
    await bulk(db, 250, "INSERT INTO sync_received_events (id, received_at) SELECT 'old-' || i, ?2 FROM n", now - 40 * DAY);
    const events = () => count(db, "SELECT count(*) AS n FROM auth_events");

    // Round 1 visits all seven tables, round 2 the two whose batches came back full, round 3
    // the one batch left of the 10.
    const first = await prune(worker);
    assert.equal(first.batches, 10);
    assert.equal(first.complete, false);
    assert.deepEqual([first.deleted.sync_received_events, first.deleted.auth_events], [250, 200]);
    assert.equal(await events(), 800);

    const runs = [first];
    while (!runs.at(-1).complete) {
      runs.push(await prune(worker));
      assert.ok(runs.at(-1).batches <= 10);
      assert.ok(runs.length < 10, "the backlog shrinks every run");
    }
    assert.equal(await events(), 0);
    assert.equal(await count(db, "SELECT count(*) AS n FROM sync_received_events"), 0);
    assert.equal(runs.reduce((sum, run) => sum + run.deleted.auth_events, 0), 1000);
  });
});

describe("settings", () => {
  let worker;
  afterEach(async () => {
    await worker?.dispose();
    worker = undefined;
  });

  test("EVENT_RETENTION_DAYS sets how long audit events are kept", async () => {
    worker = await startWorker({ EVENT_RETENTION_DAYS: "7" });
    const now = nowSecs();
    for (const [ago, tag] of [[8 * DAY, "old"], [6 * DAY, "kept"]]) {
      await bulk(worker.db, 100, "INSERT INTO auth_events (occurred_at, type, outcome, detail) SELECT ?2, 'login', 'success', ?3 FROM n", now - ago, tag);
    }
    const run = await prune(worker);
    assert.equal(run.deleted.auth_events, 100);
    const left = await worker.db.prepare("SELECT detail, count(*) AS n FROM auth_events WHERE detail IN ('old', 'kept') GROUP BY detail").all();
    assert.deepEqual(left.results, [{ detail: "kept", n: 100 }]);
  });

  test("a misconfigured worker deletes nothing, and says why in its log", async () => {
    worker = await startWorker({ PRUNE_BATCH_SIZE: "0" });
    const now = nowSecs();
    await bulk(worker.db, 10, "INSERT INTO sync_received_events (id, received_at) SELECT 'old-' || i, ?2 FROM n", now - 40 * DAY);
    const seen = worker.output.length;
    const result = await (await worker.mf.getWorker()).scheduled({ cron: "*/15 * * * *", scheduledTime: new Date() });
    assert.equal(result.outcome, "ok", "the invocation itself does not fail");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = worker.output.slice(seen).join("\n");
    assert.match(lines, /var PRUNE_BATCH_SIZE: must be a positive integer/);
    assert.match(lines, /prune: edge-auth is misconfigured; nothing pruned/);
    assert.equal(await count(worker.db, "SELECT count(*) AS n FROM sync_received_events"), 10);
  });
});
