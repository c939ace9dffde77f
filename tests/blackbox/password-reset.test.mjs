// Issue 12, password reset (dj-rest-auth's shape): password/reset/ mails a link built from
// PASSWORD_RESET_URL to active users only and answers the same for every well-formed address;
// password/reset/confirm/ takes the uid and Django token from that link, sets the new password,
// revokes every session, clears the login back-off, and the link then dies. Every flow here is
// driven by reading the mail the send_email binding produced.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  INVALID_EMAIL, INVALID_TOKEN, INVALID_UID, LOGIN_FAILED, MISMATCH, NUMERIC, REQUIRED, RESET_DONE, RESET_LINK,
  RESET_SENT, SUBJECTS, TOO_COMMON, TOO_SHORT, assertNoMail, assertResponse, assertUnauthorized, claimsFor, login,
  me, mintToken, nowSecs, requestResetLink, resetLinkFrom, similarTo,
} from "./helpers.mjs";

const NEW = "a-fresh-unguessable-passphrase";

let worker;
before(async () => {
  // A low back-off threshold, so that a blocked account is quick to make.
  worker = await startWorker({ LOGIN_BACKOFF_THRESHOLD: "3", LOGIN_BACKOFF_BASE_SECS: "60", LOGIN_BACKOFF_MAX_SECS: "60" });
});
after(() => worker?.dispose());

let ips = 0;
const freshIp = () => `203.0.113.${++ips % 250}`;

const requestReset = (w, email, prefix = DRF, path = "password/reset/") => w.post(`${prefix}/${path}`, { email });
const confirmReset = (w, body, prefix = DRF, path = "password/reset/confirm/") => w.post(`${prefix}/${path}`, body);
const refresh = (w, token) => w.post(`${DRF}/token/refresh/`, { refresh_token: token });

/** The confirm body for a link, both passwords `password` unless overridden. */
const newPassword = ({ uid, token }, password = NEW, overrides = {}) =>
  ({ uid, token, new_password1: password, new_password2: password, ...overrides });

describe("password/reset/ mails a link", () => {
  test("answers 200 with dj-rest-auth's message and mails the user a link with a uid and a Django token", async () => {
    const user = await worker.register();
    const { mail, link, uid, token } = await requestResetLink(worker, user.email);
    assert.equal(mail.to, user.email);
    assert.equal(Buffer.from(uid, "base64url").toString("utf8"), String(user.user.id), "uid = urlsafe_base64(id)");
    assert.match(uid, /^[A-Za-z0-9_-]+$/, "no padding");
    assert.match(token, /^[0-9a-z]{1,13}-[0-9a-f]{32}$/, "Django's <base36 timestamp>-<32 hex> token");
    assert.ok(mail.html?.includes(link), "the HTML part carries the same link");
  });

  test("an address in another case reaches the stored address", async () => {
    const user = await worker.register();
    assertResponse(await requestReset(worker, user.email.toUpperCase()), 200, RESET_SENT);
    const mail = await worker.mail(user.email, { subject: SUBJECTS.reset });
    assert.match(mail.text, RESET_LINK);
  });

  test("an unknown address gets the same answer and no mail is sent", async () => {
    const nobody = `nobody.${Date.now()}@example.com`;
    assertResponse(await requestReset(worker, nobody), 200, RESET_SENT);
    await assertNoMail(worker, nobody, SUBJECTS.reset);
  });

  test("an inactive user gets the same answer and no mail", async () => {
    const user = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(user.user.id).run();
    assertResponse(await requestReset(worker, user.email), 200, RESET_SENT);
    await assertNoMail(worker, user.email, SUBJECTS.reset);
  });

  test("a user without a usable password (Django's '!' hash) gets the same answer and no mail", async () => {
    const user = await worker.register();
    await worker.db.prepare("UPDATE users SET password = '!unusable0123456789abcdefghijklmnopqrstu' WHERE id = ?1")
      .bind(user.user.id).run();
    assertResponse(await requestReset(worker, user.email), 200, RESET_SENT);
    await assertNoMail(worker, user.email, SUBJECTS.reset);
  });

  test("known, unknown and inactive addresses get byte-identical answers", async () => {
    const known = await worker.register();
    const inactive = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(inactive.user.id).run();
    const answers = [];
    for (const email of [known.email, `unknown.${Date.now()}@example.com`, inactive.email]) {
      const response = await requestReset(worker, email);
      answers.push({ status: response.status, text: response.text });
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
    await worker.mail(known.email, { subject: SUBJECTS.reset });
  });

  test("a malformed address is 400 on email", async () => {
    for (const email of ["not-an-address", "a@", "@example.com", "two@@example.com"]) {
      assertResponse(await requestReset(worker, email), 400, { email: [INVALID_EMAIL] });
    }
  });

  test("a missing address is 400 'This field is required.'", async () => {
    assertResponse(await worker.post(`${DRF}/password/reset/`, {}), 400, { email: [REQUIRED] });
  });

  test("works under the shorter prefix without the slash, and that link works there too", async () => {
    const user = await worker.register();
    assertResponse(await requestReset(worker, user.email, SHORT, "password/reset"), 200, RESET_SENT);
    const { uid, token } = resetLinkFrom(await worker.mail(user.email, { subject: SUBJECTS.reset }));
    const response = await confirmReset(worker, newPassword({ uid, token }), SHORT, "password/reset/confirm");
    assertResponse(response, 200, RESET_DONE);
    assert.equal((await login(worker, user.email, NEW, SHORT)).status, 200);
  });
});

describe("password/reset/confirm/ with the mailed link", () => {
  test("answers 200 (not to be cached: it followed a secret); the new password logs in and the old one no longer does", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    const response = await confirmReset(worker, newPassword(link));
    assertResponse(response, 200, RESET_DONE);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assertUnauthorized(await login(worker, user.email, user.password), LOGIN_FAILED);
    const fresh = await login(worker, user.email, NEW);
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.body.user.id, user.user.id);
  });

  test("the same link cannot be used twice", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
    assertResponse(await confirmReset(worker, newPassword(link, "another-long-passphrase")), 400, INVALID_TOKEN);
    assert.equal((await login(worker, user.email, NEW)).status, 200, "the second attempt changed nothing");
  });

  test("a login between the mail and the confirmation kills the link", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assertResponse(await confirmReset(worker, newPassword(link)), 400, INVALID_TOKEN);
    assert.equal((await login(worker, user.email, user.password)).status, 200, "the password did not change");
  });

  test("a password change between the mail and the confirmation kills the link", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    const changed = await worker.post(`${DRF}/change-password/`,
      { old_password: user.password, new_password: "changed-in-between-pass", new_password_confirm: "changed-in-between-pass" },
      { token: user.access_token });
    assert.equal(changed.status, 200, changed.text);
    assertResponse(await confirmReset(worker, newPassword(link)), 400, INVALID_TOKEN);
  });

  test("of two links, the one used first wins and the other dies with the password it reset", async () => {
    const user = await worker.register();
    const first = await requestResetLink(worker, user.email);
    const second = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(second)), 200, RESET_DONE);
    assertResponse(await confirmReset(worker, newPassword(first, "yet-another-passphrase")), 400, INVALID_TOKEN);
  });

  test("the address counts as verified after a reset (the mail proved it)", async () => {
    const user = await worker.register();
    const before = await worker.fetch(`${DRF}/email/`, { token: user.access_token });
    assertResponse(before, 200, { email: user.email, verified: false });
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
    const fresh = (await login(worker, user.email, NEW)).body;
    assertResponse(await worker.fetch(`${DRF}/email/`, { token: fresh.access_token }), 200, { email: user.email, verified: true });
  });
});

describe("password/reset/confirm/ refusals", () => {
  test("an empty body lists the four required fields", async () => {
    assertResponse(await confirmReset(worker, {}), 400, {
      uid: [REQUIRED], token: [REQUIRED], new_password1: [REQUIRED], new_password2: [REQUIRED],
    });
  });

  test("a garbage uid is 400 on uid", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    for (const uid of ["!!!", "garbage", Buffer.from("abc").toString("base64url"), Buffer.from("-1").toString("base64url")]) {
      assertResponse(await confirmReset(worker, newPassword({ ...link, uid })), 400, INVALID_UID);
    }
    // The refusals did not burn the link.
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
  });

  test("the uid of a user who does not exist is 400 on uid", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    const uid = Buffer.from(String(user.user.id + 1_000_000)).toString("base64url");
    assertResponse(await confirmReset(worker, newPassword({ ...link, uid })), 400, INVALID_UID);
  });

  test("a valid token under another user's uid is 400 on token, and neither password changes", async () => {
    const victim = await worker.register();
    const attacker = await worker.register();
    const link = await requestResetLink(worker, attacker.email);
    const uid = Buffer.from(String(victim.user.id)).toString("base64url");
    assertResponse(await confirmReset(worker, newPassword({ ...link, uid })), 400, INVALID_TOKEN);
    assert.equal((await login(worker, victim.email, victim.password)).status, 200);
    assert.equal((await login(worker, attacker.email, attacker.password)).status, 200);
  });

  test("a bad token is reported before a password mismatch", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    const body = newPassword({ ...link, token: "1-00000000000000000000000000000000" }, NEW, { new_password2: `${NEW}!` });
    assertResponse(await confirmReset(worker, body), 400, INVALID_TOKEN);
  });

  test("mismatched passwords are 400 on new_password2 with Django's typographic apostrophe", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    const response = await confirmReset(worker, newPassword(link, NEW, { new_password2: `${NEW}!` }));
    assertResponse(response, 400, MISMATCH);
    assert.ok(response.text.includes("didn\u2019t"), "U+2019, not an ASCII apostrophe");
    // The mismatch did not burn the link.
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
  });

  test("a mismatch is reported alone, before the password rules (Django's SetPasswordForm)", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link, "1234567", { new_password2: "7654321" })), 400, MISMATCH);
  });

  test("weak passwords are refused under new_password2 with the rules' messages, and the link survives them", async () => {
    // An address without digits or words of its own, so that only the intended rule fires.
    const user = await worker.register({ email: "zanzibar.quokka@example.org" });
    const link = await requestResetLink(worker, user.email);
    const rules = [
      ["short1x", [TOO_SHORT]],
      ["password", [TOO_COMMON]],
      ["81726354", [NUMERIC]],
      ["1234567", [TOO_SHORT, TOO_COMMON, NUMERIC]],
      ["zanzibarquokka", [similarTo("email")]],
    ];
    for (const [password, messages] of rules) {
      assertResponse(await confirmReset(worker, newPassword(link, password)), 400, { new_password2: messages });
    }
    assert.equal((await login(worker, user.email, user.password)).status, 200, "the password did not change");
    // The login above changed last_login, which the token covers: a fresh link for the last step.
    assertResponse(await confirmReset(worker, newPassword(await requestResetLink(worker, user.email))), 200, RESET_DONE);
  });
});

describe("a reset ends every session", () => {
  test("every refresh token and access token issued before is refused afterwards", async () => {
    const user = await worker.register();
    const second = (await login(worker, user.email, user.password)).body;
    // A token the Django side minted (no sid), a few seconds before the reset.
    const djangoRefresh = mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, now: nowSecs() - 5 }));
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
    for (const token of [user.refresh_token, second.refresh_token, djangoRefresh]) {
      const response = await refresh(worker, token);
      assert.equal(response.status, 401, response.text);
      assert.equal(response.body.code, "token_not_valid");
    }
    for (const token of [user.access_token, second.access_token]) {
      const response = await me(worker, token);
      assert.equal(response.status, 401, response.text);
      assert.equal(response.body.code, "token_not_valid");
    }
  });

  test("a session started with the new password works", async () => {
    const user = await worker.register();
    assertResponse(await confirmReset(worker, newPassword(await requestResetLink(worker, user.email))), 200, RESET_DONE);
    const fresh = (await login(worker, user.email, NEW)).body;
    assert.equal((await me(worker, fresh.access_token)).status, 200);
    assert.equal((await refresh(worker, fresh.refresh_token)).status, 200);
  });

  test("the login back-off of a blocked account is cleared", async () => {
    const user = await worker.register();
    const loginFrom = (password) =>
      worker.post(`${DRF}/login/`, { email: user.email, password }, { headers: { "cf-connecting-ip": freshIp() } });
    for (let i = 0; i < 4; i++) await loginFrom("wrong-password-here");
    const blocked = await loginFrom(user.password);
    assert.equal(blocked.status, 429, `the account is blocked before the reset: ${blocked.text}`);
    assertResponse(await confirmReset(worker, newPassword(await requestResetLink(worker, user.email))), 200, RESET_DONE);
    const response = await loginFrom(NEW);
    assert.equal(response.status, 200, `the reset cleared the back-off: ${response.text}`);
  });
});

describe("the security notice", () => {
  test("a reset mails 'Your password was reset' to the user, without any link that carries a secret", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link)), 200, RESET_DONE);
    const notice = await worker.mail(user.email, { subject: SUBJECTS.passwordReset });
    for (const part of [notice.text, notice.html ?? ""]) {
      assert.ok(!part.includes(link.token), "the notice does not repeat the token");
      assert.ok(!part.includes(NEW), "the notice does not carry the password");
    }
  });

  test("a refused confirmation sends no notice", async () => {
    const user = await worker.register();
    const link = await requestResetLink(worker, user.email);
    assertResponse(await confirmReset(worker, newPassword(link, NEW, { new_password2: `${NEW}!` })), 400, MISMATCH);
    await assertNoMail(worker, user.email, SUBJECTS.passwordReset);
  });
});

describe("an expired link (PASSWORD_RESET_TIMEOUT_SECS=1)", () => {
  let short;
  before(async () => {
    short = await startWorker({ PASSWORD_RESET_TIMEOUT_SECS: "1" });
  });
  after(() => short?.dispose());

  test("is 400 on token once the timeout has passed, and the password stays", async () => {
    const user = await short.register();
    const link = await requestResetLink(short, user.email);
    await sleep(2500);
    assertResponse(await confirmReset(short, newPassword(link)), 400, INVALID_TOKEN);
    assert.equal((await login(short, user.email, user.password)).status, 200);
  });
});
