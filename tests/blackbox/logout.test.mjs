// CONTRACT.md "Success bodies" (logout/) and "Authentication errors" (logout with a bad refresh
// token): Bearer required, the refresh token blacklisted, bad or foreign tokens refused with 400.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  BLANK, NOT_PROVIDED, REQUIRED, accessTokenError, assertCommonHeaders, assertResponse, assertTokenPair,
  assertUnauthorized, badRefreshTokens, blacklist, claimsFor, login, mintToken, refreshTokenError,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const LOGGED_OUT = { message: "Successfully logged out." };
const logout = (accessToken, body, prefix = DRF) => worker.post(`${prefix}/logout/`, body, { token: accessToken });
const refresh = (refresh_token) => worker.post(`${DRF}/token/refresh/`, { refresh_token });

describe("logout/ needs a Bearer access token", () => {
  test("without Authorization it is 401 'credentials were not provided'", async () => {
    const user = await worker.register();
    assertUnauthorized(await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }), NOT_PROVIDED);
  });

  test("with a non-Bearer scheme it is 401 'credentials were not provided'", async () => {
    const user = await worker.register();
    const response = await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token },
      { headers: { authorization: `Token ${user.access_token}` } });
    assertUnauthorized(response, NOT_PROVIDED);
  });

  test("with an invalid Bearer token it is 401 'Token is invalid'", async () => {
    const user = await worker.register();
    assertUnauthorized(await logout("x.y.z", { refresh_token: user.refresh_token }), accessTokenError("Token is invalid"));
  });

  test("with the refresh token as Bearer it is 401 'Token has wrong type'", async () => {
    const user = await worker.register();
    assertUnauthorized(await logout(user.refresh_token, { refresh_token: user.refresh_token }), accessTokenError("Token has wrong type"));
  });

  test("a refused logout leaves the refresh token usable", async () => {
    const user = await worker.register();
    await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token });
    const response = await refresh(user.refresh_token);
    assert.equal(response.status, 200, response.text);
  });
});

describe("logout/ success", () => {
  test("answers 200 with the message", async () => {
    const user = await worker.register();
    const response = await logout(user.access_token, { refresh_token: user.refresh_token });
    assertResponse(response, 200, LOGGED_OUT);
  });

  test("works under the shorter prefix without the slash", async () => {
    const user = await worker.register();
    const response = await worker.post(`${SHORT}/logout`, { refresh_token: user.refresh_token }, { token: user.access_token });
    assertResponse(response, 200, LOGGED_OUT);
  });

  test("the refresh token is then refused by token/refresh/ as blacklisted", async () => {
    const user = await worker.register();
    assert.equal((await logout(user.access_token, { refresh_token: user.refresh_token })).status, 200);
    assertUnauthorized(await refresh(user.refresh_token), refreshTokenError("Token is blacklisted"));
  });

  test("the refresh token's jti is in the KV blacklist", async () => {
    const user = await worker.register();
    const { jti, exp } = decodeSegment(user.refresh_token, 1);
    assert.equal((await logout(user.access_token, { refresh_token: user.refresh_token })).status, 200);
    const kv = await blacklist(worker);
    assert.notEqual(await kv.get(jti), null);
    const [entry] = (await kv.list({ prefix: jti })).keys;
    assert.ok(entry && Math.abs(entry.expiration - exp) <= 60, `expiration ${entry?.expiration} vs exp ${exp}`);
  });

  test("a second logout with the same refresh token is 400 'Token is blacklisted'", async () => {
    const user = await worker.register();
    assert.equal((await logout(user.access_token, { refresh_token: user.refresh_token })).status, 200);
    // A fresh access token for the same user, from a new login.
    const again = await login(worker, user.email, user.password);
    const response = await logout(again.body.access_token, { refresh_token: user.refresh_token });
    assertResponse(response, 400, refreshTokenError("Token is blacklisted"));
  });

  test("a refresh token minted the way simplejwt mints it can be logged out", async () => {
    const user = await worker.register();
    const claims = claimsFor(user.user.id, { type: "refresh", lifetime: 604800 });
    const token = mintToken(claims);
    assertResponse(await logout(user.access_token, { refresh_token: token }), 200, LOGGED_OUT);
    assertUnauthorized(await refresh(token), refreshTokenError("Token is blacklisted"));
  });

  test("simplejwt's own field name `refresh` is accepted (README)", async () => {
    const user = await worker.register();
    assertResponse(await logout(user.access_token, { refresh: user.refresh_token }), 200, LOGGED_OUT);
  });
});

describe("logout/ with a bad refresh token in the body is 400 with refresh's bodies", () => {
  let user;
  before(async () => {
    user = await worker.register();
  });

  for (const [title, make, detail] of badRefreshTokens(() => user)) {
    test(`${title}: ${detail}`, async () => {
      const response = await logout(user.access_token, { refresh_token: make() });
      assertResponse(response, 400, refreshTokenError(detail));
    });
  }

  test("after those refusals the user's own refresh token still works", async () => {
    const response = await refresh(user.refresh_token);
    assert.equal(response.status, 200, response.text);
  });

  test("a missing refresh_token is required", async () => {
    assertResponse(await logout(user.access_token, {}), 400, { refresh_token: [REQUIRED] });
  });

  test("a blank refresh_token may not be blank", async () => {
    assertResponse(await logout(user.access_token, { refresh_token: "" }), 400, { refresh_token: [BLANK] });
  });
});

describe("logout/ with another user's refresh token", () => {
  test("is 400 'Token does not belong to the authenticated user.'", async () => {
    const alice = await worker.register();
    const bob = await worker.register();
    const response = await logout(alice.access_token, { refresh_token: bob.refresh_token });
    assertResponse(response, 400, refreshTokenError("Token does not belong to the authenticated user."));
  });

  test("leaves that token valid: it still refreshes afterwards", async () => {
    const alice = await worker.register();
    const bob = await worker.register();
    await logout(alice.access_token, { refresh_token: bob.refresh_token });
    assert.equal(await (await blacklist(worker)).get(decodeSegment(bob.refresh_token, 1).jti), null);
    const response = await refresh(bob.refresh_token);
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assertTokenPair(response.body, { userId: bob.user.id, withUser: false });
  });

  test("leaves the caller's own session alone", async () => {
    const alice = await worker.register();
    const bob = await worker.register();
    await logout(alice.access_token, { refresh_token: bob.refresh_token });
    assertResponse(await logout(alice.access_token, { refresh_token: alice.refresh_token }), 200, LOGGED_OUT);
  });
});
