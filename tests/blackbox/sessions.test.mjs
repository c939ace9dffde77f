// Sessions that cannot be replayed: atomic rotation, reuse detection, revocation (issue 3).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import { assertNoStore } from "./helpers.mjs";

const BLACKLISTED = { detail: "Token is blacklisted", code: "token_not_valid" };
const accessRefused = (message) => ({
  detail: "Given token not valid for any token type",
  code: "token_not_valid",
  messages: [{ token_class: "AccessToken", token_type: "access", message }],
});

let worker;
before(async () => {
  // A reuse interval of 1 s keeps the "after the interval" cases quick.
  worker = await startWorker({ REFRESH_REUSE_INTERVAL_SECS: "1" });
});
after(() => worker?.dispose());

const refresh = (token) => worker.post(`${DRF}/token/refresh/`, { refresh_token: token });
const me = (token) => worker.fetch(`${DRF}/me/`, { token });
const logout = (access, refreshToken) => worker.post(`${DRF}/logout/`, { refresh_token: refreshToken }, { token: access });
const login = (user, headers = {}) =>
  worker.post(`${DRF}/login/`, { email: user.email, password: user.password }, { headers });

async function rowsOfSession(sid) {
  const { results } = await worker.db.prepare("SELECT * FROM refresh_tokens WHERE session_id = ?1").bind(sid).all();
  return results;
}

describe("rotation", () => {
  test("tokens carry the session id, and register starts a session", async () => {
    const user = await worker.register();
    const sid = decodeSegment(user.access_token, 1).sid;
    assert.match(sid, /^[0-9a-f]{32}$/);
    assert.equal(decodeSegment(user.refresh_token, 1).sid, sid);
    assert.equal((await rowsOfSession(sid)).length, 1);
  });

  test("twenty parallel refreshes with one token mint exactly one successor", async () => {
    const user = await worker.register();
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refresh_token)));
    assert.deepEqual(responses.map((r) => r.status), Array(20).fill(200));
    const successors = new Set(responses.map((r) => r.body.refresh_token));
    assert.equal(successors.size, 1);
    const rows = await rowsOfSession(decodeSegment(user.refresh_token, 1).sid);
    assert.equal(rows.length, 2, "the original and exactly one successor");
    assert.equal(rows.filter((row) => row.used_at !== null).length, 1);
  });

  test("a repeat inside the reuse interval returns the same successor", async () => {
    const user = await worker.register();
    const first = await refresh(user.refresh_token);
    const again = await refresh(user.refresh_token);
    assert.equal(again.status, 200);
    assert.equal(again.body.refresh_token, first.body.refresh_token);
    assert.deepEqual(Object.keys(again.body).sort(), ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert.equal((await me(again.body.access_token)).status, 200);
  });

  test("a replay after the reuse interval revokes the whole session, live successor included", async () => {
    const user = await worker.register();
    const rotated = await refresh(user.refresh_token);
    assert.equal(rotated.status, 200);
    await sleep(2100);
    const replay = await refresh(user.refresh_token);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.body, BLACKLISTED);
    const successor = await refresh(rotated.body.refresh_token);
    assert.equal(successor.status, 401);
    assert.deepEqual(successor.body, BLACKLISTED);
    const access = await me(rotated.body.access_token);
    assert.equal(access.status, 401);
    assert.deepEqual(access.body, accessRefused("Token is blacklisted"));
  });

  test("reuse in one session leaves the user's other sessions alone", async () => {
    const user = await worker.register();
    const other = (await login(user)).body;
    await refresh(user.refresh_token);
    await sleep(2100);
    assert.equal((await refresh(user.refresh_token)).status, 401);
    assert.equal((await me(other.access_token)).status, 200);
    assert.equal((await refresh(other.refresh_token)).status, 200);
  });
});

describe("revocation", () => {
  test("logout makes the session's access token unusable at once", async () => {
    const user = await worker.register();
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }, { token: user.access_token });
    assert.equal(out.status, 200);
    const response = await me(user.access_token);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="api"');
    assert.deepEqual(response.body, accessRefused("Token is blacklisted"));
  });

  test("a logged-out refresh token stays refused when its KV entry is gone", async () => {
    const user = await worker.register();
    await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }, { token: user.access_token });
    const kv = await worker.mf.getKVNamespace("TOKEN_BLACKLIST");
    const jti = decodeSegment(user.refresh_token, 1).jti;
    assert.equal(await kv.get(jti), "revoked");
    await kv.delete(jti);
    const replay = await refresh(user.refresh_token);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.body, BLACKLISTED);
  });

  test("a rotated token replayed later is refused even with its KV entry gone", async () => {
    const user = await worker.register();
    await refresh(user.refresh_token);
    const kv = await worker.mf.getKVNamespace("TOKEN_BLACKLIST");
    await kv.delete(decodeSegment(user.refresh_token, 1).jti);
    await sleep(2100);
    assert.deepEqual((await refresh(user.refresh_token)).body, BLACKLISTED);
  });

  test("logout with a token rotated inside the reuse interval ends the session like its successor would", async () => {
    const user = await worker.register();
    const rotated = await refresh(user.refresh_token);
    const out = await logout(rotated.body.access_token, user.refresh_token);
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.body, { message: "Successfully logged out." });
    assert.deepEqual((await refresh(rotated.body.refresh_token)).body, BLACKLISTED);
    assert.equal((await me(rotated.body.access_token)).status, 401);
  });

  test("logout with a token rotated longer ago than the reuse interval is 400 'Token is blacklisted' and ends the session", async () => {
    const user = await worker.register();
    const rotated = await refresh(user.refresh_token);
    const kv = await worker.mf.getKVNamespace("TOKEN_BLACKLIST");
    await kv.delete(decodeSegment(user.refresh_token, 1).jti); // D1 decides, not KV
    await sleep(2100);
    const out = await logout(rotated.body.access_token, user.refresh_token);
    assert.equal(out.status, 400, out.text);
    assert.deepEqual(out.body, BLACKLISTED);
    assert.deepEqual((await refresh(rotated.body.refresh_token)).body, BLACKLISTED);
    assert.deepEqual((await me(rotated.body.access_token)).body, accessRefused("Token is blacklisted"));
  });

  test("changing the password ends every other session but keeps the current one", async () => {
    const user = await worker.register();
    const other = (await login(user)).body;
    const changed = await worker.post(
      `${DRF}/change-password/`,
      { old_password: user.password, new_password: "a-new-long-passphrase", new_password_confirm: "a-new-long-passphrase" },
      { token: user.access_token },
    );
    assert.equal(changed.status, 200);
    assert.deepEqual((await me(other.access_token)).body, accessRefused("Token is blacklisted"));
    assert.deepEqual((await refresh(other.refresh_token)).body, BLACKLISTED);
    assert.equal((await me(user.access_token)).status, 200);
    assert.equal((await refresh(user.refresh_token)).status, 200);
  });

  test("logout-all ends every session of the caller", async () => {
    const user = await worker.register();
    const other = (await login(user)).body;
    const out = await worker.post(`${SHORT}/logout-all/`, undefined, { token: user.access_token });
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, { message: "Successfully logged out of all sessions." });
    for (const session of [user, other]) {
      assert.equal((await me(session.access_token)).status, 401);
      assert.deepEqual((await refresh(session.refresh_token)).body, BLACKLISTED);
    }
    assert.equal((await worker.post(`${DRF}/logout-all/`, undefined, {})).status, 401);
  });
});

describe("sessions API", () => {
  test("lists the caller's live sessions with the current one flagged", async () => {
    const user = await worker.register();
    const other = (await login(user, { "user-agent": "edge-auth-test/2" })).body;
    const listed = await worker.fetch(`${DRF}/sessions/`, { token: user.access_token });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.length, 2);
    const current = listed.body.find((s) => s.current);
    assert.equal(current.id, decodeSegment(user.access_token, 1).sid);
    const second = listed.body.find((s) => !s.current);
    assert.deepEqual(Object.keys(second).sort(), ["created_at", "current", "id", "last_used_at", "user_agent"]);
    assert.equal(second.id, decodeSegment(other.access_token, 1).sid);
    assert.equal(second.user_agent, "edge-auth-test/2");
    assert.match(second.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test("the list is personal data: GET and HEAD are marked no-store", async () => {
    const user = await worker.register();
    for (const method of ["GET", "HEAD"]) {
      const response = await worker.fetch(`${DRF}/sessions/`, { method, token: user.access_token });
      assert.equal(response.status, 200, `${method} ${response.text}`);
      assertNoStore(response.headers);
    }
  });

  test("deleting a session answers 204 and kills its tokens", async () => {
    const user = await worker.register();
    const other = (await login(user)).body;
    const sid = decodeSegment(other.access_token, 1).sid;
    const deleted = await worker.fetch(`${SHORT}/sessions/${sid}/`, { method: "DELETE", token: user.access_token });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, "");
    assert.equal((await me(other.access_token)).status, 401);
    assert.deepEqual((await refresh(other.refresh_token)).body, BLACKLISTED);
    const listed = await worker.fetch(`${DRF}/sessions/`, { token: user.access_token });
    assert.deepEqual(listed.body.map((s) => s.id), [decodeSegment(user.access_token, 1).sid]);
  });

  test("someone else's session id, or an unknown one, is 404 and stays alive", async () => {
    const alice = await worker.register();
    const mallory = await worker.register();
    const sid = decodeSegment(alice.access_token, 1).sid;
    for (const id of [sid, "0".repeat(32)]) {
      const response = await worker.fetch(`${DRF}/sessions/${id}/`, { method: "DELETE", token: mallory.access_token });
      assert.equal(response.status, 404);
      assert.deepEqual(response.body, { detail: "Not found." });
    }
    assert.equal((await me(alice.access_token)).status, 200);
  });

  test("the sessions endpoints need authentication and serve only their methods", async () => {
    assert.equal((await worker.fetch(`${DRF}/sessions/`)).status, 401);
    const wrong = await worker.post(`${DRF}/sessions/`, {});
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "GET, HEAD, OPTIONS");
    const item = await worker.fetch(`${DRF}/sessions/abc/`);
    assert.equal(item.status, 405);
    assert.equal(item.headers.get("allow"), "DELETE, OPTIONS");
  });
});

describe("account state", () => {
  for (const [label, change] of [
    ["inactive", "is_active = 0"],
    ["suspended", "account_status = 'suspended'"],
  ]) {
    test(`an ${label} account cannot log in, refresh, or use its access token`, async () => {
      const user = await worker.register();
      await worker.db.prepare(`UPDATE users SET ${change} WHERE email = ?1`).bind(user.email).run();
      const loginResponse = await login(user);
      assert.equal(loginResponse.status, 401);
      assert.deepEqual(loginResponse.body, { detail: "Invalid email or password." });
      const refreshed = await refresh(user.refresh_token);
      assert.equal(refreshed.status, 401);
      assert.deepEqual(refreshed.body, { detail: "No active account found for the given token." });
      const profile = await me(user.access_token);
      assert.equal(profile.status, 401);
      assert.deepEqual(profile.body, { detail: "User is inactive", code: "user_inactive" });
    });
  }
});
