// Issue 16 (contract16.md "TOTP", "Login with a second factor"): TOTP setup and confirmation, the
// 401 mfa_required login and login/mfa/, replayed and out-of-window codes, the mfa_token rules,
// recovery codes, disabling, sessions and mails, the audit trail, and that no secret leaks.
// The codes are computed here (RFC 6238, tests/blackbox/mfa-helpers.mjs). A used step is refused
// until it expires, so each test takes its codes in increasing steps (confirm at now, log in at +1).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  LOGIN_FAILED, NOT_FOUND, NOT_PROVIDED, REQUIRED, assertCommonHeaders, assertNoStore, assertResponse,
  assertTokenPair, assertUnauthorized, login, me, postJsonText,
} from "./helpers.mjs";
import {
  assertLoggedIn,
  BASE32, INVALID_CODE, MFA_CODE_INVALID, MFA_TOKEN_INVALID, NO_FACTOR, NO_SETUP, PASSWORD_INCORRECT,
  RECOVERY_CODE, TOTP_ALREADY_ENABLED, assertMfaRequired, assertSessionEnded, assertSessionLives, assertRefused, codeAt, confirm, disable, enrolTotp,
  expireMfaTokens, freshStep, loginMfa, mfaStatus, newestEvent, passwordStep, refresh, regenerate,
  securityMail, setup, startSetup, trail, wrongCode,
} from "./mfa-helpers.mjs";

const TOTP_METHODS = ["totp", "recovery_code"];

let worker;
before(async () => {
  // The per-account back-off must not turn the wrong codes and passwords below into 429s.
  worker = await startWorker({ LOGIN_BACKOFF_THRESHOLD: "1000" });
});
after(() => worker?.dispose());

/** A fresh user with TOTP enabled (confirmed with the code of the current step). */
async function userWithTotp(prefix = DRF) {
  const user = await worker.register({}, prefix);
  return { ...user, ...(await enrolTotp(worker, user, { prefix })) };
}

/** Password, then the code of `step` (relative to now): the login/mfa/ response. */
async function loginWithCode(user, step = 1, prefix = DRF) {
  const { mfa_token } = await passwordStep(worker, user, prefix);
  return loginMfa(worker, { mfa_token, code: codeAt(user.secret, step) }, prefix);
}


function assertJsonParseError(response) {
  assert.equal(response.status, 400, response.text);
  assertCommonHeaders(response.headers);
  assert.deepEqual(Object.keys(response.body), ["detail"]);
  assert.ok(response.body.detail.startsWith("JSON parse error - "), response.body.detail);
}

describe("mfa/totp/setup/", () => {
  test("answers a 32-character base32 secret, its otpauth URL and an SVG QR code", async () => {
    const user = await worker.register();
    const response = await setup(worker, user);
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assertNoStore(response.headers);
    const { secret, otpauth_url: url, qr_svg: svg } = response.body;
    assert.deepEqual(Object.keys(response.body).sort(), ["otpauth_url", "qr_svg", "secret"]);
    assert.match(secret, BASE32);
    const parsed = new URL(url);
    assert.equal(parsed.protocol, "otpauth:");
    assert.equal(parsed.host, "totp");
    assert.equal(decodeURIComponent(parsed.pathname), `/edge-auth:${user.email.toLowerCase()}`);
    assert.equal(parsed.searchParams.get("secret"), secret);
    assert.equal(parsed.searchParams.get("issuer"), "edge-auth");
    assert.equal(parsed.searchParams.get("algorithm"), "SHA1");
    assert.equal(parsed.searchParams.get("digits"), "6");
    assert.equal(parsed.searchParams.get("period"), "30");
    assert.ok(svg.startsWith("<svg"), svg.slice(0, 80));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
  });

  test("a second setup before confirming replaces the pending secret", async () => {
    const user = await worker.register();
    await freshStep();
    const first = (await startSetup(worker, user)).secret;
    const second = (await startSetup(worker, user)).secret;
    assert.notEqual(first, second);
    if (codeAt(first) !== codeAt(second)) {
      assertResponse(await confirm(worker, user, { code: codeAt(first) }), 400, INVALID_CODE);
    }
    assert.equal((await confirm(worker, user, { code: codeAt(second) })).status, 200);
  });

  test("is refused once TOTP is enabled", async () => {
    const user = await userWithTotp();
    assertResponse(await setup(worker, user), 400, TOTP_ALREADY_ENABLED);
  });
});

describe("mfa/totp/confirm/", () => {
  test("enables TOTP and answers ten distinct recovery codes xxxx-xxxx-xxxx and the methods", async () => {
    const user = await worker.register();
    const { confirmed } = await enrolTotp(worker, user);
    assert.deepEqual(Object.keys(confirmed).sort(), ["methods", "recovery_codes"]);
    assert.equal(confirmed.recovery_codes.length, 10);
    for (const code of confirmed.recovery_codes) assert.match(code, RECOVERY_CODE);
    assert.equal(new Set(confirmed.recovery_codes).size, 10);
    assert.deepEqual(confirmed.methods.slice(0, 2), TOTP_METHODS);
  });

  test("accepts the code of the previous step (one step of drift)", async () => {
    const user = await worker.register();
    await enrolTotp(worker, user, { confirmStep: -1 });
    assertMfaRequired(await login(worker, user.email, user.password));
  });

  for (const [title, step] of [["two steps ago", -2], ["two steps ahead", 2]]) {
    test(`refuses the code of ${title}, and TOTP stays off`, async () => {
      const user = await worker.register();
      await freshStep();
      const { secret } = (await startSetup(worker, user));
      assertResponse(await confirm(worker, user, { code: codeAt(secret, step) }), 400, INVALID_CODE);
      assert.equal((await login(worker, user.email, user.password)).status, 200);
    });
  }

  test("a wrong code is 400 on code and a missing one 400 required", async () => {
    const user = await worker.register();
    const { secret } = (await startSetup(worker, user));
    assertResponse(await confirm(worker, user, { code: wrongCode(secret) }), 400, INVALID_CODE);
    assertResponse(await confirm(worker, user, {}), 400, { code: [REQUIRED] });
  });

  test("a body that is not JSON is a JSON parse error", async () => {
    const user = await worker.register();
    await startSetup(worker, user);
    const response = await postJsonText(worker, `${DRF}/mfa/totp/confirm/`, '{"code": ', {
      authorization: `Bearer ${user.access_token}`,
    });
    assertJsonParseError(response);
  });

  test("without a setup in progress is 400", async () => {
    const user = await worker.register();
    assertResponse(await confirm(worker, user, { code: "123456" }), 400, NO_SETUP);
  });

  test("once enabled, confirming again is 400 already enabled", async () => {
    const user = await userWithTotp();
    assertResponse(await confirm(worker, user, { code: codeAt(user.secret, 1) }), 400, TOTP_ALREADY_ENABLED);
  });

  test("ends every other session of the user but keeps the caller's", async () => {
    const user = await worker.register();
    const other = (await login(worker, user.email, user.password)).body;
    await enrolTotp(worker, user);
    await assertSessionEnded(worker, other);
    await assertSessionLives(worker, user);
  });

  test("sends the security notice", async () => {
    const user = await userWithTotp();
    const mail = await securityMail(worker, user.email.toLowerCase());
    assert.ok(!mail.text.includes(user.secret), "the notice does not carry the secret");
  });
});

describe("mfa/", () => {
  test("a user without a factor: nothing enabled", async () => {
    const user = await worker.register();
    assertResponse(await mfaStatus(worker, user), 200, { totp: false, passkeys: 0, recovery_codes_left: 0, methods: [] });
  });

  test("with TOTP: booleans and counts only, never the secret or a code", async () => {
    const user = await userWithTotp();
    const response = await mfaStatus(worker, user);
    assertResponse(response, 200, { totp: true, passkeys: 0, recovery_codes_left: 10, methods: TOTP_METHODS });
    assert.ok(!response.text.includes(user.secret));
  });
});

describe("login/ of a user with TOTP", () => {
  test("a user without a factor still gets today's 200 and token pair", async () => {
    const user = await worker.register();
    const response = await login(worker, user.email, user.password);
    assertLoggedIn(response, user);
  });

  test("the right password answers 401 mfa_required with the methods and no token", async () => {
    const user = await userWithTotp();
    const response = await login(worker, user.email, user.password);
    assertMfaRequired(response, TOTP_METHODS);
    assert.ok(!("access_token" in response.body) && !("refresh_token" in response.body));
  });

  test("a wrong password is still today's 401, with no mfa_token", async () => {
    const user = await userWithTotp();
    assertUnauthorized(await login(worker, user.email, "not-the-password"), LOGIN_FAILED);
  });

  test("login/mfa/ with the code answers the token pair and the user", async () => {
    const user = await userWithTotp();
    const response = await loginWithCode(user, 1);
    assertLoggedIn(response, user);
    assert.equal((await me(worker, response.body.access_token)).body.id, user.user.id);
  });

  test("the same code replayed is refused", async () => {
    const user = await userWithTotp();
    assert.equal((await loginWithCode(user, 1)).status, 200);
    assertRefused(await loginWithCode(user, 1), MFA_CODE_INVALID);
  });

  test("the code that confirmed TOTP cannot log in (its step is used)", async () => {
    const user = await userWithTotp();
    assertRefused(await loginWithCode(user, 0), MFA_CODE_INVALID);
  });

  for (const [title, step] of [["two steps ago", -2], ["two steps ahead", 2]]) {
    test(`the code of ${title} is refused`, async () => {
      const user = await userWithTotp();
      assertRefused(await loginWithCode(user, step), MFA_CODE_INVALID);
    });
  }

  test("the code of the next step is accepted", async () => {
    const user = await userWithTotp();
    assertLoggedIn(await loginWithCode(user, 1), user);
  });

  test("the code of the previous step is accepted when that step is unused", async () => {
    const user = await worker.register();
    // Confirm with the step before last is impossible (out of the window): confirm at -1 after a
    // fresh setup, then forget that step was used, as a day-old enrolment would have.
    const enrolled = { ...user, ...(await enrolTotp(worker, user, { confirmStep: -1 })) };
    await worker.db.prepare("UPDATE mfa_totp SET last_used_step = 0 WHERE user_id = ?1").bind(user.user.id).run();
    assertLoggedIn(await loginWithCode(enrolled, -1), user);
  });

  test("works under the shorter prefix", async () => {
    const user = await userWithTotp(SHORT);
    const { mfa_token } = await passwordStep(worker, user, SHORT);
    assertLoggedIn(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }, SHORT), user);
  });
});

describe("the mfa_token", () => {
  test("is single-use: after a success it is refused even with a valid factor", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assert.equal((await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) })).status, 200);
    assertRefused(await loginMfa(worker, { mfa_token, recovery_code: user.recoveryCodes[0] }), MFA_TOKEN_INVALID);
  });

  test("survives wrong codes up to the limit: four wrong, then the right one logs in", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    for (let i = 0; i < 4; i += 1) {
      assertRefused(await loginMfa(worker, { mfa_token, code: wrongCode(user.secret) }), MFA_CODE_INVALID);
    }
    assertLoggedIn(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }), user);
  });

  test("dies after MFA_TOKEN_MAX_ATTEMPTS (5) wrong codes: the right code is then refused", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    for (let i = 0; i < 5; i += 1) {
      assertRefused(await loginMfa(worker, { mfa_token, code: wrongCode(user.secret) }), MFA_CODE_INVALID);
    }
    assertRefused(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }), MFA_TOKEN_INVALID);
    // A new password step gives a new token, and the unused code still works.
    assertLoggedIn(await loginWithCode(user, 1), user);
  });

  test("expired (five minutes) is refused", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    await expireMfaTokens(worker, user.user.id);
    assertRefused(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }), MFA_TOKEN_INVALID);
  });

  test("unknown or garbled is refused", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    const garbled = `${mfa_token.slice(0, -2)}${mfa_token.endsWith("AA") ? "BB" : "AA"}`;
    for (const token of [garbled, "not-a-token", "a".repeat(43)]) {
      assertRefused(await loginMfa(worker, { mfa_token: token, code: codeAt(user.secret, 1) }), MFA_TOKEN_INVALID);
    }
    assertLoggedIn(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }), user);
  });

  test("is not a credential for me/ or refresh", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assert.equal((await me(worker, mfa_token)).status, 401);
    assert.equal((await refresh(worker, mfa_token)).status, 401);
  });
});

describe("login/mfa/ validation", () => {
  test("a missing mfa_token is 400 required", async () => {
    assertResponse(await loginMfa(worker, { code: "123456" }), 400, { mfa_token: [REQUIRED] });
  });

  test("none of code, recovery_code, credential is 400 required on code", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assertResponse(await loginMfa(worker, { mfa_token }), 400, { code: [REQUIRED] });
    // The validation error spent no attempt and not the token.
    assertLoggedIn(await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) }), user);
  });

  test("an empty object names mfa_token", async () => {
    const response = await loginMfa(worker, {});
    assert.equal(response.status, 400, response.text);
    assert.deepEqual(response.body.mfa_token, [REQUIRED]);
  });

  test("a body that is not JSON is a JSON parse error", async () => {
    assertJsonParseError(await postJsonText(worker, `${DRF}/login/mfa/`, "nope"));
  });
});

describe("recovery codes", () => {
  test("one logs in once, and never again", async () => {
    const user = await userWithTotp();
    const [code] = user.recoveryCodes;
    let { mfa_token } = await passwordStep(worker, user);
    assertLoggedIn(await loginMfa(worker, { mfa_token, recovery_code: code }), user);
    ({ mfa_token } = await passwordStep(worker, user));
    assertRefused(await loginMfa(worker, { mfa_token, recovery_code: code }), MFA_CODE_INVALID);
    assert.equal((await mfaStatus(worker, user)).body.recovery_codes_left, 9);
  });

  test("when all ten are spent, login offers only totp", async () => {
    const user = await userWithTotp();
    for (const code of user.recoveryCodes) {
      const { mfa_token } = await passwordStep(worker, user);
      assert.equal((await loginMfa(worker, { mfa_token, recovery_code: code })).status, 200);
    }
    assertMfaRequired(await login(worker, user.email, user.password), ["totp"]);
  });

  test("mfa/recovery-codes/ with the password answers ten new codes and the old ones stop working", async () => {
    const user = await userWithTotp();
    const response = await regenerate(worker, user, { password: user.password });
    assert.equal(response.status, 200, response.text);
    assertNoStore(response.headers);
    assert.deepEqual(Object.keys(response.body), ["recovery_codes"]);
    const fresh = response.body.recovery_codes;
    assert.equal(new Set(fresh).size, 10);
    for (const code of fresh) assert.match(code, RECOVERY_CODE);
    assert.equal(fresh.filter((code) => user.recoveryCodes.includes(code)).length, 0);
    const { mfa_token } = await passwordStep(worker, user);
    assertRefused(await loginMfa(worker, { mfa_token, recovery_code: user.recoveryCodes[0] }), MFA_CODE_INVALID);
    assertLoggedIn(await loginMfa(worker, { mfa_token, recovery_code: fresh[0] }), user);
    assert.equal((await mfaStatus(worker, user)).body.recovery_codes_left, 9);
  });

  test("mfa/recovery-codes/ with a wrong password is 400 and the old codes still work", async () => {
    const user = await userWithTotp();
    assertResponse(await regenerate(worker, user, { password: "not-the-password" }), 400, PASSWORD_INCORRECT);
    assertResponse(await regenerate(worker, user, {}), 400, { password: [REQUIRED] });
    const { mfa_token } = await passwordStep(worker, user);
    assertLoggedIn(await loginMfa(worker, { mfa_token, recovery_code: user.recoveryCodes[0] }), user);
  });

  test("mfa/recovery-codes/ without a factor is 400", async () => {
    const user = await worker.register();
    assertResponse(await regenerate(worker, user, { password: user.password }), 400, NO_FACTOR);
  });
});

describe("DELETE mfa/totp/", () => {
  test("with a wrong password is 400 and TOTP stays on", async () => {
    const user = await userWithTotp();
    assertResponse(await disable(worker, user, { password: "not-the-password" }), 400, PASSWORD_INCORRECT);
    assertMfaRequired(await login(worker, user.email, user.password));
  });

  test("with a wrong code is 400 on code", async () => {
    const user = await userWithTotp();
    assertResponse(await disable(worker, user, { code: wrongCode(user.secret) }), 400, INVALID_CODE);
  });

  test("with neither is 400 required on password", async () => {
    const user = await userWithTotp();
    assertResponse(await disable(worker, user, {}), 400, { password: [REQUIRED] });
  });

  test("with the password is 204; login is back to the plain 200 and the recovery codes are gone", async () => {
    const user = await userWithTotp();
    await securityMail(worker, user.email.toLowerCase()); // the enrolment's notice
    const other = (await loginWithCode(user, 1)).body;
    const response = await disable(worker, user, { password: user.password });
    assert.equal(response.status, 204, response.text);
    assert.equal(response.text, "");
    assertLoggedIn(await login(worker, user.email, user.password), user);
    assertResponse(await mfaStatus(worker, user), 200, { totp: false, passkeys: 0, recovery_codes_left: 0, methods: [] });
    await assertSessionEnded(worker, other);
    await assertSessionLives(worker, user);
    await securityMail(worker, user.email.toLowerCase());
  });

  test("with a current code is 204", async () => {
    const user = await userWithTotp();
    assert.equal((await disable(worker, user, { code: codeAt(user.secret, 1) })).status, 204);
    assertLoggedIn(await login(worker, user.email, user.password), user);
  });

  test("when TOTP is not enabled is 404", async () => {
    const user = await worker.register();
    assertResponse(await disable(worker, user, { password: user.password }), 404, NOT_FOUND);
  });

  test("TOTP can then be set up again, with a new secret", async () => {
    const user = await userWithTotp();
    assert.equal((await disable(worker, user, { password: user.password })).status, 204);
    const again = await enrolTotp(worker, user);
    assert.notEqual(again.secret, user.secret);
  });
});

describe("authentication", () => {
  const calls = [
    ["POST", "mfa/totp/setup/", undefined],
    ["POST", "mfa/totp/confirm/", { code: "123456" }],
    ["POST", "mfa/recovery-codes/", { password: "whatever-it-is" }],
    ["DELETE", "mfa/totp/", { password: "whatever-it-is" }],
    ["GET", "mfa/", undefined],
  ];
  for (const prefix of [DRF, SHORT]) {
    for (const [method, path, body] of calls) {
      test(`${method} ${prefix.replace(/^.*\/api/, "/api")}/${path} without a token is 401`, async () => {
        assertUnauthorized(await worker.fetch(`${prefix}/${path}`, { method, body }), NOT_PROVIDED);
      });
    }
  }
});

describe("the audit trail", () => {
  test("records totp_enabled, mfa_challenge, a failed second factor and the login with its method", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assertRefused(await loginMfa(worker, { mfa_token, code: wrongCode(user.secret) }), MFA_CODE_INVALID);
    assert.equal((await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) })).status, 200);
    assert.equal((await newestEvent(worker, user, "totp_enabled"))?.outcome, "success");
    assert.ok(await newestEvent(worker, user, "mfa_challenge"), "mfa_challenge recorded");
    const failed = await newestEvent(worker, user, "login", (event) => event.outcome === "failure");
    assert.deepEqual(failed?.detail, { reason: "invalid_second_factor" });
    const success = await newestEvent(worker, user, "login", (event) => event.outcome === "success");
    assert.deepEqual(success?.detail, { method: "totp" });
  });

  test("records a recovery code's use, a regeneration and the disabling", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assert.equal((await loginMfa(worker, { mfa_token, recovery_code: user.recoveryCodes[0] })).status, 200);
    assert.equal((await regenerate(worker, user, { password: user.password })).status, 200);
    assert.equal((await disable(worker, user, { password: user.password })).status, 204);
    assert.ok(await newestEvent(worker, user, "recovery_code_used"));
    assert.ok(await newestEvent(worker, user, "recovery_codes_generated"));
    assert.ok(await newestEvent(worker, user, "totp_disabled"));
    const success = await newestEvent(worker, user, "login", (event) => event.detail?.method === "recovery_code");
    assert.equal(success?.outcome, "success");
  });

  test("carries no secret: not the TOTP secret, a recovery code or the mfa_token", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    assert.equal((await loginMfa(worker, { mfa_token, recovery_code: user.recoveryCodes[1] })).status, 200);
    await newestEvent(worker, user, "recovery_code_used");
    const text = JSON.stringify(await trail(worker, user));
    for (const secret of [user.secret, mfa_token, ...user.recoveryCodes]) {
      assert.ok(!text.includes(secret), `the trail does not carry ${secret}`);
    }
    const { results } = await worker.db.prepare("SELECT * FROM auth_events WHERE user_id = ?1").bind(user.user.id).all();
    const rows = JSON.stringify(results);
    for (const secret of [user.secret, mfa_token, ...user.recoveryCodes]) assert.ok(!rows.includes(secret));
  });

  test("the worker's log carries no secret either", async () => {
    const user = await userWithTotp();
    const { mfa_token } = await passwordStep(worker, user);
    await loginMfa(worker, { mfa_token, code: codeAt(user.secret, 1) });
    const log = worker.output.join("\n");
    for (const secret of [user.secret, mfa_token, ...user.recoveryCodes]) assert.ok(!log.includes(secret));
  });

  test("the TOTP secret is stored sealed, never in the clear", async () => {
    const user = await userWithTotp();
    const row = await worker.db.prepare("SELECT * FROM mfa_totp WHERE user_id = ?1").bind(user.user.id).first();
    assert.ok(row, "a mfa_totp row");
    const stored = JSON.stringify(row);
    assert.ok(!stored.includes(user.secret), "not the base32 secret");
    const { results } = await worker.db.prepare("SELECT * FROM mfa_recovery_codes WHERE user_id = ?1").bind(user.user.id).all();
    assert.equal(results.length, 10);
    for (const code of user.recoveryCodes) assert.ok(!JSON.stringify(results).includes(code), "recovery codes hashed");
  });
});

describe("configuration", () => {
  let configured;
  before(async () => {
    configured = await startWorker({ MFA_ISSUER: "Acme Corp", MFA_TOKEN_MAX_ATTEMPTS: "2" });
  });
  after(() => configured?.dispose());

  test("MFA_ISSUER names the issuer of the otpauth URL", async () => {
    const user = await configured.register();
    const url = new URL((await startSetup(configured, user)).otpauth_url);
    assert.equal(decodeURIComponent(url.pathname), `/Acme Corp:${user.email.toLowerCase()}`);
    assert.equal(url.searchParams.get("issuer"), "Acme Corp");
  });

  test("MFA_TOKEN_MAX_ATTEMPTS sets how many wrong codes kill the mfa_token", async () => {
    const user = await configured.register();
    const { secret } = await enrolTotp(configured, user);
    const { mfa_token } = await passwordStep(configured, user);
    for (let i = 0; i < 2; i += 1) {
      assertRefused(await loginMfa(configured, { mfa_token, code: wrongCode(secret) }), MFA_CODE_INVALID);
    }
    assertRefused(await loginMfa(configured, { mfa_token, code: codeAt(secret, 1) }), MFA_TOKEN_INVALID);
  });
});
