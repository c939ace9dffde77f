// Issue 10, findings 2 and 3: user ids that cannot collide with Django's, and password writes that
// a racing login cannot undo.
import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, decodeSegment, startWorker } from "../support.mjs";
import { LOGIN_FAILED, assertUnauthorized, heldBody, login, raw } from "./helpers.mjs";

const DEFAULT_USER_ID_START = 1_000_000_000;

/** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, exactly as make_password writes it. */
function djangoHash(password, iterations) {
  const salt = randomBytes(16).toString("hex").slice(0, 22);
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

/** Inserts a user row the way an import of Django's table does: Django's id kept. */
function insertImportedUser(worker, id, email) {
  return worker.db
    .prepare("INSERT INTO users (id, uuid, email, password, date_joined) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(id, randomUUID(), email, djangoHash("imported-user-password", 1000), "2024-01-01T00:00:00Z")
    .run();
}

describe("finding 2: new ids come from a range disjoint from Django's", () => {
  describe("with the default USER_ID_START", () => {
    let worker;
    before(async () => {
      worker = await startWorker();
    });
    after(() => worker?.dispose());

    test("a newly registered user's id is at least 1,000,000,000, in the profile and in the tokens", async () => {
      const user = await worker.register();
      assert.ok(user.user.id >= DEFAULT_USER_ID_START, `id ${user.user.id}`);
      assert.equal(decodeSegment(user.access_token, 1).user_id, String(user.user.id));
      assert.equal(decodeSegment(user.refresh_token, 1).user_id, String(user.user.id));
      const profile = await worker.fetch(`${DRF}/me/`, { token: user.access_token });
      assert.equal(profile.body.id, user.user.id);
    });

    test("an imported row with a low id does not pull new ids down to Django's range", async () => {
      await insertImportedUser(worker, 7, `imported.seven.${Date.now()}@example.com`);
      const user = await worker.register();
      assert.ok(user.user.id >= DEFAULT_USER_ID_START, `id ${user.user.id}`);
    });
  });

  describe("with USER_ID_START=5000", () => {
    let worker;
    before(async () => {
      worker = await startWorker({ USER_ID_START: "5000" });
    });
    after(() => worker?.dispose());

    test("the first registered user gets an id of at least 5000", async () => {
      const user = await worker.register();
      assert.ok(user.user.id >= 5000, `id ${user.user.id}`);
    });

    test("after importing a user with id 7 the next registrations still get ids of at least 5000", async () => {
      await insertImportedUser(worker, 7, `imported.low.${Date.now()}@example.com`);
      for (let i = 0; i < 3; i++) {
        const user = await worker.register();
        assert.ok(user.user.id >= 5000, `id ${user.user.id}`);
      }
    });
  });
});

describe("finding 3: password writes are compare-and-set", () => {
  let worker;
  before(async () => {
    worker = await startWorker(); // PBKDF2_ITERATIONS is 1000: a 500-iteration hash is re-hashed at login
  });
  after(() => worker?.dispose());

  const OLD = "correct-horse-battery-staple";
  const NEW = "a-fresh-unguessable-passphrase";
  const TRIALS = 20;

  const setHash = (user, encoded) =>
    worker.db.prepare("UPDATE users SET password = ?1 WHERE id = ?2").bind(encoded, user.user.id).run();
  const changePassword = (user) =>
    worker.post(`${DRF}/change-password/`,
      { old_password: OLD, new_password: NEW, new_password_confirm: NEW },
      { token: user.access_token });

  test(`a login re-hashing the old password never writes it back over a racing change-password/ (${TRIALS} trials)`, async () => {
    const outcomes = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const user = await worker.register({ password: OLD, password_confirm: OLD });
      // A weaker hash than the worker's: a login with the old password re-hashes it.
      await setHash(user, djangoHash(OLD, 500));
      // Both requests wait at their bodies, then are let go together (every other trial 1 ms
      // apart): the login reads the weak hash, the change writes the new one, and only then
      // does the login's re-hash of the old password come to be written.
      const loginBody = heldBody({ email: user.email, password: OLD });
      const changeBody = heldBody({ old_password: OLD, new_password: NEW, new_password_confirm: NEW });
      const json = { "content-type": "application/json" };
      const changing = raw(worker, `${DRF}/change-password/`,
        { headers: { ...json, authorization: `Bearer ${user.access_token}` }, body: changeBody.stream });
      const loggingIn = raw(worker, `${DRF}/login/`, { headers: json, body: loginBody.stream });
      await sleep(100);
      loginBody.release();
      if (trial % 2) await sleep(1);
      changeBody.release();
      const [changed] = await Promise.all([changing, loggingIn]);
      assert.equal(changed.status, 200, changed.text);
      const withNew = await login(worker, user.email, NEW);
      const withOld = await login(worker, user.email, OLD);
      outcomes.push(`${withNew.status}/${withOld.status}`);
    }
    const bad = outcomes.filter((outcome) => outcome !== "200/401");
    assert.deepEqual(bad, [], `trials ending otherwise than new password 200 / old password 401: ${outcomes.join(" ")}`);
  });

  test("a successful change-password/ leaves no other session alive", async () => {
    const user = await worker.register({ password: OLD, password_confirm: OLD });
    const other = (await login(worker, user.email, OLD)).body;
    assert.equal((await changePassword(user)).status, 200);
    const refreshed = await worker.post(`${DRF}/token/refresh/`, { refresh_token: other.refresh_token });
    assert.equal(refreshed.status, 401, refreshed.text);
    assertUnauthorized(await login(worker, user.email, OLD), LOGIN_FAILED);
  });
});
