// CONTRACT.md "Success bodies" (change-password/): 200 message; wrong old password; confirmation
// mismatch; the password rules under new_password; Bearer required.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  BLANK, LOGIN_FAILED, NOT_A_STRING, NOT_PROVIDED, NUMERIC, REQUIRED, TOO_COMMON, TOO_SHORT, accessTokenError,
  assertResponse, assertUnauthorized, login, similarTo,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const CHANGED = { message: "Password changed successfully." };
const NEW = "a-fresh-unguessable-passphrase";
const change = (token, body, prefix = DRF) => worker.post(`${prefix}/change-password/`, body, { token });
const request = (user, overrides = {}) => ({
  old_password: user.password, new_password: NEW, new_password_confirm: NEW, ...overrides,
});

describe("change-password/ success", () => {
  test("answers 200 with the message", async () => {
    const user = await worker.register();
    assertResponse(await change(user.access_token, request(user)), 200, CHANGED);
  });

  test("the old password then fails to log in and the new one works", async () => {
    const user = await worker.register();
    assert.equal((await change(user.access_token, request(user))).status, 200);
    assertUnauthorized(await login(worker, user.email, user.password), LOGIN_FAILED);
    const response = await login(worker, user.email, NEW);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.user.id, user.user.id);
  });

  test("works under the shorter prefix without the slash", async () => {
    const user = await worker.register();
    const response = await worker.post(`${SHORT}/change-password`, request(user), { token: user.access_token });
    assertResponse(response, 200, CHANGED);
  });

  test("the profile is unchanged by a password change", async () => {
    const user = await worker.register();
    await change(user.access_token, request(user));
    const response = await login(worker, user.email, NEW);
    assert.deepEqual({ ...response.body.user, last_login: null }, user.user);
  });
});

describe("change-password/ refusals", () => {
  test("a wrong old password is 400 on old_password, and nothing changes", async () => {
    const user = await worker.register();
    const response = await change(user.access_token, request(user, { old_password: "not-my-password" }));
    assertResponse(response, 400, { old_password: ["Old password is incorrect."] });
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assertUnauthorized(await login(worker, user.email, NEW), LOGIN_FAILED);
  });

  test("a mismatched confirmation is 400 on new_password_confirm", async () => {
    const user = await worker.register();
    const response = await change(user.access_token, request(user, { new_password_confirm: `${NEW}!` }));
    assertResponse(response, 400, { new_password_confirm: ["Passwords do not match."] });
    assert.equal((await login(worker, user.email, user.password)).status, 200, "the password did not change");
  });

  test("an empty object lists the three required fields", async () => {
    const user = await worker.register();
    assertResponse(await change(user.access_token, {}), 400, {
      old_password: [REQUIRED], new_password: [REQUIRED], new_password_confirm: [REQUIRED],
    });
  });

  test("blank and non-string fields are reported together", async () => {
    const user = await worker.register();
    assertResponse(await change(user.access_token, { old_password: "", new_password: ["x"], new_password_confirm: "" }), 400, {
      old_password: [BLANK], new_password: [NOT_A_STRING], new_password_confirm: [BLANK],
    });
  });

  const RULES = [
    ["too short", "short1x", [TOO_SHORT]],
    ["too common", "password", [TOO_COMMON]],
    ["entirely numeric", "81726354", [NUMERIC]],
    ["short, common and numeric", "1234567", [TOO_SHORT, TOO_COMMON, NUMERIC]],
    ["similar to the first name", "bartholomew9", [similarTo("first name")], { first_name: "Bartholomew" }],
    ["similar to the last name", "wolfeschlegel7", [similarTo("last name")], { last_name: "Wolfeschlegel" }],
    ["similar to the email", "zanzibarquokka", [similarTo("email")], { email: `zanzibar.quokka@example.com` }],
  ];
  // Emails without digits or words of their own, so that only the intended rule can fire.
  const neutralEmail = (i) => `cp.${"abcdefghij"[i]}@example.org`;
  for (const [i, [title, password, messages, registration = {}]] of RULES.entries()) {
    test(`a new password ${title} is refused under new_password`, async () => {
      const user = await worker.register({ email: neutralEmail(i), ...registration });
      const response = await change(user.access_token, request(user, { new_password: password, new_password_confirm: password }));
      assertResponse(response, 400, { new_password: messages });
      assert.equal((await login(worker, user.email, user.password)).status, 200, "the password did not change");
    });
  }

  test("a weak new password and a mismatched confirmation are both reported", async () => {
    const user = await worker.register({ email: "weak.and.mismatched@example.org" });
    const response = await change(user.access_token, request(user, { new_password: "1234567", new_password_confirm: "7654321" }));
    assertResponse(response, 400, { new_password: [TOO_SHORT, TOO_COMMON, NUMERIC], new_password_confirm: ["Passwords do not match."] });
  });
});

describe("change-password/ needs a Bearer access token", () => {
  test("without Authorization it is 401 and nothing changes", async () => {
    const user = await worker.register();
    assertUnauthorized(await worker.post(`${DRF}/change-password/`, request(user)), NOT_PROVIDED);
    assert.equal((await login(worker, user.email, user.password)).status, 200);
  });

  test("with a refresh token as Bearer it is 401 'Token has wrong type'", async () => {
    const user = await worker.register();
    assertUnauthorized(await change(user.refresh_token, request(user)), accessTokenError("Token has wrong type"));
  });

  test("with a broken token it is 401 'Token is invalid'", async () => {
    const user = await worker.register();
    assertUnauthorized(await change(`${user.access_token}x`, request(user)), accessTokenError("Token is invalid"));
  });
});
