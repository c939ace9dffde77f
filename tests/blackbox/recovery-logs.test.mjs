// What the worker writes to its console while mailing one-time secrets: a failed delivery is
// logged, and no line, failed or not, carries a reset token, a verification key, a link or a
// password.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, startWorker } from "../support.mjs";

const NEW = "a lantern in the reading room";
const RESET = /reset-password\/([^/\s"'<>]+)\/([^/\s"'<>]+)\//;
const VERIFY = /verify-email\/([^/\s"'<>]+)\//;

/** Asserts that no console line of `worker` contains any of `secrets`. */
function assertNoLineCarries(worker, secrets) {
  assert.ok(worker.output.length > 0, "the worker's console was captured");
  for (const secret of secrets) {
    const leaking = worker.output.filter((line) => line.includes(secret));
    assert.deepEqual(leaking, [], `a log line carries ${secret.slice(0, 12)}…`);
  }
}

describe("through the send_email binding", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker?.dispose());

  test("a verification and a reset, end to end, leave no key, token, link or password in the log", async () => {
    const user = await worker.register();
    const [verifyLink, key] = (await worker.mail(user.email, { subject: "Verify" })).text.match(VERIFY);
    assert.equal((await worker.post(`${DRF}/registration/verify-email/`, { key })).status, 200);
    assert.equal((await worker.post(`${DRF}/password/reset/`, { email: user.email })).status, 200);
    const [resetLink, uid, token] = (await worker.mail(user.email, { subject: "Reset" })).text.match(RESET);
    const confirmed = await worker.post(`${DRF}/password/reset/confirm/`, {
      uid,
      token,
      new_password1: NEW,
      new_password2: NEW,
    });
    assert.equal(confirmed.status, 200, confirmed.text);
    await worker.mail(user.email, { subject: "Your password was reset" });
    assert.ok(worker.output.some((line) => line.includes('"route":"password/reset/confirm/"')), "access log seen");
    assertNoLineCarries(worker, [key, verifyLink, token, resetLink, NEW, user.password, user.refresh_token]);
  });
});

describe("through an HTTP provider that fails", () => {
  let worker;
  let provider;
  const received = [];
  before(async () => {
    provider = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.writeHead(500, { "content-type": "application/json" }).end('{"message": "provider down"}');
      });
    });
    await new Promise((resolve) => provider.listen(0, "127.0.0.1", resolve));
    worker = await startWorker({
      EMAIL_HTTP_URL: `http://127.0.0.1:${provider.address().port}/emails`,
      EMAIL_HTTP_TOKEN: "re_provider_api_key_0123456789",
    });
  });
  after(async () => {
    await worker?.dispose();
    provider?.close();
  });

  test("the failure is logged with its reason, without the link, the token or the API key", async () => {
    const user = await worker.register();
    assert.equal((await worker.post(`${DRF}/password/reset/`, { email: user.email })).status, 200);
    for (let i = 0; i < 100 && !received.some((mail) => mail.subject === "Reset your password"); i++) await sleep(50);
    const mail = received.find((sent) => sent.subject === "Reset your password");
    assert.ok(mail, "the provider was called");
    const [link, , token] = mail.text.match(RESET);
    const [, key] = received.find((sent) => sent.subject.startsWith("Verify")).text.match(VERIFY);
    for (let i = 0; i < 100 && !worker.output.some((l) => l.includes("(Reset your password)")); i++) await sleep(50);
    const failures = worker.output.filter((line) => line.includes("mail delivery failed"));
    assert.ok(
      failures.some((line) => line.includes("Reset your password") && line.includes("answered 500")),
      failures.join("\n"),
    );
    assertNoLineCarries(worker, [link, token, key, "re_provider_api_key_0123456789", user.email]);
  });
});
