// Issue 15, the admin API: staff (`is_staff` of the caller's live row) list, read and change
// users, list and end their sessions and read the audit trail, under both prefixes. Only a
// superuser may give or take staff, or touch a superuser's account; everyone else gets DRF's 403.
// Disabling an account ends its sessions at once. Staff are made in D1 directly: there is no API
// for it (README, "Admin API").
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  ISO_UTC, NOT_FOUND, NOT_PROVIDED, PROFILE_KEYS, accessTokenError, assertNoStore, assertResponse, assertUnauthorized,
  login, me,
} from "./helpers.mjs";

const DENIED = { detail: "You do not have permission to perform this action." };
const INVALID_PAGE = { detail: "Invalid page." };
const USER_INACTIVE = { detail: "User is inactive", code: "user_inactive" };
const BLACKLISTED = { detail: "Token is blacklisted", code: "token_not_valid" };
const LOGIN_FAILED = { detail: "Invalid email or password." };
const ALL_OUT = { message: "Successfully logged out of all sessions." };
const ADMIN_KEYS = [...PROFILE_KEYS, "email_verified"].sort();

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

/** A registered user, made staff and/or superuser in D1 (no API makes staff). */
async function member({ staff = false, superuser = false, ...overrides } = {}) {
  const user = await worker.register(overrides);
  await setFlags(user, { staff, superuser });
  return user;
}

function setFlags(user, { staff, superuser }) {
  return worker.db
    .prepare("UPDATE users SET is_staff = ?1, is_superuser = ?2 WHERE id = ?3")
    .bind(staff ? 1 : 0, superuser ? 1 : 0, user.user.id)
    .run();
}

const get = (path, caller, prefix = DRF) => worker.fetch(`${prefix}/${path}`, { token: caller?.access_token });
const patch = (id, body, caller, prefix = DRF) =>
  worker.fetch(`${prefix}/admin/users/${id}/`, { method: "PATCH", body, token: caller.access_token });
const logoutAll = (id, caller, prefix = DRF) =>
  worker.post(`${prefix}/admin/users/${id}/logout-all/`, undefined, { token: caller?.access_token });
const refresh = (user) => worker.post(`${DRF}/token/refresh/`, { refresh: user.refresh_token });

/** Every admin endpoint, as [method, path] for the user `id`. */
const endpoints = (id) => [
  ["GET", "admin/users/"],
  ["GET", `admin/users/${id}/`],
  ["PATCH", `admin/users/${id}/`],
  ["GET", `admin/users/${id}/sessions/`],
  ["POST", `admin/users/${id}/logout-all/`],
  ["GET", `admin/events/?user=${id}`],
];

const send = (method, path, caller, prefix = DRF) =>
  worker.fetch(`${prefix}/${path}`, {
    method,
    token: caller?.access_token,
    body: method === "PATCH" ? { first_name: "Mallory" } : undefined,
  });

describe("who may use it", () => {
  test("without a token every admin endpoint is 401", async () => {
    const target = await worker.register();
    for (const prefix of [DRF, SHORT]) {
      for (const [method, path] of endpoints(target.user.id)) {
        assertUnauthorized(await send(method, path, undefined, prefix), NOT_PROVIDED);
      }
    }
  });

  test("a user who is not staff gets DRF's 403 from every admin endpoint, and changes nothing", async () => {
    const plain = await worker.register();
    const target = await worker.register();
    // A superuser flag alone is not staff (DRF's IsAdminUser asks is_staff).
    const superOnly = await member({ superuser: true });
    for (const caller of [plain, superOnly]) {
      for (const prefix of [DRF, SHORT]) {
        for (const [method, path] of endpoints(target.user.id)) {
          assertResponse(await send(method, path, caller, prefix), 403, DENIED);
        }
      }
    }
    // Not even about itself.
    assertResponse(await patch(plain.user.id, { is_staff: true }, plain), 403, DENIED);
    assert.equal((await me(worker, target.access_token)).body.first_name, "Ada");
    assert.equal((await refresh(target)).status, 200, "the target's session survived");
    assert.equal((await me(worker, plain.access_token)).body.is_staff, false);
  });

  test("staff is read live: demoted in D1, the same token is refused at once; promoted, accepted at once", async () => {
    const staff = await member({ staff: true });
    assert.equal((await get("admin/users/", staff)).status, 200);
    await setFlags(staff, { staff: false, superuser: false });
    assertResponse(await get("admin/users/", staff), 403, DENIED);
    await setFlags(staff, { staff: true, superuser: false });
    assert.equal((await get("admin/users/", staff)).status, 200);
  });

  test("a disabled staff member's token is 401, as everywhere", async () => {
    const staff = await member({ staff: true });
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(staff.user.id).run();
    assertUnauthorized(await get("admin/users/", staff), USER_INACTIVE);
  });
});

describe("reading users", () => {
  test("one user: the profile and whether the address is verified, under both prefixes", async () => {
    const staff = await member({ staff: true });
    const target = await worker.register({ first_name: "Grace", last_name: "Hopper" });
    for (const prefix of [DRF, SHORT]) {
      const response = await get(`admin/users/${target.user.id}/`, staff, prefix);
      assert.equal(response.status, 200, response.text);
      assertNoStore(response.headers);
      assert.deepEqual(Object.keys(response.body).sort(), ADMIN_KEYS);
      assert.deepEqual(response.body, { ...target.user, email_verified: false });
    }
    // Without the trailing slash too, and HEAD.
    assert.equal((await worker.fetch(`${DRF}/admin/users/${target.user.id}`, { token: staff.access_token })).status, 200);
    const head = await worker.fetch(`${DRF}/admin/users/${target.user.id}/`, { method: "HEAD", token: staff.access_token });
    assert.equal(head.status, 200);
  });

  test("an unknown or non-integer id is 404 Not found.", async () => {
    const staff = await member({ staff: true });
    for (const id of ["999999", "abc", "-1", "1.0", "1e3", "99999999999999999999999"]) {
      assertResponse(await get(`admin/users/${id}/`, staff), 404, NOT_FOUND);
      assertResponse(await get(`admin/users/${id}/sessions/`, staff), 404, NOT_FOUND);
      assertResponse(await logoutAll(id, staff), 404, NOT_FOUND);
      assertResponse(await patch(id, { first_name: "X" }, staff), 404, NOT_FOUND);
    }
  });

  test("the list is paginated by id with DRF's next and previous links, under each prefix", async () => {
    const staff = await member({ staff: true });
    const tag = `pag${Date.now()}`;
    const made = [];
    for (let i = 0; i < 5; i += 1) made.push(await worker.register({ last_name: `${tag}${i}` }));
    for (const prefix of [DRF, SHORT]) {
      const base = `${prefix}/admin/users/`;
      const first = await get(`admin/users/?search=${tag}&page_size=2`, staff, prefix);
      assert.equal(first.status, 200, first.text);
      assertNoStore(first.headers);
      assert.equal(first.body.count, 5);
      assert.deepEqual(first.body.results.map((user) => user.id), made.slice(0, 2).map((user) => user.user.id));
      assert.deepEqual(Object.keys(first.body.results[0]).sort(), ADMIN_KEYS);
      assert.equal(first.body.previous, null);
      assert.equal(first.body.next, `${base}?page=2&page_size=2&search=${tag}`);
      const second = await worker.fetch(first.body.next, { token: staff.access_token });
      assert.deepEqual(second.body.results.map((user) => user.id), made.slice(2, 4).map((user) => user.user.id));
      assert.equal(second.body.previous, `${base}?page_size=2&search=${tag}`);
      const last = await worker.fetch(second.body.next, { token: staff.access_token });
      assert.deepEqual(last.body.results.map((user) => user.id), [made[4].user.id]);
      assert.equal(last.body.next, null);
      assert.equal(last.body.previous, `${base}?page=2&page_size=2&search=${tag}`);
    }
    assertResponse(await get(`admin/users/?search=${tag}&page_size=2&page=4`, staff), 404, INVALID_PAGE);
    assertResponse(await get(`admin/users/?search=${tag}&page=0`, staff), 404, INVALID_PAGE);
    assertResponse(await get(`admin/users/?page=abc`, staff), 404, INVALID_PAGE);
    const nothing = await get(`admin/users/?search=nobody-has-this-${tag}`, staff);
    assertResponse(nothing, 200, { count: 0, next: null, previous: null, results: [] });
  });

  test("without a search every user is listed, by id", async () => {
    const staff = await member({ staff: true });
    const all = await get("admin/users/?page_size=100", staff);
    const { count } = (await worker.db.prepare("SELECT COUNT(*) AS count FROM users").first());
    assert.equal(all.body.count, count);
    const ids = all.body.results.map((user) => user.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  });

  test("search finds email, first or last name, any case, each term, and takes % and _ literally", async () => {
    const staff = await member({ staff: true });
    const tag = `srch${Date.now()}`;
    const byEmail = await worker.register({ email: `${tag}.mail@example.com` });
    const byFirst = await worker.register({ first_name: `Zed${tag}` });
    const underscore = await worker.register({ last_name: `${tag}a_b` });
    const notUnderscore = await worker.register({ last_name: `${tag}axb` });
    const percent = await worker.register({ first_name: `${tag}50%off` });
    const notPercent = await worker.register({ first_name: `${tag}50 and more off` });
    const found = async (search) => {
      const response = await get(`admin/users/?page_size=100&search=${encodeURIComponent(search)}`, staff);
      assert.equal(response.status, 200, response.text);
      return response.body.results.map((user) => user.id).sort((a, b) => a - b);
    };
    const ids = (...users) => users.map((user) => user.user.id).sort((a, b) => a - b);
    assert.deepEqual(await found(tag.toUpperCase()), ids(byEmail, byFirst, underscore, notUnderscore, percent, notPercent));
    assert.deepEqual(await found(`${tag}.MAIL`), ids(byEmail));
    assert.deepEqual(await found(`zed${tag}`), ids(byFirst));
    assert.deepEqual(await found(`${tag}a_b`), ids(underscore), "_ is no wildcard");
    assert.deepEqual(await found(`${tag}50%off`), ids(percent), "% is no wildcard");
    assert.deepEqual(await found(`a_b ${tag}`), ids(underscore), "every term must match");
    assert.deepEqual(await found(`${tag},axb`), ids(notUnderscore), "commas split terms too");
    assert.deepEqual(await found(`${tag}\\`), []);
  });
});

describe("sessions", () => {
  test("a user's live sessions, as GET sessions/ shows them but without `current`", async () => {
    const staff = await member({ staff: true });
    const target = await worker.register();
    const second = (await login(worker, target.email, target.password)).body;
    for (const prefix of [DRF, SHORT]) {
      const response = await get(`admin/users/${target.user.id}/sessions/`, staff, prefix);
      assert.equal(response.status, 200, response.text);
      assertNoStore(response.headers);
      const own = (await get("sessions/", target)).body.map(({ current, ...rest }) => rest);
      assert.deepEqual(response.body, own);
      assert.equal(response.body.length, 2);
      assert.deepEqual(Object.keys(response.body[0]).sort(), ["created_at", "id", "last_used_at", "user_agent"]);
      assert.match(response.body[0].created_at, ISO_UTC);
      const sids = response.body.map((session) => session.id).sort();
      assert.deepEqual(sids, [decodeSegment(target.access_token, 1).sid, decodeSegment(second.access_token, 1).sid].sort());
    }
  });

  test("logout-all by staff ends every session of the user: refresh and access tokens refused at once", async () => {
    const staff = await member({ staff: true });
    for (const prefix of [DRF, SHORT]) {
      const target = await worker.register();
      const second = (await login(worker, target.email, target.password)).body;
      assertResponse(await logoutAll(target.user.id, staff, prefix), 200, ALL_OUT);
      for (const session of [target, second]) {
        assertUnauthorized(await refresh(session), BLACKLISTED);
        assertUnauthorized(await me(worker, session.access_token), accessTokenError("Token is blacklisted"));
      }
      assertResponse(await get(`admin/users/${target.user.id}/sessions/`, staff), 200, []);
      // The account itself is untouched: its owner logs in again.
      assert.equal((await login(worker, target.email, target.password)).status, 200);
    }
  });
});

describe("changing users", () => {
  test("names and status change as asked; other keys are ignored; the answer is the changed user", async () => {
    const staff = await member({ staff: true });
    const target = await worker.register();
    for (const prefix of [DRF, SHORT]) {
      const response = await patch(
        target.user.id,
        { first_name: "  Augusta ", last_name: `Byron-${prefix.length}`, email: "evil@example.com", is_superuser: true, password: "x" },
        staff,
        prefix,
      );
      assert.equal(response.status, 200, response.text);
      assertNoStore(response.headers);
      assert.deepEqual(response.body, {
        ...target.user,
        first_name: "Augusta",
        last_name: `Byron-${prefix.length}`,
        full_name: `Augusta Byron-${prefix.length}`,
        display_name: `Augusta Byron-${prefix.length}`,
        email_verified: false,
      });
      assert.deepEqual((await me(worker, target.access_token)).body, { ...target.user, ...pick(response.body) });
    }
    // An empty body changes nothing.
    const same = await patch(target.user.id, {}, staff);
    assert.equal(same.status, 200);
    assert.equal(same.body.first_name, "Augusta");
  });

  test("bad values are DRF's 400s, every field at once, and nothing changes", async () => {
    const staff = await member({ staff: true });
    const target = await worker.register();
    const response = await patch(
      target.user.id,
      { is_active: "maybe", account_status: "banned", first_name: "A".repeat(151), last_name: null, is_staff: 2 },
      staff,
    );
    assertResponse(response, 400, {
      first_name: ["Ensure this field has no more than 150 characters."],
      last_name: ["This field may not be null."],
      is_active: ["Must be a valid boolean."],
      is_staff: ["Must be a valid boolean."],
      account_status: ["\"banned\" is not a valid choice."],
    });
    assertResponse(await patch(target.user.id, { is_active: null }, staff), 400, { is_active: ["This field may not be null."] });
    assertResponse(await patch(target.user.id, { account_status: 3 }, staff), 400, { account_status: ["\"3\" is not a valid choice."] });
    const notAnObject = await worker.fetch(`${DRF}/admin/users/${target.user.id}/`, {
      method: "PATCH", body: "[1]", headers: { "content-type": "application/json" }, token: staff.access_token,
    });
    assertResponse(notAnObject, 400, { non_field_errors: ["Invalid data. Expected a dictionary, but got list."] });
    assert.equal((await me(worker, target.access_token)).status, 200, "still active");
    assert.deepEqual((await me(worker, target.access_token)).body, target.user);
  });

  test("disabling ends every session at once: refresh, access tokens and login refused; enabling lets login in again", async () => {
    const staff = await member({ staff: true });
    for (const [prefix, change] of [[DRF, { is_active: false }], [SHORT, { account_status: "suspended" }], [DRF, { account_status: "disabled", is_active: "false" }]]) {
      const target = await worker.register();
      const second = (await login(worker, target.email, target.password)).body;
      const disabled = await patch(target.user.id, change, staff, prefix);
      assert.equal(disabled.status, 200, disabled.text);
      // Their sessions were revoked with the change: the tokens are dead as revoked ones are.
      for (const session of [target, second]) {
        assertUnauthorized(await me(worker, session.access_token), accessTokenError("Token is blacklisted"));
        assertUnauthorized(await refresh(session), BLACKLISTED);
      }
      assertUnauthorized(await login(worker, target.email, target.password), LOGIN_FAILED);
      assertResponse(await get(`admin/users/${target.user.id}/sessions/`, staff), 200, []);

      const enabled = await patch(target.user.id, { is_active: true, account_status: "active" }, staff, prefix);
      assert.equal(enabled.status, 200, enabled.text);
      assert.equal(enabled.body.is_active && enabled.body.account_status === "active", true);
      const back = await login(worker, target.email, target.password);
      assert.equal(back.status, 200, back.text);
      assert.equal((await me(worker, back.body.access_token)).status, 200);
      // The sessions that were ended stay ended: enabling revives no old token.
      for (const session of [target, second]) {
        assert.equal((await me(worker, session.access_token)).status, 401);
        assert.equal((await refresh(session)).status, 401);
      }
    }
  });

  test("an account disabled by hand in D1 keeps its sessions until staff disable it through the API", async () => {
    const staff = await member({ staff: true });
    const target = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(target.user.id).run();
    assertUnauthorized(await me(worker, target.access_token), USER_INACTIVE);
    assert.equal((await patch(target.user.id, { is_active: false }, staff)).status, 200);
    assert.equal((await patch(target.user.id, { is_active: true }, staff)).status, 200);
    // Enabled again: the sessions it had before are gone, not back.
    assertUnauthorized(await me(worker, target.access_token), accessTokenError("Token is blacklisted"));
    assertUnauthorized(await refresh(target), BLACKLISTED);
    assert.equal((await login(worker, target.email, target.password)).status, 200);
  });

  test("only a superuser gives or takes staff; sending the present value is no change", async () => {
    const staff = await member({ staff: true });
    const superuser = await member({ staff: true, superuser: true });
    const target = await worker.register();
    assertResponse(await patch(target.user.id, { is_staff: true }, staff), 403, DENIED);
    assertResponse(await patch(staff.user.id, { is_staff: false }, staff), 403, DENIED);
    assert.equal((await get(`admin/users/${target.user.id}/`, staff)).body.is_staff, false);
    // A whole form saved back, is_staff unchanged, is fine.
    const saved = await patch(target.user.id, { is_staff: false, first_name: "Kept" }, staff);
    assert.equal(saved.status, 200, saved.text);

    const promoted = await patch(target.user.id, { is_staff: true }, superuser);
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal(promoted.body.is_staff, true);
    assert.equal((await get("admin/users/", target)).status, 200, "the new staff member is admitted at once");
    const demoted = await patch(target.user.id, { is_staff: "no" }, superuser, SHORT);
    assert.equal(demoted.body.is_staff, false);
    assertResponse(await get("admin/users/", target), 403, DENIED);
  });

  test("staff cannot change a superuser's account or end its sessions, but may read it; a superuser may", async () => {
    const staff = await member({ staff: true });
    const root = await member({ staff: true, superuser: true });
    const other = await member({ staff: true, superuser: true });
    assertResponse(await patch(root.user.id, { first_name: "Pwned" }, staff), 403, DENIED);
    assertResponse(await patch(root.user.id, { is_active: false }, staff), 403, DENIED);
    assertResponse(await patch(root.user.id, {}, staff), 403, DENIED);
    assertResponse(await logoutAll(root.user.id, staff), 403, DENIED);
    assert.equal((await me(worker, root.access_token)).status, 200, "the superuser's session lives");
    assert.equal((await refresh(root)).status, 200);
    assert.equal((await get(`admin/users/${root.user.id}/`, staff)).status, 200);
    assert.equal((await get(`admin/users/${root.user.id}/sessions/`, staff)).status, 200);

    const renamed = await patch(root.user.id, { first_name: "Renamed" }, other);
    assert.equal(renamed.status, 200, renamed.text);
    assertResponse(await logoutAll(root.user.id, other), 200, ALL_OUT);
  });
});

describe("the audit trail", () => {
  /** The events of `user`, as staff see them (newest first). */
  async function eventsOf(staff, user, prefix = DRF) {
    const response = await get(`admin/events/?user=${user.user.id}&page_size=100`, staff, prefix);
    assert.equal(response.status, 200, response.text);
    return response.body.results;
  }

  test("admin actions are recorded with who acted, and the owner sees that staff did", async () => {
    const staff = await member({ staff: true });
    const superuser = await member({ staff: true, superuser: true });
    const target = await worker.register();
    const headers = { "CF-Connecting-IP": "203.0.113.77", "User-Agent": "admin-console/2" };
    const act = (body, caller = staff) =>
      worker.fetch(`${DRF}/admin/users/${target.user.id}/`, { method: "PATCH", body, token: caller.access_token, headers });
    assert.equal((await act({ last_name: "Byron", first_name: "Ada" })).status, 200);
    assert.equal((await act({ is_active: false })).status, 200);
    assert.equal((await act({ is_active: true })).status, 200);
    assert.equal((await act({ is_staff: true }, superuser)).status, 200);
    assert.equal((await act({ first_name: "Ada" })).status, 200, "no change: no event");
    assert.equal((await worker.post(`${DRF}/admin/users/${target.user.id}/logout-all/`, undefined, { token: staff.access_token, headers })).status, 200);

    const events = (await eventsOf(staff, target)).filter((event) => event.actor_id !== null);
    assert.deepEqual(
      events.map((event) => [event.type, event.actor_id, event.detail]),
      [
        ["sessions_revoked_by_admin", staff.user.id, {}],
        ["user_updated_by_admin", superuser.user.id, { fields: ["is_staff"] }],
        ["account_enabled", staff.user.id, { fields: ["is_active"] }],
        ["account_disabled", staff.user.id, { fields: ["is_active"] }],
        ["user_updated_by_admin", staff.user.id, { fields: ["last_name"] }],
      ],
    );
    for (const event of events) {
      assert.equal(event.user_id, target.user.id);
      assert.equal(event.outcome, "success");
      assert.equal(event.ip, "203.0.113.77");
      assert.equal(event.user_agent, "admin-console/2");
      assert.match(event.occurred_at, ISO_UTC);
    }
    // Under the other prefix, the same.
    assert.deepEqual((await eventsOf(staff, target, SHORT)).length, (await eventsOf(staff, target)).length);

    const again = (await login(worker, target.email, target.password)).body;
    const own = (await get("events/?page_size=100", again)).body.results;
    const disabled = own.find((event) => event.type === "account_disabled");
    assert.equal(disabled.by_staff, true);
    assert.equal(disabled.actor_id, undefined, "the owner is not told which staff member");
  });

  test("events of everyone without `user`, newest first; `user` must be an integer; pages as everywhere", async () => {
    const staff = await member({ staff: true });
    const response = await get("admin/events/?page_size=5", staff);
    assert.equal(response.status, 200, response.text);
    assertNoStore(response.headers);
    const { count } = await worker.db.prepare("SELECT COUNT(*) AS count FROM auth_events").first();
    assert.equal(response.body.count, count);
    const ids = response.body.results.map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    assert.equal(response.body.next, `${DRF}/admin/events/?page=2&page_size=5`);
    assert.ok(response.body.results.every((event) => "user_id" in event && "actor_id" in event));
    for (const user of ["abc", "1.5", "1x"]) {
      assertResponse(await get(`admin/events/?user=${user}`, staff), 400, { user: ["A valid integer is required."] });
    }
    assertResponse(await get("admin/events/?page=9999", staff), 404, INVALID_PAGE);
    const nobody = await get("admin/events/?user=987654321", staff);
    assertResponse(nobody, 200, { count: 0, next: null, previous: null, results: [] });
  });
});

/** The profile keys of an admin view. */
function pick(view) {
  const { email_verified, ...profile } = view;
  return profile;
}
