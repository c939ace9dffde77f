// Issue 13: every hasher Django ships for real use logs in here, and is upgraded on that login to
// the configured PASSWORD_HASHER (pbkdf2_sha256 by default, or argon2id in Django's format);
// unusable and over-costly hashes never match; a target that cannot fit an isolate is a 503.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";
import { assertResponse, assertTokenPair, failedLoginTimes, login } from "./helpers.mjs";

// Made by Django 5.2.19 with argon2-cffi 25.1.0 and bcrypt 5.0.0 (the same vectors as
// src/domain/password/mod.rs; `make interop` makes fresh ones with the real libraries), and one
// PBKDF2 hash at a single iteration made here with OpenSSL.
const DJANGO_HASHES = {
  "argon2id": ["pässwörd✓", "argon2$argon2id$v=19$m=64,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN/f7jV3M5/MTjJTUFXSyG2Hupj/5qTwI"],
  "argon2id at Django's default cost": ["correct horse battery staple", "argon2$argon2id$v=19$m=102400,t=2,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA"],
  "argon2i": ["legacy password", "argon2$argon2i$v=19$m=512,t=2,p=2$cXdlcnR5dWlvcGFzZGZnaGprbHp4Yw$b1rZcaKlYxPGlSWu95yf4g"],
  "bcrypt_sha256": ["correct horse battery staple", "bcrypt_sha256$$2b$04$hPuPv205DQIvEG6c1ZTxluu12BDdIxUTmaYnut6fnsDR7x42FwkZi"],
  "bcrypt": ["password", "bcrypt$$2b$05$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG"],
  "scrypt": ["pässwörd✓", "scrypt$1024$seasalt$4$2$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA=="],
  "pbkdf2_sha1": ["password", "pbkdf2_sha1$1000$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g="],
  "pbkdf2_sha256 below the target": ["password", "pbkdf2_sha256$1$seasaltseasaltseasalts$zM/K3f77ffNES3B0cY19owzcmhCWYyKTbtV4m20Z/dY="],
};

let seeded = 0;
/** Inserts a user as an import from Django would, with `hash` stored verbatim; returns the email. */
async function seed(worker, hash) {
  seeded += 1;
  const email = `imported${seeded}.${Date.now()}@example.com`;
  await worker.db
    .prepare("INSERT INTO users (uuid, email, password, first_name, last_name, date_joined) VALUES (?1, ?2, ?3, 'Imported', 'User', '2024-01-01T10:00:00Z')")
    .bind(crypto.randomUUID(), email, hash)
    .run();
  return email;
}

const storedHash = async (worker, email) =>
  (await worker.db.prepare("SELECT password FROM users WHERE email = ?1").bind(email).first()).password;

describe("with the default target (pbkdf2_sha256)", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ PBKDF2_ITERATIONS: "1000" });
  });
  after(() => worker?.dispose());

  for (const [kind, [password, hash]] of Object.entries(DJANGO_HASHES)) {
    test(`a user imported with a Django ${kind} hash logs in and is upgraded to pbkdf2_sha256`, async () => {
      const email = await seed(worker, hash);
      const wrong = await login(worker, email, `${password}!`);
      assert.equal(wrong.status, 401, wrong.text);
      assert.equal(await storedHash(worker, email), hash, "a failed login leaves the hash alone");

      const response = await login(worker, email, password);
      assert.equal(response.status, 200, response.text);
      assertTokenPair(response.body);
      const upgraded = await storedHash(worker, email);
      assert.match(upgraded, /^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$/);
      const again = await login(worker, email, password);
      assert.equal(again.status, 200, "the upgraded hash verifies");
      assert.equal(await storedHash(worker, email), upgraded, "and is not re-hashed again");
    });
  }

  test("a hash asking for more than a login may spend matches nothing and runs nothing", async () => {
    for (const hash of [
      "argon2$argon2id$v=19$m=4194304,t=2,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA",
      "bcrypt$$2b$31$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG",
      "scrypt$1048576$seasalt$8$1$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA==",
    ]) {
      const email = await seed(worker, hash);
      const started = Date.now();
      const response = await login(worker, email, "password");
      assert.equal(response.status, 401, response.text);
      assert.ok(Date.now() - started < 5000, `${hash.split("$")[0]} refused without running it`);
      // The operator is told why, and never the hash.
      const said = worker.output.join("\n");
      assert.match(said, new RegExp(`login refused for user \\d+: the "${hash.split("$")[0]}" hash is malformed or costs more than a login may spend`));
      assert.ok(!said.includes(hash.split("$").at(-1)), "no hash in the log");
    }
  });

  test("an unusable password (Django's set_unusable_password) stays unusable", async () => {
    const email = await seed(worker, "!Xk3vQ9mZp2Lr7Tw1Yb5NcDXk3vQ9mZp2Lr7Tw1Yb5N");
    for (const password of ["!Xk3vQ9mZp2Lr7Tw1Yb5NcDXk3vQ9mZp2Lr7Tw1Yb5N", "password"]) {
      assert.equal((await login(worker, email, password)).status, 401);
    }
  });
});

describe("with PASSWORD_HASHER=argon2id", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ PASSWORD_HASHER: "argon2id" });
  });
  after(() => worker?.dispose());

  test("a registration stores argon2id at OWASP's cost in Django's format, and logs in", async () => {
    const user = await worker.register();
    const hash = await storedHash(worker, user.email);
    assert.match(hash, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}$/);
    // The salt is Django's shape: 22 characters of its alphabet, stored as bytes.
    const salt = Buffer.from(hash.split("$")[4], "base64").toString("latin1");
    assert.match(salt, /^[A-Za-z0-9]{22}$/);
    assert.equal((await login(worker, user.email, user.password)).status, 200);
    assert.equal((await login(worker, user.email, `${user.password}x`)).status, 401);
  });

  test("change-password writes argon2id too", async () => {
    const user = await worker.register();
    const newPassword = "a-different-horse-battery";
    const response = await worker.post(`${DRF}/change-password/`, {
      old_password: user.password, new_password: newPassword, new_password_confirm: newPassword,
    }, { token: user.access_token });
    assert.equal(response.status, 200, response.text);
    assert.match(await storedHash(worker, user.email), /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  for (const kind of ["pbkdf2_sha256 below the target", "argon2i", "bcrypt_sha256", "argon2id"]) {
    test(`a Django ${kind} hash is upgraded to argon2id on login`, async () => {
      const [password, hash] = DJANGO_HASHES[kind];
      const email = await seed(worker, hash);
      assert.equal((await login(worker, email, password)).status, 200);
      assert.match(await storedHash(worker, email), /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });
  }

  test("an unknown email costs an argon2id hash too: as much as a wrong password", async () => {
    const user = await worker.register();
    const { known: k, unknown: u } = await failedLoginTimes(worker, user.email, 5);
    assert.ok(k > 5, `a wrong password takes measurable time (${k} ms)`);
    assert.ok(u > k * 0.6 && u < k * 1.6, `unknown email ${u} ms vs wrong password ${k} ms`);
  });

  test("an argon2id hash stronger than the target in every parameter is kept", async () => {
    const [password, hash] = DJANGO_HASHES["argon2id at Django's default cost"];
    const email = await seed(worker, hash);
    assert.equal((await login(worker, email, password)).status, 200);
    assert.equal(await storedHash(worker, email), hash);
  });
});

describe("an argon2id cost that cannot fit a Workers isolate", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ PASSWORD_HASHER: "argon2id", ARGON2_MEMORY_COST: "131072" });
  });
  after(() => worker?.dispose());

  test("makes every request 503 and says why in the log, not in the response", async () => {
    const response = await login(worker, "a@example.com", "password");
    assertResponse(response, 503, { detail: "Server misconfigured." });
    assert.doesNotMatch(response.text, /ARGON2|128 MB/);
    const said = worker.output.join("\n");
    assert.match(said, /edge-auth is misconfigured: var PASSWORD_HASHER: ARGON2_MEMORY_COST cannot fit in a Workers isolate's 128 MB/);
  });
});
