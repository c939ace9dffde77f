import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";

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
