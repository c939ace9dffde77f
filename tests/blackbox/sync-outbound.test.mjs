// Issue 14, what the worker sends to Django (integrations/django/PROTOCOL.md): the lazy migration's
// signed lookups (a Django user logs in here with the same id, hash and profile; register/ asks
// Django first) and the events of every change, queued on SYNC_QUEUE and delivered by the worker's
// own consumer, signed, retried with back-off while Django fails. A local HTTP server plays the
// companion: it checks every signature as PROTOCOL.md says and refuses bad ones.
import assert from "node:assert/strict";
import { createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { DRF, decodeSegment, startWorker } from "../support.mjs";
import {
  LOGIN_FAILED, OK, RESET_DONE, SUBJECTS, UUID_V4, assertProfile, assertResponse, assertUnauthorized, keyFrom,
  login, me, nowSecs, requestResetLink, verificationKey,
} from "./helpers.mjs";

const SECRET = "blackbox-sync-secret-0123456789abcdefghijkl";
const PASSWORD = "correct-horse-battery-staple";
const NEW = "a-fresh-unguessable-passphrase";
const TAKEN = { email: ["A user with this email already exists."] };
const UNAVAILABLE = { detail: "Service temporarily unavailable, try again later." };
const EVENT_ID = /^[0-9a-f]{32}$/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64>` for `password`. */
function djangoHash(password, iterations = 600, salt = "c0mpani0nSalt") {
  const digest = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${digest}`;
}

/** PROTOCOL.md's check of `Edge-Auth-Signature`: null when it holds, else the 401 detail. */
function signatureProblem(header, body, secret = SECRET, now = nowSecs()) {
  const parts = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!parts) return "Invalid signature.";
  const expected = createHmac("sha256", secret).update(`${parts[1]}.`).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(parts[2], "hex"))) return "Invalid signature.";
  if (Math.abs(now - Number(parts[1])) > 300) return "Signature expired.";
  return null;
}

/**
 * The companion, faked: `users/lookup/` answers from `users` (by lowercased email) as
 * `lookupMode` says ("normal", "down": the connection is dropped, "slow": 4 s, or a status);
 * `events/` applies each event once (409 after), unless `answer(event)` names another status.
 * Every request's signature is checked first (401 and counted in `refused` when bad).
 */
async function fakeCompanion() {
  const fake = {
    users: new Map(), lookups: [], deliveries: [], applied: [], seen: new Set(), refused: 0,
    lookupMode: "normal", answer: () => undefined,
  };
  const reply = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  fake.server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const header = req.headers["edge-auth-signature"];
      const problem = signatureProblem(header, body);
      if (problem) {
        fake.refused += 1;
        return reply(res, 401, { detail: problem });
      }
      const json = JSON.parse(body.toString("utf8"));
      const seen = { headers: req.headers, t: Number(/^t=(\d+)/.exec(header)[1]), json };
      if (req.url === "/edge-auth/users/lookup/") {
        fake.lookups.push(seen);
        if (fake.lookupMode === "down") return req.socket.destroy();
        if (fake.lookupMode === "slow") await sleep(4000);
        if (typeof fake.lookupMode === "number") return reply(res, fake.lookupMode, { detail: "Boom." });
        const user = fake.users.get(json.email.toLowerCase());
        return user ? reply(res, 200, { user }) : reply(res, 404, { detail: "Not found." });
      }
      if (req.url === "/edge-auth/events/") {
        const status = fake.answer(json) ?? (fake.seen.has(json.id) ? 409 : 200);
        fake.deliveries.push({ ...seen, status });
        if (status !== 200) return reply(res, status, { detail: `Answered ${status}.` });
        fake.seen.add(json.id);
        fake.applied.push(json);
        return reply(res, 200, { status: "applied" });
      }
      reply(res, 404, { detail: "Not found." });
    });
  });
  await new Promise((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${fake.server.address().port}/edge-auth/`;
  fake.close = () => new Promise((resolve) => {
    fake.server.closeAllConnections();
    fake.server.close(resolve);
  });
  return fake;
}

/** The user an event is about. */
const userOf = (event) => event.data.user_id ?? event.data.user?.id;

let fake;
let worker;
before(async () => {
  fake = await fakeCompanion();
  worker = await startWorker({
    DJANGO_SYNC_URL: fake.url,
    DJANGO_SYNC_SECRET: SECRET,
    SYNC_RETRY_MAX_DELAY_SECS: "1",
    REFRESH_REUSE_INTERVAL_SECS: "3",
  });
});
after(async () => {
  await worker?.dispose();
  await fake?.close();
});

/**
 * The events applied about `userId`: waits until `count` have arrived, then `settle` ms more so
 * that an extra one would show.
 */
async function eventsFor(userId, count, settle = 2000) {
  const deadline = Date.now() + 20_000;
  const about = () => fake.applied.filter((event) => userOf(event) === userId);
  while (about().length < count) {
    if (Date.now() > deadline) {
      assert.fail(`${count} events about user ${userId} expected, got ${JSON.stringify(about().map((e) => e.type))}`);
    }
    await sleep(100);
  }
  await sleep(settle);
  return about();
}

const typesOf = (events) => events.map((event) => event.type).sort();
const ofType = (events, type) => events.filter((event) => event.type === type);
const sidOf = (token) => decodeSegment(token, 1).sid;
const claimsOf = (token) => decodeSegment(token, 1);

async function storedUser(id) {
  return worker.db.prepare("SELECT * FROM users WHERE id = ?1").bind(id).first();
}

let djangoIds = 4000;
/** A user Django has (and the worker not): its record, added to the fake. */
function djangoUser(overrides = {}) {
  djangoIds += 1;
  const record = {
    id: djangoIds, email: `Django.User${djangoIds}@Example.com`, password: djangoHash(PASSWORD),
    first_name: "Grace", last_name: "Hopper", is_active: true, is_staff: false, is_superuser: false,
    date_joined: "2024-01-01T10:00:00Z", last_login: null,
    uuid: `6f1c2b9e-3a4d-4e5f-8a7b-${String(djangoIds).padStart(12, "0")}`, phone_number: "+15550100", phone_number_verified: true,
    timezone: "Europe/Paris", is_practitioner: true, account_status: "active", email_verified: true,
    ...overrides,
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  fake.users.set(record.email.toLowerCase(), record);
  return record;
}

describe("lazy migration: login/ for an address only Django has", () => {
  test("logs the user in with Django's id, hash and profile, and the hash is upgraded", async () => {
    const record = djangoUser();
    const lookups = fake.lookups.length;
    const response = await login(worker, record.email.toLowerCase(), PASSWORD);
    assert.equal(response.status, 200, response.text);
    assertProfile(response.body.user, {
      id: record.id, uuid: record.uuid, date_joined: record.date_joined, email: record.email.toLowerCase(),
      first_name: "Grace", last_name: "Hopper", full_name: "Grace Hopper", display_name: "Grace Hopper",
      phone_number: "+15550100", phone_number_verified: true, timezone: "Europe/Paris", is_practitioner: true,
      account_status: "active", last_login: response.body.user.last_login, is_active: true, is_staff: false,
      is_superuser: false,
    });
    assert.equal(claimsOf(response.body.access_token).user_id, String(record.id));
    // One signed lookup, for the address in the worker's spelling.
    assert.equal(fake.lookups.length, lookups + 1);
    const lookup = fake.lookups.at(-1);
    assert.deepEqual(lookup.json, { email: record.email.toLowerCase() });
    assert.match(lookup.headers["content-type"], /^application\/json/);
    assert.ok(Math.abs(lookup.t - nowSecs()) <= 5);
    // Stored with Django's id; the 600-iteration hash re-hashed to the worker's target.
    const stored = await storedUser(record.id);
    assert.equal(stored.email, record.email.toLowerCase());
    assert.match(stored.password, /^pbkdf2_sha256\$1000\$/);
    assert.equal(stored.email_verified, 1);
    // Known now: the next login asks Django nothing, and the import itself sent Django nothing.
    assert.equal((await login(worker, record.email, PASSWORD)).status, 200);
    assert.equal(fake.lookups.length, lookups + 1);
    await sleep(2500);
    assert.deepEqual(fake.applied.filter((event) => userOf(event) === record.id), []);
  });

  test("a Django model without the profile fields gets the worker's defaults and a new uuid", async () => {
    const record = djangoUser({
      uuid: undefined, phone_number: undefined, phone_number_verified: undefined, timezone: undefined,
      is_practitioner: undefined, account_status: undefined, email_verified: undefined,
    });
    const response = await login(worker, record.email, PASSWORD);
    assert.equal(response.status, 200, response.text);
    const user = response.body.user;
    assert.equal(user.id, record.id);
    assert.match(user.uuid, UUID_V4);
    assert.deepEqual([user.timezone, user.account_status, user.phone_number, user.is_practitioner], ["UTC", "active", null, false]);
  });

  test("a wrong password is the usual 401, and nothing is imported", async () => {
    const record = djangoUser();
    assertUnauthorized(await login(worker, record.email, "not-the-password"), LOGIN_FAILED);
    assert.equal(await storedUser(record.id), null);
  });

  test("an address Django does not have either is the usual 401", async () => {
    const lookups = fake.lookups.length;
    assertUnauthorized(await login(worker, `nobody.${Date.now()}@example.com`, PASSWORD), LOGIN_FAILED);
    assert.equal(fake.lookups.length, lookups + 1);
  });

  test("an inactive Django user is refused and not imported", async () => {
    const record = djangoUser({ is_active: false });
    assertUnauthorized(await login(worker, record.email, PASSWORD), LOGIN_FAILED);
    assert.equal(await storedUser(record.id), null);
  });

  for (const [title, mode] of [["down", "down"], ["answering 500", 500], ["slower than 3 s", "slow"]]) {
    test(`Django ${title}: the usual 401, nothing imported; it works once Django answers`, async () => {
      const record = djangoUser();
      fake.lookupMode = mode;
      try {
        const started = Date.now();
        assertUnauthorized(await login(worker, record.email, PASSWORD), LOGIN_FAILED);
        assert.ok(Date.now() - started < 3900, "a slow Django is given up on after 3 s");
      } finally {
        fake.lookupMode = "normal";
      }
      assert.equal(await storedUser(record.id), null);
      assert.equal((await login(worker, record.email, PASSWORD)).status, 200);
    });
  }

  test("a record whose address is not the one looked up is not imported", async () => {
    const record = djangoUser();
    fake.users.set(`twin.${record.id}@example.com`, record);
    assertUnauthorized(await login(worker, `twin.${record.id}@example.com`, PASSWORD), LOGIN_FAILED);
    assert.equal(await storedUser(record.id), null);
  });
});

describe("register/ beside Django", () => {
  test("an address Django has is taken: 400, and nothing is written", async () => {
    const record = djangoUser();
    const body = worker.newUser({ email: record.email.toLowerCase() });
    assertResponse(await worker.post(`${DRF}/register/`, body), 400, TAKEN);
    const row = await worker.db.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?1").bind(body.email).first();
    assert.equal(row.n, 0);
  });

  for (const [title, mode] of [["down", "down"], ["answering 500", 500], ["slower than 3 s", "slow"]]) {
    test(`Django ${title}: 503, and nothing is written`, async () => {
      const body = worker.newUser();
      fake.lookupMode = mode;
      try {
        assertResponse(await worker.post(`${DRF}/register/`, body), 503, UNAVAILABLE);
      } finally {
        fake.lookupMode = "normal";
      }
      const row = await worker.db.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?1").bind(body.email).first();
      assert.equal(row.n, 0);
      assert.equal((await worker.post(`${DRF}/register/`, body)).status, 201, "and works once Django answers");
    });
  }
});

describe("events to Django", () => {
  test("register/ sends user.created with the whole record, hash included, signed", async () => {
    const lookups = fake.lookups.length;
    const user = await worker.register();
    assert.equal(fake.lookups.length, lookups + 1, "Django was asked first");
    const [created] = await eventsFor(user.user.id, 1);
    const stored = await storedUser(user.user.id);
    assert.equal(created.type, "user.created");
    assert.equal(created.source, "edge-auth");
    assert.match(created.id, EVENT_ID);
    assert.ok(Math.abs(created.occurred_at - nowSecs()) <= 10);
    assert.deepEqual(created.data.user, {
      id: user.user.id, email: user.email, password: stored.password, first_name: "Ada", last_name: "Lovelace",
      is_active: true, is_staff: false, is_superuser: false, date_joined: stored.date_joined, last_login: null,
      uuid: stored.uuid, phone_number: null, phone_number_verified: false, timezone: "UTC",
      is_practitioner: false, account_status: "active", email_verified: false,
    });
    const delivery = fake.deliveries.find((d) => d.json.id === created.id);
    assert.match(delivery.headers["content-type"], /^application\/json/);
  });

  test("PATCH me/ sends user.updated with the new profile", async () => {
    const user = await worker.register();
    const patched = await worker.fetch(`${DRF}/me/`, { method: "PATCH", body: { first_name: "Augusta" }, token: user.access_token });
    assert.equal(patched.status, 200, patched.text);
    const events = await eventsFor(user.user.id, 2);
    assert.deepEqual(typesOf(events), ["user.created", "user.updated"]);
    assert.equal(ofType(events, "user.updated")[0].data.user.first_name, "Augusta");
  });

  test("a verified address sends user.updated with email_verified", async () => {
    const user = await worker.register();
    const { key } = await verificationKey(worker, user.email);
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, { key }), 200, OK);
    const events = await eventsFor(user.user.id, 2);
    const [updated] = ofType(events, "user.updated");
    assert.equal(updated.data.user.email_verified, true);
  });

  test("a changed address sends user.updated with the new address", async () => {
    const user = await worker.register();
    const target = `moved.${Date.now()}@example.net`;
    const asked = await worker.post(`${DRF}/email/change/`, { new_email: target, password: user.password }, { token: user.access_token });
    assert.equal(asked.status, 200, asked.text);
    const key = keyFrom(await worker.mail(target, { subject: SUBJECTS.confirmNew }));
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, { key }), 200, OK);
    const [updated] = ofType(await eventsFor(user.user.id, 2), "user.updated");
    assert.equal(updated.data.user.email, target);
  });

  test("change-password/ sends the new hash, the cut-off sparing the caller's session, and what died", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    const changed = await worker.post(`${DRF}/change-password/`,
      { old_password: user.password, new_password: NEW, new_password_confirm: NEW }, { token: user.access_token });
    assert.equal(changed.status, 200, changed.text);
    const events = await eventsFor(user.user.id, 5);
    assert.deepEqual(typesOf(events),
      ["session.revoked", "token.revoked", "user.created", "user.password_changed", "user.sessions_revoked"]);
    const stored = await storedUser(user.user.id);
    assert.deepEqual(ofType(events, "user.password_changed")[0].data, { user_id: user.user.id, password: stored.password });
    const [cutoff] = ofType(events, "user.sessions_revoked");
    assert.equal(cutoff.data.except_sid, sidOf(user.access_token));
    assert.ok(Math.abs(cutoff.data.before - nowSecs()) <= 10);
    assert.deepEqual(ofType(events, "session.revoked")[0].data, { user_id: user.user.id, sid: sidOf(other.access_token) });
    const refresh = claimsOf(other.refresh_token);
    assert.deepEqual(ofType(events, "token.revoked")[0].data,
      { user_id: user.user.id, jti: refresh.jti, exp: refresh.exp, sid: refresh.sid, reason: "revoked" });
  });

  test("password/reset/confirm/ sends the new hash, a cut-off sparing nobody, the verified address and what died", async () => {
    const user = await worker.register();
    const { uid, token } = await requestResetLink(worker, user.email);
    const body = { uid, token, new_password1: NEW, new_password2: NEW };
    assertResponse(await worker.post(`${DRF}/password/reset/confirm/`, body), 200, RESET_DONE);
    const events = await eventsFor(user.user.id, 6);
    assert.deepEqual(typesOf(events), ["session.revoked", "token.revoked", "user.created",
      "user.password_changed", "user.sessions_revoked", "user.updated"]);
    const stored = await storedUser(user.user.id);
    assert.equal(ofType(events, "user.password_changed")[0].data.password, stored.password);
    assert.equal(ofType(events, "user.sessions_revoked")[0].data.except_sid, null);
    assert.equal(ofType(events, "user.updated")[0].data.user.email_verified, true);
    assert.equal(ofType(events, "user.updated")[0].data.user.password, stored.password);
    assert.equal(ofType(events, "session.revoked")[0].data.sid, sidOf(user.access_token));
    assert.equal(ofType(events, "token.revoked")[0].data.jti, claimsOf(user.refresh_token).jti);
  });

  test("logout/ sends token.revoked (logout) for the token and session.revoked for its session", async () => {
    const user = await worker.register();
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }, { token: user.access_token });
    assert.equal(out.status, 200, out.text);
    const events = await eventsFor(user.user.id, 3);
    assert.deepEqual(typesOf(events), ["session.revoked", "token.revoked", "user.created"]);
    const refresh = claimsOf(user.refresh_token);
    assert.deepEqual(ofType(events, "token.revoked")[0].data,
      { user_id: user.user.id, jti: refresh.jti, exp: refresh.exp, sid: refresh.sid, reason: "logout" });
    assert.deepEqual(ofType(events, "session.revoked")[0].data, { user_id: user.user.id, sid: refresh.sid });
  });

  test("logout-all/ sends the cut-off sparing nobody, and every session and token that died", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    const out = await worker.post(`${DRF}/logout-all/`, {}, { token: user.access_token });
    assert.equal(out.status, 200, out.text);
    const events = await eventsFor(user.user.id, 6);
    assert.deepEqual(typesOf(events), ["session.revoked", "session.revoked", "token.revoked", "token.revoked",
      "user.created", "user.sessions_revoked"]);
    assert.equal(ofType(events, "user.sessions_revoked")[0].data.except_sid, null);
    assert.deepEqual(ofType(events, "session.revoked").map((e) => e.data.sid).sort(),
      [sidOf(user.access_token), sidOf(other.access_token)].sort());
    assert.deepEqual(ofType(events, "token.revoked").map((e) => [e.data.jti, e.data.reason]).sort(),
      [[claimsOf(user.refresh_token).jti, "revoked"], [claimsOf(other.refresh_token).jti, "revoked"]].sort());
  });

  test("DELETE sessions/<id>/ sends session.revoked and the session's tokens", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    const sid = sidOf(other.access_token);
    const deleted = await worker.fetch(`${DRF}/sessions/${sid}/`, { method: "DELETE", token: user.access_token });
    assert.equal(deleted.status, 204, deleted.text);
    const events = await eventsFor(user.user.id, 3);
    assert.deepEqual(ofType(events, "session.revoked")[0].data, { user_id: user.user.id, sid });
    assert.equal(ofType(events, "token.revoked")[0].data.jti, claimsOf(other.refresh_token).jti);
  });

  test("token/refresh/ sends token.revoked (rotated) once, not for a replay within the interval; reuse later revokes the session", async () => {
    const user = await worker.register();
    const first = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(first.status, 200, first.text);
    const replay = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(replay.status, 200, "the same successor, within the reuse interval");
    const events = await eventsFor(user.user.id, 2);
    const old = claimsOf(user.refresh_token);
    assert.deepEqual(ofType(events, "token.revoked").map((e) => e.data),
      [{ user_id: user.user.id, jti: old.jti, exp: old.exp, sid: old.sid, reason: "rotated" }]);
    await sleep(3500);
    const reused = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(reused.status, 401, reused.text);
    const later = await eventsFor(user.user.id, 4);
    assert.deepEqual(ofType(later, "session.revoked").map((e) => e.data.sid), [old.sid]);
    // The rotated token was reported when it rotated: only its live successor is reported again.
    assert.deepEqual(ofType(later, "token.revoked").filter((e) => e.data.reason === "revoked").map((e) => e.data.jti),
      [claimsOf(first.body.refresh_token).jti]);
  });

  test("a user imported lazily sends what changes afterwards, like any user", async () => {
    const record = djangoUser();
    const session = (await login(worker, record.email, PASSWORD)).body;
    const patched = await worker.fetch(`${DRF}/me/`, { method: "PATCH", body: { last_name: "Murray" }, token: session.access_token });
    assert.equal(patched.status, 200, patched.text);
    const events = await eventsFor(record.id, 1);
    assert.deepEqual(typesOf(events), ["user.updated"]);
    assert.equal(events[0].data.user.last_name, "Murray");
  });
});

describe("delivery", () => {
  /** PATCHes a new user's first name; returns the user once the patch is answered. */
  async function patchedUser(first_name) {
    const user = await worker.register();
    await eventsFor(user.user.id, 1, 0);
    const patched = await worker.fetch(`${DRF}/me/`, { method: "PATCH", body: { first_name }, token: user.access_token });
    assert.equal(patched.status, 200, patched.text);
    return user;
  }

  const isUpdateOf = (name) => (event) => event.type === "user.updated" && event.data.user.first_name === name;

  for (const status of [500, 503, 401, 404]) {
    test(`an event the companion answers ${status} is retried, signed afresh, and delivered later`, async () => {
      const name = `Retry${status}`;
      let failed = false;
      fake.answer = (event) => {
        if (!isUpdateOf(name)(event) || failed) return undefined;
        failed = true;
        return status;
      };
      try {
        const user = await patchedUser(name);
        const [updated] = ofType(await eventsFor(user.user.id, 2, 0), "user.updated");
        const tries = fake.deliveries.filter((d) => d.json.id === updated.id);
        assert.deepEqual(tries.map((d) => d.status), [status, 200]);
        assert.notEqual(tries[0].headers["edge-auth-signature"], tries[1].headers["edge-auth-signature"]);
        assert.ok(tries[1].t > tries[0].t, "each delivery signs at its own time");
      } finally {
        fake.answer = () => undefined;
      }
    });
  }

  test("an event the companion answers 400 is not retried (retrying cannot help)", async () => {
    const name = "Refused";
    fake.answer = (event) => (isUpdateOf(name)(event) ? 400 : undefined);
    try {
      const user = await patchedUser(name);
      await sleep(4000);
      const tries = fake.deliveries.filter((d) => isUpdateOf(name)(d.json) && userOf(d.json) === user.user.id);
      assert.deepEqual(tries.map((d) => d.status), [400]);
      assert.ok(worker.output.some((line) => line.includes(`user.updated ${tries[0].json.id}`) && line.includes("400")),
        "the refusal is logged with the event's type and id");
    } finally {
      fake.answer = () => undefined;
    }
  });

  test("an event the companion already has (409) counts as delivered", async () => {
    const name = "Duplicate";
    fake.answer = (event) => (isUpdateOf(name)(event) ? 409 : undefined);
    try {
      const user = await patchedUser(name);
      await sleep(4000);
      const tries = fake.deliveries.filter((d) => isUpdateOf(name)(d.json) && userOf(d.json) === user.user.id);
      assert.deepEqual(tries.map((d) => d.status), [409]);
    } finally {
      fake.answer = () => undefined;
    }
  });

  test("every event was signed with the shared secret over its exact body, and each id is unique", () => {
    assert.equal(fake.refused, 0, "the companion refused no request of this worker");
    assert.ok(fake.deliveries.length > 20);
    const ids = fake.applied.map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const event of fake.applied) assert.match(event.id, EVENT_ID);
  });

  test("the fake companion refuses what PROTOCOL.md refuses (so the above means something)", () => {
    const body = Buffer.from('{"id":"0123456789abcdef0123456789abcdef"}');
    const t = nowSecs();
    const sign = (secret, time, bytes) => `t=${time},v1=${createHmac("sha256", secret).update(`${time}.`).update(bytes).digest("hex")}`;
    assert.equal(signatureProblem(sign(SECRET, t, body), body), null);
    assert.equal(signatureProblem(sign("another-secret-of-at-least-32-characters", t, body), body), "Invalid signature.");
    assert.equal(signatureProblem(sign(SECRET, t, body), Buffer.from('{"id":"x"}')), "Invalid signature.");
    assert.equal(signatureProblem(sign(SECRET, t - 301, body), body), "Signature expired.");
    assert.equal(signatureProblem(undefined, body), "Invalid signature.");
  });

  test("password hashes never reach the worker's logs", () => {
    const logs = worker.output.join("\n");
    assert.ok(logs.length > 0);
    assert.doesNotMatch(logs, /pbkdf2_sha256\$|argon2\$|c0mpani0nSalt/);
  });
});

describe("a worker whose secret is not Django's", () => {
  let stranger;
  before(async () => {
    stranger = await startWorker({
      DJANGO_SYNC_URL: fake.url, DJANGO_SYNC_SECRET: "not-the-companion-s-secret-0123456789abcdef",
      SYNC_RETRY_MAX_DELAY_SECS: "1",
    });
  });
  after(() => stranger?.dispose());

  test("is refused by the companion: no lazy login, no registration, no event applied", async () => {
    const refused = fake.refused;
    const record = djangoUser();
    assertUnauthorized(await login(stranger, record.email, PASSWORD), LOGIN_FAILED);
    assertResponse(await stranger.post(`${DRF}/register/`, stranger.newUser()), 503, UNAVAILABLE);
    assert.ok(fake.refused >= refused + 2);
    assert.equal(await stranger.db.prepare("SELECT * FROM users WHERE id = ?1").bind(record.id).first(), null);
  });
});

describe("a worker without its queue binding", () => {
  let lonely;
  before(async () => {
    lonely = await startWorker({ DJANGO_SYNC_URL: fake.url, DJANGO_SYNC_SECRET: SECRET }, { queues: false });
  });
  after(() => lonely?.dispose());

  test("answers as usual and logs the events it could not queue by type, never their data", async () => {
    const user = await lonely.register();
    const patched = await lonely.fetch(`${DRF}/me/`, { method: "PATCH", body: { first_name: "Alone" }, token: user.access_token });
    assert.equal(patched.status, 200, patched.text);
    assert.ok(lonely.output.some((line) => line.includes("sync events not queued (user.created)")));
    assert.ok(lonely.output.some((line) => line.includes("sync events not queued (user.updated)")));
    assert.doesNotMatch(lonely.output.join("\n"), /pbkdf2_sha256\$|Alone/);
    assert.equal((await me(lonely, user.access_token)).body.first_name, "Alone");
  });
});
