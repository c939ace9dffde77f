// Issue 15, the audit trail: every authentication event is recorded with its time, user, session,
// client address, user agent and outcome, never a secret; `events/` lists the caller's own,
// newest first, in DRF's paginated shape.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  ISO_UTC, NOT_PROVIDED, assertNoStore, assertResponse, assertUnauthorized, requestResetLink, verificationKey,
} from "./helpers.mjs";

const NEW = "a-fresh-unguessable-passphrase";
const AGENT = "audit-test/1.0 (an agent the trail keeps)";
const EVENT_KEYS = ["by_staff", "detail", "id", "ip", "occurred_at", "outcome", "session_id", "type", "user_agent"];

let worker;
before(async () => {
  // A reuse interval of 1 s keeps the reuse case quick.
  worker = await startWorker({ REFRESH_REUSE_INTERVAL_SECS: "1" });
});
after(() => worker?.dispose());

let ips = 0;
/** A fresh client address per call, so that no per-IP limit is shared and each event is traceable. */
const from = () => ({ "CF-Connecting-IP": `198.51.100.${++ips % 250}`, "User-Agent": AGENT });

const events = (user, query = "", prefix = DRF) => worker.fetch(`${prefix}/events/${query}`, { token: user.access_token });

/** The caller's events, newest first (the first page of up to 100). */
async function trail(user) {
  const response = await events(user, "?page_size=100");
  assert.equal(response.status, 200, response.text);
  return response.body.results;
}

/** The newest event of `type` in the caller's trail, waiting up to 5 s (some are written after the response). */
async function newest(user, type) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (await trail(user)).find((event) => event.type === type);
    if (found || Date.now() > deadline) return found;
    await sleep(100);
  }
}

async function registerFrom(headers) {
  const body = worker.newUser();
  const response = await worker.post(`${DRF}/register/`, body, { headers });
  assert.equal(response.status, 201, response.text);
  return { ...body, ...response.body };
}

const sid = (token) => decodeSegment(token, 1).sid;

describe("what is recorded", () => {
  test("a registration: its session, the client's address and user agent, success", async () => {
    const headers = from();
    const user = await registerFrom(headers);
    const event = await newest(user, "user_registered");
    assert.deepEqual(Object.keys(event).sort(), EVENT_KEYS);
    assert.equal(event.outcome, "success");
    assert.equal(event.session_id, sid(user.access_token));
    assert.equal(event.ip, headers["CF-Connecting-IP"]);
    assert.equal(event.user_agent, AGENT);
    assert.match(event.occurred_at, ISO_UTC);
    assert.ok(Math.abs(Date.parse(event.occurred_at) - Date.now()) < 60_000);
    assert.equal(event.by_staff, false);
  });

  test("a login and a failed one, which says why", async () => {
    const user = await worker.register();
    const headers = from();
    const wrong = await worker.post(`${DRF}/login/`, { email: user.email, password: "not-the-password" }, { headers });
    assert.equal(wrong.status, 401);
    const good = await worker.post(`${DRF}/login/`, { email: user.email, password: user.password }, { headers });
    assert.equal(good.status, 200);
    const [success, failure] = (await trail(user)).filter((event) => event.type === "login");
    assert.equal(success.outcome, "success");
    assert.equal(success.session_id, sid(good.body.access_token));
    assert.equal(success.ip, headers["CF-Connecting-IP"]);
    assert.equal(failure.outcome, "failure");
    assert.deepEqual(failure.detail, { reason: "invalid_password" });
    assert.equal(failure.session_id, null);
    assert.ok(success.id > failure.id, "newest first");
  });

  test("a login to an unknown address is recorded without a user, and nobody's trail shows it", async () => {
    const email = `nobody.${Date.now()}@example.com`;
    const headers = from();
    assert.equal((await worker.post(`${DRF}/login/`, { email, password: "whatever-it-is" }, { headers })).status, 401);
    const { results } = await worker.db
      .prepare("SELECT * FROM auth_events WHERE ip = ?1")
      .bind(headers["CF-Connecting-IP"])
      .all();
    assert.equal(results.length, 1);
    assert.equal(results[0].user_id, null);
    assert.equal(results[0].type, "login");
    assert.equal(results[0].outcome, "failure");
    assert.deepEqual(JSON.parse(results[0].detail), { reason: "unknown_account" });
    assert.ok(!JSON.stringify(results[0]).includes(email), "the address typed is not kept");
  });

  test("the right password for a disabled account is a failure with its reason", async () => {
    const user = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(user.user.id).run();
    assert.equal((await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).status, 401);
    const row = await worker.db
      .prepare("SELECT * FROM auth_events WHERE user_id = ?1 AND type = 'login'")
      .bind(user.user.id)
      .first();
    assert.deepEqual(JSON.parse(row.detail), { reason: "account_disabled" });
  });

  test("a logout, with the session it ended", async () => {
    const user = await worker.register();
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }, { token: user.access_token });
    assert.equal(out.status, 200);
    const second = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    const event = await newest(second, "logout");
    assert.equal(event.outcome, "success");
    assert.equal(event.session_id, sid(user.refresh_token));
  });

  test("a logout of every session, and one session ended by its owner", async () => {
    const user = await worker.register();
    const other = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    const ended = await worker.fetch(`${DRF}/sessions/${sid(other.access_token)}/`, {
      method: "DELETE",
      token: user.access_token,
    });
    assert.equal(ended.status, 204);
    const revoked = await newest(user, "session_revoked");
    assert.equal(revoked.session_id, sid(other.access_token));
    assert.equal((await worker.post(`${DRF}/logout-all/`, {}, { token: user.access_token })).status, 200);
    const again = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    const all = await newest(again, "logout_all");
    assert.equal(all.outcome, "success");
    assert.equal(all.session_id, sid(user.access_token), "the session it was asked from");
  });

  test("a refresh token reused after the interval: the reuse, as a failure, with the session revoked", async () => {
    const user = await worker.register();
    const first = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(first.status, 200);
    await sleep(2100);
    const replay = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token }, { headers: from() });
    assert.equal(replay.status, 401);
    const fresh = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    const event = await newest(fresh, "token_reuse_detected");
    assert.equal(event.outcome, "failure");
    assert.equal(event.session_id, sid(user.refresh_token));
  });

  test("a password change, and a refused one with a wrong old password", async () => {
    const user = await worker.register();
    const change = (old_password) =>
      worker.post(
        `${DRF}/change-password/`,
        { old_password, new_password: NEW, new_password_confirm: NEW },
        { token: user.access_token },
      );
    assert.equal((await change("not-the-old-one")).status, 400);
    assert.equal((await change(user.password)).status, 200);
    const [done, refused] = (await trail(user)).filter((event) => event.type === "password_changed");
    assert.equal(done.outcome, "success");
    assert.equal(done.session_id, sid(user.access_token));
    assert.equal(refused.outcome, "failure");
    assert.deepEqual(refused.detail, { reason: "invalid_password" });
  });

  test("a password reset asked for and done", async () => {
    const user = await worker.register();
    const { uid, token } = await requestResetLink(worker, user.email);
    const requested = await newest(user, "password_reset_requested");
    assert.equal(requested.outcome, "success");
    const done = await worker.post(`${DRF}/password/reset/confirm/`, {
      uid, token, new_password1: NEW, new_password2: NEW,
    });
    assert.equal(done.status, 200, done.text);
    const fresh = (await worker.post(`${DRF}/login/`, { email: user.email, password: NEW })).body;
    assert.equal((await newest(fresh, "password_reset")).outcome, "success");
  });

  test("an address verified, and an address change asked for and confirmed", async () => {
    const user = await worker.register();
    const { key } = await verificationKey(worker, user.email);
    assert.equal((await worker.post(`${DRF}/registration/verify-email/`, { key })).status, 200);
    assert.equal((await newest(user, "email_verified")).outcome, "success");
    const target = `moved.${Date.now()}@example.net`;
    const asked = await worker.post(
      `${DRF}/email/change/`,
      { new_email: target, password: user.password },
      { token: user.access_token },
    );
    assert.equal(asked.status, 200);
    assert.equal((await newest(user, "email_change_requested")).outcome, "success");
    const confirm = await verificationKey(worker, target, "Confirm your new e-mail address");
    assert.equal((await worker.post(`${DRF}/registration/verify-email/`, { key: confirm.key })).status, 200);
    assert.equal((await newest(user, "email_changed")).outcome, "success");
  });

  test("no event carries a password, a token or a key", async () => {
    const user = await worker.register();
    await worker.post(`${DRF}/login/`, { email: user.email, password: "a-wrong-password-typed" });
    const second = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    await worker.post(`${DRF}/logout/`, { refresh_token: second.refresh_token }, { token: second.access_token });
    const { results } = await worker.db.prepare("SELECT * FROM auth_events WHERE user_id = ?1").bind(user.user.id).all();
    assert.ok(results.length >= 4);
    const stored = JSON.stringify(results);
    for (const secret of [user.password, "a-wrong-password-typed", user.access_token, user.refresh_token, second.refresh_token]) {
      assert.ok(!stored.includes(secret), "a secret in the trail");
    }
    assert.ok(!stored.includes(user.refresh_token.split(".")[2]), "a token's signature in the trail");
  });
});

describe("events/", () => {
  test("lists only the caller's own events, under both prefixes, not stored", async () => {
    const alice = await worker.register();
    const bob = await worker.register();
    await worker.post(`${DRF}/login/`, { email: bob.email, password: "a-wrong-password-typed" });
    for (const prefix of [DRF, SHORT]) {
      const response = await events(alice, "", prefix);
      assert.equal(response.status, 200);
      assertNoStore(response.headers);
      assert.deepEqual(Object.keys(response.body).sort(), ["count", "next", "previous", "results"]);
      assert.deepEqual(response.body.results.map((event) => event.type), ["user_registered"]);
    }
    const bobs = await trail(bob);
    assert.deepEqual(bobs.map((event) => event.type), ["login", "user_registered"]);
    const alices = new Set((await trail(alice)).map((event) => event.id));
    assert.ok(bobs.every((event) => !alices.has(event.id)));
  });

  test("pages of DRF's shape: count, absolute next and previous links, an invalid page 404", async () => {
    const user = await worker.register();
    for (let i = 0; i < 4; i += 1) {
      await worker.post(`${DRF}/login/`, { email: user.email, password: `wrong-password-${i}` });
    }
    const first = await events(user, "?page_size=2");
    assert.equal(first.body.count, 5);
    assert.equal(first.body.results.length, 2);
    assert.equal(first.body.previous, null);
    assert.equal(first.body.next, `${DRF}/events/?page=2&page_size=2`);
    const second = await worker.fetch(first.body.next, { token: user.access_token });
    assert.equal(second.body.previous, `${DRF}/events/?page_size=2`);
    assert.equal(second.body.next, `${DRF}/events/?page=3&page_size=2`);
    const third = await worker.fetch(second.body.next, { token: user.access_token });
    assert.equal(third.body.next, null);
    assert.deepEqual(third.body.results.map((event) => event.type), ["user_registered"]);
    const ids = [...first.body.results, ...second.body.results, ...third.body.results].map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first across pages");
    assert.equal(new Set(ids).size, 5);
    for (const query of ["?page=4&page_size=2", "?page=0", "?page=x", "?page=8700307766260785152&page_size=100"]) {
      assertResponse(await events(user, query), 404, { detail: "Invalid page." });
    }
  });

  test("needs a valid access token", async () => {
    assertUnauthorized(await worker.fetch(`${DRF}/events/`), NOT_PROVIDED);
    const user = await worker.register();
    await worker.post(`${DRF}/logout-all/`, {}, { token: user.access_token });
    assert.equal((await events(user)).status, 401, "a revoked session's access token");
  });
});
