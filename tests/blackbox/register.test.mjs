import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  BLANK, NOT_A_STRING, NUMERIC, REQUIRED, TOO_COMMON, TOO_LONG_150, TOO_SHORT, assertCommonHeaders, assertNoStore,
  assertProfile, assertResponse, assertTokenPair, expectedProfile, login, me, nowSecs, similarTo,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const PROFILE_KEYS = [
  "account_status", "date_joined", "display_name", "email", "first_name", "full_name", "id",
  "is_active", "is_practitioner", "is_staff", "is_superuser", "last_login", "last_name",
  "phone_number", "phone_number_verified", "timezone", "uuid",
];

describe("POST register/", () => {
  test("a valid registration answers 201 with a token pair and the whole profile", async () => {
    const user = worker.newUser({ email: "Grace.Hopper@Example.COM", first_name: "Grace", last_name: "Hopper" });
    const response = await worker.post(`${DRF}/register/`, user);
    assert.equal(response.status, 201);
    assert.match(response.headers.get("content-type"), /^application\/json/);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("pragma"), "no-cache");
    const { access_token, refresh_token, user: profile, ...rest } = response.body;
    assert.deepEqual(rest, { token_type: "bearer", expires_in: 1800 });
    assert.deepEqual(Object.keys(profile).sort(), PROFILE_KEYS);
    assert.equal(typeof profile.id, "number");
    assert.match(profile.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(
      { ...profile, id: undefined, uuid: undefined, date_joined: undefined },
      {
        id: undefined, uuid: undefined, date_joined: undefined,
        email: "grace.hopper@example.com", first_name: "Grace", last_name: "Hopper",
        full_name: "Grace Hopper", display_name: "Grace Hopper", phone_number: null,
        phone_number_verified: false, timezone: "UTC", is_practitioner: false, account_status: "active",
        last_login: null, is_active: true, is_staff: false, is_superuser: false,
      },
    );
    assert.match(profile.date_joined, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
    const claims = decodeSegment(access_token, 1);
    assert.deepEqual(decodeSegment(access_token, 0), { alg: "HS256", typ: "JWT" });
    assert.equal(claims.token_type, "access");
    assert.equal(claims.user_id, String(profile.id));
    assert.match(claims.jti, /^[0-9a-f]{32}$/);
    assert.equal(claims.exp - claims.iat, 1800);
    assert.equal(decodeSegment(refresh_token, 1).token_type, "refresh");
  });

  test("the shorter prefix and a path without its trailing slash serve the same endpoint", async () => {
    const response = await worker.post(`${SHORT}/register`, worker.newUser());
    assert.equal(response.status, 201);
  });

  test("an email already registered, in any case, is refused", async () => {
    const first = await worker.register();
    const again = worker.newUser({ email: first.email.toUpperCase() });
    const response = await worker.post(`${DRF}/register/`, again);
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, { email: ["A user with this email already exists."] });
  });
});

const FIELDS = ["email", "password", "password_confirm", "first_name", "last_name"];
const MISMATCH = "Passwords do not match.";
const INVALID_EMAIL = "Enter a valid email address.";

/** Registers `body` as sent (no defaults filled in) and returns the response. */
const registerRaw = (body) => worker.post(`${DRF}/register/`, body);

/** A registration body whose email has no digits, so numeric passwords are never "similar" to it. */
let plainEmails = 0;
function plainUser(overrides = {}) {
  plainEmails += 1;
  const letters = plainEmails.toString(26).replace(/./g, (c) => String.fromCharCode(97 + parseInt(c, 26)));
  return worker.newUser({ email: `plain.${letters}@example.com`, ...overrides });
}

describe("register/: required, blank and type errors", () => {
  test("an empty object lists every required field", async () => {
    const response = await registerRaw({});
    assertResponse(response, 400, Object.fromEntries(FIELDS.map((f) => [f, [REQUIRED]])));
  });

  for (const field of FIELDS) {
    test(`leaving out ${field} is "This field is required." on ${field} alone`, async () => {
      const body = worker.newUser();
      delete body[field];
      const response = await registerRaw(body);
      assertResponse(response, 400, { [field]: [REQUIRED] });
    });
  }

  for (const field of ["email", "password", "password_confirm"]) {
    for (const blank of ["", "   "]) {
      test(`${field} sent as ${JSON.stringify(blank)} is "This field may not be blank."`, async () => {
        const body = worker.newUser({ [field]: blank });
        const response = await registerRaw(body);
        assertResponse(response, 400, { [field]: [BLANK] });
      });
    }
  }

  for (const field of [...FIELDS, "phone_number", "timezone"]) {
    for (const value of [true, false, [], ["a@example.com"], {}, { value: "x" }]) {
      test(`${field} sent as ${JSON.stringify(value)} is "Not a valid string."`, async () => {
        const body = worker.newUser({ [field]: value });
        const response = await registerRaw(body);
        // A non-string password cannot be compared, so the confirmation is not checked against it.
        assertResponse(response, 400, { [field]: [NOT_A_STRING] });
      });
    }
  }

  test("every failing field is reported at once", async () => {
    const response = await registerRaw({
      email: "not-an-email",
      password: "1234567",
      password_confirm: "7654321",
      first_name: true,
      last_name: "x".repeat(151),
      timezone: "Mars/Olympus_Mons",
    });
    assertResponse(response, 400, {
      email: [INVALID_EMAIL],
      password: [TOO_SHORT, TOO_COMMON, NUMERIC],
      password_confirm: [MISMATCH],
      first_name: [NOT_A_STRING],
      last_name: [TOO_LONG_150],
      timezone: ["Invalid timezone."],
    });
  });

  test("a missing field and a blank field are reported together", async () => {
    const response = await registerRaw({ email: "", password: "kq7-vexing-ozone", first_name: "Ada" });
    assertResponse(response, 400, { email: [BLANK], password_confirm: [REQUIRED], last_name: [REQUIRED] });
  });
});

describe("register/: email", () => {
  for (const email of [
    "not-an-email", "a@b", "@example.com", "user@", "user@@example.com", "user name@example.com",
    "user@example..com", "user@-example.com", "user@example.c", ".user@example.com", "user.@example.com",
  ]) {
    test(`${JSON.stringify(email)} is "Enter a valid email address."`, async () => {
      const response = await registerRaw(worker.newUser({ email }));
      assertResponse(response, 400, { email: [INVALID_EMAIL] });
    });
  }

  test("the email is stored lowercased and trimmed", async () => {
    const response = await registerRaw(worker.newUser({ email: "  Mixed.Case@Example.ORG " }));
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.user.email, "mixed.case@example.org");
    const again = await login(worker, "mixed.case@example.org", "correct-horse-battery-staple");
    assert.equal(again.status, 200, again.text);
  });

  test("a duplicate differing only in case is refused under the shorter prefix too", async () => {
    const first = await worker.register({ email: "case.twin@example.com" });
    assert.equal(first.user.email, "case.twin@example.com");
    for (const email of ["CASE.TWIN@EXAMPLE.COM", "Case.Twin@example.com", "case.twin@EXAMPLE.com"]) {
      const response = await worker.post(`${SHORT}/register/`, worker.newUser({ email }));
      assertResponse(response, 400, { email: ["A user with this email already exists."] });
    }
  });

  test("a refused duplicate does not create a second account", async () => {
    const first = await worker.register({ email: "only.once@example.com" });
    await registerRaw(worker.newUser({ email: "ONLY.ONCE@example.com", password: "another-good-passphrase",
      password_confirm: "another-good-passphrase" }));
    const rows = await worker.db.prepare("SELECT id FROM users WHERE email = ?1 COLLATE NOCASE").bind("only.once@example.com").all();
    assert.deepEqual(rows.results.map((r) => r.id), [first.user.id]);
    const failed = await login(worker, "only.once@example.com", "another-good-passphrase");
    assert.equal(failed.status, 401);
  });
});

describe("register/: names, phone number and time zone", () => {
  test("names of 150 characters are accepted", async () => {
    const first_name = "F".repeat(150);
    const last_name = "L".repeat(150);
    const response = await registerRaw(worker.newUser({ first_name, last_name }));
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.user.first_name, first_name);
    assert.equal(response.body.user.full_name, `${first_name} ${last_name}`);
  });

  test("names of 151 characters are refused, both at once", async () => {
    const response = await registerRaw(worker.newUser({ first_name: "é".repeat(151), last_name: "L".repeat(151) }));
    assertResponse(response, 400, { first_name: [TOO_LONG_150], last_name: [TOO_LONG_150] });
  });

  for (const timezone of ["Mars/Olympus_Mons", "Europe/Pariss", "+01:00", "GMT+25", "../../etc/passwd"]) {
    test(`timezone ${JSON.stringify(timezone)} is "Invalid timezone."`, async () => {
      const response = await registerRaw(worker.newUser({ timezone }));
      assertResponse(response, 400, { timezone: ["Invalid timezone."] });
    });
  }

  test("an optional phone number and time zone are stored and returned everywhere", async () => {
    const body = worker.newUser({ phone_number: "+1234567890", timezone: "America/New_York" });
    const response = await registerRaw(body);
    assert.equal(response.status, 201, response.text);
    const expected = expectedProfile(body);
    assert.equal(expected.phone_number, "+1234567890");
    assertProfile(response.body.user, expected);
    const fetched = await me(worker, response.body.access_token);
    assert.deepEqual(fetched.body, response.body.user);
    const loggedIn = await login(worker, body.email, body.password);
    assertProfile(loggedIn.body.user, { ...expected, id: response.body.user.id, last_login: loggedIn.body.user.last_login });
  });

  test("without phone number and time zone the profile has null and UTC", async () => {
    const body = worker.newUser({ timezone: "Asia/Kolkata" });
    delete body.timezone;
    const response = await registerRaw(body);
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.user.phone_number, null);
    assert.equal(response.body.user.timezone, "UTC");
  });

  test("an explicit null phone number is stored as null", async () => {
    const response = await registerRaw(worker.newUser({ phone_number: null, timezone: "Europe/Paris" }));
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.user.phone_number, null);
    assert.equal(response.body.user.timezone, "Europe/Paris");
  });

  test("keys that are not registration fields are ignored, never applied", async () => {
    const body = worker.newUser({ is_staff: true, is_superuser: true, is_active: false, account_status: "banned",
      id: 999999, uuid: "00000000-0000-4000-8000-000000000000", phone_number_verified: true, is_practitioner: true,
      last_login: "2020-01-01T00:00:00Z", date_joined: "2000-01-01T00:00:00Z" });
    const response = await registerRaw(body);
    assert.equal(response.status, 201, response.text);
    assertProfile(response.body.user, expectedProfile(body));
    assert.notEqual(response.body.user.id, 999999);
    assert.notEqual(response.body.user.uuid, "00000000-0000-4000-8000-000000000000");
    assert.ok(Math.abs(Date.parse(response.body.user.date_joined) / 1000 - nowSecs()) < 10, "date_joined is now");
  });
});

describe("register/: password rules, in the contract's order", () => {
  const CASES = [
    ["a 7-character password is too short", { password: "short1x" }, [TOO_SHORT]],
    ["a common password is too common", { password: "password" }, [TOO_COMMON]],
    ["commonness ignores case", { password: "PassWord" }, [TOO_COMMON]],
    ["an all-digit password is entirely numeric", { password: "81726354" }, [NUMERIC]],
    ["non-ASCII digits are numeric too", { password: "١٢٣٤٥٦٧٨٩" }, [NUMERIC]],
    ["short and numeric", { password: "9081726" }, [TOO_SHORT, NUMERIC]],
    ["common and numeric", { password: "12345678" }, [TOO_COMMON, NUMERIC]],
    ["short, common and numeric", { password: "1234567" }, [TOO_SHORT, TOO_COMMON, NUMERIC]],
    ["similar to the first name", { first_name: "Bartholomew", password: "bartholomew9" }, [similarTo("first name")]],
    ["similar to the last name", { last_name: "Wolfeschlegel", password: "wolfeschlegel7" }, [similarTo("last name")]],
    ["similar to a part of the email", { email: "zanzibar.quokka@example.com", password: "zanzibarquokka" }, [similarTo("email")]],
    ["short and similar", { first_name: "Zyxwvu", password: "zyxwvu1" }, [TOO_SHORT, similarTo("first name")]],
    ["common and similar", { last_name: "Password", password: "password1" }, [TOO_COMMON, similarTo("last name")]],
    ["all four rules", { first_name: "1234567", password: "1234567" }, [TOO_SHORT, TOO_COMMON, NUMERIC, similarTo("first name")]],
    ["similar to first name and email names the first name only",
      { first_name: "Zanzibar", email: "zanzibar@example.com", password: "zanzibar99" }, [similarTo("first name")]],
  ];
  for (const [title, overrides, messages] of CASES) {
    test(`${title}: ${JSON.stringify(messages)}`, async () => {
      const body = plainUser({ ...overrides, password_confirm: overrides.password });
      const response = await registerRaw(body);
      assertResponse(response, 400, { password: messages });
    });
  }

  test("a password that breaks a rule and a mismatched confirmation are both reported", async () => {
    const response = await registerRaw(plainUser({ password: "short1x", password_confirm: "short1y" }));
    assertResponse(response, 400, { password: [TOO_SHORT], password_confirm: [MISMATCH] });
  });

  test("a good password with a different confirmation is a mismatch on password_confirm", async () => {
    const response = await registerRaw(worker.newUser({ password_confirm: "correct-horse-battery-stapler" }));
    assertResponse(response, 400, { password_confirm: [MISMATCH] });
  });

  test("the confirmation is compared exactly (case matters)", async () => {
    const response = await registerRaw(worker.newUser({ password_confirm: "Correct-Horse-Battery-Staple" }));
    assertResponse(response, 400, { password_confirm: [MISMATCH] });
  });

  test("a refused registration creates no user", async () => {
    const body = plainUser({ password: "1234567", password_confirm: "1234567" });
    await registerRaw(body);
    const row = await worker.db.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?1").bind(body.email).first();
    assert.equal(row.n, 0);
  });
});

describe("register/: success", () => {
  test("the response carries a usable token pair for the new user and the no-store headers", async () => {
    const body = worker.newUser({ first_name: "Katherine", last_name: "Johnson" });
    const response = await worker.post(`${SHORT}/register`, body);
    assert.equal(response.status, 201, response.text);
    assertCommonHeaders(response.headers);
    assertNoStore(response.headers);
    assertTokenPair(response.body, { userId: response.body.user.id });
    assertProfile(response.body.user, expectedProfile(body));
    const fetched = await me(worker, response.body.access_token);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, response.body.user);
  });

  test("each registration gets its own id, uuid and tokens", async () => {
    const a = await worker.register();
    const b = await worker.register();
    assert.notEqual(a.user.id, b.user.id);
    assert.notEqual(a.user.uuid, b.user.uuid);
    assert.notEqual(a.access_token, b.access_token);
    assert.equal(decodeSegment(b.access_token, 1).user_id, String(b.user.id));
  });
});
