// Issue 12 against the real thing: password reset tokens are Django's own (a link minted by Django's
// default_token_generator with the same SECRET_KEY and user row works here, and the reverse), and
// password/reset/, password/reset/confirm/, registration/verify-email/ and registration/resend-email/
// answer the same requests as dj-rest-auth's views do (pinned in requirements.txt, run in process by
// django_side.py `rest-auth`).
//
// Two dj-rest-auth stacks are compared, because dj-rest-auth's reset changes with django-allauth:
// - password/reset*: dj-rest-auth on plain Django (Django's PasswordResetForm, default_token_generator,
//   urlsafe_base64 uids), the scheme issue 12 pins. With allauth installed dj-rest-auth would use
//   base-36 uids and allauth's EmailAwarePasswordResetTokenGenerator instead: links of such a
//   deployment are not accepted here, by the design.
// - registration/*: dj-rest-auth with allauth (INTEROP_ALLAUTH=1), which those endpoints need.
//
// Django's copy of a user is made from the worker's D1 row (django_side.py `mirror`), so both sides
// hold the same id, password hash, last_login and email.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF, SHORT, SIGNING_KEY, startWorker } from "../support.mjs";
import { djangoSide, ensureVenv, python } from "./venv.mjs";

const DJANGO_SECRET_KEY = "interop-django-secret-key-0123456789-abcdefghijklmnop";
const OTHER_SECRET = "not-the-worker-django-secret-key-0123456789-abcdefghijk";
const DJANGO_PREFIX = "/api/v1/drf/auth";
const NEW_PASSWORD = "Fresh-l1nk-Pässword-2026";
const RESET_SENT = { detail: "Password reset e-mail has been sent." };
const RESET_DONE = { detail: "Password has been reset with the new password." };
const INVALID_TOKEN = { token: ["Invalid value"] };

// Where CONTRACT.md pins another answer than dj-rest-auth's (sameAnswers' `pinned`):
// - A non-string email: DRF's EmailField fails it with its own "invalid" message, "Enter a valid
//   email address."; CONTRACT.md "Field errors" pins "Not a valid string." for a wrong JSON type,
//   as register/ answers it (tests/blackbox/register.test.mjs).
const NOT_A_STRING_EMAIL = (answer) => ({ ...answer, body: { email: ["Not a valid string."] } });
// - UserAttributeSimilarityValidator names the field by its verbose name: "email address" for
//   django.contrib.auth's User (django_side.py's users), "email" in CONTRACT.md "Password rules".
const EMAIL_VERBOSE_NAME = (answer) => JSON.parse(JSON.stringify(answer).replaceAll("the email address.", "the email."));

/**
 * Runs django_side.py commands in one process (one in-memory database); returns their results.
 * `allauth`: the dj-rest-auth + allauth stack; `secret`: Django's SECRET_KEY.
 */
function django(commands, { allauth = false, secret = DJANGO_SECRET_KEY } = {}) {
  const out = execFileSync(python, [djangoSide, "batch"], {
    env: {
      ...process.env,
      INTEROP_SIGNING_KEY: SIGNING_KEY,
      INTEROP_DJANGO_SECRET_KEY: secret,
      INTEROP_ALLAUTH: allauth ? "1" : "0",
    },
    input: JSON.stringify(commands),
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/** The worker's users row of `id`, as django_side.py `mirror` takes it (a JSON string). */
async function row(worker, id) {
  const found = await worker.db
    .prepare(
      "SELECT id, email, password, last_login, is_active, first_name, last_name, email_verified FROM users WHERE id = ?1",
    )
    .bind(id)
    .first();
  assert.ok(found, `user ${id} exists`);
  return JSON.stringify(found);
}

/** Django's urlsafe_base64_encode(force_bytes(pk)). */
const uidOf = (id) => Buffer.from(String(id)).toString("base64url");

/** { uid, token } of a reset link (the worker's PASSWORD_RESET_URL default, and django_side.py's mail template). */
function resetLink(text) {
  const found = text.match(/http:\/\/localhost:3000\/reset-password\/([^/\s]+)\/([^/\s]+)\//);
  assert.ok(found, `a reset link in: ${text}`);
  return { uid: found[1], token: found[2] };
}

/** The key of a verification link (the worker's EMAIL_VERIFY_URL default). */
function verifyKey(text) {
  const found = text.match(/http:\/\/localhost:3000\/verify-email\/([^/\s]+)\//);
  assert.ok(found, `a verification link in: ${text}`);
  return decodeURIComponent(found[1]);
}

const confirmBody = (uid, token, password1 = NEW_PASSWORD, password2 = password1) => ({
  uid,
  token,
  new_password1: password1,
  new_password2: password2,
});

const login = (worker, email, password) => worker.post(`${DRF}/login/`, { email, password });

/** POSTs JSON text to the worker as it is. */
const postText = (worker, url, text) => worker.post(url, text, { headers: { "content-type": "application/json" } });

/** The django_side.py command that POSTs JSON text to dj-rest-auth's view at `path`. */
const restAuthPost = (path, text) => ["rest-auth", "POST", `${DJANGO_PREFIX}/${path}`, text];

/** The { status, body } of an answer. */
const statusAndBody = ({ status, body }) => ({ status, body });

/**
 * Sends the same requests ({ method, path, body }) to dj-rest-auth (one process, after the `setup`
 * commands) and to the worker, and asserts the same status and body for each (all mismatches are
 * listed at once). `body` is sent verbatim as JSON text (a non-string is stringified). By default
 * the worker is asked under both prefixes, with and without the trailing slash (CONTRACT.md
 * "Paths"; dj-rest-auth's patterns take both too); `once` asks it once, for requests that change
 * something. A request's `pinned` is where the issue or CONTRACT.md pins another answer than
 * dj-rest-auth's: it maps dj-rest-auth's { status, body } to the pinned one, which must differ (a
 * stale note fails). Returns dj-rest-auth's answers.
 */
async function sameAnswers(worker, requests, { setup = [], allauth = false, once = false } = {}) {
  const raws = requests.map(({ body }) => (body === undefined || typeof body === "string" ? body : JSON.stringify(body)));
  const commands = requests.map(({ method, path }, i) => ["rest-auth", method, `${DJANGO_PREFIX}/${path}`, raws[i] ?? ""]);
  const answers = django([...setup, ...commands], { allauth }).slice(setup.length);
  const mismatches = [];
  for (const [i, { method, path, pinned }] of requests.entries()) {
    const [raw, theirs] = [raws[i], statusAndBody(answers[i])];
    const expected = pinned ? pinned(structuredClone(theirs)) : theirs;
    if (pinned) assert.notDeepEqual(expected, theirs, `stale note: dj-rest-auth now answers ${raw} as pinned`);
    const urls = once ? [`${DRF}/${path}`] : [`${DRF}/${path}`, `${SHORT}/${path.replace(/\/$/, "")}`];
    for (const url of urls) {
      const headers = raw === undefined ? {} : { "content-type": "application/json" };
      const answer = await worker.fetch(url, { method, body: raw, headers });
      try {
        assert.deepEqual(statusAndBody(answer), expected);
      } catch {
        const wanted = JSON.stringify(expected);
        mismatches.push(`${method} ${url} ${raw ?? ""}: worker ${answer.status} ${answer.text}, expected ${wanted}`);
      }
    }
  }
  assert.deepEqual(mismatches, []);
  return answers;
}

/** sameAnswers for one request; returns dj-rest-auth's answer. */
async function sameAnswer(worker, method, path, body, options) {
  return (await sameAnswers(worker, [{ method, path, body }], options))[0];
}

before(() => ensureVenv());

describe("reset tokens minted by Django are accepted by the worker", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ DJANGO_SECRET_KEY, EMAIL_RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(() => worker?.dispose());

  test("default_token_generator's token for the same row resets the password, once", async () => {
    const user = await worker.register();
    const [{ uid, token }] = django([["reset-token", await row(worker, user.user.id)]]);
    assert.equal(uid, uidOf(user.user.id));
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.body, RESET_DONE);
    assert.equal((await login(worker, user.email, NEW_PASSWORD)).status, 200);
    assert.equal((await login(worker, user.email, user.password)).status, 401);
    // The hash in the token is the old one: the link is dead now, as in Django.
    const again = await worker.post(`${SHORT}/password/reset/confirm/`, confirmBody(uid, token, "An0ther-Pässword-2026"));
    assert.equal(again.status, 400, again.text);
    assert.deepEqual(again.body, INVALID_TOKEN);
  });

  test("default_token_generator's token for a user who has logged in (last_login in the hash) works", async () => {
    const user = await worker.register();
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    const userRow = await row(worker, user.user.id);
    assert.match(JSON.parse(userRow).last_login, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
    const [{ uid, token }] = django([["reset-token", userRow]]);
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.body, RESET_DONE);
  });

  test("the link in the mail of dj-rest-auth's own password/reset/ works on the worker", async () => {
    const user = await worker.register();
    const [, answer] = django([
      ["mirror", await row(worker, user.user.id)],
      restAuthPost("password/reset/", JSON.stringify({ email: user.email })),
    ]);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.equal(answer.mails.length, 1, JSON.stringify(answer));
    assert.deepEqual(answer.mails[0].to, [user.email]);
    const { uid, token } = resetLink(answer.mails[0].body);
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.body, RESET_DONE);
    assert.equal((await login(worker, user.email, NEW_PASSWORD)).status, 200);
  });

  test("a token Django minted with another SECRET_KEY is refused", async () => {
    const user = await worker.register();
    const [{ uid, token }] = django([["reset-token", await row(worker, user.user.id)]], { secret: OTHER_SECRET });
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 400, reset.text);
    assert.deepEqual(reset.body, INVALID_TOKEN);
    assert.equal((await login(worker, user.email, user.password)).status, 200, "password unchanged");
  });

  test("a token Django minted before a login on the worker is refused (last_login is in it)", async () => {
    const user = await worker.register();
    const [{ uid, token }] = django([["reset-token", await row(worker, user.user.id)]]);
    // last_login counts to the second in the token: log in a later second than the row Django read.
    await sleep(1100);
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 400, reset.text);
    assert.deepEqual(reset.body, INVALID_TOKEN);
  });
});

describe("reset tokens minted by the worker are accepted by Django", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ DJANGO_SECRET_KEY, EMAIL_RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(() => worker?.dispose());

  /** Asks the worker for a reset mail; returns the { uid, token } of its link. */
  async function workerLink(email) {
    const asked = await worker.post(`${DRF}/password/reset/`, { email });
    assert.equal(asked.status, 200, asked.text);
    return resetLink((await worker.mail(email, { subject: "Reset your password" })).text);
  }

  test("the token of the worker's reset mail passes check_token, until the worker's password changes", async () => {
    const user = await worker.register();
    const { uid, token } = await workerLink(user.email);
    assert.equal(uid, uidOf(user.user.id));
    const before = await row(worker, user.user.id);
    const [valid, otherKey] = [
      django([["check-reset-token", before, uid, token]])[0],
      django([["check-reset-token", before, uid, token]], { secret: OTHER_SECRET })[0],
    ];
    assert.deepEqual(valid, { uid: true, token: true });
    assert.deepEqual(otherKey, { uid: true, token: false }, "keyed by DJANGO_SECRET_KEY, not by chance");
    const reset = await worker.post(`${DRF}/password/reset/confirm/`, confirmBody(uid, token));
    assert.equal(reset.status, 200, reset.text);
    const changed = await row(worker, user.user.id);
    assert.notEqual(JSON.parse(changed).password, JSON.parse(before).password);
    assert.deepEqual(django([["check-reset-token", changed, uid, token]])[0], { uid: true, token: false });
    // ...and Django accepts the hash the reset wrote.
    assert.deepEqual(django([["mirror", changed], ["password-is", String(user.user.id), NEW_PASSWORD]])[1], { valid: true });
  });

  test("the worker's token for a user who has logged in passes check_token, and dies with the next login", async () => {
    const user = await worker.register();
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assert.notEqual(JSON.parse(await row(worker, user.user.id)).last_login, null);
    const { uid, token } = await workerLink(user.email);
    assert.deepEqual(django([["check-reset-token", await row(worker, user.user.id), uid, token]])[0], {
      uid: true,
      token: true,
    });
    await sleep(1100); // a later second than the last_login in the token
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assert.deepEqual(django([["check-reset-token", await row(worker, user.user.id), uid, token]])[0], {
      uid: true,
      token: false,
    });
  });
});

describe("password/reset/ answers as dj-rest-auth's PasswordResetView", () => {
  let worker;
  let known;
  let inactive;
  let setup;
  before(async () => {
    worker = await startWorker({ DJANGO_SECRET_KEY, EMAIL_RATE_LIMIT_PER_HOUR: "1000" });
    known = await worker.register();
    inactive = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(inactive.user.id).run();
    setup = [
      ["mirror", await row(worker, known.user.id)],
      ["mirror", await row(worker, inactive.user.id)],
    ];
  });
  after(() => worker?.dispose());

  test("a known address: 200, and both send a link with the same uid", async () => {
    const expected = await sameAnswer(worker, "POST", "password/reset/", { email: known.email }, { setup, once: true });
    assert.deepEqual(expected.body, RESET_SENT);
    assert.equal(expected.mails.length, 1);
    const mine = resetLink((await worker.mail(known.email, { subject: "Reset your password" })).text);
    assert.equal(mine.uid, resetLink(expected.mails[0].body).uid);
  });

  test("the known address in other case and with spaces around: 200, the mail goes to the stored address", async () => {
    for (const email of [known.email.toUpperCase(), `  ${known.email}  `]) {
      const expected = await sameAnswer(worker, "POST", "password/reset/", { email }, { setup, once: true });
      assert.deepEqual(expected.mails.map((mail) => mail.to), [[known.email]], email);
      await worker.mail(known.email, { subject: "Reset your password" });
    }
  });

  test("an unknown address, an inactive user's and a well-formed local one: the same 200, Django mails nobody", async () => {
    const emails = ["nobody.here@example.com", inactive.email, "someone@localhost"];
    const requests = emails.map((email) => ({ method: "POST", path: "password/reset/", body: { email } }));
    for (const expected of await sameAnswers(worker, requests, { setup })) {
      assert.deepEqual(expected.body, RESET_SENT);
      assert.deepEqual(expected.mails, []);
    }
  });

  test("malformed, missing, blank, null and mistyped addresses: the same 400", async () => {
    const bodies = [
      { email: "not-an-email" },
      { email: "user@" },
      { email: "@example.com" },
      { email: "user@example" },
      { email: "a b@example.com" },
      {},
      { email: "" },
      { email: null },
      { email: 42 },
      { emails: known.email },
    ];
    const requests = bodies.map((body) => ({ method: "POST", path: "password/reset/", body }));
    for (const body of [{ email: true }, { email: ["a@example.com"] }, { email: {} }]) {
      requests.push({ method: "POST", path: "password/reset/", body, pinned: NOT_A_STRING_EMAIL });
    }
    for (const expected of await sameAnswers(worker, requests)) assert.equal(expected.status, 400);
  });

  // Malformed JSON is left out: the 400's detail carries the parser's own words (CONTRACT.md).
  test("JSON bodies that are not an object: the same 400", async () => {
    const requests = ["[]", '"a@example.com"', "42"].map((body) => ({ method: "POST", path: "password/reset/", body }));
    for (const expected of await sameAnswers(worker, requests)) assert.equal(expected.status, 400);
  });

  test("GET: the same 405 and Allow header", async () => {
    const expected = await sameAnswer(worker, "GET", "password/reset/");
    assert.equal(expected.status, 405);
    const answer = await worker.fetch(`${DRF}/password/reset/`);
    assert.equal(answer.headers.get("allow"), expected.allow);
  });
});

describe("password/reset/confirm/ answers as dj-rest-auth's PasswordResetConfirmView", () => {
  let worker;
  let user;
  let other;
  let setup;
  let uid;
  let token;
  let otherToken;
  before(async () => {
    worker = await startWorker({ DJANGO_SECRET_KEY, EMAIL_RATE_LIMIT_PER_HOUR: "1000" });
    user = await worker.register({ first_name: "Grace", last_name: "Hopper" });
    other = await worker.register();
    const rows = [await row(worker, user.user.id), await row(worker, other.user.id)];
    setup = rows.map((r) => ["mirror", r]);
    [{ uid, token }, { token: otherToken }] = django(rows.map((r) => ["reset-token", r]));
  });
  after(() => worker?.dispose());

  /** sameAnswers for confirm bodies. */
  const confirm = (bodies) =>
    sameAnswers(
      worker,
      bodies.map((body) => ({ method: "POST", path: "password/reset/confirm/", body })),
      { setup },
    );

  test("missing and blank fields: all of them at once, before the uid or token is looked at", async () => {
    const answers = await confirm([
      {},
      { uid: "!!", token: "x" },
      { uid, token, new_password1: NEW_PASSWORD },
      { uid: "", token: "", new_password1: "", new_password2: "" },
      { uid: null, token, new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD },
      { uid: 42, token: ["x"], new_password1: true, new_password2: {} },
    ]);
    for (const expected of answers) assert.equal(expected.status, 400);
    assert.deepEqual(Object.keys(answers[0].body).sort(), ["new_password1", "new_password2", "token", "uid"]);
  });

  test("a bad uid: {uid: [Invalid value]}, whatever the token and passwords", async () => {
    const badUids = ["!!!!", uidOf(999999999), Buffer.from("abc").toString("base64url"), "MQ==", uidOf(-1), "\u00e9"];
    for (const expected of await confirm(badUids.map((bad) => confirmBody(bad, token, NEW_PASSWORD, "mismatch-and-weak")))) {
      assert.deepEqual(expected.body, { uid: ["Invalid value"] });
    }
  });

  test("uid spellings of the same id: leading zeros and padding as in Django", async () => {
    const spellings = [uidOf(`0${user.user.id}`), uidOf(`000${user.user.id}`), `${uid}==`];
    const bodies = spellings.map((spelling) => confirmBody(spelling, token, NEW_PASSWORD, `${NEW_PASSWORD}!`));
    const answers = await confirm(bodies);
    for (const expected of answers) assert.deepEqual(Object.keys(expected.body), ["new_password2"], "past uid and token");
  });

  // A difference kept on purpose: Django reads the decoded uid with int(), so " 1000000001",
  // "+1000000001", "1_000_000_001" and "1000000001 " name the same user there; here the decoded
  // uid must be ASCII digits (src/domain/reset_token.rs decode_uid). No link carries such a uid:
  // Django's urlsafe_base64_encode(force_bytes(pk)) never writes one.
  test("uid aliases that Django's int() reads as the same user are refused here", async () => {
    const id = String(user.user.id);
    const aliases = [` ${id}`, `+${id}`, `${id} `, id.replace(/(\d{3})$/, "_$1")];
    const bodies = aliases.map((alias) => JSON.stringify(confirmBody(uidOf(alias), token, NEW_PASSWORD, `${NEW_PASSWORD}!`)));
    const answers = django([...setup, ...bodies.map((body) => restAuthPost("password/reset/confirm/", body))]);
    for (const [i, body] of bodies.entries()) {
      const expected = answers[setup.length + i];
      const past = `dj-rest-auth got past uid and token: ${JSON.stringify(expected)}`;
      assert.deepEqual(Object.keys(expected.body), ["new_password2"], past);
      const answer = await postText(worker, `${DRF}/password/reset/confirm/`, body);
      assert.equal(answer.status, 400, answer.text);
      assert.deepEqual(answer.body, { uid: ["Invalid value"] }, JSON.stringify(aliases[i]));
    }
  });

  test("a bad token, another user's token, a malformed one: {token: [Invalid value]}", async () => {
    const flipped = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0");
    const badTokens = ["abc-def", flipped, otherToken, `${token}-extra`, token.toUpperCase(), "x", token.slice(0, -1)];
    for (const expected of await confirm(badTokens.map((bad) => confirmBody(uid, bad, NEW_PASSWORD, "mismatch-and-weak")))) {
      assert.deepEqual(expected.body, INVALID_TOKEN);
    }
    // DRF's CharField trims the token, as it does every field: a link pasted with spaces still works.
    const [spaced] = await confirm([confirmBody(uid, ` ${token}\n`, NEW_PASSWORD, "mismatch-and-weak")]);
    assert.deepEqual(Object.keys(spaced.body), ["new_password2"]);
  });

  test("a mismatch, weak passwords and both: the same new_password2 errors", async () => {
    const pairs = [
      [NEW_PASSWORD, `${NEW_PASSWORD}!`],
      ["short", "short"],
      ["12345678", "12345678"],
      ["password", "password"],
      ["hopper1234", "hopper1234"],
      [NEW_PASSWORD, "123"],
    ];
    const path = "password/reset/confirm/";
    const requests = pairs.map(([one, two]) => ({ method: "POST", path, body: confirmBody(uid, token, one, two) }));
    const similar = confirmBody(uid, token, user.email, user.email);
    requests.push({ method: "POST", path, body: similar, pinned: EMAIL_VERBOSE_NAME });
    for (const expected of await sameAnswers(worker, requests, { setup })) {
      assert.equal(expected.status, 400);
      assert.deepEqual(Object.keys(expected.body), ["new_password2"]);
    }
  });

  test("success with Django's token, then the same link again: the same 200, then the same 400", async () => {
    const body = JSON.stringify(confirmBody(uid, token));
    const [, , first, second] = django([...setup, ...Array(2).fill(restAuthPost("password/reset/confirm/", body))]);
    for (const expected of [first, second]) {
      const answer = await postText(worker, `${DRF}/password/reset/confirm/`, body);
      assert.deepEqual(statusAndBody(answer), statusAndBody(expected), answer.text);
    }
    assert.deepEqual(first.body, RESET_DONE);
    assert.deepEqual(second.body, INVALID_TOKEN);
  });

  test("a new password with surrounding spaces is set as dj-rest-auth sets it", async () => {
    const target = await worker.register();
    const targetRow = await row(worker, target.user.id);
    const [{ uid: targetUid, token: targetToken }] = django([["reset-token", targetRow]]);
    const spaced = `  ${NEW_PASSWORD}  `;
    const body = JSON.stringify(confirmBody(targetUid, targetToken, spaced));
    const [, answer, trimmed, asSent] = django([
      ["mirror", targetRow],
      restAuthPost("password/reset/confirm/", body),
      ["password-is", String(target.user.id), NEW_PASSWORD],
      ["password-is", String(target.user.id), spaced],
    ]);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    const mine = await postText(worker, `${DRF}/password/reset/confirm/`, body);
    assert.equal(mine.status, 200, mine.text);
    // DRF's CharField trims: dj-rest-auth sets the password without the spaces.
    assert.deepEqual([trimmed.valid, asSent.valid], [true, false]);
    assert.equal((await login(worker, target.email, NEW_PASSWORD)).status, 200, "the trimmed password logs in");
  });

  test("GET: the same 405 and Allow header", async () => {
    const expected = await sameAnswer(worker, "GET", "password/reset/confirm/");
    assert.equal(expected.status, 405);
    const answer = await worker.fetch(`${DRF}/password/reset/confirm/`);
    assert.equal(answer.headers.get("allow"), expected.allow);
  });
});

describe("registration/verify-email/ and resend-email/ answer as dj-rest-auth's views (with allauth)", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ DJANGO_SECRET_KEY, EMAIL_RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(() => worker?.dispose());

  const allauth = true;

  test("verify-email/: unknown, missing, blank and mistyped keys", async () => {
    // The second key has allauth's shape (signed with another secret).
    const allauthShaped = "MQ:1xYdEk:WEP0mhTUhlPm8Ut-vdS7hzm8tU1QJrJ7w-Vw04q-9Eg";
    const bodies = [{ key: "no-such-key" }, { key: allauthShaped }, {}, { key: "" }, { key: null }, { key: true }];
    const answers = await sameAnswers(
      worker,
      bodies.map((body) => ({ method: "POST", path: "registration/verify-email/", body })),
      { allauth },
    );
    assert.deepEqual([answers[0].status, answers[0].body], [404, { detail: "Not found." }]);
  });

  test("verify-email/: a valid key verifies (200 ok) and is refused when used again (404), on both sides", async () => {
    const user = await worker.register();
    const mailed = verifyKey((await worker.mail(user.email, { subject: "Verify your e-mail address" })).text);
    const userRow = await row(worker, user.user.id);
    // allauth's key signs the EmailAddress id: the same (1) in this fresh database and the next.
    const [{ key }] = django([["verification-key", userRow]], { allauth });
    const verify = (k) => JSON.stringify({ key: k });
    const [, first, second] = django(
      [
        ["mirror", userRow],
        restAuthPost("registration/verify-email/", verify(key)),
        restAuthPost("registration/verify-email/", verify(key)),
      ],
      { allauth },
    );
    assert.deepEqual([first.status, first.body], [200, { detail: "ok" }]);
    assert.deepEqual([second.status, second.body], [404, { detail: "Not found." }]);
    for (const expected of [first, second]) {
      const answer = await worker.post(`${DRF}/registration/verify-email/`, { key: mailed });
      assert.deepEqual(statusAndBody(answer), statusAndBody(expected), answer.text);
    }
  });

  test("resend-email/: unknown, known unverified and known verified addresses: the same 200 ok", async () => {
    const unverified = await worker.register();
    const verified = await worker.register();
    await worker.db.prepare("UPDATE users SET email_verified = 1 WHERE id = ?1").bind(verified.user.id).run();
    const setup = [
      ["mirror", await row(worker, unverified.user.id)],
      ["mirror", await row(worker, verified.user.id)],
    ];
    const resend = (email, options) =>
      sameAnswer(worker, "POST", "registration/resend-email/", { email }, { setup, allauth, ...options });
    assert.deepEqual((await resend("nobody.here@example.com")).mails, []);
    assert.deepEqual((await resend(verified.email)).mails, []);
    const known = await resend(unverified.email, { once: true });
    assert.deepEqual(known.body, { detail: "ok" });
    assert.deepEqual(known.mails.map((mail) => mail.to), [[unverified.email]]);
    await worker.mail(unverified.email, { subject: "Verify your e-mail address" }); // from register/
    await worker.mail(unverified.email, { subject: "Verify your e-mail address" }); // from resend-email/
  });

  test("resend-email/: malformed, missing and blank addresses: the same 400", async () => {
    const bodies = [{ email: "not-an-email" }, { email: "user@example" }, {}, { email: "" }, { email: null }, { email: 42 }];
    const requests = bodies.map((body) => ({ method: "POST", path: "registration/resend-email/", body }));
    requests.push({ method: "POST", path: "registration/resend-email/", body: { email: true }, pinned: NOT_A_STRING_EMAIL });
    for (const expected of await sameAnswers(worker, requests, { allauth })) assert.equal(expected.status, 400);
  });

  test("GET on either: the same 405", async () => {
    const paths = ["registration/verify-email/", "registration/resend-email/"];
    const answers = await sameAnswers(worker, paths.map((path) => ({ method: "GET", path })), { allauth });
    for (const expected of answers) assert.equal(expected.status, 405);
  });
});
