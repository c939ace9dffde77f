// Issue 16 (contract16.md "Passkeys", "Login with a second factor"): registering passkeys with a
// software authenticator (ES256, EdDSA, RS256; attestation none and packed self-attestation),
// listing, renaming and deleting them, usernameless passwordless login, a passkey as the second
// factor, and each check attacked (origin, RP ID, type, challenge reuse and binding, UP/UV flags,
// the signature counter, the signature, unknown credentials). The suite's ALLOWED_ORIGINS is
// https://app.example.com, so WEBAUTHN_ORIGINS is that origin and the RP ID app.example.com.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, ORIGIN, SHORT, startWorker } from "../support.mjs";
import {
  ISO_UTC, NOT_FOUND, NOT_PROVIDED, assertCommonHeaders, assertNoStore, assertResponse, assertTokenPair,
  assertUnauthorized, login, postJsonText,
} from "./helpers.mjs";
import {
  assertLoggedIn,
  MFA_CODE_INVALID, MFA_TOKEN_INVALID, assertMfaRequired, assertRefused, assertSessionEnded, assertSessionLives,
  codeAt, enrolTotp, loginMfa, mfaStatus, newestEvent, passwordStep, securityMail,
} from "./mfa-helpers.mjs";
import { EDDSA, ES256, FLAGS, RS256, SoftwareAuthenticator, b64url, fromB64url } from "./webauthn-authenticator.mjs";

const RP_ID = new URL(ORIGIN).hostname; // app.example.com
const PASSKEY_FAILED = { detail: "Passkey authentication failed.", code: "webauthn_invalid" };
const VIEW_KEYS = ["backed_up", "created_at", "id", "last_used_at", "name", "transports"];
const ALGORITHMS = [["ES256", ES256], ["EdDSA", EDDSA], ["RS256", RS256]];

let worker;
before(async () => {
  worker = await startWorker({ LOGIN_BACKOFF_THRESHOLD: "1000" });
});
after(() => worker?.dispose());

// -- the calls --------------------------------------------------------------------------------

async function registerOptions(user, prefix = DRF) {
  const response = await worker.post(`${prefix}/passkeys/register/options/`, undefined, { token: user.access_token });
  assert.equal(response.status, 200, response.text);
  return response.body;
}
const registerVerify = (user, body, prefix = DRF) =>
  worker.post(`${prefix}/passkeys/register/verify/`, body, { token: user.access_token });
const list = (user, prefix = DRF) => worker.fetch(`${prefix}/passkeys/`, { token: user.access_token });
const rename = (user, id, body) => worker.fetch(`${DRF}/passkeys/${id}/`, { method: "PATCH", body, token: user.access_token });
const remove = (user, id) => worker.fetch(`${DRF}/passkeys/${id}/`, { method: "DELETE", token: user.access_token });
const loginOptions = (body = {}, prefix = DRF) => worker.post(`${prefix}/passkeys/login/options/`, body);
const loginVerify = (body, prefix = DRF) => worker.post(`${prefix}/passkeys/login/verify/`, body);

/** Usernameless request options (asserted 200). */
async function usernameless(prefix = DRF) {
  const response = await loginOptions({}, prefix);
  assert.equal(response.status, 200, response.text);
  return response.body;
}

/**
 * Registers a passkey for `user` on `authenticator` (a new one unless given): asserts the 201 and
 * returns `{ authenticator, view, credential }`.
 */
async function addPasskey(user, { authenticator = new SoftwareAuthenticator(), alg = ES256, fmt = "none", name } = {}) {
  const options = await registerOptions(user);
  const credential = authenticator.create(options, { alg, fmt });
  const response = await registerVerify(user, name === undefined ? credential : { credential, name });
  assert.equal(response.status, 201, response.text);
  return { authenticator, view: response.body, credential };
}

/** A fresh user with one passkey. */
async function userWithPasskey(options = {}) {
  const user = await worker.register();
  return { ...user, ...(await addPasskey(user, options)) };
}

/** Passwordless: fresh usernameless options, the authenticator's assertion (with `overrides`), verify. */
async function passkeyLogin(user, overrides = {}) {
  const options = await usernameless();
  return loginVerify(user.authenticator.get(options, { credential: user.credential.id, ...overrides }));
}


/** A 400 webauthn_invalid from register/verify/ (the detail says why, in words the contract leaves open). */
function assertRegistrationRefused(response) {
  assert.equal(response.status, 400, response.text);
  assertCommonHeaders(response.headers);
  assert.deepEqual(Object.keys(response.body).sort(), ["code", "detail"]);
  assert.equal(response.body.code, "webauthn_invalid");
  assert.equal(typeof response.body.detail, "string");
}

function assertView(view, { name = "Passkey", backedUp = false, transports = ["internal"] } = {}) {
  assert.deepEqual(Object.keys(view).sort(), VIEW_KEYS);
  assert.match(view.id, /^[0-9a-f]{32}$/);
  assert.equal(view.name, name);
  assert.match(view.created_at, ISO_UTC);
  assert.equal(view.last_used_at, null);
  assert.equal(view.backed_up, backedUp);
  assert.deepEqual(view.transports, transports);
}

const uuidBytes = (uuid) => uuid.replace(/-/g, "");

// -- registration -------------------------------------------------------------------------------

describe("passkeys/register/options/", () => {
  test("answers the L3 creation options: RP, the user's uuid as handle, a 32-byte challenge, the algorithms", async () => {
    const user = await worker.register();
    const options = await registerOptions(user);
    assert.deepEqual(options.rp, { id: RP_ID, name: "edge-auth" });
    assert.equal(fromB64url(options.user.id).toString("hex"), uuidBytes(user.user.uuid));
    assert.equal(options.user.name, user.email.toLowerCase());
    assert.ok([user.email.toLowerCase(), "Ada Lovelace"].includes(options.user.displayName), options.user.displayName);
    assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(fromB64url(options.challenge).length, 32);
    assert.deepEqual(options.pubKeyCredParams, [
      { type: "public-key", alg: -8 }, { type: "public-key", alg: -7 }, { type: "public-key", alg: -257 },
    ]);
    assert.equal(options.timeout, 300000);
    assert.deepEqual(options.excludeCredentials, []);
    assert.deepEqual(options.authenticatorSelection, {
      residentKey: "required", requireResidentKey: true, userVerification: "preferred",
    });
    assert.equal(options.attestation, "none");
  });

  test("each call gives a new challenge", async () => {
    const user = await worker.register();
    assert.notEqual((await registerOptions(user)).challenge, (await registerOptions(user)).challenge);
  });

  test("excludeCredentials lists the passkeys the user already has", async () => {
    const user = await userWithPasskey();
    const options = await registerOptions(user);
    assert.deepEqual(options.excludeCredentials.map(({ type, id }) => ({ type, id })), [
      { type: "public-key", id: user.credential.id },
    ]);
    assert.ok(Array.isArray(options.excludeCredentials[0].transports));
  });
});

describe("passkeys/register/verify/", () => {
  for (const [name, alg] of ALGORITHMS) {
    test(`registers an ${name} passkey: 201 with its view, listed by passkeys/`, async () => {
      const user = await worker.register();
      const { view } = await addPasskey(user, { alg });
      assertView(view);
      assertResponse(await list(user), 200, [view]);
    });
  }

  test("takes the wrapped form with a name", async () => {
    const user = await worker.register();
    const { view } = await addPasskey(user, { name: "My key" });
    assertView(view, { name: "My key" });
  });

  for (const [name, alg] of ALGORITHMS) {
    test(`accepts packed self-attestation (${name})`, async () => {
      const user = await worker.register();
      assertView((await addPasskey(user, { alg, fmt: "packed" })).view);
    });
  }

  test("stores the backup flags of a synced passkey", async () => {
    const user = await worker.register();
    const { view } = await addPasskey(user, { authenticator: new SoftwareAuthenticator({ backup: true }) });
    assert.equal(view.backed_up, true);
  });

  test("ends every other session of the user, keeps the caller's, and sends the security notice", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    await addPasskey(user);
    await assertSessionEnded(worker, other);
    await assertSessionLives(worker, user);
    await securityMail(worker, user.email.toLowerCase());
  });

  test("mfa/ counts the passkey and lists webauthn", async () => {
    const user = await userWithPasskey();
    assertResponse(await mfaStatus(worker, user), 200, { totp: false, passkeys: 1, recovery_codes_left: 0, methods: ["webauthn"] });
  });

  test("is recorded as passkey_added", async () => {
    const user = await userWithPasskey();
    assert.equal((await newestEvent(worker, user, "passkey_added"))?.outcome, "success");
  });

  describe("refuses with 400 webauthn_invalid", () => {
    const forged = [
      ["a credential made for another origin", { origin: "https://evil.example.com" }],
      ["an authenticator data for another RP ID", { rpId: "evil.example.com" }],
      ["a clientDataJSON of type webauthn.get", { type: "webauthn.get" }],
      ["a challenge the server never gave", { challenge: b64url(Buffer.alloc(32, 7)) }],
      ["no user presence (UP clear)", { flags: FLAGS.UV | FLAGS.AT }],
      ["no attested credential data flag (AT clear)", { flags: FLAGS.UP | FLAGS.UV }],
    ];
    for (const [title, overrides] of forged) {
      test(title, async () => {
        const user = await worker.register();
        const options = await registerOptions(user);
        assertRegistrationRefused(await registerVerify(user, new SoftwareAuthenticator().create(options, overrides)));
        assertResponse(await list(user), 200, []);
      });
    }

    test("a challenge used once already (the same options verified twice)", async () => {
      const user = await worker.register();
      const options = await registerOptions(user);
      const authenticator = new SoftwareAuthenticator();
      assert.equal((await registerVerify(user, authenticator.create(options))).status, 201);
      assertRegistrationRefused(await registerVerify(user, authenticator.create(options)));
      assert.equal((await list(user)).body.length, 1);
    });

    test("a challenge from another user's register options", async () => {
      const user = await worker.register();
      const someoneElse = await worker.register();
      const theirs = await registerOptions(someoneElse);
      const mine = await registerOptions(user);
      const credential = new SoftwareAuthenticator().create(mine, { challenge: theirs.challenge });
      assertRegistrationRefused(await registerVerify(user, credential));
    });

    test("a challenge from the login options", async () => {
      const user = await worker.register();
      const options = await registerOptions(user);
      const { challenge } = await usernameless();
      assertRegistrationRefused(await registerVerify(user, new SoftwareAuthenticator().create(options, { challenge })));
    });

    test("a clientDataJSON that is not JSON", async () => {
      const user = await worker.register();
      const credential = new SoftwareAuthenticator().create(await registerOptions(user));
      credential.response.clientDataJSON = b64url(Buffer.from("not json"));
      assertRegistrationRefused(await registerVerify(user, credential));
    });

    test("an attestationObject that is not CBOR", async () => {
      const user = await worker.register();
      const credential = new SoftwareAuthenticator().create(await registerOptions(user));
      credential.response.attestationObject = b64url(Buffer.from([0xff, 0x00, 0x01]));
      assertRegistrationRefused(await registerVerify(user, credential));
    });
  });

  test("a packed attestation whose signature is not by the credential key is refused", async () => {
    const user = await worker.register();
    const options = await registerOptions(user);
    const good = new SoftwareAuthenticator().create(options, { fmt: "packed" });
    // The same attestation object with the last byte of attStmt's sig flipped: the map runs fmt,
    // attStmt {alg, sig}, authData, so sig's last byte sits just before the "authData" key's header.
    const bytes = fromB64url(good.response.attestationObject);
    const authDataKey = bytes.indexOf(Buffer.from("authData")) - 1;
    bytes[authDataKey - 1] ^= 0x01;
    good.response.attestationObject = b64url(bytes);
    assertRegistrationRefused(await registerVerify(user, good));
  });
});

// -- managing them ------------------------------------------------------------------------------

describe("passkeys/ and passkeys/<id>/", () => {
  test("lists a user's passkeys oldest first, and only theirs", async () => {
    const user = await worker.register();
    const first = (await addPasskey(user, { name: "Laptop" })).view;
    const second = (await addPasskey(user, { alg: EDDSA, name: "Phone" })).view;
    await userWithPasskey(); // someone else's
    assertResponse(await list(user), 200, [first, second]);
  });

  test("PATCH renames a passkey", async () => {
    const user = await userWithPasskey();
    const response = await rename(user, user.view.id, { name: "YubiKey 5" });
    assertResponse(response, 200, { ...user.view, name: "YubiKey 5" });
    assert.equal((await list(user)).body[0].name, "YubiKey 5");
  });

  test("PATCH with an empty or a 65-character name is 400 on name", async () => {
    const user = await userWithPasskey();
    for (const body of [{ name: "" }, { name: "x".repeat(65) }]) {
      const response = await rename(user, user.view.id, body);
      assert.equal(response.status, 400, response.text);
      assert.deepEqual(Object.keys(response.body), ["name"]);
    }
    assert.equal((await rename(user, user.view.id, { name: "x".repeat(64) })).status, 200);
  });

  test("DELETE removes it: 204, gone from the list, its credential no longer logs in", async () => {
    const user = await userWithPasskey();
    const response = await remove(user, user.view.id);
    assert.equal(response.status, 204, response.text);
    assert.equal(response.text, "");
    assertResponse(await list(user), 200, []);
    assertRefused(await passkeyLogin(user), PASSKEY_FAILED);
    assert.equal((await login(worker, user.email, user.password)).status, 200, "no factor left: the plain login");
  });

  test("DELETE ends the other sessions, sends the notice and records passkey_removed", async () => {
    const user = await userWithPasskey();
    await securityMail(worker, user.email.toLowerCase()); // the registration's notice
    const other = (await passkeyLogin(user)).body;
    assert.equal((await remove(user, user.view.id)).status, 204);
    await assertSessionEnded(worker, other);
    await assertSessionLives(worker, user);
    await securityMail(worker, user.email.toLowerCase());
    assert.ok(await newestEvent(worker, user, "passkey_removed"));
  });

  test("another user's passkey is 404 to PATCH and DELETE, and stays", async () => {
    const owner = await userWithPasskey();
    const intruder = await worker.register();
    assertResponse(await rename(intruder, owner.view.id, { name: "mine now" }), 404, NOT_FOUND);
    assertResponse(await remove(intruder, owner.view.id), 404, NOT_FOUND);
    assertResponse(await list(owner), 200, [owner.view]);
  });

  test("an unknown id is 404", async () => {
    const user = await worker.register();
    assertResponse(await remove(user, "0".repeat(32)), 404, NOT_FOUND);
    assertResponse(await rename(user, "0".repeat(32), { name: "x" }), 404, NOT_FOUND);
  });

  test("every passkey call but login needs a Bearer token, under both prefixes", async () => {
    for (const prefix of [DRF, SHORT]) {
      for (const [method, path] of [
        ["POST", "passkeys/register/options/"], ["POST", "passkeys/register/verify/"], ["GET", "passkeys/"],
        ["PATCH", `passkeys/${"0".repeat(32)}/`], ["DELETE", `passkeys/${"0".repeat(32)}/`],
      ]) {
        const body = method === "GET" || method === "DELETE" ? undefined : {};
        assertUnauthorized(await worker.fetch(`${prefix}/${path}`, { method, body }), NOT_PROVIDED);
      }
    }
  });
});

// -- passwordless login -------------------------------------------------------------------------

describe("passkeys/login/ (passwordless, usernameless)", () => {
  test("options: a 32-byte challenge, the RP ID, no allowCredentials, UV required", async () => {
    const response = await loginOptions({});
    assert.equal(response.status, 200, response.text);
    const options = response.body;
    assert.equal(fromB64url(options.challenge).length, 32);
    assert.deepEqual(options, {
      challenge: options.challenge, timeout: 300000, rpId: RP_ID, allowCredentials: [], userVerification: "required",
    });
  });

  for (const [name, alg] of ALGORITHMS) {
    test(`an ${name} passkey logs in: the token pair and the user`, async () => {
      const user = await userWithPasskey({ alg });
      assertLoggedIn(await passkeyLogin(user), user);
    });
  }

  test("picks the account by the credential: two users on one authenticator", async () => {
    const authenticator = new SoftwareAuthenticator();
    const ada = await userWithPasskey({ authenticator });
    const grace = await userWithPasskey({ authenticator });
    assertLoggedIn(await passkeyLogin(grace), grace);
    assertLoggedIn(await passkeyLogin(ada), ada);
  });

  test("takes the wrapped form {credential}, under the short prefix too", async () => {
    const user = await userWithPasskey();
    const options = await usernameless(SHORT);
    const response = await loginVerify({ credential: user.authenticator.get(options, { credential: user.credential.id }) }, SHORT);
    assertLoggedIn(response, user);
  });

  test("a passkey login is not asked for a second factor, even with TOTP enabled", async () => {
    const user = await userWithPasskey();
    await enrolTotp(worker, user);
    assertLoggedIn(await passkeyLogin(user), user);
  });

  test("sets last_used_at and records a login with method passkey", async () => {
    const user = await userWithPasskey();
    assertLoggedIn(await passkeyLogin(user), user);
    assert.match((await list(user)).body[0].last_used_at, ISO_UTC);
    const event = await newestEvent(worker, user, "login", (e) => e.outcome === "success" && e.detail?.method === "passkey");
    assert.ok(event, "a login event with method passkey");
  });

  test("an authenticator that never counts (always 0) logs in again and again", async () => {
    const user = await userWithPasskey({ authenticator: new SoftwareAuthenticator({ counter: false }) });
    assertLoggedIn(await passkeyLogin(user), user);
    assertLoggedIn(await passkeyLogin(user), user);
  });

  describe("refuses with 401 webauthn_invalid", () => {
    const forged = [
      ["an assertion made for another origin", { origin: "https://evil.example.com" }],
      ["an origin that differs only by scheme", { origin: ORIGIN.replace("https:", "http:") }],
      ["an authenticator data for another RP ID", { rpId: "evil.example.com" }],
      ["a clientDataJSON of type webauthn.create", { type: "webauthn.create" }],
      ["a challenge the server never gave", { challenge: b64url(Buffer.alloc(32, 9)) }],
      ["no user verification (UV clear) where it is required", { flags: FLAGS.UP }],
      ["no user presence (UP clear)", { flags: FLAGS.UV }],
      ["a signature over other data", { signed: (data) => Buffer.concat([data, Buffer.from("x")]) }],
      ["a signature over the authenticator data with another client data hash", {
        signed: (data) => Buffer.concat([data.subarray(0, 37), Buffer.alloc(32)]),
      }],
      ["an unknown credential id", { credentialId: b64url(Buffer.alloc(32, 1)) }],
    ];
    for (const [title, overrides] of forged) {
      test(title, async () => {
        const user = await userWithPasskey();
        assertRefused(await passkeyLogin(user, overrides), PASSKEY_FAILED);
        assertLoggedIn(await passkeyLogin(user), user);
      });
    }

    test("a credential no account registered", async () => {
      const user = await worker.register();
      const stranger = new SoftwareAuthenticator();
      stranger.create(await registerOptions(user)); // made, never sent to register/verify/
      assertRefused(await loginVerify(stranger.get(await usernameless())), PASSKEY_FAILED);
    });

    test("a userHandle naming another account than the credential's", async () => {
      const user = await userWithPasskey();
      const other = await userWithPasskey();
      const theirs = other.authenticator.credentials[0].userHandle;
      assertRefused(await passkeyLogin(user, { userHandle: theirs }), PASSKEY_FAILED);
    });

    test("a signature counter that does not go up", async () => {
      const user = await userWithPasskey();
      assertLoggedIn(await passkeyLogin(user), user);
      const stored = user.authenticator.credentials.at(-1).counter;
      assertRefused(await passkeyLogin(user, { counter: stored }), PASSKEY_FAILED);
      assertRefused(await passkeyLogin(user, { counter: stored - 1 }), PASSKEY_FAILED);
      assertLoggedIn(await passkeyLogin(user, { counter: stored + 5 }), user);
    });

    test("a challenge used once already (the same options verified twice)", async () => {
      const user = await userWithPasskey();
      const options = await usernameless();
      assertLoggedIn(await loginVerify(user.authenticator.get(options)), user);
      assertRefused(await loginVerify(user.authenticator.get(options)), PASSKEY_FAILED);
    });

    test("a challenge from register options", async () => {
      const user = await userWithPasskey();
      const { challenge } = await registerOptions(user);
      assertRefused(await passkeyLogin(user, { challenge }), PASSKEY_FAILED);
    });

    test("a challenge bound to an mfa_token", async () => {
      const user = await userWithPasskey();
      const { mfa_token } = await passwordStep(worker, user);
      const options = (await loginOptions({ mfa_token })).body;
      assertRefused(await loginVerify(user.authenticator.get(options)), PASSKEY_FAILED);
    });

    test("an empty body or a body that is not a credential", async () => {
      for (const body of [{}, { credential: {} }, { id: "x", rawId: "x", type: "public-key", response: {} }]) {
        assertRefused(await loginVerify(body), PASSKEY_FAILED);
      }
    });

    test("nothing of a refused assertion is kept in the trail", async () => {
      const user = await userWithPasskey();
      const assertion = user.authenticator.get(await usernameless(), { flags: FLAGS.UP });
      assertRefused(await loginVerify(assertion), PASSKEY_FAILED);
      const { results } = await worker.db.prepare("SELECT * FROM auth_events").all();
      const rows = JSON.stringify(results);
      for (const part of [assertion.response.signature, assertion.response.clientDataJSON, assertion.response.authenticatorData]) {
        assert.ok(!rows.includes(part));
      }
    });
  });
});

// -- a passkey as the second factor --------------------------------------------------------------

describe("a passkey as the second factor", () => {
  test("a user with a passkey gets mfa_required with webauthn among the methods", async () => {
    const user = await userWithPasskey();
    assertMfaRequired(await login(worker, user.email, user.password), ["webauthn"]);
  });

  test("with TOTP and a passkey the methods are totp, recovery_code, webauthn in that order", async () => {
    const user = await userWithPasskey();
    await enrolTotp(worker, user);
    assertMfaRequired(await login(worker, user.email, user.password), ["totp", "recovery_code", "webauthn"]);
  });

  test("passkeys/login/options/ with the mfa_token lists the user's passkeys, UV preferred", async () => {
    const user = await userWithPasskey();
    const second = await addPasskey(user, { alg: RS256 });
    const { mfa_token } = await passwordStep(worker, user);
    const response = await loginOptions({ mfa_token });
    assert.equal(response.status, 200, response.text);
    const options = response.body;
    assert.equal(options.rpId, RP_ID);
    assert.equal(options.timeout, 300000);
    assert.equal(options.userVerification, "preferred");
    assert.deepEqual(options.allowCredentials.map((c) => c.id).sort(), [user.credential.id, second.credential.id].sort());
    for (const c of options.allowCredentials) assert.equal(c.type, "public-key");
  });

  test("login/mfa/ with the mfa_token and the assertion answers the token pair and the user", async () => {
    const user = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const options = (await loginOptions({ mfa_token })).body;
    assertLoggedIn(await loginMfa(worker, { mfa_token, credential: user.authenticator.get(options) }), user);
    const event = await newestEvent(worker, user, "login", (e) => e.outcome === "success" && e.detail?.method === "webauthn");
    assert.ok(event, "a login event with method webauthn");
  });

  test("user presence without verification is enough for the second factor", async () => {
    const user = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const options = (await loginOptions({ mfa_token })).body;
    const credential = user.authenticator.get(options, { flags: FLAGS.UP });
    assertLoggedIn(await loginMfa(worker, { mfa_token, credential }), user);
  });

  test("the mfa_token is spent by the success", async () => {
    const user = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const options = (await loginOptions({ mfa_token })).body;
    assert.equal((await loginMfa(worker, { mfa_token, credential: user.authenticator.get(options) })).status, 200);
    assertRefused(await loginOptions({ mfa_token }), MFA_TOKEN_INVALID);
    assertRefused(await loginMfa(worker, { mfa_token, credential: user.authenticator.get(options) }), MFA_TOKEN_INVALID);
  });

  test("a bad mfa_token is 401 mfa_token_invalid on passkeys/login/options/", async () => {
    assertRefused(await loginOptions({ mfa_token: "not-a-token" }), MFA_TOKEN_INVALID);
    // null or another type is no token at all, not the usernameless options (Schemathesis found it).
    for (const mfa_token of [null, 7, ["x"]]) assertRefused(await loginOptions({ mfa_token }), MFA_TOKEN_INVALID);
  });

  test("passkeys/login/options/ takes an empty body as {}, but JSON null is 400", async () => {
    const empty = await worker.post(`${DRF}/passkeys/login/options/`);
    assert.equal(empty.status, 200, empty.text);
    assert.equal(empty.body.userVerification, "required");
    const nothing = await postJsonText(worker, `${DRF}/passkeys/login/options/`, "null");
    assert.equal(nothing.status, 400, nothing.text);
  });

  test("a credential that is not an object is the one passkey-login 401 (Schemathesis found a 400)", async () => {
    assertRefused(await worker.post(`${DRF}/passkeys/login/verify/`, { credential: ["x"] }), PASSKEY_FAILED);
  });

  test("a usernameless challenge is no good for login/mfa/", async () => {
    const user = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const credential = user.authenticator.get(await usernameless(), { credential: user.credential.id });
    assertRefused(await loginMfa(worker, { mfa_token, credential }), MFA_CODE_INVALID);
  });

  test("a challenge bound to another login's mfa_token is refused", async () => {
    const user = await userWithPasskey();
    const first = (await passwordStep(worker, user)).mfa_token;
    const second = (await passwordStep(worker, user)).mfa_token;
    const options = (await loginOptions({ mfa_token: first })).body;
    assertRefused(await loginMfa(worker, { mfa_token: second, credential: user.authenticator.get(options) }), MFA_CODE_INVALID);
  });

  test("another user's passkey is refused as this user's second factor", async () => {
    const user = await userWithPasskey();
    const other = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const options = (await loginOptions({ mfa_token })).body;
    const credential = other.authenticator.get({ ...options, allowCredentials: [] }, { credential: other.credential.id });
    assertRefused(await loginMfa(worker, { mfa_token, credential }), MFA_CODE_INVALID);
  });

  test("a forged assertion counts as a wrong try; the token then still takes a good one", async () => {
    const user = await userWithPasskey();
    const { mfa_token } = await passwordStep(worker, user);
    const options = (await loginOptions({ mfa_token })).body;
    const forged = user.authenticator.get(options, { origin: "https://evil.example.com" });
    assertRefused(await loginMfa(worker, { mfa_token, credential: forged }), MFA_CODE_INVALID);
    const fresh = (await loginOptions({ mfa_token })).body;
    assertLoggedIn(await loginMfa(worker, { mfa_token, credential: user.authenticator.get(fresh) }), user);
  });

  test("disabling TOTP keeps the recovery codes while a passkey remains", async () => {
    const user = await userWithPasskey();
    await enrolTotp(worker, user);
    const off = await worker.fetch(`${DRF}/mfa/totp/`, { method: "DELETE", body: { password: user.password }, token: user.access_token });
    assert.equal(off.status, 204, off.text);
    assertResponse(await mfaStatus(worker, user), 200, {
      totp: false, passkeys: 1, recovery_codes_left: 10, methods: ["recovery_code", "webauthn"],
    });
    assertMfaRequired(await login(worker, user.email, user.password), ["recovery_code", "webauthn"]);
  });

  test("TOTP still works beside a passkey", async () => {
    const user = await userWithPasskey();
    const { secret } = await enrolTotp(worker, user);
    const { mfa_token } = await passwordStep(worker, user);
    assertLoggedIn(await loginMfa(worker, { mfa_token, code: codeAt(secret, 1) }), user);
  });
});

describe("configuration", () => {
  let configured;
  before(async () => {
    configured = await startWorker({
      // Every origin must be on the RP ID (the host of the first): a subdomain is.
      WEBAUTHN_ORIGINS: "https://login.example.org,https://eu.login.example.org",
      WEBAUTHN_RP_NAME: "Example Login",
    });
  });
  after(() => configured?.dispose());

  test("WEBAUTHN_ORIGINS sets the origins and the RP ID is the host of the first; WEBAUTHN_RP_NAME names it", async () => {
    const user = await configured.register();
    const response = await configured.post(`${DRF}/passkeys/register/options/`, undefined, { token: user.access_token });
    assert.deepEqual(response.body.rp, { id: "login.example.org", name: "Example Login" });
    const authenticator = new SoftwareAuthenticator({ origin: "https://login.example.org" });
    const made = await configured.post(`${DRF}/passkeys/register/verify/`, authenticator.create(response.body), { token: user.access_token });
    assert.equal(made.status, 201, made.text);
    const options = (await configured.post(`${DRF}/passkeys/login/options/`, {})).body;
    assert.equal(options.rpId, "login.example.org");
    const fromApp = authenticator.get(options, { origin: ORIGIN });
    assertRefused(await configured.post(`${DRF}/passkeys/login/verify/`, fromApp), PASSKEY_FAILED);
  });
});
