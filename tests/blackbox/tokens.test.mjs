// CONTRACT.md "Tokens" and "Authentication errors": Bearer access tokens attacked on me/ (and the
// other authenticated endpoints), and tokens minted the way simplejwt mints them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  NOT_PROVIDED, accessTokenError, assertCommonHeaders, assertUnauthorized, claimsFor, me, mintToken, nowSecs,
} from "./helpers.mjs";

let worker;
let user;
before(async () => {
  worker = await startWorker();
  user = await worker.register();
});
after(() => worker?.dispose());

const INVALID = accessTokenError("Token is invalid");
const EXPIRED = accessTokenError("Token is expired");
const WRONG_TYPE = accessTokenError("Token has wrong type");

const withAuthorization = (authorization) => worker.fetch(`${DRF}/me/`, { headers: { authorization } });

/** The token with one base64url segment replaced by `value` (JSON-encoded when not a string). */
function replaceSegment(token, index, value) {
  const parts = token.split(".");
  parts[index] = Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
  return parts.join(".");
}

describe("missing or non-Bearer credentials", () => {
  test("no Authorization header is 'credentials were not provided'", async () => {
    assertUnauthorized(await me(worker), NOT_PROVIDED);
  });

  for (const scheme of ["Basic", "Token", "JWT", "Digest", "Bearer:"]) {
    test(`the ${scheme} scheme, even with a valid token, is 'credentials were not provided'`, async () => {
      assertUnauthorized(await withAuthorization(`${scheme} ${user.access_token}`), NOT_PROVIDED);
    });
  }

  test("Basic credentials are 'credentials were not provided'", async () => {
    const basic = Buffer.from(`${user.email}:${user.password}`).toString("base64");
    assertUnauthorized(await withAuthorization(`Basic ${basic}`), NOT_PROVIDED);
  });

  test("an empty Authorization header is 'credentials were not provided'", async () => {
    assertUnauthorized(await withAuthorization(""), NOT_PROVIDED);
  });

  test("a bare token without a scheme is 'credentials were not provided'", async () => {
    assertUnauthorized(await withAuthorization(user.access_token), NOT_PROVIDED);
  });
});

describe("a bad Bearer token is 'Token is invalid'", () => {
  const CASES = {
    "a word that is not a JWT": () => "abc",
    "three empty-ish segments": () => "a.b.c",
    "a JWT with a fourth segment": () => `${user.access_token}.extra`,
    "a truncated JWT": () => user.access_token.slice(0, -5),
    "a JWT with its signature removed": () => user.access_token.split(".").slice(0, 2).join(".") + ".",
    "a JWT whose header is not JSON": () => replaceSegment(user.access_token, 0, "not json"),
    "a JWT signed with another key": () => mintToken(claimsFor(user.user.id), { key: "another-signing-key-0123456789abcdefghij" }),
    "a JWT signed with the key's prefix": () => mintToken(claimsFor(user.user.id), { key: "blackbox-signing-key-0123456789abcdefghi" }),
    "an unsigned alg:none JWT": () => mintToken(claimsFor(user.user.id), { alg: "none" }),
    "alg:none carrying a real HS256 signature": () =>
      replaceSegment(user.access_token, 0, { alg: "none", typ: "JWT" }),
    "an HS512 JWT with the right key": () => mintToken(claimsFor(user.user.id), { alg: "HS512" }),
    "an HS384 JWT with the right key": () => mintToken(claimsFor(user.user.id), { alg: "HS384" }),
    "an HS512 header over an HS256 signature": () =>
      replaceSegment(user.access_token, 0, { alg: "HS512", typ: "JWT" }),
    "a payload whose user_id was changed": () =>
      replaceSegment(user.access_token, 1, { ...decodeSegment(user.access_token, 1), user_id: String(user.user.id + 1) }),
    "a payload whose exp was extended": () =>
      replaceSegment(user.access_token, 1, { ...decodeSegment(user.access_token, 1), exp: nowSecs() + 86400 * 365 }),
    "a payload whose token_type was changed": () =>
      replaceSegment(user.refresh_token, 1, { ...decodeSegment(user.refresh_token, 1), token_type: "access" }),
    "an expired JWT signed with another key": () =>
      mintToken(claimsFor(user.user.id, { now: nowSecs() - 7200 }), { key: "another-signing-key-0123456789abcdefghij" }),
  };
  for (const [title, make] of Object.entries(CASES)) {
    test(title, async () => {
      assertUnauthorized(await withAuthorization(`Bearer ${make()}`), INVALID);
    });
  }
});

describe("expired, wrong-type and unknown-user tokens", () => {
  test("an access token whose exp has passed is 'Token is expired'", async () => {
    const token = mintToken(claimsFor(user.user.id, { now: nowSecs() - 1800 - 5 }));
    assertUnauthorized(await withAuthorization(`Bearer ${token}`), EXPIRED);
  });

  test("an access token that expired long ago is 'Token is expired'", async () => {
    const token = mintToken(claimsFor(user.user.id, { now: 1_600_000_000 }));
    assertUnauthorized(await withAuthorization(`Bearer ${token}`), EXPIRED);
  });

  test("a refresh token used as an access token has the wrong type", async () => {
    assertUnauthorized(await withAuthorization(`Bearer ${user.refresh_token}`), WRONG_TYPE);
  });

  test("a token with some other token_type has the wrong type", async () => {
    const token = mintToken(claimsFor(user.user.id, { type: "sliding" }));
    assertUnauthorized(await withAuthorization(`Bearer ${token}`), WRONG_TYPE);
  });

  test("an expired refresh token used as access is expired first (simplejwt's order)", async () => {
    const token = mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 60, now: nowSecs() - 120 }));
    assertUnauthorized(await withAuthorization(`Bearer ${token}`), EXPIRED);
  });

  test("a valid token for a user id that does not exist is 401", async () => {
    const token = mintToken(claimsFor(987654));
    const response = await withAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 401, response.text);
    assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="api"');
    assertCommonHeaders(response.headers);
    assert.equal(typeof response.body.detail, "string");
    assert.ok(!JSON.stringify(response.body).includes("987654"), "the id is not echoed");
  });

  test("a valid token for a deactivated account is 401", async () => {
    const gone = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(gone.user.id).run();
    const response = await me(worker, gone.access_token);
    assert.equal(response.status, 401, response.text);
    assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="api"');
    assert.equal(typeof response.body.detail, "string");
  });
});

describe("tokens minted as simplejwt mints them are accepted", () => {
  test("user_id as a string (simplejwt 5.5)", async () => {
    const response = await withAuthorization(`Bearer ${mintToken(claimsFor(user.user.id))}`);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, user.user);
  });

  test("user_id as an integer (older simplejwt)", async () => {
    const token = mintToken({ ...claimsFor(user.user.id), user_id: user.user.id });
    const response = await withAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.id, user.user.id);
  });

  test("extra claims are ignored", async () => {
    const token = mintToken(claimsFor(user.user.id, { iss: "django", aud: "web", email: "x@y.z", roles: ["admin"], nested: { a: 1 } }));
    const response = await withAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.id, user.user.id);
  });

  test("PyJWT's header key order and a custom header field do not matter", async () => {
    const token = mintToken(claimsFor(user.user.id), { header: { typ: "JWT", alg: "HS256", kid: "django" } });
    const response = await withAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 200, response.text);
  });

  test("a token about to expire is still accepted", async () => {
    const token = mintToken(claimsFor(user.user.id, { now: nowSecs() - 1800 + 30 }));
    const response = await withAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 200, response.text);
  });

  test("a token minted here is accepted under both prefixes", async () => {
    for (const prefix of [DRF, SHORT]) {
      const response = await me(worker, user.access_token, prefix);
      assert.equal(response.status, 200, response.text);
    }
  });
});

describe("every authenticated endpoint answers bad tokens the same way", () => {
  const ENDPOINTS = [
    ["GET", "me/"], ["PATCH", "me/"], ["POST", "logout/"], ["POST", "change-password/"],
  ];
  for (const [method, path] of ENDPOINTS) {
    test(`${method} ${path}: missing, invalid, expired and wrong-type tokens`, async () => {
      const send = (authorization) => worker.fetch(`${SHORT}/${path}`, {
        method, headers: authorization ? { authorization } : {},
        body: method === "GET" ? undefined : { refresh_token: user.refresh_token, first_name: "Hacked",
          old_password: user.password, new_password: "a-brand-new-passphrase", new_password_confirm: "a-brand-new-passphrase" },
      });
      assertUnauthorized(await send(undefined), NOT_PROVIDED);
      assertUnauthorized(await send(`Token ${user.access_token}`), NOT_PROVIDED);
      assertUnauthorized(await send("Bearer not.a.token"), INVALID);
      assertUnauthorized(await send(`Bearer ${mintToken(claimsFor(user.user.id), { alg: "HS512" })}`), INVALID);
      assertUnauthorized(await send(`Bearer ${mintToken(claimsFor(user.user.id, { now: nowSecs() - 4000 }))}`), EXPIRED);
      assertUnauthorized(await send(`Bearer ${user.refresh_token}`), WRONG_TYPE);
    });
  }

  test("none of those requests changed anything", async () => {
    const response = await me(worker, user.access_token);
    assert.deepEqual(response.body, user.user);
  });
});
