// CONTRACT.md "Success bodies" (GET/PATCH me/) and the profile: the caller's 17-key profile;
// PATCH changes names, phone number and time zone only, ignoring every other key.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  NOT_A_STRING, NOT_PROVIDED, TOO_LONG_150, assertCommonHeaders, assertNoStore, assertProfile, assertResponse,
  assertUnauthorized, expectedProfile, login, me,
} from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const patch = (token, body, prefix = DRF) => worker.fetch(`${prefix}/me/`, { method: "PATCH", body, token });

/** A registered user who has logged in once; `profile` is the profile login returned. */
async function loggedInUser(overrides) {
  const user = await worker.register(overrides);
  const response = await login(worker, user.email, user.password);
  assert.equal(response.status, 200, response.text);
  return { ...user, access_token: response.body.access_token, profile: response.body.user };
}

describe("GET me/", () => {
  test("answers 200 with exactly the profile login returned", async () => {
    const user = await loggedInUser({ phone_number: "+15551234567", timezone: "Europe/Berlin" });
    const response = await me(worker, user.access_token);
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assert.deepEqual(response.body, user.profile);
    assertProfile(response.body, {
      ...expectedProfile(user), id: user.user.id, uuid: user.user.uuid, date_joined: user.user.date_joined,
      last_login: user.profile.last_login,
    });
    assert.notEqual(response.body.last_login, null);
  });

  test("is personal data: GET and HEAD are marked no-store", async () => {
    const user = await loggedInUser();
    for (const method of ["GET", "HEAD"]) {
      const response = await worker.fetch(`${DRF}/me/`, { method, token: user.access_token });
      assert.equal(response.status, 200, `${method} ${response.text}`);
      assertNoStore(response.headers);
    }
  });

  test("is the same under the shorter prefix without the slash", async () => {
    const user = await loggedInUser();
    const response = await worker.fetch(`${SHORT}/me`, { token: user.access_token });
    assert.deepEqual(response.body, user.profile);
  });

  test("shows each caller their own profile", async () => {
    const a = await loggedInUser({ first_name: "Alan", last_name: "Turing" });
    const b = await loggedInUser({ first_name: "Joan", last_name: "Clarke" });
    assert.deepEqual((await me(worker, a.access_token)).body, a.profile);
    assert.deepEqual((await me(worker, b.access_token)).body, b.profile);
  });

  test("without a token is 401", async () => {
    assertUnauthorized(await me(worker), NOT_PROVIDED);
  });
});

describe("PATCH me/ changes what it may", () => {
  test("first_name, last_name, phone_number and timezone together, with full_name and display_name recomputed", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, {
      first_name: "Augusta", last_name: "King", phone_number: "+44 1234 567890", timezone: "Europe/London",
    });
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assertNoStore(response.headers);
    assert.deepEqual(response.body, {
      ...user.profile, first_name: "Augusta", last_name: "King", full_name: "Augusta King", display_name: "Augusta King",
      phone_number: "+44 1234 567890", timezone: "Europe/London",
    });
    assert.deepEqual((await me(worker, user.access_token)).body, response.body, "the change is stored");
  });

  for (const [field, value] of [
    ["first_name", "Grace"], ["last_name", "Hopper"], ["phone_number", "+1 202 555 0100"], ["timezone", "Asia/Tokyo"],
  ]) {
    test(`${field} alone, leaving the rest as it was`, async () => {
      const user = await loggedInUser();
      const response = await patch(user.access_token, { [field]: value });
      assert.equal(response.status, 200, response.text);
      const expected = { ...user.profile, [field]: value };
      expected.full_name = `${expected.first_name} ${expected.last_name}`.trim();
      expected.display_name = expected.full_name || expected.email;
      assert.deepEqual(response.body, expected);
    });
  }

  test("any IANA zone name is accepted as timezone", async () => {
    const user = await loggedInUser();
    for (const timezone of ["America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]) {
      const response = await patch(user.access_token, { timezone });
      assert.equal(response.status, 200, `${timezone}: ${response.text}`);
      assert.equal(response.body.timezone, timezone);
    }
  });

  test("phone_number null clears it", async () => {
    const user = await loggedInUser({ phone_number: "+15550001111" });
    assert.equal(user.profile.phone_number, "+15550001111");
    const response = await patch(user.access_token, { phone_number: null });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { ...user.profile, phone_number: null });
    assert.equal((await me(worker, user.access_token)).body.phone_number, null);
  });

  test("an empty first name leaves full_name as the last name", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, { first_name: "" });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.full_name, "Lovelace");
    assert.equal(response.body.display_name, "Lovelace");
  });

  test("display_name falls back to the email when both names are empty", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, { first_name: "", last_name: "" });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, {
      ...user.profile, first_name: "", last_name: "", full_name: "", display_name: user.profile.email,
    });
  });

  test("names are trimmed before full_name is built", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, { first_name: "  Edsger ", last_name: " Dijkstra  " });
    assert.equal(response.body.first_name, "Edsger");
    assert.equal(response.body.full_name, "Edsger Dijkstra");
  });

  test("names of 150 characters are accepted", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, { first_name: "ß".repeat(150) });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.first_name, "ß".repeat(150));
  });

  test("an empty object changes nothing", async () => {
    const user = await loggedInUser();
    assertResponse(await patch(user.access_token, {}), 200, user.profile);
  });
});

describe("PATCH me/ ignores every other key", () => {
  test("email, id, uuid, flags, status and dates are neither applied nor an error", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, {
      email: "someone.else@example.com", id: 1, uuid: "00000000-0000-4000-8000-000000000000", is_staff: true,
      is_superuser: true, is_active: false, is_practitioner: true, phone_number_verified: true,
      account_status: "suspended", last_login: null, date_joined: "1999-01-01T00:00:00Z", full_name: "X Y",
      display_name: "Boss", password: "new-password-here", unknown_key: [1, 2, 3],
    });
    assertResponse(response, 200, user.profile);
    assert.deepEqual((await me(worker, user.access_token)).body, user.profile);
    const relogin = await login(worker, user.email, user.password);
    assert.equal(relogin.status, 200, "the password did not change");
    const other = await login(worker, "someone.else@example.com", user.password);
    assert.equal(other.status, 401, "the email did not change");
  });

  test("ignored keys alongside a real change: the change is applied, the rest is not", async () => {
    const user = await loggedInUser();
    const response = await patch(user.access_token, { timezone: "Australia/Sydney", is_staff: true, email: "x@y.io" });
    assertResponse(response, 200, { ...user.profile, timezone: "Australia/Sydney" });
  });
});

describe("PATCH me/ validation", () => {
  const CASES = [
    ["an invalid timezone", { timezone: "Atlantis/Capital" }, { timezone: ["Invalid timezone."] }],
    ["a 151-character first name", { first_name: "a".repeat(151) }, { first_name: [TOO_LONG_150] }],
    ["a 151-character last name", { last_name: "b".repeat(151) }, { last_name: [TOO_LONG_150] }],
    ["a boolean first name", { first_name: true }, { first_name: [NOT_A_STRING] }],
    ["a list last name", { last_name: ["King"] }, { last_name: [NOT_A_STRING] }],
    ["an object phone number", { phone_number: { number: "1" } }, { phone_number: [NOT_A_STRING] }],
    ["a boolean timezone", { timezone: false }, { timezone: [NOT_A_STRING] }],
    ["every failing field at once",
      { first_name: "a".repeat(151), last_name: [], phone_number: true, timezone: "Nowhere/Special", email: "ignored" },
      { first_name: [TOO_LONG_150], last_name: [NOT_A_STRING], phone_number: [NOT_A_STRING], timezone: ["Invalid timezone."] }],
  ];
  for (const [title, body, errors] of CASES) {
    test(`${title} is 400 and changes nothing`, async () => {
      const user = await loggedInUser();
      const response = await patch(user.access_token, { first_name: "Changed", ...body });
      assertResponse(response, 400, errors);
      assert.deepEqual((await me(worker, user.access_token)).body, user.profile);
    });
  }

  test("without a token is 401 and changes nothing", async () => {
    const user = await loggedInUser();
    assertUnauthorized(await patch(undefined, { first_name: "Mallory" }), NOT_PROVIDED);
    assert.deepEqual((await me(worker, user.access_token)).body, user.profile);
  });
});
