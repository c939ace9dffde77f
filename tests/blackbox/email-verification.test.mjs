// Issue 12, email verification (dj-rest-auth's shape): register/ mails a key in a link built from
// EMAIL_VERIFY_URL; registration/verify-email/ takes it once, before it expires;
// registration/resend-email/ mails a new key that replaces the old one and answers the same for
// every address; GET email/ tells whether the address is verified; the profile keeps its 17 keys.
// With REQUIRE_VERIFIED_EMAIL=true an unverified user cannot log in.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  INVALID_EMAIL, LOGIN_FAILED, NOT_FOUND, NOT_PROVIDED, OK, PROFILE_KEYS, REQUIRED, SUBJECTS, VERIFICATION_SENT,
  assertNoMail, assertNoStore, assertResponse, assertTokenPair, assertUnauthorized, login, me, resetLinkFrom,
  verificationKey,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const verify = (w, key, prefix = DRF, path = "registration/verify-email/") => w.post(`${prefix}/${path}`, { key });
const resend = (w, email, prefix = DRF, path = "registration/resend-email/") => w.post(`${prefix}/${path}`, { email });
const emailStatus = (w, token, prefix = DRF) => w.fetch(`${prefix}/email/`, { token });

describe("register/ mails a verification link", () => {
  test("the mail goes to the new address, with the key in a link built from EMAIL_VERIFY_URL, in both parts", async () => {
    const user = await worker.register();
    const { mail, link, key } = await verificationKey(worker, user.email);
    assert.equal(mail.to, user.email);
    assert.ok(key.length >= 20, `an unguessable key: ${key}`);
    assert.ok(mail.html?.includes(link), "the HTML part carries the same link");
  });

  test("GET email/ says the new address is not verified yet, marked no-store", async () => {
    const user = await worker.register();
    const response = await emailStatus(worker, user.access_token);
    assertResponse(response, 200, { email: user.email, verified: false });
    assertNoStore(response.headers);
  });

  test("GET email/ needs a Bearer token", async () => {
    assertUnauthorized(await worker.fetch(`${DRF}/email/`), NOT_PROVIDED);
  });
});

describe("registration/verify-email/", () => {
  test("the mailed key answers 200 {detail: ok}, not to be cached, and the address is then verified", async () => {
    const user = await worker.register();
    const { key } = await verificationKey(worker, user.email);
    const verified = await verify(worker, key);
    assertResponse(verified, 200, OK);
    assert.equal(verified.headers.get("cache-control"), "no-store");
    assertResponse(await emailStatus(worker, user.access_token), 200, { email: user.email, verified: true });
  });

  test("a key works once: the second use is 404 Not found.", async () => {
    const user = await worker.register();
    const { key } = await verificationKey(worker, user.email);
    assertResponse(await verify(worker, key), 200, OK);
    assertResponse(await verify(worker, key), 404, NOT_FOUND);
  });

  test("an unknown key is 404 and a missing one is 400 'This field is required.'", async () => {
    assertResponse(await verify(worker, "this-key-was-never-issued-0123456789"), 404, NOT_FOUND);
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, {}), 400, { key: [REQUIRED] });
  });

  test("works under the shorter prefix without the slash", async () => {
    const user = await worker.register({}, SHORT);
    const { key } = await verificationKey(worker, user.email);
    assertResponse(await verify(worker, key, SHORT, "registration/verify-email"), 200, OK);
    assertResponse(await emailStatus(worker, user.access_token, SHORT), 200, { email: user.email, verified: true });
  });

  test("the profile keeps exactly its 17 keys and its values through a verification", async () => {
    const user = await worker.register();
    const before = await me(worker, user.access_token);
    assert.deepEqual(Object.keys(before.body).sort(), PROFILE_KEYS);
    assertResponse(await verify(worker, (await verificationKey(worker, user.email)).key), 200, OK);
    const after = await me(worker, user.access_token);
    assert.deepEqual(Object.keys(after.body).sort(), PROFILE_KEYS);
    assert.deepEqual(after.body, before.body);
    const logged = await login(worker, user.email, user.password);
    assert.deepEqual(Object.keys(logged.body.user).sort(), PROFILE_KEYS);
  });

  test("verifying one user's key leaves another user unverified", async () => {
    const a = await worker.register();
    const b = await worker.register();
    assertResponse(await verify(worker, (await verificationKey(worker, a.email)).key), 200, OK);
    assertResponse(await emailStatus(worker, b.access_token), 200, { email: b.email, verified: false });
  });
});

describe("registration/resend-email/", () => {
  test("mails a new key that works, and the old key is then 404", async () => {
    const user = await worker.register();
    const { key: old } = await verificationKey(worker, user.email);
    assertResponse(await resend(worker, user.email), 200, OK);
    const { key: fresh } = await verificationKey(worker, user.email);
    assert.notEqual(fresh, old);
    assertResponse(await verify(worker, old), 404, NOT_FOUND);
    assertResponse(await verify(worker, fresh), 200, OK);
    assertResponse(await emailStatus(worker, user.access_token), 200, { email: user.email, verified: true });
  });

  test("an unknown address answers 200 {detail: ok} and nothing is mailed", async () => {
    const nobody = `nobody.${Date.now()}@example.com`;
    assertResponse(await resend(worker, nobody), 200, OK);
    await assertNoMail(worker, nobody, SUBJECTS.verify);
  });

  test("an already verified address answers 200 and nothing is mailed", async () => {
    const user = await worker.register();
    assertResponse(await verify(worker, (await verificationKey(worker, user.email)).key), 200, OK);
    assertResponse(await resend(worker, user.email), 200, OK);
    await assertNoMail(worker, user.email, SUBJECTS.verify);
  });

  test("an inactive user's address answers 200 and nothing is mailed", async () => {
    const user = await worker.register();
    await verificationKey(worker, user.email);
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(user.user.id).run();
    assertResponse(await resend(worker, user.email), 200, OK);
    await assertNoMail(worker, user.email, SUBJECTS.verify);
  });

  test("a malformed address is 400 on email, a missing one 400 required", async () => {
    assertResponse(await resend(worker, "not-an-address"), 400, { email: [INVALID_EMAIL] });
    assertResponse(await worker.post(`${DRF}/registration/resend-email/`, {}), 400, { email: [REQUIRED] });
  });

  test("works under the shorter prefix without the slash", async () => {
    const user = await worker.register();
    await verificationKey(worker, user.email);
    assertResponse(await resend(worker, user.email, SHORT, "registration/resend-email"), 200, OK);
    assertResponse(await verify(worker, (await verificationKey(worker, user.email)).key), 200, OK);
  });
});

describe("an expired key (EMAIL_VERIFY_TIMEOUT_SECS=1)", () => {
  let short;
  before(async () => {
    short = await startWorker({ EMAIL_VERIFY_TIMEOUT_SECS: "1" });
  });
  after(() => short?.dispose());

  test("is 404 once the timeout has passed, and the address stays unverified", async () => {
    const user = await short.register();
    const { key } = await verificationKey(short, user.email);
    await sleep(2500);
    assertResponse(await verify(short, key), 404, NOT_FOUND);
    assertResponse(await emailStatus(short, user.access_token), 200, { email: user.email, verified: false });
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  const NOT_VERIFIED = { detail: "E-mail is not verified.", code: "email_not_verified" };
  let strict;
  before(async () => {
    strict = await startWorker({ REQUIRE_VERIFIED_EMAIL: "true" });
  });
  after(() => strict?.dispose());

  const registerUnverified = async () => {
    const body = strict.newUser();
    const response = await strict.post(`${DRF}/register/`, body);
    return { body, response };
  };

  test("register/ answers 201 {detail: 'Verification e-mail sent.'} without tokens, and mails the key", async () => {
    const { body, response } = await registerUnverified();
    assertResponse(response, 201, VERIFICATION_SENT);
    assert.ok(!/access_token|refresh_token|eyJ/.test(response.text), "no token in the answer");
    await verificationKey(strict, body.email);
  });

  test("login with the right password is 403 email_not_verified and issues no tokens", async () => {
    const { body } = await registerUnverified();
    const response = await login(strict, body.email, body.password);
    assertResponse(response, 403, NOT_VERIFIED);
    assert.ok(!/access_token|refresh_token|eyJ/.test(response.text), "no token in the answer");
    const sessions = await strict.db.prepare(
      "SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?1").bind(body.email).first();
    assert.equal(sessions.n, 0, "no session was started");
  });

  test("a wrong password is still 401, so the 403 tells nothing to someone without the password", async () => {
    const { body } = await registerUnverified();
    assertUnauthorized(await login(strict, body.email, "wrong-password-here"), LOGIN_FAILED);
  });

  test("after the mailed key is confirmed the same login answers 200 with tokens", async () => {
    const { body } = await registerUnverified();
    assertResponse(await verify(strict, (await verificationKey(strict, body.email)).key), 200, OK);
    const response = await login(strict, body.email, body.password);
    assert.equal(response.status, 200, response.text);
    assertTokenPair(response.body, { userId: response.body.user.id });
  });

  test("a password reset proves the address too, and the user can then log in", async () => {
    const { body } = await registerUnverified();
    await verificationKey(strict, body.email);
    assert.equal((await strict.post(`${DRF}/password/reset/`, { email: body.email })).status, 200);
    const { uid, token } = resetLinkFrom(await strict.mail(body.email, { subject: SUBJECTS.reset }));
    const password = "a-fresh-unguessable-passphrase";
    const confirmed = await strict.post(`${DRF}/password/reset/confirm/`,
      { uid, token, new_password1: password, new_password2: password });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal((await login(strict, body.email, password)).status, 200);
  });
});
