// Issue 12, attacks on the recovery flows: forged reset tokens, guessed verification keys, keys
// read from the database, secrets echoed in responses, reset-link poisoning through the Host
// header, and account enumeration through password/reset/ and registration/resend-email/.
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DRF, SIGNING_KEY, startWorker } from "../support.mjs";
import {
  INVALID_TOKEN, NOT_FOUND, OK, RESET_DONE, RESET_LINK, RESET_SENT, SUBJECTS, assertResponse, login, requestResetLink,
  resetLinkFrom, verificationKey,
} from "./helpers.mjs";

const DJANGO_SECRET_KEY = "django-insecure-blackbox-0123456789-secret-key-for-reset-tokens";
const NEW = "a-fresh-unguessable-passphrase";

let worker;
before(async () => {
  worker = await startWorker({ DJANGO_SECRET_KEY });
});
after(() => worker?.dispose());

const confirm = (uid, token, password = NEW) =>
  worker.post(`${DRF}/password/reset/confirm/`, { uid, token, new_password1: password, new_password2: password });
const verify = (key) => worker.post(`${DRF}/registration/verify-email/`, { key });
const uidOf = (id) => Buffer.from(String(id)).toString("base64url");
const sha256Hex = (text) => createHash("sha256").update(text).digest("hex");

const resetLink = (email) => requestResetLink(worker, email);
const verifyKey = async (email, subject) => (await verificationKey(worker, email, subject)).key;

/** Seconds since 2001-01-01 UTC, Django's reset-token clock. */
const tokenClock = () => Math.floor((Date.now() - Date.UTC(2001, 0, 1)) / 1000);

/**
 * Django's PasswordResetTokenGenerator token for a user row, written from Django's algorithm:
 * salted_hmac(key_salt, id + password + last_login + timestamp + email, secret), SHA-256, every
 * other hex digit, after the timestamp in base 36.
 */
function djangoToken(secret, row, timestamp = tokenClock()) {
  const key = createHash("sha256").update(`django.contrib.auth.tokens.PasswordResetTokenGenerator${secret}`).digest();
  const lastLogin = row.last_login ? row.last_login.replace("T", " ").slice(0, 19) : "";
  const digest = createHmac("sha256", key).update(`${row.id}${row.password}${lastLogin}${timestamp}${row.email}`).digest("hex");
  return `${timestamp.toString(36)}-${[...digest].filter((_, i) => i % 2 === 0).join("")}`;
}

const userRow = (id) => worker.db.prepare("SELECT id, password, last_login, email FROM users WHERE id = ?1").bind(id).first();

describe("forged reset tokens are refused, and the genuine link still works after them", () => {
  test("a token with one digest digit flipped", async () => {
    const user = await worker.register();
    const { uid, token } = await resetLink(user.email);
    const last = token.at(-1);
    assertResponse(await confirm(uid, `${token.slice(0, -1)}${last === "0" ? "1" : "0"}`), 400, INVALID_TOKEN);
    assertResponse(await confirm(uid, token), 200, RESET_DONE);
  });

  test("the genuine digest under a later timestamp (to outlive the timeout)", async () => {
    const user = await worker.register();
    const { uid, token } = await resetLink(user.email);
    const [ts, digest] = token.split("-");
    for (const later of [parseInt(ts, 36) + 1, parseInt(ts, 36) + 86400 * 365]) {
      assertResponse(await confirm(uid, `${later.toString(36)}-${digest}`), 400, INVALID_TOKEN);
    }
    assertResponse(await confirm(uid, token), 200, RESET_DONE);
  });

  test("a token mailed to another user, presented with the victim's uid", async () => {
    const victim = await worker.register();
    const attacker = await worker.register();
    const { token } = await resetLink(attacker.email);
    assertResponse(await confirm(uidOf(victim.user.id), token), 400, INVALID_TOKEN);
    assert.equal((await login(worker, victim.email, victim.password)).status, 200, "the victim keeps the password");
  });

  test("tokens made with Django's algorithm but a wrong secret (the JWT key, an empty one)", async () => {
    const user = await worker.register();
    const row = await userRow(user.user.id);
    for (const secret of [SIGNING_KEY, "", `${DJANGO_SECRET_KEY}x`]) {
      assertResponse(await confirm(uidOf(user.user.id), djangoToken(secret, row)), 400, INVALID_TOKEN);
    }
    assert.equal((await login(worker, user.email, user.password)).status, 200);
  });

  test("malformed tokens: extra dashes, no dash, an over-long timestamp, uppercase, empty digest", async () => {
    const user = await worker.register();
    const { uid, token } = await resetLink(user.email);
    const [ts, digest] = token.split("-");
    for (const forged of [`${ts}-${digest}-x`, `${ts}${digest}`, `${"1".repeat(14)}-${digest}`, token.toUpperCase(), `${ts}-`, "-"]) {
      assertResponse(await confirm(uid, forged), 400, INVALID_TOKEN);
    }
    assertResponse(await confirm(uid, token), 200, RESET_DONE);
  });

  test("control: a token made from Django's algorithm with DJANGO_SECRET_KEY is accepted (a link Django minted)", async () => {
    const user = await worker.register();
    const row = await userRow(user.user.id);
    assertResponse(await confirm(uidOf(user.user.id), djangoToken(DJANGO_SECRET_KEY, row)), 200, RESET_DONE);
    assert.equal((await login(worker, user.email, NEW)).status, 200);
  });
});

describe("verification keys cannot be guessed or read", () => {
  test("thirty random keys are all 404, and the real key still works after them", async () => {
    const user = await worker.register();
    const key = await verifyKey(user.email);
    for (let i = 0; i < 30; i++) {
      assertResponse(await verify(randomBytes(1 + (i % 32)).toString(i % 2 ? "hex" : "base64url")), 404, NOT_FOUND);
    }
    assertResponse(await verify(`${key.slice(0, -1)}${key.at(-1) === "A" ? "B" : "A"}`), 404, NOT_FOUND);
    assertResponse(await verify(key), 200, OK);
  });

  test("the stored row holds the key's SHA-256, never the key: neither the registration key nor a change key", async () => {
    const storedKeys = async () => (await worker.db.prepare("SELECT * FROM email_keys").all()).results;
    const assertHashedOnly = (rows, key) => {
      assert.ok(!JSON.stringify(rows).includes(key), "the key itself is not stored");
      assert.ok(rows.some((row) => row.key_hash === sha256Hex(key)), "its SHA-256 (hex) is");
    };
    const user = await worker.register();
    assertHashedOnly(await storedKeys(), await verifyKey(user.email));
    const target = `moved.${Date.now()}@example.net`;
    const change = await worker.post(`${DRF}/email/change/`, { new_email: target, password: user.password }, { token: user.access_token });
    assert.equal(change.status, 200, change.text);
    assertHashedOnly(await storedKeys(), await verifyKey(target, SUBJECTS.confirmNew));
  });
});

describe("what is mailed never comes back in an HTTP answer", () => {
  /** Every header value and the body of a response, as one string. */
  const everything = (response) => `${[...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${response.text}`;

  test("register/, resend-email/, password/reset/ and email/change/ answers carry none of the mailed secrets", async () => {
    const body = worker.newUser();
    const registered = await worker.post(`${DRF}/register/`, body);
    assert.equal(registered.status, 201, registered.text);
    const firstKey = await verifyKey(body.email);
    const resent = await worker.post(`${DRF}/registration/resend-email/`, { email: body.email });
    const secondKey = await verifyKey(body.email);
    const reset = await worker.post(`${DRF}/password/reset/`, { email: body.email });
    const { link, token } = resetLinkFrom(await worker.mail(body.email, { subject: SUBJECTS.reset }));
    const target = `moved.${Date.now()}@example.net`;
    const changed = await worker.post(`${DRF}/email/change/`, { new_email: target, password: body.password },
      { token: registered.body.access_token });
    const changeKey = await verifyKey(target, SUBJECTS.confirmNew);
    for (const response of [registered, resent, reset, changed]) {
      const seen = everything(response);
      for (const secret of [firstKey, secondKey, token, link, changeKey]) {
        assert.ok(!seen.includes(secret), `an answer leaks a mailed secret: ${seen}`);
      }
    }
  });
});

describe("reset links are built from PASSWORD_RESET_URL, never from the request", () => {
  test("a forged Host and X-Forwarded-Host do not change the mailed link", async () => {
    const user = await worker.register();
    const response = await worker.post("http://evil.example/api/v1/drf/auth/password/reset/", { email: user.email },
      { headers: { "x-forwarded-host": "evil.example", forwarded: "host=evil.example" } });
    assertResponse(response, 200, RESET_SENT);
    const mail = await worker.mail(user.email, { subject: SUBJECTS.reset });
    assert.match(mail.text, RESET_LINK);
    assert.ok(!mail.text.includes("evil") && !(mail.html ?? "").includes("evil"), mail.text);
  });
});

describe("no enumeration: the answer is the same whoever owns the address", () => {
  /** Status, body and every header but the per-request X-Request-Id, in a form deepEqual compares. */
  const shape = (response) => ({
    status: response.status, text: response.text,
    headers: [...response.headers].filter(([name]) => name !== "x-request-id"),
  });

  async function accounts() {
    const active = await worker.register();
    const inactive = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(inactive.user.id).run();
    const verified = await worker.register();
    assertResponse(await verify(await verifyKey(verified.email)), 200, OK);
    return { active, inactive, verified, unknown: `unknown.${Date.now()}@example.com` };
  }

  for (const [path, message] of [["password/reset/", RESET_SENT], ["registration/resend-email/", OK]]) {
    test(`${path}: known, unknown, inactive and verified addresses get the same status, body and headers`, async () => {
      const { active, inactive, verified, unknown } = await accounts();
      const answers = [];
      for (const email of [active.email, unknown, inactive.email, verified.email]) {
        answers.push(shape(await worker.post(`${DRF}/${path}`, { email })));
      }
      assert.equal(answers[0].status, 200);
      assert.deepEqual(JSON.parse(answers[0].text), message);
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
    });
  }
});

describe("guessing is throttled per IP", () => {
  let limited;
  before(async () => {
    limited = await startWorker({}, { limits: { LOGIN_RATE_LIMITER: 3, IP_RATE_LIMITER: 3 } });
  });
  after(() => limited?.dispose());

  const from = (address) => ({ headers: { "cf-connecting-ip": address } });

  test("password/reset/confirm/ guesses from one IP get 429 after the login budget", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const response = await limited.post(`${DRF}/password/reset/confirm/`,
        { uid: uidOf(1000000000 + i), token: "1-00000000000000000000000000000000", new_password1: NEW, new_password2: NEW },
        from("192.0.2.10"));
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 429]);
  });

  test("registration/verify-email/ guesses from one IP get 429 after the budget", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await limited.post(`${DRF}/registration/verify-email/`, { key: randomBytes(16).toString("hex") }, from("192.0.2.11"))).status);
    }
    assert.deepEqual(statuses, [404, 404, 404, 429]);
  });

  test("password/reset/ from one IP gets 429 after the budget", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await limited.post(`${DRF}/password/reset/`, { email: `someone${i}@example.com` }, from("192.0.2.12"))).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });
});
