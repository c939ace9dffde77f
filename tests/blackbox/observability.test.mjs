// Request ids, the health check, and what must never leave the worker.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

test("every response carries a request id, taken from CF-Ray when there is one", async () => {
  const plain = await worker.fetch(`${DRF}/nope/`);
  assert.match(plain.headers.get("x-request-id"), /^[0-9a-f]{16}$/);
  const other = await worker.fetch(`${DRF}/nope/`);
  assert.notEqual(other.headers.get("x-request-id"), plain.headers.get("x-request-id"));
  const ray = await worker.fetch(`${DRF}/me/`, { headers: { "cf-ray": "8c1e2f3a4b5c6d7e-AMS" } });
  assert.equal(ray.headers.get("x-request-id"), "8c1e2f3a4b5c6d7e-AMS");
});

const HEALTH = "http://edge-auth.test/healthz";
const HEALTH_TOKEN = "health-check-token-for-the-tests-0123";
// The version the worker reports is the package's, whatever it is today.
const VERSION = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8")
  .match(/^\[package\][^[]*?^version = "([^"]+)"/m)[1];

test("the health check answers with the version alone, marked no-store", async () => {
  for (const path of ["/healthz", "/healthz/", "/healthz?deep=0"]) {
    const response = await worker.fetch(`http://edge-auth.test${path}`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: "ok", version: VERSION }, path);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  }
  const head = await worker.fetch(HEALTH, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("cache-control"), "no-store");
  const wrong = await worker.post(HEALTH, {});
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD, OPTIONS");
});

test("?deep=1 reports whether D1 and KV answer, marked no-store", async () => {
  const response = await worker.fetch(`${HEALTH}?deep=1`);
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, { status: "ok", version: VERSION, d1: true, kv: true });
  assert.equal(response.headers.get("cache-control"), "no-store");
});

describe("the deep health check's limit", () => {
  let limited;
  before(async () => {
    limited = await startWorker({ HEALTH_CHECK_TOKEN: HEALTH_TOKEN }, { ipLimit: 2 });
  });
  after(() => limited?.dispose());

  const check = (path, ip, headers = {}) =>
    limited.fetch(`http://edge-auth.test${path}`, { headers: { "cf-connecting-ip": ip, ...headers } });
  const deep = { status: "ok", version: VERSION, d1: true, kv: true };

  test("the plain check is never throttled: it costs no storage call", async () => {
    for (let i = 0; i < 6; i++) {
      const response = await check("/healthz", "198.51.100.20");
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { status: "ok", version: VERSION });
    }
  });

  test("without the token, deep checks count against the caller's IP", async () => {
    const ip = "198.51.100.21";
    for (let i = 0; i < 2; i++) assert.deepEqual((await check("/healthz?deep=1", ip)).body, deep);
    const throttled = await check("/healthz?deep=1", ip);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "60");
    assert.equal((await check("/healthz?deep=1", ip, { authorization: "Bearer not-the-token" })).status, 429);
    assert.equal((await check("/healthz?deep=1", ip, { authorization: HEALTH_TOKEN })).status, 429);
    assert.equal((await check("/healthz", ip)).status, 200, "the plain check still answers");
    assert.deepEqual((await check("/healthz?deep=1", "198.51.100.22")).body, deep, "another IP has its own budget");
  });

  test("with the configured token, deep checks are not throttled", async () => {
    const ip = "198.51.100.23";
    for (let i = 0; i < 5; i++) {
      const response = await check("/healthz?deep=1", ip, { authorization: `Bearer ${HEALTH_TOKEN}` });
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, deep);
    }
  });
});

test("the access log's user marker never reaches the client", async () => {
  const user = await worker.register();
  for (const response of [
    await worker.fetch(`${DRF}/me/`, { token: user.access_token }),
    await worker.post(`${DRF}/login/`, { email: user.email, password: user.password }),
  ]) {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-edge-auth-user"), null);
  }
});
