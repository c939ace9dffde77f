// Per-IP limits key an IPv6 client by its /64: one host can pick any address in its /64, so
// counting full addresses would hand it 2^64 budgets.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";

let worker;
before(async () => {
  worker = await startWorker({}, { ipLimit: 3 });
});
after(() => worker?.dispose());

// A new unknown email each time, so the per-account back-off never answers in the limiter's place.
let attempts = 0;
const loginFrom = (address) =>
  worker.post(`${DRF}/login/`, { email: `nobody${++attempts}@example.com`, password: "whatever-password" }, {
    headers: { "cf-connecting-ip": address },
  });

test("addresses in one /64 share one budget; another /64 has its own", async () => {
  const statuses = [];
  for (const address of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:fffe"]) {
    statuses.push((await loginFrom(address)).status);
  }
  assert.deepEqual(statuses, [401, 401, 401]);
  // A fourth, never-seen address in the same /64 (spelled out in full) is over the shared budget.
  const rotated = await loginFrom("2001:0db8:0001:0002:1234:5678:9abc:def0");
  assert.equal(rotated.status, 429);
  assert.equal(rotated.headers.get("retry-after"), "60");
  // The neighbouring /64 is someone else.
  assert.equal((await loginFrom("2001:db8:1:3::1")).status, 401);
});

test("an IPv4-mapped IPv6 address counts as the IPv4 address", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await loginFrom("203.0.113.50")).status, 401);
  assert.equal((await loginFrom("::ffff:203.0.113.50")).status, 429);
  assert.equal((await loginFrom("203.0.113.51")).status, 401);
});
