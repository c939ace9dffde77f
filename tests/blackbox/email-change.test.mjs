// Issue 12, email change: email/change/ (Bearer, the current password) mails a key to the NEW
// address; the address changes only when that key is confirmed through registration/verify-email/,
// and then the OLD address gets a notice. Taken, malformed and wrong-password requests are 400
// field errors and mail nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  INVALID_EMAIL, LOGIN_FAILED, NOT_FOUND, NOT_PROVIDED, OK, REQUIRED, SUBJECTS, VERIFICATION_SENT,
  VERIFY_LINK, assertNoMail, assertResponse, assertUnauthorized, login, me,
} from "./helpers.mjs";

const TAKEN = { new_email: ["A user with this email already exists."] };
const WRONG_PASSWORD = { password: ["Password is incorrect."] };
const INVALID = { new_email: [INVALID_EMAIL] };

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

let addresses = 0;
const newAddress = () => `moved${++addresses}.${Date.now()}@example.net`;

const change = (user, body, prefix = DRF, path = "email/change/") =>
  worker.post(`${prefix}/${path}`, body, { token: user.access_token });
const request = (user, new_email, password = user.password) => ({ new_email, password });
const verify = (key) => worker.post(`${DRF}/registration/verify-email/`, { key });
const emailStatus = (user) => worker.fetch(`${DRF}/email/`, { token: user.access_token });

/** The key in the next "confirm your new address" mail to `address`. */
async function changeKey(address) {
  const mail = await worker.mail(address, { subject: SUBJECTS.confirmNew });
  const found = mail.text.match(VERIFY_LINK);
  assert.ok(found, `the mail carries a link built from EMAIL_VERIFY_URL: ${mail.text}`);
  assert.ok(mail.html?.includes(found[0]), "the HTML part carries the same link");
  return found[1];
}

describe("email/change/ then the key from the new address", () => {
  test("answers 200, mails the new address, and changes nothing until the key is confirmed", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    await changeKey(target);
    assertResponse(await emailStatus(user), 200, { email: user.email, verified: false });
    assertUnauthorized(await login(worker, target, user.password), LOGIN_FAILED);
    assert.equal((await login(worker, user.email, user.password)).status, 200, "the old address still logs in");
  });

  test("confirming the key moves the account: email/ shows the new address verified, me/ too", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    assertResponse(await verify(await changeKey(target)), 200, OK);
    assertResponse(await emailStatus(user), 200, { email: target, verified: true });
    const profile = await me(worker, user.access_token);
    assert.equal(profile.body.email, target);
    assert.equal(profile.body.display_name, "Ada Lovelace");
  });

  test("after the confirmation the new address logs in and the old one does not", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    assertResponse(await verify(await changeKey(target)), 200, OK);
    const response = await login(worker, target, user.password);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.user.id, user.user.id);
    assertUnauthorized(await login(worker, user.email, user.password), LOGIN_FAILED);
  });

  test("the old address gets the notice 'Your e-mail address was changed', without the key", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    const key = await changeKey(target);
    assertResponse(await verify(key), 200, OK);
    const notice = await worker.mail(user.email, { subject: SUBJECTS.emailChanged });
    assert.ok(!notice.text.includes(key) && !(notice.html ?? "").includes(key), "the notice does not carry the key");
  });

  test("no notice goes to the old address before the confirmation", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    await changeKey(target);
    await assertNoMail(worker, user.email, SUBJECTS.emailChanged);
  });

  test("the key works once", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    const key = await changeKey(target);
    assertResponse(await verify(key), 200, OK);
    assertResponse(await verify(key), 404, NOT_FOUND);
  });

  test("a newer request replaces an older pending one: the older key is 404, the newer works", async () => {
    const user = await worker.register();
    const first = newAddress();
    const second = newAddress();
    assertResponse(await change(user, request(user, first)), 200, VERIFICATION_SENT);
    const older = await changeKey(first);
    assertResponse(await change(user, request(user, second)), 200, VERIFICATION_SENT);
    const newer = await changeKey(second);
    assertResponse(await verify(older), 404, NOT_FOUND);
    assertResponse(await emailStatus(user), 200, { email: user.email, verified: false });
    assertResponse(await verify(newer), 200, OK);
    assertResponse(await emailStatus(user), 200, { email: second, verified: true });
  });

  test("the new address is stored lowercased", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target.toUpperCase())), 200, VERIFICATION_SENT);
    assertResponse(await verify(await changeKey(target)), 200, OK);
    assertResponse(await emailStatus(user), 200, { email: target, verified: true });
  });

  test("works under the shorter prefix without the slash", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target), SHORT, "email/change"), 200, VERIFICATION_SENT);
    assertResponse(await worker.post(`${SHORT}/registration/verify-email`, { key: await changeKey(target) }), 200, OK);
    assertResponse(await worker.fetch(`${SHORT}/email`, { token: user.access_token }), 200, { email: target, verified: true });
  });
});

describe("email/change/ refusals", () => {
  test("an address another user has is 400 on new_email, in any case, and nothing is mailed", async () => {
    const user = await worker.register();
    const other = await worker.register();
    assertResponse(await change(user, request(user, other.email)), 400, TAKEN);
    assertResponse(await change(user, request(user, other.email.toUpperCase())), 400, TAKEN);
    await assertNoMail(worker, other.email, SUBJECTS.confirmNew);
  });

  test("the caller's own address is 400 on new_email", async () => {
    const user = await worker.register();
    assertResponse(await change(user, request(user, user.email)), 400, TAKEN);
  });

  test("a wrong password is 400 on password, and nothing is mailed", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target, "not-my-password")), 400, WRONG_PASSWORD);
    await assertNoMail(worker, target, SUBJECTS.confirmNew);
  });

  test("a malformed address is 400 on new_email", async () => {
    const user = await worker.register();
    for (const address of ["not-an-address", "a@", "@example.com"]) {
      assertResponse(await change(user, request(user, address)), 400, INVALID);
    }
  });

  test("an empty body lists both required fields", async () => {
    const user = await worker.register();
    assertResponse(await change(user, {}), 400, { new_email: [REQUIRED], password: [REQUIRED] });
  });

  test("without a Bearer token it is 401 and nothing is mailed", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertUnauthorized(await worker.post(`${DRF}/email/change/`, request(user, target)), NOT_PROVIDED);
    await assertNoMail(worker, target, SUBJECTS.confirmNew);
  });

  test("an address taken after the request cannot be confirmed into a duplicate", async () => {
    const user = await worker.register();
    const target = newAddress();
    assertResponse(await change(user, request(user, target)), 200, VERIFICATION_SENT);
    const key = await changeKey(target);
    const squatter = await worker.register({ email: target });
    const response = await verify(key);
    assert.ok([400, 404].includes(response.status), `a client error, not a move onto a taken address: ${response.status} ${response.text}`);
    assertResponse(await emailStatus(user), 200, { email: user.email, verified: false });
    assert.equal((await login(worker, target, squatter.password)).body.user.id, squatter.user.id);
  });
});
