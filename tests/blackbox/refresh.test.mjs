// CONTRACT.md "Success bodies" (token/refresh/) and "Authentication errors" (refresh with a bad
// token): rotation, the blacklist in KV, and every refusal's exact body.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  BLANK, NOT_A_STRING, REQUIRED, assertCommonHeaders, assertNoStore, assertResponse, assertTokenPair,
  assertUnauthorized, badRefreshTokens, blacklist, claimsFor, me, mintToken, nowSecs, refreshTokenError,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker({ REFRESH_REUSE_INTERVAL_SECS: "1" });
});
after(() => worker?.dispose());

const refresh = (refresh_token, prefix = DRF) => worker.post(`${prefix}/token/refresh/`, { refresh_token });

describe("token/refresh/ success", () => {
  test("answers 200 with exactly the four token keys, no user, and no-store headers", async () => {
    const user = await worker.register();
    const response = await refresh(user.refresh_token);
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assertNoStore(response.headers);
    assertTokenPair(response.body, { userId: user.user.id, withUser: false });
  });

  test("both new tokens differ from the old ones, and the new ones work", async () => {
    const user = await worker.register();
    const response = await refresh(user.refresh_token);
    assert.notEqual(response.body.access_token, user.access_token);
    assert.notEqual(response.body.refresh_token, user.refresh_token);
    assert.notEqual(decodeSegment(response.body.refresh_token, 1).jti, decodeSegment(user.refresh_token, 1).jti);
    const fetched = await me(worker, response.body.access_token);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, user.user);
    const next = await refresh(response.body.refresh_token, SHORT);
    assert.equal(next.status, 200, next.text);
    assertTokenPair(next.body, { userId: user.user.id, withUser: false });
  });

  test("the old refresh token is refused as blacklisted once the reuse interval is over", async () => {
    const user = await worker.register();
    const first = await refresh(user.refresh_token);
    assert.equal(first.status, 200);
    // Inside REFRESH_REUSE_INTERVAL_SECS (1 s here) a repeat is a retry: it gets the same successor.
    const retry = await refresh(user.refresh_token);
    assert.equal(retry.status, 200);
    assert.equal(retry.body.refresh_token, first.body.refresh_token);
    await sleep(2100);
    assertUnauthorized(await refresh(user.refresh_token), refreshTokenError("Token is blacklisted"));
  });

  test("the old refresh token's jti is in the KV blacklist, expiring when the token would have", async () => {
    const user = await worker.register();
    const { jti, exp } = decodeSegment(user.refresh_token, 1);
    const kv = await blacklist(worker);
    assert.equal(await kv.get(jti), null, "not blacklisted before the refresh");
    assert.equal((await refresh(user.refresh_token)).status, 200);
    assert.notEqual(await kv.get(jti), null, "blacklisted after the refresh");
    const listed = (await kv.list({ prefix: jti })).keys;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].name, jti);
    assert.equal(typeof listed[0].expiration, "number", "the entry has an expiration");
    assert.ok(Math.abs(listed[0].expiration - exp) <= 60, `expiration ${listed[0].expiration} vs exp ${exp}`);
  });

  test("the new refresh token is not blacklisted", async () => {
    const user = await worker.register();
    const response = await refresh(user.refresh_token);
    const kv = await blacklist(worker);
    assert.equal(await kv.get(decodeSegment(response.body.refresh_token, 1).jti), null);
  });

  test("a refresh token minted the way simplejwt mints it is rotated and blacklisted", async () => {
    const user = await worker.register();
    const claims = claimsFor(user.user.id, { type: "refresh", lifetime: 604800 });
    const response = await refresh(mintToken(claims));
    assert.equal(response.status, 200, response.text);
    assertTokenPair(response.body, { userId: user.user.id, withUser: false });
    assert.notEqual(await (await blacklist(worker)).get(claims.jti), null);
  });

  test("a simplejwt refresh token with an integer user_id is accepted", async () => {
    const user = await worker.register();
    const claims = { ...claimsFor(user.user.id, { type: "refresh", lifetime: 604800 }), user_id: user.user.id };
    const response = await refresh(mintToken(claims));
    assert.equal(response.status, 200, response.text);
    assert.equal(decodeSegment(response.body.access_token, 1).user_id, String(user.user.id));
  });

  test("simplejwt's own field name `refresh` is accepted (README)", async () => {
    const user = await worker.register();
    const response = await worker.post(`${DRF}/token/refresh/`, { refresh: user.refresh_token });
    assert.equal(response.status, 200, response.text);
    assertTokenPair(response.body, { userId: user.user.id, withUser: false });
  });
});

describe("token/refresh/ with a bad token is 401 with simplejwt's body", () => {
  let user;
  before(async () => {
    user = await worker.register();
  });

  for (const [title, make, detail] of badRefreshTokens(() => user)) {
    test(`${title}: ${detail}`, async () => {
      assertUnauthorized(await refresh(make()), refreshTokenError(detail));
    });
  }

  test("a refused token is not blacklisted", async () => {
    const claims = claimsFor(user.user.id, { type: "refresh", now: nowSecs() - 604800 - 10, lifetime: 604800 });
    await refresh(mintToken(claims));
    assert.equal(await (await blacklist(worker)).get(claims.jti), null);
  });
});

describe("token/refresh/ field errors", () => {
  test("a missing refresh_token is required", async () => {
    assertResponse(await worker.post(`${DRF}/token/refresh/`, {}), 400, { refresh_token: [REQUIRED] });
  });

  test("other keys do not stand in for refresh_token", async () => {
    assertResponse(await worker.post(`${DRF}/token/refresh/`, { token: "x", access_token: "y" }), 400, { refresh_token: [REQUIRED] });
  });

  test("a blank refresh_token may not be blank", async () => {
    assertResponse(await worker.post(`${DRF}/token/refresh/`, { refresh_token: "" }), 400, { refresh_token: [BLANK] });
  });

  test("a non-string refresh_token is not a valid string", async () => {
    for (const value of [true, [], {}]) {
      assertResponse(await worker.post(`${DRF}/token/refresh/`, { refresh_token: value }), 400, { refresh_token: [NOT_A_STRING] });
    }
  });
});
