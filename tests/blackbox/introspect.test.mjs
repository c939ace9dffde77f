// Token introspection (RFC 7662) for other resource servers: the one configured client, by HTTP
// Basic with its id and secret form-urlencoded first (RFC 6749 §2.3.1), asks about any token and
// hears `{"active": true, …claims}` exactly when the worker itself would take that token now, and
// `{"active": false}` otherwise. Introspecting changes nothing and never echoes the token.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  BLANK, REQUIRED, assertCommonHeaders, assertNoStore, assertResponse, blacklist, claimsFor, login, me, mintToken,
  nowSecs, raw,
} from "./helpers.mjs";

// Characters that form-urlencoding changes (`:` `+` `/` `%`, a space, non-ASCII), so a client that
// skips the encoding is refused and one that does it is let in.
const CLIENT_ID = "resource:server";
const CLIENT_SECRET = "introspection secret+/%é-0123456789";
const NEW = "a-fresh-unguessable-passphrase";

let worker;
let unconfigured;
before(async () => {
  worker = await startWorker({
    INTROSPECTION_CLIENT_ID: CLIENT_ID,
    INTROSPECTION_CLIENT_SECRET: CLIENT_SECRET,
    REFRESH_REUSE_INTERVAL_SECS: "1",
  });
  // An id without its secret is no client at all.
  unconfigured = await startWorker({ INTROSPECTION_CLIENT_ID: CLIENT_ID });
});
after(async () => {
  await worker?.dispose();
  await unconfigured?.dispose();
});

const formEncoded = (text) => new URLSearchParams({ x: text }).toString().slice(2);
/** `Authorization: Basic` for `id` and `secret`, form-urlencoded first unless `encode` is false. */
const basic = (id, secret, { encode = true } = {}) => {
  const [user, password] = encode ? [formEncoded(id), formEncoded(secret)] : [id, secret];
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
};
const CLIENT = basic(CLIENT_ID, CLIENT_SECRET);

/** POSTs `token` to token/introspect/ as a form (or JSON), as `authorization` (null: none). */
function introspect(token, { prefix = DRF, authorization = CLIENT, json = false, hint, on = worker } = {}) {
  const fields = hint === undefined ? { token } : { token, token_type_hint: hint };
  const headers = {
    "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
    ...(authorization === null ? {} : { authorization }),
  };
  const body = json ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
  return raw(on, `${prefix}/token/introspect/`, { headers, body });
}

/** The answer for a live token: `active`, exactly the token's claims, and `sub`. */
function assertActive(response, token) {
  assert.equal(response.status, 200, response.text);
  assertCommonHeaders(response.headers);
  assertNoStore(response.headers);
  const claims = decodeSegment(token, 1);
  assert.deepEqual(response.body, { active: true, ...claims, sub: String(claims.user_id) });
}

function assertInactive(response) {
  assert.equal(response.status, 200, response.text);
  assertCommonHeaders(response.headers);
  assertNoStore(response.headers);
  assert.deepEqual(response.body, { active: false });
}

const INVALID_CLIENT = { error: "invalid_client", detail: "Invalid client credentials." };

function assertInvalidClient(response) {
  assert.equal(response.status, 401, response.text);
  assert.equal(response.headers.get("www-authenticate"), 'Basic realm="edge-auth"');
  assert.deepEqual(response.body, INVALID_CLIENT);
  assertCommonHeaders(response.headers);
}

const refresh = (token) => worker.post(`${DRF}/token/refresh/`, { refresh_token: token });
const logout = (access, refreshToken) => worker.post(`${DRF}/logout/`, { refresh_token: refreshToken }, { token: access });
const logoutAll = (access) => worker.post(`${SHORT}/logout-all/`, undefined, { token: access });
const changePassword = (user, access) =>
  worker.post(`${DRF}/change-password/`,
    { old_password: user.password, new_password: NEW, new_password_confirm: NEW }, { token: access });
const deactivate = (user) => worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(user.user.id).run();
// Django's tokens are minted a few seconds in the past: certainly before any cut-off a test makes.
const EARLIER = () => nowSecs() - 5;
const djangoAccess = (user) => mintToken(claimsFor(user.user.id, { now: EARLIER() }));
const djangoRefresh = (user) => mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: EARLIER() }));

describe("a live token is active, with its claims", () => {
  test("an access token: token_type, exp, iat, jti, user_id, sid and sub, marked no-store", async () => {
    const user = await worker.register();
    const response = await introspect(user.access_token);
    assertActive(response, user.access_token);
    assert.equal(response.body.token_type, "access");
    assert.equal(response.body.sub, String(user.user.id));
    assert.equal(typeof response.body.sid, "string");
  });

  test("a refresh token, under the shorter prefix without the slash", async () => {
    const user = await worker.register();
    const response = await raw(worker, `${SHORT}/token/introspect`, {
      headers: { authorization: CLIENT, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: user.refresh_token }).toString(),
    });
    assertActive(response, user.refresh_token);
    assert.equal(response.body.token_type, "refresh");
  });

  test("a JSON body is read as well as a form", async () => {
    const user = await worker.register();
    assertActive(await introspect(user.access_token, { json: true }), user.access_token);
    assertActive(await introspect(user.refresh_token, { json: true, prefix: SHORT }), user.refresh_token);
  });

  test("token_type_hint is ignored, even when it is wrong", async () => {
    const user = await worker.register();
    assertActive(await introspect(user.access_token, { hint: "refresh_token" }), user.access_token);
    assertActive(await introspect(user.refresh_token, { hint: "access_token", json: true }), user.refresh_token);
  });

  test("a Django-minted access or refresh token (no sid) is active, and has no sid", async () => {
    const user = await worker.register();
    for (const token of [djangoAccess(user), djangoRefresh(user)]) {
      const response = await introspect(token);
      assertActive(response, token);
      assert.equal("sid" in response.body, false);
    }
  });
});

describe("a token that does not verify is inactive", () => {
  let user;
  before(async () => {
    user = await worker.register();
  });

  const forged = {
    "an expired access token": () => mintToken(claimsFor(user.user.id, { now: nowSecs() - 1900 })),
    "an expired refresh token": () =>
      mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: nowSecs() - 604810 })),
    "a token signed with another key": () =>
      mintToken(claimsFor(user.user.id), { key: "another-signing-key-0123456789abcdefghij" }),
    "an unsigned alg:none token": () => mintToken(claimsFor(user.user.id), { alg: "none" }),
    "a tampered payload": () => {
      const [header, , signature] = user.access_token.split(".");
      const claims = { ...decodeSegment(user.access_token, 1), user_id: String(user.user.id + 1) };
      return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    },
    "a token of neither type": () => mintToken(claimsFor(user.user.id, { type: "id" })),
    "a token without a type": () => mintToken({ ...claimsFor(user.user.id), token_type: undefined }),
    "a token without a user id": () => mintToken({ ...claimsFor(user.user.id), user_id: undefined }),
    "a token for a user that does not exist": () => mintToken(claimsFor(987654321)),
    "garbage": () => "garbage",
    "three dots of nothing": () => "a.b.c",
  };
  for (const [title, make] of Object.entries(forged)) {
    test(title, async () => {
      const token = make();
      const response = await introspect(token);
      assertInactive(response);
      assert.equal(response.text.includes(token), false, "the token is not echoed");
    });
  }
});

describe("an access token is inactive once the worker refuses it", () => {
  test("after logout/ of its session", async () => {
    const user = await worker.register();
    assert.equal((await logout(user.access_token, user.refresh_token)).status, 200);
    assertInactive(await introspect(user.access_token));
    assert.equal((await me(worker, user.access_token)).status, 401, "the worker refuses it too");
  });

  test("after logout-all/, a Django-minted one (no sid) too", async () => {
    const user = await worker.register();
    const django = djangoAccess(user);
    assertActive(await introspect(django), django);
    assert.equal((await logoutAll(user.access_token)).status, 200);
    assertInactive(await introspect(user.access_token));
    assertInactive(await introspect(django));
    assert.equal((await me(worker, django)).status, 401, "the worker refuses it too");
  });

  test("after change-password/ from another session, while the caller's stays active", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    assert.equal((await changePassword(user, user.access_token)).status, 200);
    assertInactive(await introspect(other.access_token));
    assertInactive(await introspect(other.refresh_token));
    assertActive(await introspect(user.access_token), user.access_token);
    assertActive(await introspect(user.refresh_token), user.refresh_token);
  });

  test("after DELETE sessions/<id>/ of its session", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    const sid = decodeSegment(other.access_token, 1).sid;
    const deleted = await worker.fetch(`${DRF}/sessions/${sid}/`, { method: "DELETE", token: user.access_token });
    assert.equal(deleted.status, 204, deleted.text);
    assertInactive(await introspect(other.access_token));
    assertInactive(await introspect(other.refresh_token));
    assertActive(await introspect(user.access_token), user.access_token);
  });

  test("when its user is deactivated: every token of theirs", async () => {
    const user = await worker.register();
    const tokens = [user.access_token, user.refresh_token, djangoAccess(user), djangoRefresh(user)];
    await deactivate(user);
    for (const token of tokens) assertInactive(await introspect(token));
  });
});

describe("a refresh token is inactive once token/refresh/ would refuse it", () => {
  test("once rotated, even within the reuse interval; its successor is active", async () => {
    const user = await worker.register();
    const rotated = await refresh(user.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);
    assertInactive(await introspect(user.refresh_token));
    assertActive(await introspect(rotated.body.refresh_token), rotated.body.refresh_token);
    assertActive(await introspect(rotated.body.access_token), rotated.body.access_token);
  });

  test("once rotated, by D1's record alone when KV has lost its entry", async () => {
    const user = await worker.register();
    assert.equal((await refresh(user.refresh_token)).status, 200);
    await (await blacklist(worker)).delete(decodeSegment(user.refresh_token, 1).jti);
    assertInactive(await introspect(user.refresh_token));
  });

  test("after logout/, by D1's record alone too", async () => {
    const user = await worker.register();
    assert.equal((await logout(user.access_token, user.refresh_token)).status, 200);
    assertInactive(await introspect(user.refresh_token));
    await (await blacklist(worker)).delete(decodeSegment(user.refresh_token, 1).jti);
    assertInactive(await introspect(user.refresh_token));
  });

  test("after its session was revoked for reuse: the successor too", async () => {
    const user = await worker.register();
    const rotated = await refresh(user.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);
    await sleep(2100);
    assert.equal((await refresh(user.refresh_token)).status, 401, "a late replay revokes the session");
    for (const token of [user.refresh_token, rotated.body.refresh_token, rotated.body.access_token]) {
      assertInactive(await introspect(token));
    }
  });

  test("a Django-minted one in the KV blacklist alone (revoked by Django before its user was here)", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    await (await blacklist(worker)).put(decodeSegment(token, 1).jti, "revoked");
    assertInactive(await introspect(token));
    assert.equal((await refresh(token)).status, 401, "the worker refuses it too");
  });

  test("a Django-minted one (no sid) after logout-all/: the cut-off", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    assertActive(await introspect(token), token);
    assert.equal((await logoutAll(user.access_token)).status, 200);
    assertInactive(await introspect(token));
  });

  test("a Django-minted one (no sid) after its own logout/", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    assert.equal((await logout(user.access_token, token)).status, 200);
    assertInactive(await introspect(token));
    assertActive(await introspect(user.refresh_token), user.refresh_token);
  });
});

describe("a refresh token Django rotated out of a session of ours (its sid, a jti never seen here)", () => {
  test("is active while that session lives, as token/refresh/ would adopt it", async () => {
    const user = await worker.register();
    const { sid } = decodeSegment(user.refresh_token, 1);
    const token = mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: EARLIER(), sid }));
    assertActive(await introspect(token), token);
  });

  test("is inactive once that session is logged out, as token/refresh/ refuses it", async () => {
    const user = await worker.register();
    const { sid } = decodeSegment(user.refresh_token, 1);
    const token = mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: EARLIER(), sid }));
    assert.equal((await logout(user.access_token, user.refresh_token)).status, 200);
    assertInactive(await introspect(token));
    assert.equal((await refresh(token)).status, 401, "the worker refuses it too");
  });
});

describe("introspection changes nothing", () => {
  test("an introspected refresh token still rotates, and is in no blacklist until then", async () => {
    const user = await worker.register();
    const { jti } = decodeSegment(user.refresh_token, 1);
    for (let i = 0; i < 3; i += 1) assertActive(await introspect(user.refresh_token), user.refresh_token);
    assert.equal(await (await blacklist(worker)).get(jti), null);
    assert.equal((await refresh(user.refresh_token)).status, 200);
  });

  test("an introspected Django refresh token is not recorded, and still adopts", async () => {
    const user = await worker.register();
    const token = djangoRefresh(user);
    const { jti } = decodeSegment(token, 1);
    assertActive(await introspect(token), token);
    const recorded = await worker.db.prepare("SELECT jti FROM refresh_tokens WHERE jti = ?1").bind(jti).first();
    assert.equal(recorded, null);
    assert.equal((await refresh(token)).status, 200);
    assertInactive(await introspect(token));
  });

  test("no token introspected is ever written to the worker's log", async () => {
    const user = await worker.register();
    for (const token of [user.access_token, user.refresh_token, "garbage-token-for-the-log-check"]) {
      await introspect(token);
      await introspect(token, { authorization: basic(CLIENT_ID, "wrong") });
      assert.equal(worker.output.some((line) => line.includes(token)), false);
    }
  });
});

describe("only the introspection client may ask", () => {
  let user;
  before(async () => {
    user = await worker.register();
  });

  const refused = {
    "no Authorization": () => null,
    "a wrong secret": () => basic(CLIENT_ID, "wrong"),
    "a wrong id": () => basic("other", CLIENT_SECRET),
    "a prefix of the secret": () => basic(CLIENT_ID, CLIENT_SECRET.slice(0, -1)),
    "the secret and more": () => basic(CLIENT_ID, `${CLIENT_SECRET}x`),
    "an empty secret": () => basic(CLIENT_ID, ""),
    "empty credentials": () => basic("", ""),
    "id and secret without the form-urlencoding": () => basic(CLIENT_ID, CLIENT_SECRET, { encode: false }),
    "no colon": () => `Basic ${Buffer.from(formEncoded(CLIENT_SECRET)).toString("base64")}`,
    "not base64": () => "Basic !!!not-base64!!!",
    "the credentials as a Bearer token": () => CLIENT.replace("Basic", "Bearer"),
    "the secret as a Bearer token": () => `Bearer ${CLIENT_SECRET}`,
    "a user's access token": () => `Bearer ${user.access_token}`,
  };
  for (const [title, authorization] of Object.entries(refused)) {
    test(`${title} is 401 invalid_client`, async () => {
      assertInvalidClient(await introspect(user.access_token, { authorization: authorization() }));
    });
  }

  test("the scheme's name is case-insensitive", async () => {
    assertActive(await introspect(user.access_token, { authorization: CLIENT.replace("Basic", "basic") }),
      user.access_token);
  });

  test("the client is checked before the body is read: a bad client never learns of its body", async () => {
    const headers = (type) => ({ authorization: basic(CLIENT_ID, "wrong"), "content-type": type });
    const url = `${DRF}/token/introspect/`;
    assertInvalidClient(await raw(worker, url, { headers: headers("text/plain"), body: "token" }));
    assertInvalidClient(await raw(worker, url, { headers: headers("application/json"), body: "{" }));
    assertInvalidClient(await raw(worker, url, { headers: headers("application/json") }));
  });

  test("without a configured secret, nobody may: not even with the id", async () => {
    for (const authorization of [CLIENT, basic(CLIENT_ID, ""), basic(CLIENT_ID, "anything"), null]) {
      assertInvalidClient(await introspect("garbage", { authorization, on: unconfigured }));
    }
  });
});

describe("token/introspect/ refusals", () => {
  const post = (headers, body) =>
    raw(worker, `${DRF}/token/introspect/`, { headers: { authorization: CLIENT, ...headers }, body });
  const FORM = { "content-type": "application/x-www-form-urlencoded" };
  const JSON_TYPE = { "content-type": "application/json" };

  test("a missing token is required, as a form, as JSON, or with no body", async () => {
    assertResponse(await post(FORM, "token_type_hint=access_token"), 400, { token: [REQUIRED] });
    assertResponse(await post(JSON_TYPE, "{}"), 400, { token: [REQUIRED] });
    assertResponse(await post({}, undefined), 400, { token: [REQUIRED] });
  });

  test("a blank token may not be blank", async () => {
    assertResponse(await post(FORM, "token="), 400, { token: [BLANK] });
    assertResponse(await post(FORM, "token=+++"), 400, { token: [BLANK] });
    assertResponse(await post(JSON_TYPE, JSON.stringify({ token: "" })), 400, { token: [BLANK] });
  });

  test("other content types are 415", async () => {
    assertResponse(await post({ "content-type": "text/plain" }, "token=x"), 415,
      { detail: 'Unsupported media type "text/plain" in request.' });
    assertResponse(await post({ "content-type": "multipart/form-data; boundary=x" }, "--x--"), 415,
      { detail: 'Unsupported media type "multipart/form-data; boundary=x" in request.' });
  });

  test("a body over MAX_BODY_BYTES is 413, as a form too", async () => {
    // Streamed and held open until the answer: workerd may reset a connection whose body it left
    // unread before the client has read the 413.
    let release;
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`token=${"x".repeat(70000)}`));
        release = () => controller.close();
      },
    });
    const response = await post(FORM, body).finally(() => release());
    assertResponse(response, 413, { detail: "Request body too large." });
  });

  test("GET is 405 with Allow: POST, OPTIONS", async () => {
    const response = await raw(worker, `${SHORT}/token/introspect/`, { method: "GET", headers: { authorization: CLIENT } });
    assertResponse(response, 405, { detail: 'Method "GET" not allowed.' });
    assert.equal(response.headers.get("allow"), "POST, OPTIONS");
  });
});
