// Issue 14, integrations/django/PROTOCOL.md, Django -> worker: `POST <prefix>sync/events/`. Every
// event type's effect, seen through the public API as a client sees it, and every way an event
// must be refused: a signature that does not hold (tampered, wrong secret, stale, future, missing,
// malformed), a replayed id, a user that conflicts, an event the worker cannot apply.
import assert from "node:assert/strict";
import { createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  ISO_UTC, UUID_V4, accessTokenError, assertResponse, blacklist, claimsFor, login, me, mintToken, nowSecs, raw,
  refreshTokenError,
} from "./helpers.mjs";

const SECRET = "blackbox-django-sync-secret-0123456789-abcdef";

let worker;
before(async () => {
  worker = await startWorker({ DJANGO_SYNC_SECRET: SECRET });
});
after(() => worker?.dispose());

const APPLIED = { status: "applied" };
const INVALID = { detail: "Invalid signature." };
const EXPIRED = { detail: "Signature expired." };
const REPEATED = { detail: "Event already received." };
const PASSWORD = "django-made-password-1";
const NEW_PASSWORD = "django-changed-password-2";
const BLACKLISTED = refreshTokenError("Token is blacklisted");

/** `Edge-Auth-Signature` for `body` at `t`: HMAC-SHA256 of `"<t>." + body`, lowercase hex. */
function signature(body, { t = nowSecs(), secret = SECRET } = {}) {
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex")}`;
}

const newId = () => randomBytes(16).toString("hex");

/** An event as the companion sends it. */
function event(type, data, id = newId()) {
  return { id, type, occurred_at: nowSecs(), source: "django", data };
}

/** Delivers an event (or raw text) signed at send time, as a sender does on every attempt. */
function deliver(body, { prefix = DRF, path = "sync/events/", sign = {}, headers } = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const sent = headers ?? { "content-type": "application/json", "edge-auth-signature": signature(text, sign) };
  return raw(worker, `${prefix}/${path}`, { headers: sent, body: text });
}

async function applied(body, options) {
  assertResponse(await deliver(body, options), 200, APPLIED);
}

/** Django's `pbkdf2_sha256` encoding of `password` (the worker's test target is 1000 iterations). */
function djangoHash(password, iterations = 1000) {
  const salt = randomBytes(9).toString("hex");
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

// Django's ids: below USER_ID_START, apart from anything the worker makes.
let lastId = 4000;

/** A user record as Django sends it: the eleven keys every model has, then `extra`. */
function djangoUser(extra = {}) {
  lastId += 1;
  return {
    id: lastId, email: `grace${lastId}.${Date.now()}@example.com`, password: djangoHash(PASSWORD),
    first_name: "Grace", last_name: "Hopper", is_active: true, is_staff: false, is_superuser: false,
    date_joined: "2024-01-01T10:00:00Z", last_login: null, ...extra,
  };
}

/** A Django user the worker has been told of (`user.created`), logged in here: { record, pair }. */
async function djangoUserLoggedIn(extra = {}) {
  const record = djangoUser(extra);
  await applied(event("user.created", { user: record }));
  const response = await login(worker, record.email, PASSWORD);
  assert.equal(response.status, 200, response.text);
  return { record, pair: response.body };
}

async function loginPair(email, password = PASSWORD) {
  const response = await login(worker, email, password);
  assert.equal(response.status, 200, response.text);
  return response.body;
}

const refresh = (token) => worker.post(`${SHORT}/token/refresh`, { refresh_token: token });
const claims = (token) => decodeSegment(token, 1);

function assertAccessDead(response, message = "Token is blacklisted") {
  assert.equal(response.status, 401, response.text);
  assert.deepEqual(response.body, accessTokenError(message));
}

function assertRefreshDead(response) {
  assert.equal(response.status, 401, response.text);
  assert.deepEqual(response.body, BLACKLISTED);
}

/** The first line of the worker's log that contains `text`, waiting a little for it. */
async function logLine(text) {
  for (let i = 0; i < 50; i += 1) {
    const line = worker.output.find((candidate) => candidate.includes(text));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no log line with ${text}`);
}

const USER_INACTIVE = { detail: "User is inactive", code: "user_inactive" };
const NO_ACTIVE_ACCOUNT = { detail: "No active account found for the given token." };

describe("user.created and user.updated", () => {
  test("a user made on Django logs in here with its own hash and id; the email is folded, a uuid made", async () => {
    const record = djangoUser({ email: `Grace.Hopper+${lastId + 1}@ＥＸＡＭＰＬＥ.com` });
    await applied(event("user.created", { user: record }));
    const email = `grace.hopper+${record.id}@example.com`;
    const { user } = await loginPair(email);
    assert.equal(user.id, record.id);
    assert.equal(user.email, email);
    assert.match(user.uuid, UUID_V4);
    assert.equal(user.date_joined, "2024-01-01T10:00:00Z");
    assert.match(user.last_login, ISO_UTC);
    assert.deepEqual(
      [user.first_name, user.full_name, user.timezone, user.account_status, user.phone_number, user.is_practitioner],
      ["Grace", "Grace Hopper", "UTC", "active", null, false],
    );
    assert.equal((await login(worker, email, "not-the-password")).status, 401);
  });

  test("the spec's fields Django's model has are taken as sent, the uuid with them", async () => {
    const uuid = "8c9d6b0e-4f3a-4b1e-9a7d-2f1c3b5a6d7e";
    const { pair } = await djangoUserLoggedIn({
      uuid, phone_number: "+15550100", phone_number_verified: true, timezone: "Europe/Paris",
      is_practitioner: true, account_status: "active", email_verified: true, is_staff: true,
    });
    const profile = (await me(worker, pair.access_token, SHORT)).body;
    assert.deepEqual(
      [profile.uuid, profile.phone_number, profile.phone_number_verified, profile.timezone, profile.is_practitioner, profile.is_staff],
      [uuid, "+15550100", true, "Europe/Paris", true, true],
    );
  });

  test("an update changes what me/ shows, names, flags and hash included", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    const changed = { ...record, first_name: "Amazing", last_name: "Grace", is_staff: true, is_superuser: true };
    await applied(event("user.updated", { user: changed }), { prefix: SHORT, path: "sync/events" });
    const profile = (await me(worker, pair.access_token)).body;
    assert.deepEqual(
      [profile.first_name, profile.full_name, profile.is_staff, profile.is_superuser, profile.id],
      ["Amazing", "Amazing Grace", true, true, record.id],
    );
    // The session lives on: an update is no revocation.
    assert.equal((await refresh(pair.refresh_token)).status, 200);
  });

  test("an update keeps the fields Django's model lacks as they are here; a null phone number is a value", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    const patched = await worker.fetch(`${DRF}/me/`,
      { method: "PATCH", body: { phone_number: "+15550199", timezone: "Asia/Tokyo" }, token: pair.access_token });
    assert.equal(patched.status, 200, patched.text);
    await applied(event("user.updated", { user: { ...record, first_name: "Kept" } }));
    let profile = (await me(worker, pair.access_token)).body;
    assert.deepEqual([profile.first_name, profile.phone_number, profile.timezone], ["Kept", "+15550199", "Asia/Tokyo"]);
    await applied(event("user.updated", { user: { ...record, phone_number: null } }));
    profile = (await me(worker, pair.access_token)).body;
    assert.deepEqual([profile.phone_number, profile.timezone], [null, "Asia/Tokyo"]);
  });

  test("a verified address stays verified through updates, unless Django changes it", async () => {
    const { record, pair } = await djangoUserLoggedIn({ email_verified: true });
    const status = async (token) => (await worker.fetch(`${DRF}/email/`, { token })).body;
    assert.deepEqual(await status(pair.access_token), { email: record.email, verified: true });
    const { email_verified: _, ...withoutFlag } = record;
    await applied(event("user.updated", { user: { ...withoutFlag, last_name: "Same Address" } }));
    assert.deepEqual(await status(pair.access_token), { email: record.email, verified: true });
    const moved = `moved${record.id}@example.com`;
    await applied(event("user.updated", { user: { ...withoutFlag, email: moved } }));
    assert.deepEqual(await status(pair.access_token), { email: moved, verified: false });
    assert.equal((await login(worker, record.email, PASSWORD)).status, 401, "the old address is gone");
    await loginPair(moved);
  });

  test("user.updated for an id the worker does not have creates the user; user.created for a known id updates it", async () => {
    const record = djangoUser();
    await applied(event("user.updated", { user: record }));
    const pair = await loginPair(record.email);
    await applied(event("user.created", { user: { ...record, first_name: "Again" } }));
    assert.equal((await me(worker, pair.access_token)).body.first_name, "Again");
  });

  test("an update that makes the account inactive ends all its sessions, as user.deactivated does", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    await applied(event("user.updated", { user: { ...record, is_active: false } }));
    assertAccessDead(await me(worker, pair.access_token));
    assertRefreshDead(await refresh(pair.refresh_token));
    assert.equal((await login(worker, record.email, PASSWORD)).status, 401);
    // Active again: logins work, the sessions it had stay ended.
    await applied(event("user.updated", { user: record }));
    await loginPair(record.email);
    assertRefreshDead(await refresh(pair.refresh_token));
  });
});

describe("user.password_changed", () => {
  test("only the new password works here, and nothing else changes", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    await applied(event("user.password_changed", { user_id: record.id, password: djangoHash(NEW_PASSWORD) }));
    assert.equal((await login(worker, record.email, PASSWORD)).status, 401, "the old password");
    await loginPair(record.email, NEW_PASSWORD);
    // Revocations come as their own events (user.sessions_revoked).
    assert.equal((await me(worker, pair.access_token)).status, 200);
    // The owner's audit trail shows the change, as Django's, with no address of a client.
    const trail = await worker.fetch(`${DRF}/events/`, { token: pair.access_token });
    const changed = trail.body.results.find((entry) => entry.type === "password_changed");
    assert.deepEqual(
      [changed.outcome, changed.detail, changed.ip, changed.user_agent],
      ["success", { source: "django" }, null, null],
    );
  });

  test("for a user the worker does not have, there is nothing to do", async () => {
    await applied(event("user.password_changed", { user_id: 3999, password: djangoHash(NEW_PASSWORD) }));
  });
});

describe("user.deactivated", () => {
  test("refuses the account's logins and every token it holds", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    const other = await loginPair(record.email);
    await applied(event("user.deactivated", { user_id: record.id }));
    assert.equal((await login(worker, record.email, PASSWORD)).status, 401);
    for (const { access_token, refresh_token } of [pair, other]) {
      assertAccessDead(await me(worker, access_token));
      assertRefreshDead(await refresh(refresh_token));
    }
    // Tokens Django mints after it (no session here, past the cut-off) meet the inactive account.
    assertResponse(await me(worker, mintToken(claimsFor(record.id, { now: nowSecs() + 2 }))), 401, USER_INACTIVE);
    const djangoRefresh = mintToken(claimsFor(record.id, { type: "refresh", lifetime: 604800 }));
    assertResponse(await refresh(djangoRefresh), 401, NO_ACTIVE_ACCOUNT);
  });

  test("for a user the worker does not have, there is nothing to do", async () => {
    await applied(event("user.deactivated", { user_id: 3998 }));
  });
});

describe("user.sessions_revoked", () => {
  test("kills every token issued before `before` but those of the session kept", async () => {
    const { record, pair: ended } = await djangoUserLoggedIn();
    const kept = await loginPair(record.email);
    const before = nowSecs() - 5;
    const djangoOlder = mintToken(claimsFor(record.id, { now: before - 5 }));
    const djangoNewer = mintToken(claimsFor(record.id, { now: before + 2 }));
    await applied(event("user.sessions_revoked", { user_id: record.id, before, except_sid: claims(kept.refresh_token).sid }));
    assertAccessDead(await me(worker, ended.access_token));
    assertRefreshDead(await refresh(ended.refresh_token));
    assertAccessDead(await me(worker, djangoOlder));
    // The cut-off is `before`, not the worker's clock: a Django token issued after it lives.
    assert.equal((await me(worker, djangoNewer)).status, 200);
    assert.equal((await me(worker, kept.access_token)).status, 200);
    assert.equal((await refresh(kept.refresh_token)).status, 200);
  });

  test("a `before` in the future is taken as now: later logins work", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    await applied(event("user.sessions_revoked", { user_id: record.id, before: nowSecs() + 3600, except_sid: null }));
    assertAccessDead(await me(worker, pair.access_token));
    const fresh = await loginPair(record.email);
    assert.equal((await me(worker, fresh.access_token)).status, 200);
  });
});

describe("session.revoked", () => {
  test("kills that session's access and refresh tokens, and no other session's", async () => {
    const { record, pair: ended } = await djangoUserLoggedIn();
    const other = await loginPair(record.email);
    await applied(event("session.revoked", { user_id: record.id, sid: claims(ended.refresh_token).sid }));
    assertAccessDead(await me(worker, ended.access_token));
    assertRefreshDead(await refresh(ended.refresh_token));
    assert.equal((await me(worker, other.access_token)).status, 200);
    assert.equal((await refresh(other.refresh_token)).status, 200);
  });

  test("a session of another user is left alone", async () => {
    const victim = await djangoUserLoggedIn();
    const { record } = await djangoUserLoggedIn();
    await applied(event("session.revoked", { user_id: record.id, sid: claims(victim.pair.refresh_token).sid }));
    assert.equal((await me(worker, victim.pair.access_token)).status, 200);
  });
});

describe("token.revoked", () => {
  const revoked = (token, reason, { sid = claims(token).sid } = {}) => {
    const { jti, exp, user_id } = claims(token);
    return event("token.revoked", { user_id: Number(user_id), jti, exp, sid, reason });
  };

  test("rotated: only that refresh token dies, its session lives on", async () => {
    const { pair } = await djangoUserLoggedIn();
    await applied(revoked(pair.refresh_token, "rotated"));
    assertRefreshDead(await refresh(pair.refresh_token));
    assert.equal((await me(worker, pair.access_token)).status, 200);
  });

  test("logout: its session ends too, named by sid or found where the jti is recorded", async () => {
    for (const sid of [undefined, null]) {
      const { pair } = await djangoUserLoggedIn();
      await applied(revoked(pair.refresh_token, "logout", sid === null ? { sid: null } : {}));
      assertRefreshDead(await refresh(pair.refresh_token));
      assertAccessDead(await me(worker, pair.access_token));
    }
  });

  test("a Django refresh token blacklisted there is refused here, in KV and in D1 for good", async () => {
    const { record } = await djangoUserLoggedIn();
    const djangoRefresh = mintToken(claimsFor(record.id, { type: "refresh", lifetime: 604800, now: nowSecs() - 5 }));
    await applied(revoked(djangoRefresh, "logout", { sid: null }));
    assertRefreshDead(await refresh(djangoRefresh));
    const kv = await blacklist(worker);
    assert.equal(await kv.get(claims(djangoRefresh).jti), "revoked");
    await kv.delete(claims(djangoRefresh).jti);
    assertRefreshDead(await refresh(djangoRefresh));
  });

  test("for a user the worker does not have, the jti is still blacklisted", async () => {
    const token = mintToken(claimsFor(3997, { type: "refresh", lifetime: 604800 }));
    await applied(revoked(token, "revoked", { sid: null }));
    assert.equal(await (await blacklist(worker)).get(claims(token).jti), "revoked");
  });
});

describe("the signature is checked before anything else", () => {
  async function assertRefused(response, body) {
    assertResponse(response, 401, body);
    assert.equal(response.headers.get("www-authenticate"), 'Edge-Auth-Signature realm="api"');
  }

  /** A password change for a fresh Django user, and a check that it never took effect. */
  async function target() {
    const { record } = await djangoUserLoggedIn();
    const body = event("user.password_changed", { user_id: record.id, password: djangoHash(NEW_PASSWORD) });
    const untouched = async () => {
      await loginPair(record.email, PASSWORD);
      assert.equal((await login(worker, record.email, NEW_PASSWORD)).status, 401);
    };
    return { record, body, untouched };
  }

  test("a tampered body is refused, and not applied", async () => {
    const { body, untouched } = await target();
    const text = JSON.stringify(body);
    const forged = text.replace(body.data.password, () => djangoHash("attacker-password"));
    assert.notEqual(forged, text);
    await assertRefused(await deliver(forged, { headers: {
      "content-type": "application/json", "edge-auth-signature": signature(text),
    } }), INVALID);
    await untouched();
  });

  test("a signature made with another secret is refused", async () => {
    const { body, untouched } = await target();
    await assertRefused(await deliver(body, { sign: { secret: `${SECRET}-not` } }), INVALID);
    await assertRefused(await deliver(body, { sign: { secret: "" } }), INVALID);
    await untouched();
  });

  test("a signature older or newer than 300 seconds is expired; within them it holds", async () => {
    const { body, untouched } = await target();
    await assertRefused(await deliver(body, { sign: { t: nowSecs() - 310 } }), EXPIRED);
    await assertRefused(await deliver(body, { sign: { t: nowSecs() + 310 } }), EXPIRED);
    await untouched();
    await applied(body, { sign: { t: nowSecs() - 280 } });
  });

  test("a missing, repeated or malformed header is refused, whatever the body", async () => {
    const { body, untouched } = await target();
    const text = JSON.stringify(body);
    const good = signature(text);
    const [t, v1] = good.split(",");
    const headers = (value) => (value === undefined
      ? { "content-type": "application/json" }
      : { "content-type": "application/json", "edge-auth-signature": value });
    for (const value of [
      undefined, "", good.toUpperCase(), `${good},${good}`, `${good}, ${t}`, `${v1},${t},v0=00`, t, v1,
      `${t},v1=${v1.slice(3).slice(0, -2)}`, "t=abc,v1=00", `t=-1,${v1}`, "garbage", `${good} ${good}`,
    ]) {
      await assertRefused(await deliver(text, { headers: headers(value) }), INVALID);
    }
    // Two headers arrive joined by a comma: refused as a repeated part.
    const twice = new Headers({ "content-type": "application/json" });
    twice.append("edge-auth-signature", good);
    twice.append("edge-auth-signature", good);
    await assertRefused(await deliver(text, { headers: twice }), INVALID);
    // An unsigned body is not even parsed: not JSON, still 401.
    await assertRefused(await deliver("not json", { headers: headers(undefined) }), INVALID);
    await untouched();
  });
});

describe("each event id is applied once", () => {
  test("a replayed password change is 409 and does not roll a later change back", async () => {
    const { record } = await djangoUserLoggedIn();
    const first = event("user.password_changed", { user_id: record.id, password: djangoHash(NEW_PASSWORD) });
    await applied(first);
    await applied(event("user.password_changed", { user_id: record.id, password: djangoHash("the-latest-password-3") }));
    assertResponse(await deliver(first, { prefix: SHORT }), 409, REPEATED);
    assert.equal((await login(worker, record.email, NEW_PASSWORD)).status, 401);
    await loginPair(record.email, "the-latest-password-3");
  });

  test("a replayed user update is 409 and changes nothing back", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    const first = event("user.updated", { user: { ...record, first_name: "First" } });
    await applied(first);
    await applied(event("user.updated", { user: { ...record, first_name: "Second" } }));
    assertResponse(await deliver(first), 409, REPEATED);
    assert.equal((await me(worker, pair.access_token)).body.first_name, "Second");
  });

  test("a replayed revocation is 409 and revokes nothing new", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    const revocation = event("user.sessions_revoked", { user_id: record.id, before: nowSecs() - 5, except_sid: null });
    await applied(revocation);
    const later = await loginPair(record.email);
    assertResponse(await deliver(revocation), 409, REPEATED);
    assertAccessDead(await me(worker, pair.access_token));
    assert.equal((await me(worker, later.access_token)).status, 200);
  });

  /** Delivers `body` while storage fails on `failing` (a trigger's statement): a 500, never recorded. */
  async function failsWhile(failing, body) {
    await worker.db.prepare(`CREATE TRIGGER sync_storage_down ${failing} BEGIN SELECT RAISE(ABORT, 'storage down'); END`).run();
    try {
      assertResponse(await deliver(body), 500, { detail: "A server error occurred." });
    } finally {
      await worker.db.prepare("DROP TRIGGER sync_storage_down").run();
    }
  }

  test("an event whose application failed is not recorded: the sender's retry applies it", async () => {
    const { record, pair } = await djangoUserLoggedIn();
    // The event's own writes fail (the batch the id is recorded in).
    const change = event("user.password_changed", { user_id: record.id, password: djangoHash(NEW_PASSWORD) });
    await failsWhile("BEFORE UPDATE OF password ON users", change);
    await loginPair(record.email, PASSWORD);
    await applied(change);
    await loginPair(record.email, NEW_PASSWORD);
    // A revocation fails after the flag was written (the id is recorded after both).
    const deactivation = event("user.deactivated", { user_id: record.id });
    await failsWhile("BEFORE UPDATE OF revoked_at ON sessions", deactivation);
    await applied(deactivation);
    assertRefreshDead(await refresh(pair.refresh_token));
  });
});

describe("events the worker cannot apply are 400, not to be retried", () => {
  test("a user whose email is another user's here conflicts; the address is not logged; nothing is recorded", async () => {
    const { record: owner } = await djangoUserLoggedIn();
    const intruder = djangoUser({ email: owner.email.toUpperCase() });
    const conflicting = event("user.created", { user: intruder });
    const response = await deliver(conflicting);
    assert.equal(response.status, 400, response.text);
    assert.match(response.body.detail, /conflicts/);
    // Logged for a person to settle, by event id and without the address.
    const logged = await logLine(conflicting.id);
    assert.match(logged, /email belongs to another user/);
    assert.ok(!worker.output.some((line) => line.toLowerCase().includes(owner.email)), "no address in the log");
    assert.equal((await login(worker, owner.email, PASSWORD)).body.user.id, owner.id, "the owner is untouched");
    // Once a person has settled it (the owner's address changed), the same event applies.
    await applied(event("user.updated", { user: { ...owner, email: `settled${owner.id}@example.com` } }));
    await applied(conflicting);
    assert.equal((await loginPair(owner.email)).user.id, intruder.id);
  });

  test("a uuid that is another user's conflicts", async () => {
    const uuid = "0b7e6a1c-2d3f-4a5b-8c9d-0e1f2a3b4c5d";
    await djangoUserLoggedIn({ uuid });
    const response = await deliver(event("user.created", { user: djangoUser({ uuid }) }));
    assert.equal(response.status, 400, response.text);
    assert.match(response.body.detail, /uuid conflicts/);
  });

  test("unknown types, missing fields, bad emails and bad JSON are refused with the reason", async () => {
    const cases = [
      [event("user.exploded", { user_id: 1 }), "Unknown event type."],
      [event("user.deactivated", {}), "data.user_id must be an integer."],
      [event("user.deactivated", { user_id: 0 }), "data.user_id must be a positive integer."],
      [event("token.revoked", { user_id: 1, jti: "a", exp: 1, reason: "lost" }), "Unknown reason in data.reason."],
      [event("user.created", { user: djangoUser({ email: "not-an-address" }) }), "user.email is not a valid email address."],
      [event("user.created", { user: djangoUser({ email: '"quoted"@example.com' }) }), "user.email is not a valid email address."],
      [event("user.created", { user: djangoUser({ uuid: "42" }) }), "user.uuid is not a UUID."],
      [{ ...event("user.deactivated", { user_id: 1 }), id: "NOT-HEX" }, "An event needs an id of 32 lowercase hex digits."],
      ["{\"id\": ", "The body is not JSON."],
      ["[]", "An event is a JSON object."],
    ];
    for (const [body, detail] of cases) {
      assertResponse(await deliver(body), 400, { detail });
    }
  });

  test("a signed body that is not application/json is 415", async () => {
    const text = JSON.stringify(event("user.deactivated", { user_id: 3996 }));
    const response = await deliver(text, { headers: { "content-type": "text/plain", "edge-auth-signature": signature(text) } });
    assertResponse(response, 415, { detail: 'Unsupported media type "text/plain" in request.' });
  });

  test("a body over MAX_BODY_BYTES is 413 before anything is checked", async () => {
    const text = JSON.stringify(event("user.deactivated", { user_id: 1, padding: "x".repeat(70000) }));
    assertResponse(await deliver(text), 413, { detail: "Request body too large." });
  });
});

describe("the endpoint", () => {
  test("serves POST only: 405 with Allow", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await raw(worker, `${DRF}/sync/events/`, { method });
      assertResponse(response, 405, { detail: `Method "${method}" not allowed.` });
      assert.equal(response.headers.get("allow"), "POST, OPTIONS");
    }
  });

  test("does not exist without DJANGO_SYNC_SECRET: 404 even to a well-signed event", async () => {
    const plain = await startWorker();
    try {
      const text = JSON.stringify(event("user.deactivated", { user_id: 1 }));
      const response = await raw(plain, `${DRF}/sync/events/`,
        { headers: { "content-type": "application/json", "edge-auth-signature": signature(text) }, body: text });
      assertResponse(response, 404, { detail: "Not found." });
    } finally {
      await plain.dispose();
    }
  });
});
