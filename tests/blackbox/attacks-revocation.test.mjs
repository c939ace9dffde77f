// Issue 10, finding 1: revocation must cover every token, not only the worker's own sessions.
// Tokens minted by the Django side (simplejwt: no `sid`) die with logout-all/ and change-password/
// (the user's "tokens valid after" instant, checked against `iat`); a token naming a revoked
// session is never adopted; a logged-out Django refresh token is recorded in D1, not only in KV.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import { accessTokenError, blacklist, claimsFor, me, mintToken, nowSecs, refreshTokenError } from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const BLACKLISTED = refreshTokenError("Token is blacklisted");
const NEW = "a-fresh-unguessable-passphrase";

// The cut-off is the current second and tokens with iat >= cut-off stay valid: Django's tokens
// are minted a few seconds in the past so that they were certainly issued before it.
const EARLIER = () => nowSecs() - 5;
/** An access token as Django's simplejwt mints it for `user` (no `sid`), issued a moment ago. */
const djangoAccess = (user) => mintToken(claimsFor(user.user.id, { now: EARLIER() }));
/** A refresh token as Django's simplejwt mints it for `user` (no `sid`), issued a moment ago. */
const djangoRefresh = (user, extra = {}) =>
  mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: EARLIER(), ...extra }));

const refresh = (token) => worker.post(`${DRF}/token/refresh/`, { refresh_token: token });
const logoutAll = (user) => worker.post(`${SHORT}/logout-all/`, undefined, { token: user.access_token });
const logout = (access, refreshToken) => worker.post(`${DRF}/logout/`, { refresh_token: refreshToken }, { token: access });
const changePassword = (user) =>
  worker.post(`${DRF}/change-password/`,
    { old_password: user.password, new_password: NEW, new_password_confirm: NEW },
    { token: user.access_token });

function assertAccessBlacklisted(response) {
  assert.equal(response.status, 401, response.text);
  assert.deepEqual(response.body, accessTokenError("Token is blacklisted"));
}

function assertRefreshBlacklisted(response) {
  assert.equal(response.status, 401, response.text);
  assert.deepEqual(response.body, BLACKLISTED);
}

describe("a Django-minted access token (no sid)", () => {
  test("reads me/ until logout-all/, then is refused as blacklisted", async () => {
    const user = await worker.register();
    const token = djangoAccess(user);
    assert.equal((await me(worker, token)).status, 200, "valid before the logout");
    assert.equal((await logoutAll(user)).status, 200);
    assertAccessBlacklisted(await me(worker, token));
  });

  test("is refused as blacklisted after change-password/, while the caller's own session keeps working", async () => {
    const user = await worker.register();
    const token = djangoAccess(user);
    assert.equal((await me(worker, token)).status, 200, "valid before the change");
    assert.equal((await changePassword(user)).status, 200);
    assertAccessBlacklisted(await me(worker, token));
    assert.equal((await me(worker, user.access_token)).status, 200, "the caller's session survives");
  });
});

describe("a Django-minted refresh token (no sid)", () => {
  test("is refused as blacklisted by token/refresh/ after logout-all/, and starts no session", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    assert.equal((await logoutAll(user)).status, 200);
    assertRefreshBlacklisted(await refresh(token));
    const sessions = await worker.db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL")
      .bind(user.user.id).first();
    assert.equal(sessions.n, 0, "no live session was adopted");
  });

  test("is refused as blacklisted by token/refresh/ after change-password/", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    assert.equal((await changePassword(user)).status, 200);
    assertRefreshBlacklisted(await refresh(token));
  });

  test("logged out with logout/ stays refused when its KV entry is gone (D1 records it)", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    assert.equal((await logout(user.access_token, token)).status, 200);
    const kv = await blacklist(worker);
    await kv.delete(decodeSegment(token, 1).jti);
    assertRefreshBlacklisted(await refresh(token));
  });
});

describe("a refresh token naming a revoked session with a jti never seen before", () => {
  // Exactly what Django's refresh view hands back after rotating one of the worker's tokens: the
  // claims copied (sid included), a new jti and iat. It is minted after the revocation, so only the
  // session's state can refuse it.
  const successorOf = (user, sid) =>
    mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, sid }));

  test("is refused after the session was logged out with logout/", async () => {
    const user = await worker.register();
    const { sid } = decodeSegment(user.refresh_token, 1);
    assert.equal((await logout(user.access_token, user.refresh_token)).status, 200);
    const response = await refresh(successorOf(user, sid));
    assert.equal(response.status, 401, response.text);
    assert.equal(response.body.code, "token_not_valid");
  });

  test("is refused after the session was deleted through sessions/", async () => {
    const user = await worker.register();
    const other = (await worker.post(`${DRF}/login/`, { email: user.email, password: user.password })).body;
    const { sid } = decodeSegment(other.refresh_token, 1);
    const deleted = await worker.fetch(`${SHORT}/sessions/${sid}/`, { method: "DELETE", token: user.access_token });
    assert.equal(deleted.status, 204);
    const response = await refresh(successorOf(user, sid));
    assert.equal(response.status, 401, response.text);
    assert.equal(response.body.code, "token_not_valid");
  });

  test("is refused after logout-all/ revoked the session", async () => {
    const user = await worker.register();
    const { sid } = decodeSegment(user.refresh_token, 1);
    assert.equal((await logoutAll(user)).status, 200);
    const response = await refresh(successorOf(user, sid));
    assert.equal(response.status, 401, response.text);
    assert.equal(response.body.code, "token_not_valid");
  });
});
