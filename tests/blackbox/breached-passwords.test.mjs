// Issue 15, breached passwords: register, change-password and password/reset/confirm/ ask a
// Pwned Passwords range API (here a fake one this file starts on 127.0.0.1, speaking the same
// protocol) for the 5-digit SHA-1 prefix of the new password, with Add-Padding, and refuse a
// listed password with a 400 in the password field's list, after Django's messages. Off, the
// API is never asked; down, slow or garbled, fail-open accepts and fail-closed answers 503,
// within the timeout. Ranges are cached. Also PASSWORD_MIN_LENGTH, long passwords, and Unicode
// passwords hashed as their UTF-8 bytes without normalisation.
import assert from "node:assert/strict";
import { createHash, pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import { LOGIN_FAILED, MISMATCH, TOO_COMMON, assertResponse, assertUnauthorized, login, requestResetLink } from "./helpers.mjs";

const BREACHED = "This password has appeared in a data breach and cannot be used.";
const UNAVAILABLE = { detail: "Service temporarily unavailable, try again later." };
const TIMEOUT_MS = 400;
/** What a refusal or acceptance may take beyond the timeout on a loaded 2-core machine. */
const MARGIN_MS = 2500;

const sha1 = (text) => createHash("sha1").update(text, "utf8").digest("hex").toUpperCase();
/** A password no validator refuses and nobody else uses: its range is asked for the first time. */
const fresh = () => `Qz-${randomBytes(12).toString("base64url")}`;

/**
 * A fake range API: `GET /range/<PREFIX>` answers the breached suffixes under that prefix (count
 * > 0) among padding lines (count 0) in `normal` mode; `slow` answers after `slowMs`, `garbage`
 * with an HTML page. Every request is recorded.
 */
async function rangeServer() {
  const breached = new Set();
  const requests = [];
  const sockets = new Set();
  const state = { mode: "normal", slowMs: 3 * TIMEOUT_MS };
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    const answer = () => {
      if (state.mode === "garbage") {
        res.writeHead(200, { "content-type": "text/html" }).end("<html><body>Sorry, you have been blocked</body></html>");
        return;
      }
      const prefix = /^\/range\/([0-9A-F]{5})$/.exec(req.url)?.[1];
      if (!prefix) return void res.writeHead(404).end();
      const lines = [];
      for (let i = 0; i < 5; i++) lines.push(`${randomBytes(18).toString("hex").toUpperCase().slice(0, 35)}:0`);
      for (const hash of breached) if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:${3 + lines.length}`);
      // The real API's padding shuffles decoys among real entries; the count-0 line of a
      // breached password's own suffix never counts.
      lines.push(`${sha1("padding-only-" + prefix).slice(5)}:0`);
      res.writeHead(200, { "content-type": "text/plain" }).end(lines.join("\r\n"));
    };
    if (state.mode === "slow") setTimeout(answer, state.slowMs);
    else answer();
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/range/`,
    requests,
    state,
    breach(password) {
      breached.add(sha1(password));
      return password;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A URL on a port nothing listens on. */
async function closedPortUrl() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/range/`;
}

let range;
let workers = {};
before(async () => {
  range = await rangeServer();
  const down = await closedPortUrl();
  const vars = (check, url = range.url) =>
    ({ BREACHED_PASSWORD_CHECK: check, PWNED_PASSWORDS_URL: url, PWNED_PASSWORDS_TIMEOUT_MS: String(TIMEOUT_MS) });
  // One after the other: five workerd processes starting at once crowd a 2-core machine.
  workers.open = await startWorker(vars("fail-open"));
  workers.closed = await startWorker(vars("fail-closed"));
  workers.off = await startWorker({ ...vars("off"), PASSWORD_MIN_LENGTH: "12" });
  workers.openDown = await startWorker(vars("fail-open", down));
  workers.closedDown = await startWorker(vars("fail-closed", down));
});
after(async () => {
  await Promise.all(Object.values(workers).map((worker) => worker.dispose()));
  await range?.close();
});

/** Runs `fn` with the range server in `mode`, then back to normal. */
async function inMode(mode, fn) {
  range.state.mode = mode;
  try {
    return await fn();
  } finally {
    range.state.mode = "normal";
  }
}

/** The range requests `fn` caused. */
async function requestsDuring(fn) {
  const before = range.requests.length;
  const result = await fn();
  return { result, requests: range.requests.slice(before) };
}

async function timed(fn) {
  const start = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - start };
}

/** A registration's two password fields. */
const twice = (password) => ({ password, password_confirm: password });

const registerWith = (worker, password, overrides = {}) =>
  worker.post(`${DRF}/register/`, worker.newUser({ ...twice(password), ...overrides }));

const changeTo = (worker, user, password, prefix = DRF) =>
  worker.post(
    `${prefix}/change-password/`,
    { old_password: user.password, new_password: password, new_password_confirm: password },
    { token: user.access_token },
  );

/** A user made without register/ (which a fail-closed worker with its range API down refuses). */
async function seedUser(worker) {
  const password = fresh();
  const salt = randomBytes(12).toString("base64url");
  const hash = `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(password, salt, 1000, 32, "sha256").toString("base64")}`;
  const email = `seeded.${randomBytes(6).toString("hex")}@example.com`;
  await worker.db
    .prepare("INSERT INTO users (uuid, email, password, first_name, last_name, date_joined) VALUES (?1, ?2, ?3, 'Ada', 'Lovelace', '2024-01-01T10:00:00Z')")
    .bind(randomUUID(), email, hash)
    .run();
  const response = await login(worker, email, password);
  assert.equal(response.status, 200, response.text);
  return { email, password, ...response.body };
}

const storedHash = async (worker, user) =>
  (await worker.db.prepare("SELECT password FROM users WHERE id = ?1").bind(user.user.id).first()).password;

async function resetTo(worker, user, password) {
  const { uid, token } = await requestResetLink(worker, user.email);
  const body = { uid, token, new_password1: password, new_password2: password };
  return { body, response: await worker.post(`${DRF}/password/reset/confirm/`, body) };
}

describe("a breached password is refused in each flow", () => {
  test("register/: 400 on password with the breach message, and no user is made", async () => {
    const worker = workers.open;
    const password = range.breach(fresh());
    const user = worker.newUser(twice(password));
    assertResponse(await worker.post(`${DRF}/register/`, user), 400, { password: [BREACHED] });
    assertUnauthorized(await login(worker, user.email, password), LOGIN_FAILED);
  });

  test("the breach message comes after Django's messages, in one 400 with the confirmation's", async () => {
    const worker = workers.open;
    // "password" is in Django's common list and in every breach corpus.
    range.breach("password");
    assertResponse(await registerWith(worker, "password"), 400, { password: [TOO_COMMON, BREACHED] });
    const response = await registerWith(worker, "password", { password_confirm: "something-else" });
    assertResponse(response, 400, { password: [TOO_COMMON, BREACHED], password_confirm: ["Passwords do not match."] });
  });

  test("a request another field already refuses is answered without asking the range API", async () => {
    const worker = workers.open;
    const password = range.breach(fresh());
    const { result, requests } = await requestsDuring(() => registerWith(worker, password, { email: "not-an-email" }));
    assertResponse(result, 400, { email: ["Enter a valid email address."] });
    assert.deepEqual(requests, []);
  });

  test("change-password/: 400 on new_password, and the old password still logs in", async () => {
    const worker = workers.open;
    const user = await worker.register();
    const password = range.breach(fresh());
    assertResponse(await changeTo(worker, user, password), 400, { new_password: [BREACHED] });
    assertResponse(await changeTo(worker, user, password, SHORT), 400, { new_password: [BREACHED] });
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assertUnauthorized(await login(worker, user.email, password), LOGIN_FAILED);
  });

  test("change-password/: a wrong old password is reported alone, the range API not asked", async () => {
    const worker = workers.open;
    const user = await worker.register();
    const password = range.breach(fresh());
    const { result, requests } = await requestsDuring(() =>
      changeTo(worker, { ...user, password: "not-my-password" }, password));
    assertResponse(result, 400, { old_password: ["Old password is incorrect."] });
    assert.deepEqual(requests, []);
  });

  test("password/reset/confirm/: 400 on new_password2, and the link still works for a clean password", async () => {
    const worker = workers.open;
    const user = await worker.register();
    const breached = range.breach(fresh());
    const hash = await storedHash(worker, user);
    const { body, response } = await resetTo(worker, user, breached);
    assertResponse(response, 400, { new_password2: [BREACHED] });
    assert.equal(await storedHash(worker, user), hash, "nothing changed");
    const clean = fresh();
    const done = await worker.post(`${DRF}/password/reset/confirm/`, { ...body, new_password1: clean, new_password2: clean });
    assert.equal(done.status, 200, done.text);
    assert.equal((await login(worker, user.email, clean)).status, 200);
  });

  test("password/reset/confirm/: a mismatch is reported alone, the range API not asked", async () => {
    const worker = workers.open;
    const user = await worker.register();
    const breached = range.breach(fresh());
    const { uid, token } = await requestResetLink(worker, user.email);
    const { result, requests } = await requestsDuring(() =>
      worker.post(`${DRF}/password/reset/confirm/`, { uid, token, new_password1: breached, new_password2: `${breached}x` }));
    assertResponse(result, 400, MISMATCH);
    assert.deepEqual(requests, []);
  });

  test("a clean password is accepted in each flow", async () => {
    const worker = workers.closed;
    const user = await worker.register(twice(fresh()));
    assert.equal((await changeTo(worker, user, fresh())).status, 200);
    const { response } = await resetTo(worker, user, fresh());
    assert.equal(response.status, 200, response.text);
  });
});

describe("what reaches the range API", () => {
  test("only the 5 upper-case hex digits of the SHA-1 in the path, with Add-Padding: true", async () => {
    const worker = workers.open;
    // A non-ASCII password: the SHA-1 is of its UTF-8 bytes, as Pwned Passwords hashes them.
    const password = `Pässwörd ✓ ${randomBytes(6).toString("hex")}`;
    const hash = sha1(password);
    const { result, requests } = await requestsDuring(() => registerWith(worker, password));
    assert.equal(result.status, 201, result.text);
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.equal(request.method, "GET");
    assert.equal(request.url, `/range/${hash.slice(0, 5)}`);
    assert.equal(request.headers["add-padding"], "true");
    const everything = JSON.stringify(request).toUpperCase();
    for (const secret of [hash.slice(5), hash.slice(5, 15), password.toUpperCase()]) {
      assert.ok(!everything.includes(secret), "neither the suffix nor the password is sent");
    }
    const logs = workers.open.output.join("\n").toUpperCase();
    assert.ok(!logs.includes(hash.slice(5, 15)) && !logs.includes(password.toUpperCase()), "nor logged");
  });

  test("a second check of the same prefix is answered from the cache", async () => {
    const worker = workers.open;
    const password = fresh();
    const first = await requestsDuring(() => registerWith(worker, password));
    assert.equal(first.result.status, 201, first.result.text);
    assert.equal(first.requests.length, 1);
    const second = await requestsDuring(() => registerWith(worker, password));
    assert.equal(second.result.status, 201, second.result.text);
    assert.deepEqual(second.requests, [], "the range came from the Cache API");
  });

  test("a cached range still refuses the breached password", async () => {
    const worker = workers.closed;
    const password = range.breach(fresh());
    assertResponse(await registerWith(worker, password), 400, { password: [BREACHED] });
    const { result, requests } = await requestsDuring(() => registerWith(worker, password));
    assertResponse(result, 400, { password: [BREACHED] });
    assert.deepEqual(requests, []);
  });

  test("with the check off the range API is never asked and a breached password is accepted", async () => {
    const worker = workers.off;
    const password = range.breach(fresh());
    const { result, requests } = await requestsDuring(async () => {
      const user = await worker.register(twice(password));
      const changed = await changeTo(worker, user, range.breach(fresh()));
      const { response } = await resetTo(worker, user, range.breach(fresh()));
      return [user, changed, response];
    });
    assert.deepEqual(result.slice(1).map((response) => response.status), [200, 200]);
    assert.deepEqual(requests, []);
  });
});

describe("when the range API gives no answer", () => {
  for (const [name, mode, open, closed] of [
    ["down (a closed port)", "normal", "openDown", "closedDown"],
    ["slow (past the timeout)", "slow", "open", "closed"],
    ["garbled (not a range)", "garbage", "open", "closed"],
  ]) {
    test(`${name}: fail-open accepts, within the timeout`, async () => {
      const worker = workers[open];
      const { result, ms } = await inMode(mode, () => timed(() => registerWith(worker, fresh())));
      assert.equal(result.status, 201, result.text);
      assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `${Math.round(ms)} ms`);
    });

    test(`${name}: fail-closed answers 503 in each flow, within the timeout`, async () => {
      const worker = workers[closed];
      const user = await seedUser(worker);
      const { uid, token } = await requestResetLink(worker, user.email);
      await inMode(mode, async () => {
        const { result, ms } = await timed(() => registerWith(worker, fresh()));
        assertResponse(result, 503, UNAVAILABLE);
        assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `${Math.round(ms)} ms`);
        assertResponse(await changeTo(worker, user, fresh()), 503, UNAVAILABLE);
        const password = fresh();
        const reset = await worker.post(`${DRF}/password/reset/confirm/`,
          { uid, token, new_password1: password, new_password2: password });
        assertResponse(reset, 503, UNAVAILABLE);
      });
      assert.equal((await login(worker, user.email, user.password)).status, 200, "nothing changed");
    });
  }

  test("fail-closed still answers a request refused anyway with its 400", async () => {
    const worker = workers.closedDown;
    assertResponse(await registerWith(worker, "password"), 400, { password: [TOO_COMMON] });
  });

  test("the warning names the prefix at most, never the password", async () => {
    const worker = workers.openDown;
    const password = fresh();
    assert.equal((await registerWith(worker, password)).status, 201);
    const logs = worker.output.join("\n");
    assert.match(logs, new RegExp(`range ${sha1(password).slice(0, 5)}: no answer`));
    assert.ok(!logs.includes(password) && !logs.includes(sha1(password).slice(5)));
  });
});

describe("password length and Unicode", () => {
  const TOO_SHORT_12 = "This password is too short. It must contain at least 12 characters.";

  test("PASSWORD_MIN_LENGTH sets the bound and its message in every flow", async () => {
    const worker = workers.off;
    assertResponse(await registerWith(worker, "k3-9wq!zty"), 400, { password: [TOO_SHORT_12] });
    const user = await worker.register(twice("k3-9wq!zty-p"));
    assertResponse(await changeTo(worker, user, "k3-9wq!zty"), 400, { new_password: [TOO_SHORT_12] });
    const { response } = await resetTo(worker, user, "k3-9wq!zty");
    assertResponse(response, 400, { new_password2: [TOO_SHORT_12] });
  });

  test("passwords of 64 characters and more are accepted (no lower maximum)", async () => {
    const worker = workers.off;
    const long = (n) => randomBytes(n).toString("base64url").slice(0, n);
    for (const n of [64, 200, 1000]) {
      const password = long(n);
      const user = await worker.register(twice(password));
      assert.equal((await login(worker, user.email, password)).status, 200, `${n} characters`);
      assertUnauthorized(await login(worker, user.email, password.slice(0, -1)), LOGIN_FAILED);
    }
    const user = await worker.register(twice(long(64)));
    const changed = long(500);
    assert.equal((await changeTo(worker, user, changed)).status, 200);
    assert.equal((await login(worker, user.email, changed)).status, 200);
    // dj-rest-auth's reset form caps its fields at 128 (Django's SetPasswordForm has no cap).
    const reset = long(128);
    const { response } = await resetTo(worker, user, reset);
    assert.equal(response.status, 200, response.text);
    assert.equal((await login(worker, user.email, reset)).status, 200);
  });

  test("a Unicode password logs in as typed, and its other normal form is another password", async () => {
    const worker = workers.off;
    const nfc = "Pässwörd ünïcødé ✓ 密码".normalize("NFC");
    const nfd = nfc.normalize("NFD");
    assert.notEqual(nfc, nfd);
    const user = await worker.register(twice(nfc));
    assert.equal((await login(worker, user.email, nfc)).status, 200);
    assertUnauthorized(await login(worker, user.email, nfd), LOGIN_FAILED);
    const other = await worker.register(twice(nfd));
    assert.equal((await login(worker, other.email, nfd)).status, 200);
    assertUnauthorized(await login(worker, other.email, nfc), LOGIN_FAILED);
  });
});

describe("a bad breach setting", () => {
  for (const [name, value, reason] of [
    ["BREACHED_PASSWORD_CHECK", "on", "must be off, fail-open or fail-closed"],
    ["PWNED_PASSWORDS_URL", "api.pwnedpasswords.com/range/", "must be an http(s) URL"],
    ["PWNED_PASSWORDS_TIMEOUT_MS", "0", "must be a positive integer"],
    ["PASSWORD_MIN_LENGTH", "0", "must be a positive integer"],
  ]) {
    test(`${name}=${value} makes the worker 503 Server misconfigured and logs why`, async () => {
      const worker = await startWorker({ [name]: value });
      try {
        assertResponse(await registerWith(worker, fresh()), 503, { detail: "Server misconfigured." });
        assert.ok(worker.output.some((line) => line.includes(`var ${name}: ${reason}`)), worker.output.join("\n"));
      } finally {
        await worker.dispose();
      }
    });
  }
});
