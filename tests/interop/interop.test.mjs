// Interop with the real thing: pinned Django + DRF + simplejwt from PyPI (requirements.txt), driven
// through django_side.py, against the built worker in Miniflare. Proves CONTRACT.md "Tokens" (a token
// signed by either side is accepted by the other) and the README's shared users table (Django's
// password hashes log in here, hashes written here verify in Django, `import-django` loads a real
// `dumpdata`). Creates tests/interop/.venv on first run (`make interop` does it too).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { unstable_splitSqlQuery as splitSqlQuery } from "wrangler";
import { DRF, SHORT, SIGNING_KEY, decodeSegment, startWorker } from "../support.mjs";
import { ensureVenv, python } from "./venv.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const fixture = join(root, "tests", "fixtures", "django-dumpdata.json");

const LOGIN_FAILED = { detail: "Invalid email or password." };
const BLACKLISTED = { detail: "Token is blacklisted", code: "token_not_valid" };
const WORKER_ITERATIONS = 1000;

/** Runs one django_side.py command (an argument list), or several at once; returns the parsed JSON. */
function django(...argv) {
  const out = execFileSync(python, [join(here, "django_side.py"), ...argv], {
    env: { ...process.env, INTEROP_SIGNING_KEY: SIGNING_KEY },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

function djangoBatch(commands) {
  const out = execFileSync(python, [join(here, "django_side.py"), "batch"], {
    env: { ...process.env, INTEROP_SIGNING_KEY: SIGNING_KEY },
    input: JSON.stringify(commands),
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/** Runs `import-django` on a dump file; returns the SQL it wrote. */
function importDjango(dumpPath) {
  return execFileSync("cargo", ["run", "--quiet", "--bin", "import-django", "--", dumpPath], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Executes an SQL file on the worker's D1 exactly as `wrangler d1 execute --local --file` does. */
function executeSql(worker, sql) {
  return worker.db.batch(splitSqlQuery(sql).map((statement) => worker.db.prepare(statement)));
}

async function insertUser(worker, email, encoded) {
  const row = await worker.db
    .prepare("INSERT INTO users (uuid, email, password, date_joined) VALUES (?1, ?2, ?3, ?4) RETURNING id")
    .bind(randomUUID(), email, encoded, "2024-01-01T00:00:00Z")
    .first();
  return row.id;
}

const storedHash = async (worker, id) =>
  (await worker.db.prepare("SELECT password FROM users WHERE id = ?1").bind(id).first()).password;

const login = (worker, email, password) => worker.post(`${DRF}/login/`, { email, password });

/** A copy of `token` with the first character of its signature changed (the last one may carry only padding bits). */
function breakSignature(token) {
  const [header, payload, signature] = token.split(".");
  return `${header}.${payload}.${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
}

/** A copy of `token` whose payload says something else, with the original signature. */
function tamper(token, changes) {
  const [header, , signature] = token.split(".");
  const payload = { ...decodeSegment(token, 1), ...changes };
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;
}

let emails = 0;
const newEmail = (label) => `${label}.${++emails}.${Date.now()}@example.com`;

before(() => ensureVenv());

describe("passwords hashed by Django", () => {
  const PASSWORD = "Corr3ct-h0rse-ünïcode";
  let worker;
  let hashes;
  before(async () => {
    worker = await startWorker({ PBKDF2_ITERATIONS: String(WORKER_ITERATIONS) });
    const made = djangoBatch([
      ["hash", PASSWORD, "600000"],
      ["hash", PASSWORD, String(WORKER_ITERATIONS)],
      ["hash", PASSWORD, "500"],
      ["hash-with", "md5", PASSWORD],
      ["hash-with", "unusable", PASSWORD],
    ]).map((result) => result.encoded);
    const [above, equal, below, md5, unusable] = made;
    hashes = { above, equal, below, md5, unusable };
  });
  after(() => worker?.dispose());

  test("a hash above the worker's cost logs in and is kept as Django wrote it", async () => {
    assert.match(hashes.above, /^pbkdf2_sha256\$600000\$[A-Za-z0-9]{22}\$/);
    const email = newEmail("above");
    const id = await insertUser(worker, email, hashes.above);
    const response = await login(worker, email, PASSWORD);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.user.id, id);
    assert.equal(await storedHash(worker, id), hashes.above);
  });

  test("a hash at the worker's cost logs in and is kept as Django wrote it", async () => {
    const email = newEmail("equal");
    const id = await insertUser(worker, email, hashes.equal);
    const response = await login(worker, email, PASSWORD);
    assert.equal(response.status, 200, response.text);
    assert.equal(await storedHash(worker, id), hashes.equal);
  });

  test("a hash below the worker's cost logs in, is re-hashed at that cost, and Django accepts the new hash", async () => {
    const email = newEmail("below");
    const id = await insertUser(worker, email, hashes.below);
    const response = await login(worker, email, PASSWORD);
    assert.equal(response.status, 200, response.text);
    const rehashed = await storedHash(worker, id);
    assert.notEqual(rehashed, hashes.below);
    assert.match(rehashed, new RegExp(`^pbkdf2_sha256\\$${WORKER_ITERATIONS}\\$[A-Za-z0-9]{22}\\$[A-Za-z0-9+/]{43}=$`));
    const [right, wrong] = djangoBatch([["check", PASSWORD, rehashed], ["check", `${PASSWORD}!`, rehashed]]);
    assert.equal(right.valid, true);
    assert.equal(wrong.valid, false);
    const again = await login(worker, email, PASSWORD);
    assert.equal(again.status, 200, again.text);
    assert.equal(await storedHash(worker, id), rehashed, "no second re-hash");
  });

  test("a Django hash refuses the wrong password with the login 401", async () => {
    const email = newEmail("wrong");
    await insertUser(worker, email, hashes.equal);
    const response = await login(worker, email, `${PASSWORD}x`);
    assert.equal(response.status, 401, response.text);
    assert.deepEqual(response.body, LOGIN_FAILED);
  });

  test("a password the worker sets is accepted by Django's check_password", async () => {
    const email = newEmail("changed");
    await insertUser(worker, email, hashes.equal);
    const { access_token } = (await login(worker, email, PASSWORD)).body;
    const response = await worker.post(
      `${DRF}/change-password/`,
      { old_password: PASSWORD, new_password: "n3w-Pässword-2025", new_password_confirm: "n3w-Pässword-2025" },
      { token: access_token },
    );
    assert.equal(response.status, 200, response.text);
    const stored = (await worker.db.prepare("SELECT password FROM users WHERE email = ?1").bind(email).first()).password;
    assert.equal(django("check", "n3w-Pässword-2025", stored).valid, true);
    assert.equal(django("check", PASSWORD, stored).valid, false);
  });

  test("md5 hashes and unusable passwords get the login 401, never a 5xx", async () => {
    for (const name of ["md5", "unusable"]) {
      const email = newEmail(name);
      await insertUser(worker, email, hashes[name]);
      const response = await login(worker, email, PASSWORD);
      assert.equal(response.status, 401, `${name}: ${response.text}`);
      assert.deepEqual(response.body, LOGIN_FAILED, name);
    }
    // Django logs the md5 user in (its MD5PasswordHasher is for tests only): the 401 is edge-auth's choice.
    const checks = djangoBatch(["md5", "unusable"].map((name) => ["check", PASSWORD, hashes[name]]));
    assert.deepEqual(checks.map((c) => c.valid), [true, false]);
  });
});

// Issue 13: every hasher Django ships for real use, made now by Django 5.2 with argon2-cffi and
// bcrypt at Django's default costs, logs in on the worker and is upgraded to the worker's
// PASSWORD_HASHER; Django verifies what the worker wrote.
const DJANGO_HASHERS = ["argon2", "argon2i", "bcrypt_sha256", "bcrypt", "scrypt", "pbkdf2_sha1"];

for (const [target, vars, written] of [
  ["pbkdf2_sha256", { PBKDF2_ITERATIONS: String(WORKER_ITERATIONS) }, new RegExp(`^pbkdf2_sha256\\$${WORKER_ITERATIONS}\\$`)],
  ["argon2id", { PASSWORD_HASHER: "argon2id" }, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/],
]) {
  describe(`every Django hasher against PASSWORD_HASHER=${target}`, () => {
    const PASSWORD = "Corr3ct-h0rse-ünïcode";
    let worker;
    let hashes;
    before(async () => {
      worker = await startWorker(vars);
      const made = djangoBatch(DJANGO_HASHERS.map((name) => ["hash-with", name, PASSWORD]));
      hashes = Object.fromEntries(DJANGO_HASHERS.map((name, i) => [name, made[i].encoded]));
    });
    after(() => worker?.dispose());

    for (const name of DJANGO_HASHERS) {
      test(`a user with Django's ${name} hash logs in, is upgraded, and Django verifies the new hash`, async () => {
        const email = newEmail(name);
        const id = await insertUser(worker, email, hashes[name]);
        const wrong = await login(worker, email, `${PASSWORD}!`);
        assert.equal(wrong.status, 401, wrong.text);
        assert.equal(await storedHash(worker, id), hashes[name], "a failed login leaves Django's hash alone");

        const response = await login(worker, email, PASSWORD);
        assert.equal(response.status, 200, `${name} (${hashes[name].slice(0, 40)}…): ${response.text}`);
        assert.equal(response.body.user.id, id);
        const upgraded = await storedHash(worker, id);
        if (target === "argon2id" && name === "argon2") {
          // Django's default argon2 (100 MiB, 2 passes, 8 lanes) is stronger than OWASP's in every parameter.
          assert.equal(upgraded, hashes[name], "a stronger hash is kept");
        } else {
          assert.match(upgraded, written);
        }
        const [right, wrongCheck] = djangoBatch([["check", PASSWORD, upgraded], ["check", `${PASSWORD}!`, upgraded]]);
        assert.equal(right.valid, true, `Django verifies ${upgraded.slice(0, 40)}…`);
        assert.equal(wrongCheck.valid, false);
        assert.equal((await login(worker, email, PASSWORD)).status, 200, "and the worker again");
      });
    }

    test("a password the worker sets at this target is accepted by Django's check_password", async () => {
      const user = await worker.register({ password: PASSWORD, password_confirm: PASSWORD });
      const stored = (await worker.db.prepare("SELECT password FROM users WHERE email = ?1").bind(user.email).first()).password;
      assert.match(stored, written);
      const [right, wrongCheck] = djangoBatch([["check", PASSWORD, stored], ["check", `${PASSWORD}!`, stored]]);
      assert.equal(right.valid, true);
      assert.equal(wrongCheck.valid, false);
    });
  });
}

describe("tokens minted by simplejwt", () => {
  let worker;
  let user;
  before(async () => {
    worker = await startWorker({ REFRESH_REUSE_INTERVAL_SECS: "1" });
    user = await worker.register();
  });
  after(() => worker?.dispose());

  test("a simplejwt access token authenticates me/ on both prefixes", async () => {
    const { access } = django("mint", String(user.user.id));
    assert.equal(decodeSegment(access, 1).user_id, String(user.user.id));
    for (const prefix of [DRF, SHORT]) {
      const response = await worker.fetch(`${prefix}/me/`, { token: access });
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.body, user.user);
    }
  });

  test("a simplejwt refresh token is adopted once; a retry inside the reuse interval gets the same successor", async () => {
    const { refresh } = django("mint", String(user.user.id));
    const first = await worker.post(`${DRF}/token/refresh/`, { refresh });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(Object.keys(first.body).sort(), ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert.equal(decodeSegment(first.body.refresh_token, 1).user_id, String(user.user.id));
    const retry = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refresh });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.body.refresh_token, first.body.refresh_token);
    const fetched = await worker.fetch(`${DRF}/me/`, { token: first.body.access_token });
    assert.equal(fetched.status, 200, fetched.text);
  });

  test("a simplejwt refresh token presented again after the reuse interval is refused as blacklisted", async () => {
    const { refresh } = django("mint", String(user.user.id));
    const first = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refresh });
    assert.equal(first.status, 200, first.text);
    await sleep(2100);
    const replay = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refresh });
    assert.equal(replay.status, 401, replay.text);
    assert.deepEqual(replay.body, BLACKLISTED);
    // Reuse revokes the adopted session: the successor is dead too.
    const successor = await worker.post(`${DRF}/token/refresh/`, { refresh_token: first.body.refresh_token });
    assert.equal(successor.status, 401, successor.text);
    assert.deepEqual(successor.body, BLACKLISTED);
  });

  test("a simplejwt refresh token can be logged out, and is refused afterwards", async () => {
    const { refresh, access } = django("mint", String(user.user.id));
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: refresh }, { token: access });
    assert.equal(out.status, 200, out.text);
    const response = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refresh });
    assert.equal(response.status, 401, response.text);
    assert.deepEqual(response.body, BLACKLISTED);
  });

  test("a simplejwt token signed with another key is refused", async () => {
    const out = execFileSync(python, [join(here, "django_side.py"), "mint", String(user.user.id)], {
      env: { ...process.env, INTEROP_SIGNING_KEY: "another-signing-key-0123456789abcdefghij" },
      encoding: "utf8",
    });
    const { access, refresh } = JSON.parse(out);
    const fetched = await worker.fetch(`${DRF}/me/`, { token: access });
    assert.equal(fetched.status, 401, fetched.text);
    assert.equal(fetched.body.messages[0].message, "Token is invalid");
    const refreshed = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refresh });
    assert.equal(refreshed.status, 401, refreshed.text);
    assert.deepEqual(refreshed.body, { detail: "Token is invalid", code: "token_not_valid" });
  });
});

describe("tokens minted by simplejwt are revoked with the user's other tokens (issue 10, finding 1)", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker?.dispose());

  const BLACKLISTED_ACCESS = {
    detail: "Given token not valid for any token type",
    code: "token_not_valid",
    messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is blacklisted" }],
  };

  /** A simplejwt pair for a user of the shared table, issued in an earlier second than what follows. */
  async function simplejwtPairFor(user) {
    const pair = django("mint", String(user.user.id));
    assert.equal(decodeSegment(pair.access, 1).sid, undefined, "simplejwt's tokens name no session");
    const fetched = await worker.fetch(`${DRF}/me/`, { token: pair.access });
    assert.equal(fetched.status, 200, `valid to begin with: ${fetched.text}`);
    // The revocation's cut-off is a whole second: tokens issued in that second stay valid.
    await sleep(1100);
    return pair;
  }

  async function assertRevoked({ access, refresh }) {
    const fetched = await worker.fetch(`${DRF}/me/`, { token: access });
    assert.equal(fetched.status, 401, fetched.text);
    assert.deepEqual(fetched.body, BLACKLISTED_ACCESS);
    const refreshed = await worker.post(`${DRF}/token/refresh/`, { refresh });
    assert.equal(refreshed.status, 401, refreshed.text);
    assert.deepEqual(refreshed.body, BLACKLISTED);
  }

  test("logout-all/ on the worker refuses simplejwt's access token on me/ and its refresh token on token/refresh/", async () => {
    const user = await worker.register();
    const pair = await simplejwtPairFor(user);
    const out = await worker.post(`${SHORT}/logout-all/`, undefined, { token: user.access_token });
    assert.equal(out.status, 200, out.text);
    await assertRevoked(pair);
  });

  test("change-password/ on the worker refuses simplejwt's tokens too", async () => {
    const user = await worker.register();
    const pair = await simplejwtPairFor(user);
    const changed = await worker.post(
      `${DRF}/change-password/`,
      { old_password: user.password, new_password: "n3w-Pässword-2025", new_password_confirm: "n3w-Pässword-2025" },
      { token: user.access_token },
    );
    assert.equal(changed.status, 200, changed.text);
    await assertRevoked(pair);
  });

  test("what simplejwt's refresh view rotates out of a logged-out worker token is not adopted", async () => {
    const user = await worker.register();
    const out = await worker.post(`${DRF}/logout/`, { refresh_token: user.refresh_token }, { token: user.access_token });
    assert.equal(out.status, 200, out.text);
    // Django never heard of the logout: it rotates the token, keeping its sid under a new jti.
    const rotated = django("refresh", user.refresh_token);
    assert.equal(rotated.status, 200, JSON.stringify(rotated));
    assert.equal(decodeSegment(rotated.body.refresh, 1).sid, decodeSegment(user.refresh_token, 1).sid);
    const response = await worker.post(`${DRF}/token/refresh/`, { refresh: rotated.body.refresh });
    assert.equal(response.status, 401, response.text);
    assert.equal(response.body.code, "token_not_valid");
  });
});

describe("tokens minted by the worker, checked by simplejwt", () => {
  let worker;
  let user;
  before(async () => {
    worker = await startWorker();
    user = await worker.register();
  });
  after(() => worker?.dispose());

  const expectValid = (result, id) => {
    assert.equal(result.access.token_type, "access", JSON.stringify(result));
    assert.equal(result.access.user_id, String(id));
    assert.equal(result.refresh.token_type, "refresh", JSON.stringify(result));
    assert.equal(result.refresh.user_id, String(id));
    assert.equal(result.authenticated_user_id, id, JSON.stringify(result));
  };

  test("the pair from login passes AccessToken, RefreshToken and JWTAuthentication", async () => {
    const response = await login(worker, user.email, user.password);
    assert.equal(response.status, 200, response.text);
    const result = django("validate", response.body.access_token, response.body.refresh_token);
    expectValid(result, user.user.id);
    assert.equal(result.access.exp - result.access.iat, 1800);
    assert.equal(result.refresh.exp - result.refresh.iat, 604800);
  });

  test("the pair from register and the pair from refresh pass simplejwt too", async () => {
    expectValid(django("validate", user.access_token, user.refresh_token), user.user.id);
    const rotated = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(rotated.status, 200, rotated.text);
    expectValid(django("validate", rotated.body.access_token, rotated.body.refresh_token), user.user.id);
  });

  test("simplejwt's own refresh view accepts a refresh token from the worker", async () => {
    const { body } = await login(worker, user.email, user.password);
    const refreshed = django("refresh", body.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed));
    assert.equal(decodeSegment(refreshed.body.access, 1).user_id, String(user.user.id));
    // ...and the worker accepts what simplejwt handed back.
    const fetched = await worker.fetch(`${DRF}/me/`, { token: refreshed.body.access });
    assert.equal(fetched.status, 200, fetched.text);
  });

  test("the refresh token simplejwt's refresh view rotated out of a worker token is accepted by the worker", async () => {
    const { body } = await login(worker, user.email, user.password);
    const refreshed = django("refresh", body.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed));
    const rotated = await worker.post(`${DRF}/token/refresh/`, { refresh_token: refreshed.body.refresh });
    assert.equal(rotated.status, 200, rotated.text);
  });

  test("a refresh for an inactive account is refused with simplejwt's status and body", async () => {
    const inactive = await worker.register();
    await worker.db.prepare("UPDATE users SET is_active = 0 WHERE id = ?1").bind(inactive.user.id).run();
    const [, expected] = djangoBatch([["deactivate", String(inactive.user.id)], ["refresh", inactive.refresh_token]]);
    assert.equal(expected.status, 401, JSON.stringify(expected));
    const response = await worker.post(`${DRF}/token/refresh/`, { refresh_token: inactive.refresh_token });
    assert.equal(response.status, expected.status, response.text);
    assert.deepEqual(response.body, expected.body);
  });

  test("tampered or swapped worker tokens fail simplejwt's checks", async () => {
    const { body } = await login(worker, user.email, user.password);
    const [tampered, swapped, broken] = djangoBatch([
      ["validate", tamper(body.access_token, { user_id: "999" }), tamper(body.refresh_token, { exp: 9999999999 })],
      ["validate", body.refresh_token, body.access_token],
      ["validate", breakSignature(body.access_token), breakSignature(body.refresh_token)],
    ]);
    assert.deepEqual(tampered.access, { error: "Token is invalid" });
    assert.deepEqual(tampered.refresh, { error: "Token is invalid" });
    assert.equal(tampered.authenticated_user_id, null);
    assert.deepEqual(swapped.access, { error: "Token has wrong type" });
    assert.deepEqual(swapped.refresh, { error: "Token has wrong type" });
    assert.deepEqual(broken.access, { error: "Token is invalid" });
    assert.deepEqual(broken.refresh, { error: "Token is invalid" });
  });
});

describe("import-django with a real Django dump", () => {
  // The fixture's passwords (django_side.py FIXTURE_USERS); Django hashed them.
  const PASSWORDS = {
    1: "analytical-engine-1843",
    2: "late-night-with-conan",
    5: "contraseña-ñandú-日本",
    7: "gone-but-not-forgotten",
    8: "please-let-me-back-in",
  };
  const dump = JSON.parse(readFileSync(fixture, "utf8"));
  let worker;
  let sql;
  const rows = async () => (await worker.db.prepare("SELECT * FROM users ORDER BY id").all()).results;

  before(async () => {
    worker = await startWorker({ PBKDF2_ITERATIONS: String(WORKER_ITERATIONS) });
    sql = importDjango(fixture);
  });
  after(() => worker?.dispose());

  test("the SQL loads every user of the dump as Django stored it", async () => {
    await executeSql(worker, sql);
    const loaded = await rows();
    assert.deepEqual(loaded.map((row) => row.id), dump.map((record) => record.pk));
    for (const [row, { fields }] of loaded.map((row, i) => [row, dump[i]])) {
      assert.equal(row.email, fields.email.toLowerCase());
      assert.equal(row.password, fields.password);
      assert.equal(row.uuid, fields.uuid);
      assert.equal(row.first_name, fields.first_name);
      assert.equal(row.last_name, fields.last_name);
      assert.equal(row.phone_number, fields.phone_number);
      assert.equal(row.timezone, fields.timezone);
      assert.equal(row.account_status, fields.account_status);
      for (const flag of ["phone_number_verified", "is_practitioner", "is_active", "is_staff", "is_superuser"]) {
        assert.equal(row[flag], fields[flag] ? 1 : 0, flag);
      }
      for (const stamp of ["date_joined", "last_login"]) {
        if (fields[stamp] === null) assert.equal(row[stamp], null, stamp);
        else assert.equal(Date.parse(row[stamp]), Date.parse(fields[stamp]), stamp);
        if (row[stamp] !== null) assert.match(row[stamp], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/, stamp);
      }
    }
    assert.equal(loaded.find((row) => row.id === 2).last_name, "O'Brien");
    assert.equal(loaded.find((row) => row.id === 5).last_name, "Núñez-Žižek 日本");
  });

  test("running the SQL again leaves the same rows", async () => {
    const first = await rows();
    await executeSql(worker, sql);
    assert.deepEqual(await rows(), first);
  });

  test("imported users log in with their Django passwords and see DRF's profile", async () => {
    for (const { pk, fields } of dump.filter((record) => record.fields.is_active && record.fields.account_status === "active")) {
      const response = await login(worker, fields.email, PASSWORDS[pk]);
      assert.equal(response.status, 200, `${pk}: ${response.text}`);
      const profile = response.body.user;
      assert.equal(profile.id, pk);
      assert.equal(profile.email, fields.email.toLowerCase());
      assert.equal(profile.full_name, `${fields.first_name} ${fields.last_name}`.trim());
      assert.equal(Date.parse(profile.date_joined), Date.parse(fields.date_joined));
      assert.equal(profile.is_staff, fields.is_staff);
      assert.equal(profile.phone_number, fields.phone_number);
    }
    const conan = await worker.fetch(`${DRF}/me/`, {
      token: (await login(worker, "conan.obrien@example.com", PASSWORDS[2])).body.access_token,
    });
    assert.equal(conan.body.date_joined, "2024-02-29T23:59:59.999000Z");
  });

  test("imported inactive and suspended users get the login 401", async () => {
    for (const pk of [7, 8]) {
      const { fields } = dump.find((record) => record.pk === pk);
      const response = await login(worker, fields.email, PASSWORDS[pk]);
      assert.equal(response.status, 401, `${pk}: ${response.text}`);
      assert.deepEqual(response.body, LOGIN_FAILED);
    }
  });

  test("running the SQL after users logged in keeps what the worker changed", async () => {
    const current = await rows();
    assert.ok(current.find((row) => row.id === 1).last_login > "2025-03-02", "Ada's login was recorded");
    await executeSql(worker, sql);
    assert.deepEqual(await rows(), current);
  });

  test("users registered after the import get ids from USER_ID_START, apart from Django's", async () => {
    const registered = await worker.register();
    assert.ok(Math.max(...dump.map((record) => record.pk)) < 1_000_000_000);
    assert.ok(registered.user.id >= 1_000_000_000, `id ${registered.user.id}`);
  });

  test("a different user holding an imported id makes the whole file fail and change nothing", async () => {
    await worker.db.prepare("DELETE FROM users WHERE id = 8").run();
    await insertUser(worker, newEmail("squatter"), "!").then((id) =>
      worker.db.prepare("UPDATE users SET id = 8 WHERE id = ?1").bind(id).run(),
    );
    const before = await rows();
    await assert.rejects(executeSql(worker, sql), /UNIQUE constraint failed: users\.id/);
    assert.deepEqual(await rows(), before);
  });
});
