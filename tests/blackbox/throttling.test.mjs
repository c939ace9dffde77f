// Anti-automation: per-IP limits (CF-Connecting-IP only) and the per-account login back-off.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, startWorker } from "../support.mjs";

let worker;
before(async () => {
  worker = await startWorker(
    { LOGIN_BACKOFF_THRESHOLD: "3", LOGIN_BACKOFF_BASE_SECS: "2", LOGIN_BACKOFF_MAX_SECS: "2", LOGIN_FAILURE_WINDOW_SECS: "60" },
    { ipLimit: 5 },
  );
});
after(() => worker?.dispose());

let ip = 0;
const nextIp = () => `198.51.100.${++ip}`;
const loginFrom = (address, email, password, extra = {}) =>
  worker.post(`${DRF}/login/`, { email, password }, { headers: { "cf-connecting-ip": address, ...extra } });

describe("per-IP throttling", () => {
  test("an IP over its budget gets 429 with Retry-After, other IPs do not", async () => {
    const address = nextIp();
    for (let i = 0; i < 5; i++) {
      assert.equal((await loginFrom(address, `nobody${i}@example.com`, "whatever-password")).status, 401);
    }
    const throttled = await loginFrom(address, "nobody@example.com", "whatever-password");
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "60");
    assert.deepEqual(throttled.body, { detail: "Request was throttled. Expected available in 60 seconds." });
    assert.equal((await loginFrom(nextIp(), "nobody@example.com", "whatever-password")).status, 401);
  });

  test("a spoofed X-Forwarded-For does not reset the budget", async () => {
    const address = nextIp();
    for (let i = 0; i < 5; i++) await loginFrom(address, `x${i}@example.com`, "whatever-password");
    const spoofed = await loginFrom(address, "x@example.com", "whatever-password", { "x-forwarded-for": nextIp() });
    assert.equal(spoofed.status, 429);
  });

  test("register and refresh are limited too", async () => {
    const address = nextIp();
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const response = await worker.post(`${DRF}/token/refresh/`, { refresh_token: "x" }, { headers: { "cf-connecting-ip": address } });
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const register = nextIp();
    for (let i = 0; i < 5; i++) await worker.post(`${DRF}/register/`, {}, { headers: { "cf-connecting-ip": register } });
    assert.equal((await worker.post(`${DRF}/register/`, {}, { headers: { "cf-connecting-ip": register } })).status, 429);
  });
});

describe("per-account back-off", () => {
  test("failed logins past the threshold block even the right password, then the block expires", async () => {
    const user = await worker.register({}, DRF);
    for (let i = 0; i < 3; i++) {
      assert.equal((await loginFrom(nextIp(), user.email, "wrong-password-here")).status, 401);
    }
    const blocked = await loginFrom(nextIp(), user.email, user.password);
    assert.equal(blocked.status, 429);
    const wait = Number(blocked.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}`);
    assert.deepEqual(blocked.body, { detail: `Request was throttled. Expected available in ${wait} seconds.` });
    await sleep(2100);
    const ok = await loginFrom(nextIp(), user.email, user.password);
    assert.equal(ok.status, 200);
    // Success forgets the failures: one more wrong password is a plain 401 again.
    assert.equal((await loginFrom(nextIp(), user.email, "wrong-password-here")).status, 401);
  });

  test("an unknown email is throttled exactly like a known one", async () => {
    const email = `ghost.${Date.now()}@example.com`;
    for (let i = 0; i < 3; i++) assert.equal((await loginFrom(nextIp(), email, "wrong-password-here")).status, 401);
    assert.equal((await loginFrom(nextIp(), email, "wrong-password-here")).status, 429);
  });

  test("failures count across concurrent attempts", async () => {
    const user = await worker.register({}, DRF);
    const attempts = await Promise.all(
      Array.from({ length: 6 }, () => loginFrom(nextIp(), user.email, "wrong-password-here")),
    );
    const { results } = await worker.db.prepare("SELECT failures FROM login_failures WHERE email = ?1").bind(user.email).all();
    assert.equal(results[0].failures, attempts.filter((r) => r.status === 401).length);
  });
});
