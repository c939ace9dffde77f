// CONTRACT.md "Success bodies" (login/) and "Authentication errors" (login failure): 200 with a
// token pair and the profile, last_login set; every failure the same 401.
import assert from "node:assert/strict";
import { pbkdf2Sync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  BLANK, ISO_UTC, LOGIN_FAILED, NOT_A_STRING, REQUIRED, assertCommonHeaders, assertNoStore, assertProfile,
  assertResponse, assertTokenPair, assertUnauthorized, expectedProfile, failedLoginTimes, login, me, nowSecs,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const deactivate = (email) => worker.db.prepare("UPDATE users SET is_active = 0 WHERE email = ?1").bind(email).run();

describe("login/ success", () => {
  test("answers 200 with a token pair, the profile with last_login set, and no-store headers", async () => {
    const user = await worker.register({ first_name: "Mary", last_name: "Jackson", phone_number: "+44 20 7946 0958" });
    assert.equal(user.user.last_login, null);
    const before = nowSecs();
    const response = await login(worker, user.email, user.password);
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assertNoStore(response.headers);
    assertTokenPair(response.body, { userId: user.user.id });
    const profile = response.body.user;
    assert.match(profile.last_login, ISO_UTC);
    const loggedInAt = Date.parse(profile.last_login) / 1000;
    assert.ok(loggedInAt >= before - 1 && loggedInAt <= nowSecs() + 1, `last_login ${profile.last_login} is now`);
    assertProfile(profile, {
      ...expectedProfile(user), id: user.user.id, uuid: user.user.uuid, date_joined: user.user.date_joined,
      last_login: profile.last_login,
    });
  });

  test("last_login is stored: me/ shows the same value", async () => {
    const user = await worker.register();
    const response = await login(worker, user.email, user.password);
    const fetched = await me(worker, user.access_token);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, response.body.user);
  });

  test("each login sets last_login to the time of that login", async () => {
    const user = await worker.register();
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    await worker.db.prepare("UPDATE users SET last_login = ?1 WHERE id = ?2").bind("2020-02-02T02:02:02Z", user.user.id).run();
    assert.equal((await me(worker, user.access_token)).body.last_login, "2020-02-02T02:02:02Z");
    const second = await login(worker, user.email, user.password);
    const at = Date.parse(second.body.user.last_login) / 1000;
    assert.ok(Math.abs(at - nowSecs()) <= 5, `last_login ${second.body.user.last_login} is now`);
  });

  test("the access token from login authenticates me/", async () => {
    const user = await worker.register();
    const response = await login(worker, user.email, user.password);
    const fetched = await me(worker, response.body.access_token);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.id, user.user.id);
  });

  test("the email is matched without regard to case, under both prefixes", async () => {
    const user = await worker.register({ email: "Dorothy.Vaughan@Example.com" });
    for (const [prefix, email] of [[DRF, "DOROTHY.VAUGHAN@EXAMPLE.COM"], [SHORT, "dorothy.vaughan@example.com"],
      [DRF, "dOrOtHy.VaUgHaN@eXaMpLe.CoM"]]) {
      const response = await login(worker, email, user.password, prefix);
      assert.equal(response.status, 200, `${email}: ${response.text}`);
      assert.equal(response.body.user.email, "dorothy.vaughan@example.com");
    }
  });

  test("a user whose hash Django wrote (another iteration count) can log in", async () => {
    const email = "from.django@example.com";
    const salt = "DjangoSalt0123456789ab";
    const hash = pbkdf2Sync("django-made-passphrase", salt, 1200, 32, "sha256").toString("base64");
    await worker.db.prepare(
      "INSERT INTO users (uuid, email, password, first_name, last_name, date_joined) VALUES (?1, ?2, ?3, 'Old', 'Timer', ?4)",
    ).bind("5f0c1f9e-8d7a-4b1e-9c3d-0a1b2c3d4e5f", email, `pbkdf2_sha256$1200$${salt}$${hash}`, "2024-01-01T10:00:00Z").run();
    const response = await login(worker, email, "django-made-passphrase");
    assert.equal(response.status, 200, response.text);
    assertProfile(response.body.user, {
      ...expectedProfile({ email, first_name: "Old", last_name: "Timer" }),
      uuid: "5f0c1f9e-8d7a-4b1e-9c3d-0a1b2c3d4e5f", date_joined: "2024-01-01T10:00:00Z",
      last_login: response.body.user.last_login,
    });
    const wrong = await login(worker, email, "django-made-passphrasE");
    assertUnauthorized(wrong, LOGIN_FAILED);
  });
});

describe("login/ failure is one 401, whatever the cause", () => {
  let user;
  before(async () => {
    user = await worker.register();
  });

  test("a wrong password", async () => {
    assertUnauthorized(await login(worker, user.email, "correct-horse-battery-stapler"), LOGIN_FAILED);
  });

  test("the right password in another case", async () => {
    assertUnauthorized(await login(worker, user.email, user.password.toUpperCase()), LOGIN_FAILED);
  });

  test("an unknown email", async () => {
    assertUnauthorized(await login(worker, "nobody.here@example.com", user.password), LOGIN_FAILED);
  });

  test("an inactive account with the right password", async () => {
    const inactive = await worker.register();
    assert.equal((await login(worker, inactive.email, inactive.password)).status, 200);
    await deactivate(inactive.email);
    assertUnauthorized(await login(worker, inactive.email, inactive.password), LOGIN_FAILED);
    assertUnauthorized(await login(worker, inactive.email, "wrong-password-entirely"), LOGIN_FAILED);
  });

  test("the three failures are byte-for-byte the same response", async () => {
    const inactive = await worker.register();
    await deactivate(inactive.email);
    const answers = [
      await login(worker, user.email, "not-the-password"),
      await login(worker, "ghost@example.com", "not-the-password"),
      await login(worker, inactive.email, inactive.password),
    ];
    const shape = (r) => ({
      status: r.status, text: r.text,
      // Headers that differ on every request by design are left out of the comparison.
      headers: [...r.headers].filter(([name]) => !["date", "cf-ray", "content-length", "x-request-id"].includes(name)),
    });
    assert.deepEqual(shape(answers[1]), shape(answers[0]));
    assert.deepEqual(shape(answers[2]), shape(answers[0]));
  });

  test("a failed login does not set last_login", async () => {
    const fresh = await worker.register();
    await login(worker, fresh.email, "not-the-password");
    const fetched = await me(worker, fresh.access_token);
    assert.equal(fetched.body.last_login, null);
  });
});

describe("login/ field errors", () => {
  test("an empty object lists both fields as required", async () => {
    assertResponse(await worker.post(`${DRF}/login/`, {}), 400, { email: [REQUIRED], password: [REQUIRED] });
  });

  test("blank email and password are both reported", async () => {
    assertResponse(await worker.post(`${DRF}/login/`, { email: "", password: "" }), 400, { email: [BLANK], password: [BLANK] });
  });

  test("a non-string password is not a valid string", async () => {
    assertResponse(await worker.post(`${DRF}/login/`, { email: "a@example.com", password: ["x"] }), 400, { password: [NOT_A_STRING] });
  });
});

describe("login/ timing (stronger)", () => {
  test("an unknown email costs as much password hashing as a wrong password", async () => {
    const slow = await startWorker({ PBKDF2_ITERATIONS: "150000" });
    try {
      const user = await slow.register();
      const { known: k, unknown: u } = await failedLoginTimes(slow, user.email, 4); // under the back-off threshold
      assert.ok(k > 5, `a wrong password takes measurable time (${k} ms)`);
      assert.ok(u > k * 0.6 && u < k * 1.6, `unknown email ${u} ms vs wrong password ${k} ms`);
    } finally {
      await slow.dispose();
    }
  });
});
