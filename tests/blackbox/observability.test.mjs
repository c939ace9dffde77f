// Request ids, the health check, and what must never leave the worker.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
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

test("the health check reports the version and that D1 and KV answer", async () => {
  for (const path of ["/healthz", "/healthz/"]) {
    const response = await worker.fetch(`http://edge-auth.test${path}`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: "ok", version: "0.1.0", d1: true, kv: true });
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  }
  const wrong = await worker.post("http://edge-auth.test/healthz", {});
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD, OPTIONS");
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
