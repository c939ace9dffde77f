// Issue 12, delivery: the send_email binding (sender EMAIL_FROM, text and HTML parts) or, when
// EMAIL_HTTP_URL is set, a Resend-compatible JSON POST with EMAIL_HTTP_TOKEN; a failing provider
// never changes an answer. Links follow the configured PASSWORD_RESET_URL / EMAIL_VERIFY_URL
// templates; at most EMAIL_RATE_LIMIT_PER_HOUR link mails go to one address per hour (security
// notices are neither counted nor held back); a password change sends a notice.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";
import {
  OK, RESET_DONE, RESET_SENT, SUBJECTS, VERIFY_LINK, assertNoMail, assertResponse, assertTokenPair, login,
} from "./helpers.mjs";

const NEW = "a-fresh-unguessable-passphrase";

const reset = (w, email) => w.post(`${DRF}/password/reset/`, { email });

/** A local HTTP server standing in for the provider: records each request, answers `status`. */
async function fakeProvider() {
  const provider = { requests: [], status: 200, waiters: new Set() };
  provider.server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      let json;
      try { json = JSON.parse(body); } catch { json = undefined; }
      provider.requests.push({ method: req.method, url: req.url, headers: req.headers, body, json });
      for (const wake of provider.waiters) wake();
      res.writeHead(provider.status, { "content-type": "application/json" });
      res.end(provider.status === 200 ? '{"id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}' : '{"message":"internal error"}');
    });
  });
  await new Promise((resolve) => provider.server.listen(0, "127.0.0.1", resolve));
  provider.url = `http://127.0.0.1:${provider.server.address().port}/emails`;
  /** The first request whose JSON `to` holds `address` (and whose subject contains `subject`). */
  provider.request = async (address, subject, timeout = 5000) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = provider.requests.find((r) => !r.taken && r.json?.to?.includes(address)
        && (subject === undefined || r.json.subject?.includes(subject)));
      if (found) {
        found.taken = true;
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the provider got no mail to ${address} within ${timeout} ms`);
      await new Promise((resolve) => {
        const wake = () => { provider.waiters.delete(wake); clearTimeout(timer); resolve(); };
        const timer = setTimeout(wake, left);
        provider.waiters.add(wake);
      });
    }
  };
  provider.close = () => new Promise((resolve) => provider.server.close(resolve));
  return provider;
}

describe("the HTTP transport (EMAIL_HTTP_URL set)", () => {
  const TOKEN = "re_blackbox_0123456789abcdef";
  const FROM = "auth@mail.example.org";
  let provider;
  let worker;
  before(async () => {
    provider = await fakeProvider();
    worker = await startWorker({ EMAIL_HTTP_URL: provider.url, EMAIL_HTTP_TOKEN: TOKEN, EMAIL_FROM: FROM });
  });
  after(async () => {
    await worker?.dispose();
    await provider?.close();
  });

  test("a mail is a Resend-compatible JSON POST with the Bearer token: from, to [address], subject, text, html", async () => {
    provider.status = 200;
    const user = await worker.register();
    const request = await provider.request(user.email, SUBJECTS.verify);
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/emails");
    assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(request.headers["content-type"] ?? "", /^application\/json/);
    const { from, to, subject, text, html } = request.json;
    assert.ok(from.includes(FROM), `from ${from}`);
    assert.deepEqual(to, [user.email]);
    assert.equal(subject, SUBJECTS.verify);
    const link = text.match(VERIFY_LINK);
    assert.ok(link, `the text part carries the link: ${text}`);
    assert.ok(html.includes(link[0]), "the HTML part carries the same link");
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, { key: link[1] }), 200, OK);
  });

  test("nothing goes through the send_email binding while EMAIL_HTTP_URL is set", async () => {
    provider.status = 200;
    const user = await worker.register();
    await provider.request(user.email, SUBJECTS.verify);
    assertResponse(await reset(worker, user.email), 200, RESET_SENT);
    await provider.request(user.email, SUBJECTS.reset);
    assert.deepEqual(worker.mails, []);
  });

  test("a provider answering 500 changes no answer: register/ 201 with tokens, password/reset/ 200", async () => {
    provider.status = 500;
    try {
      const body = worker.newUser();
      const registered = await worker.post(`${DRF}/register/`, body);
      assert.equal(registered.status, 201, registered.text);
      assertTokenPair(registered.body, { userId: registered.body.user.id });
      await provider.request(body.email, SUBJECTS.verify);
      assertResponse(await reset(worker, body.email), 200, RESET_SENT);
      await provider.request(body.email, SUBJECTS.reset);
    } finally {
      provider.status = 200;
    }
  });

});

describe("an unreachable provider", () => {
  let worker;
  before(async () => {
    // A port nothing listens on: take one from a server and close it.
    const probe = createServer();
    await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address();
    await new Promise((resolve) => probe.close(resolve));
    worker = await startWorker({ EMAIL_HTTP_URL: `http://127.0.0.1:${port}/emails`, EMAIL_HTTP_TOKEN: "re_unreachable" });
  });
  after(() => worker?.dispose());

  test("changes no answer: register/ 201 with tokens, password/reset/ 200, resend-email/ 200", async () => {
    const body = worker.newUser();
    const registered = await worker.post(`${DRF}/register/`, body);
    assert.equal(registered.status, 201, registered.text);
    assertTokenPair(registered.body, { userId: registered.body.user.id });
    assertResponse(await reset(worker, body.email), 200, RESET_SENT);
    assertResponse(await worker.post(`${DRF}/registration/resend-email/`, { email: body.email }), 200, OK);
    assert.equal((await login(worker, body.email, body.password)).status, 200, "the worker still serves");
  });
});

describe("the send_email binding with configured sender, link templates and a limit of 2 mails per hour", () => {
  const FROM = "accounts@example.org";
  const TEMPLATE_RESET_LINK = /https:\/\/accounts\.example\.org\/recover\/([^/\s"'<>]+)\/([^/\s"'<>&]+)/;
  const TEMPLATE_VERIFY_LINK = /https:\/\/accounts\.example\.org\/confirm\?key=([^\s"'<>&]+)/;
  let worker;
  before(async () => {
    worker = await startWorker({
      EMAIL_FROM: FROM,
      PASSWORD_RESET_URL: "https://accounts.example.org/recover/{uid}/{token}",
      EMAIL_VERIFY_URL: "https://accounts.example.org/confirm?key={key}",
      EMAIL_RATE_LIMIT_PER_HOUR: "2",
    });
  });
  after(() => worker?.dispose());

  test("mails come from EMAIL_FROM with a text and an HTML part", async () => {
    const user = await worker.register();
    const mail = await worker.mail(user.email, { subject: SUBJECTS.verify });
    assert.ok(mail.from?.includes(FROM), `from ${mail.from}`);
    assert.ok(mail.text?.length > 0 && mail.html?.length > 0, "both parts");
  });

  test("the verification link follows EMAIL_VERIFY_URL, and its key verifies", async () => {
    const user = await worker.register();
    const mail = await worker.mail(user.email, { subject: SUBJECTS.verify });
    const found = mail.text.match(TEMPLATE_VERIFY_LINK);
    assert.ok(found, `a link built from the template: ${mail.text}`);
    assert.ok(!mail.text.includes("localhost:3000"), "not the default template");
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, { key: found[1] }), 200, OK);
  });

  test("the reset link follows PASSWORD_RESET_URL, and it resets", async () => {
    const user = await worker.register();
    assertResponse(await reset(worker, user.email), 200, RESET_SENT);
    const mail = await worker.mail(user.email, { subject: SUBJECTS.reset });
    const found = mail.text.match(TEMPLATE_RESET_LINK);
    assert.ok(found, `a link built from the template: ${mail.text}`);
    const [, uid, token] = found;
    const response = await worker.post(`${DRF}/password/reset/confirm/`, { uid, token, new_password1: NEW, new_password2: NEW });
    assertResponse(response, 200, RESET_DONE);
  });

  test("the email-change link follows EMAIL_VERIFY_URL too", async () => {
    const user = await worker.register();
    const target = `moved.${Date.now()}@example.net`;
    const response = await worker.post(`${DRF}/email/change/`, { new_email: target, password: user.password }, { token: user.access_token });
    assert.equal(response.status, 200, response.text);
    const mail = await worker.mail(target, { subject: SUBJECTS.confirmNew });
    const found = mail.text.match(TEMPLATE_VERIFY_LINK);
    assert.ok(found, `a link built from the template: ${mail.text}`);
    assertResponse(await worker.post(`${DRF}/registration/verify-email/`, { key: found[1] }), 200, OK);
  });

  test("the third link mail to one address in the hour is not sent, though the answer is still 200", async () => {
    const user = await worker.register();
    await worker.mail(user.email, { subject: SUBJECTS.verify }); // 1 of 2
    assertResponse(await reset(worker, user.email), 200, RESET_SENT);
    await worker.mail(user.email, { subject: SUBJECTS.reset }); // 2 of 2
    assertResponse(await reset(worker, user.email), 200, RESET_SENT);
    await assertNoMail(worker, user.email, SUBJECTS.reset);
    assertResponse(await worker.post(`${DRF}/registration/resend-email/`, { email: user.email }), 200, OK);
    await assertNoMail(worker, user.email, SUBJECTS.verify);
    assert.equal(worker.mailsTo(user.email).length, 2);
  });

  test("the limit is per address: another address still gets its mails", async () => {
    const spent = await worker.register();
    for (let i = 0; i < 3; i++) assertResponse(await reset(worker, spent.email), 200, RESET_SENT);
    const other = await worker.register();
    await worker.mail(other.email, { subject: SUBJECTS.verify });
    assertResponse(await reset(worker, other.email), 200, RESET_SENT);
    await worker.mail(other.email, { subject: SUBJECTS.reset });
  });

  test("security notices go out even when the address has used up its link mails", async () => {
    const user = await worker.register();
    await worker.mail(user.email, { subject: SUBJECTS.verify });
    assertResponse(await reset(worker, user.email), 200, RESET_SENT);
    const [, uid, token] = (await worker.mail(user.email, { subject: SUBJECTS.reset })).text.match(TEMPLATE_RESET_LINK);
    assertResponse(await reset(worker, user.email), 200, RESET_SENT); // over the limit: not sent
    const confirmed = await worker.post(`${DRF}/password/reset/confirm/`, { uid, token, new_password1: NEW, new_password2: NEW });
    assertResponse(confirmed, 200, RESET_DONE);
    await worker.mail(user.email, { subject: SUBJECTS.passwordReset });
    const session = (await login(worker, user.email, NEW)).body;
    const changed = await worker.post(`${DRF}/change-password/`,
      { old_password: NEW, new_password: `${NEW}-2`, new_password_confirm: `${NEW}-2` }, { token: session.access_token });
    assert.equal(changed.status, 200, changed.text);
    await worker.mail(user.email, { subject: SUBJECTS.passwordChanged });
  });
});

describe("the change-password/ notice", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker?.dispose());

  test("a password change mails 'Your password was changed' to the user, without the password", async () => {
    const user = await worker.register();
    const response = await worker.post(`${DRF}/change-password/`,
      { old_password: user.password, new_password: NEW, new_password_confirm: NEW }, { token: user.access_token });
    assert.equal(response.status, 200, response.text);
    const notice = await worker.mail(user.email, { subject: SUBJECTS.passwordChanged });
    assert.ok(notice.from?.includes("no-reply@example.com"), `the default EMAIL_FROM: ${notice.from}`);
    for (const part of [notice.text, notice.html ?? ""]) {
      assert.ok(!part.includes(NEW) && !part.includes(user.password), "no password in the notice");
    }
  });

  test("a refused password change sends no notice", async () => {
    const user = await worker.register();
    const response = await worker.post(`${DRF}/change-password/`,
      { old_password: "not-my-password", new_password: NEW, new_password_confirm: NEW }, { token: user.access_token });
    assert.equal(response.status, 400, response.text);
    await assertNoMail(worker, user.email, SUBJECTS.passwordChanged);
  });
});
