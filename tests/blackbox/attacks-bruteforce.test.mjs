// Issue 10, findings 4 and 5: the per-account login back-off is atomic, decays instead of resetting,
// cannot lock the real user out (OWASP device cookie), and guards change-password/'s old_password
// like login/'s password; the per-IP limit covers change-password/ too.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, startWorker } from "../support.mjs";
import { heldBody, raw } from "./helpers.mjs";

const WRONG = "wrong-password-here";
const DEVICE_COOKIE = "edge_auth_device";

// A distinct address for every request, so that only the per-account back-off can answer 429.
let addresses = 0;
const freshIp = () => {
  addresses += 1;
  return `10.${(addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}`;
};

function loginFrom(worker, address, email, password, headers = {}) {
  return worker.post(`${DRF}/login/`, { email, password }, { headers: { "cf-connecting-ip": address, ...headers } });
}

/** The `edge_auth_device` Set-Cookie header of a response, or null. */
function deviceSetCookie(response) {
  const cookies = response.headers.getSetCookie?.() ?? [response.headers.get("set-cookie")].filter(Boolean);
  return cookies.find((cookie) => cookie.startsWith(`${DEVICE_COOKIE}=`)) ?? null;
}

const cookieValue = (setCookie) => setCookie.split(";")[0].slice(DEVICE_COOKIE.length + 1);

describe("finding 4: the per-account back-off", () => {
  let worker;
  before(async () => {
    worker = await startWorker(
      { LOGIN_BACKOFF_THRESHOLD: "5", LOGIN_BACKOFF_BASE_SECS: "30", LOGIN_BACKOFF_MAX_SECS: "60", LOGIN_FAILURE_WINDOW_SECS: "900" },
      { ipLimit: 100000 },
    );
  });
  after(() => worker?.dispose());

  /** Makes `user`'s account blocked with wrong passwords from an attacker without any cookie. */
  async function blockAccount(user) {
    for (let i = 0; i < 8; i++) await loginFrom(worker, freshIp(), user.email, WRONG);
    const blocked = await loginFrom(worker, freshIp(), user.email, user.password);
    assert.equal(blocked.status, 429, `the right password without the cookie is blocked: ${blocked.text}`);
  }

  /** Logs `user` in once and returns the device cookie value the login set. */
  async function deviceCookieOf(user) {
    const response = await loginFrom(worker, freshIp(), user.email, user.password);
    assert.equal(response.status, 200, response.text);
    const setCookie = deviceSetCookie(response);
    assert.ok(setCookie, "login/ sets the device cookie");
    return cookieValue(setCookie);
  }

  test("thirty simultaneous wrong passwords for one account: exactly five get 401, the other 25 get 429", async () => {
    const user = await worker.register();
    // All thirty wait at their bodies, then are let go at once: every check runs against the same
    // count unless the failure is reserved before the password is checked.
    const bodies = Array.from({ length: 30 }, () => heldBody({ email: user.email, password: WRONG }));
    const pending = bodies.map(({ stream }) => raw(worker, `${DRF}/login/`,
      { headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() }, body: stream }));
    await sleep(300);
    for (const { release } of bodies) release();
    const responses = await Promise.all(pending);
    const statuses = responses.map((response) => response.status);
    assert.equal(statuses.filter((status) => status === 401).length, 5, statuses.join(" "));
    assert.equal(statuses.filter((status) => status === 429).length, 25, statuses.join(" "));
  });

  test("a successful login sets an HttpOnly, Secure, SameSite=None device cookie for the whole path", async () => {
    const user = await worker.register();
    const response = await loginFrom(worker, freshIp(), user.email, user.password);
    assert.equal(response.status, 200, response.text);
    const setCookie = deviceSetCookie(response);
    assert.ok(setCookie, `a ${DEVICE_COOKIE} cookie is set`);
    assert.ok(cookieValue(setCookie).length >= 16, `an unguessable value: ${setCookie}`);
    const attributes = setCookie.split(";").slice(1).map((part) => part.trim().toLowerCase());
    assert.ok(attributes.includes("httponly"), setCookie);
    assert.ok(attributes.includes("secure"), setCookie);
    assert.ok(attributes.includes("samesite=none"), setCookie);
    assert.ok(attributes.includes("path=/"), setCookie);
  });

  test("an attacker's failures do not lock out the real user who presents their device cookie", async () => {
    const user = await worker.register();
    const cookie = await deviceCookieOf(user);
    await blockAccount(user);
    const response = await loginFrom(worker, freshIp(), user.email, user.password, { cookie: `${DEVICE_COOKIE}=${cookie}` });
    assert.equal(response.status, 200, response.text);
  });

  test("a forged or tampered device cookie counts as no cookie", async () => {
    const user = await worker.register();
    const cookie = await deviceCookieOf(user);
    await blockAccount(user);
    const last = cookie.at(-2) === "A" ? "B" : "A"; // not the final character: it may carry only padding bits
    for (const forged of [`${cookie.slice(0, -2)}${last}${cookie.at(-1)}`, "forged-device-cookie", `${cookie}x`]) {
      const response = await loginFrom(worker, freshIp(), user.email, user.password, { cookie: `${DEVICE_COOKIE}=${forged}` });
      assert.equal(response.status, 429, `${forged}: ${response.text}`);
    }
  });

  test("a device cookie issued for one user does not help another user's blocked account", async () => {
    const alice = await worker.register();
    const bob = await worker.register();
    const aliceCookie = await deviceCookieOf(alice);
    await blockAccount(bob);
    const response = await loginFrom(worker, freshIp(), bob.email, bob.password, { cookie: `${DEVICE_COOKIE}=${aliceCookie}` });
    assert.equal(response.status, 429, response.text);
  });
});

describe("finding 4: failures decay by one per quiet window instead of resetting", () => {
  // Times are whole seconds in D1: a 4 s window and a 2 s block leave room for a second of
  // rounding either way (a 1 s block may end the moment it starts).
  const WINDOW_SECS = 4;
  let worker;
  before(async () => {
    worker = await startWorker(
      { LOGIN_BACKOFF_THRESHOLD: "2", LOGIN_BACKOFF_BASE_SECS: "2", LOGIN_BACKOFF_MAX_SECS: "2", LOGIN_FAILURE_WINDOW_SECS: String(WINDOW_SECS) },
      { ipLimit: 100000 },
    );
  });
  after(() => worker?.dispose());

  test("a fresh account takes a wrong password and still lets the right one in", async () => {
    // The baseline the next test compares with: one failure is far from the threshold of two.
    const user = await worker.register();
    assert.equal((await loginFrom(worker, freshIp(), user.email, WRONG)).status, 401);
    assert.equal((await loginFrom(worker, freshIp(), user.email, user.password)).status, 200);
  });

  test("after a block has expired and one quiet window passed, a single wrong password blocks the account again", async () => {
    const user = await worker.register();
    assert.equal((await loginFrom(worker, freshIp(), user.email, WRONG)).status, 401);
    assert.equal((await loginFrom(worker, freshIp(), user.email, WRONG)).status, 401);
    assert.equal((await loginFrom(worker, freshIp(), user.email, user.password)).status, 429, "blocked at the threshold");
    // Past the 2 s block and more than one window of quiet, but less than two windows: the
    // count has decayed from 2 to 1, not to 0.
    await sleep(WINDOW_SECS * 1000 + 1500);
    const wrong = await loginFrom(worker, freshIp(), user.email, WRONG);
    assert.ok([401, 429].includes(wrong.status), wrong.text);
    const right = await loginFrom(worker, freshIp(), user.email, user.password);
    assert.equal(right.status, 429, `one failure after the decay puts the account back in block: ${right.text}`);
  });
});

describe("finding 5: change-password/ is not a password oracle", () => {
  let worker;
  before(async () => {
    worker = await startWorker(
      { LOGIN_BACKOFF_THRESHOLD: "3", LOGIN_BACKOFF_BASE_SECS: "30", LOGIN_BACKOFF_MAX_SECS: "60", LOGIN_FAILURE_WINDOW_SECS: "900" },
      { limits: { LOGIN_RATE_LIMITER: 3 } },
    );
  });
  after(() => worker?.dispose());

  const NEW = "a-fresh-unguessable-passphrase";
  const guess = (user, address, oldPassword = WRONG) =>
    worker.post(`${DRF}/change-password/`,
      { old_password: oldPassword, new_password: NEW, new_password_confirm: NEW },
      { token: user.access_token, headers: { "cf-connecting-ip": address } });
  /** Registers from an address of its own, so that registrations spend no guessing budget. */
  async function register() {
    const user = worker.newUser();
    const response = await worker.post(`${DRF}/register/`, user, { headers: { "cf-connecting-ip": freshIp() } });
    assert.equal(response.status, 201, response.text);
    return { ...user, ...response.body };
  }

  test("wrong old_password guesses from one IP beyond the login limit get 429 with Retry-After", async () => {
    // One guess per account, so that only the per-IP limit can answer 429.
    const address = freshIp();
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await register());
    const statuses = [];
    let throttled;
    for (const user of users) {
      const response = await guess(user, address);
      statuses.push(response.status);
      if (response.status === 429) throttled = response;
    }
    assert.deepEqual(statuses, [400, 400, 400, 429]);
    const wait = Number(throttled.headers.get("retry-after"));
    assert.ok(Number.isInteger(wait) && wait > 0, `Retry-After ${throttled.headers.get("retry-after")}`);
    assert.deepEqual(throttled.body, { detail: `Request was throttled. Expected available in ${wait} seconds.` });
  });

  test("wrong old_password guesses for one account from many IPs end in 429 for that account", async () => {
    const user = await register();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await guess(user, freshIp())).status);
    assert.deepEqual(statuses.slice(0, 3), [400, 400, 400], statuses.join(" "));
    assert.deepEqual(statuses.slice(3), [429, 429, 429], statuses.join(" "));
    // The block is the account's: even the right old password is refused now.
    const right = await guess(user, freshIp(), user.password);
    assert.equal(right.status, 429, right.text);
  });
});
