// Misconfiguration (README "Configuration", CONTRACT.md "expires_in, the lifetimes, … are
// configuration"): a short or empty signing key, or a bad var, makes every request 503 without
// leaking anything; valid vars change lifetimes, prefixes and the body limit. Without its static
// assets (or with other files under their names), what needs them is 503 and no password is
// accepted unchecked.
import assert from "node:assert/strict";
import { pbkdf2Sync, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DRF, ORIGIN, SHORT, decodeSegment, startWorker } from "../support.mjs";
import {
  assertCommonHeaders, assertResponse, assertTokenPair, claimsFor, login, mintToken, raw, requestResetLink,
} from "./helpers.mjs";

/** The 201 body of a registration (the harness's `register` also returns what was sent). */
const tokenBody = ({ access_token, refresh_token, token_type, expires_in, user }) =>
  ({ access_token, refresh_token, token_type, expires_in, user });

const MISCONFIGURED = { detail: "Server misconfigured." };
const KEY_31 = "thirty-one-byte-signing-key-xyz";
assert.equal(Buffer.byteLength(KEY_31), 31);

/** One request of every kind, so "every request" means every endpoint, method and path. */
const REQUESTS = [
  ["POST", `${DRF}/register/`, { email: "a@example.com", password: "x", password_confirm: "x", first_name: "A", last_name: "B" }],
  ["POST", `${DRF}/login/`, { email: "a@example.com", password: "x" }],
  ["POST", `${SHORT}/token/refresh`, { refresh_token: "x" }],
  ["POST", `${DRF}/logout/`, { refresh_token: "x" }],
  ["POST", `${DRF}/change-password/`, {}],
  ["GET", `${DRF}/me/`],
  ["PATCH", `${DRF}/me/`, {}],
  ["GET", `${DRF}/login/`],
  ["OPTIONS", `${DRF}/login/`],
  ["GET", `${DRF}/nowhere/`],
  ["GET", "http://edge-auth.test/"],
];

function misconfiguredWorker(title, vars, secret) {
  describe(title, () => {
    let worker;
    before(async () => {
      worker = await startWorker(vars);
    });
    after(() => worker?.dispose());

    for (const [method, url, body] of REQUESTS) {
      test(`${method} ${url.replace("http://edge-auth.test", "")} is 503 Server misconfigured.`, async () => {
        const token = mintToken(claimsFor(1), { key: secret || "x" });
        const response = await worker.fetch(url, { method, body, token });
        assertResponse(response, 503, MISCONFIGURED);
        if (secret) {
          assert.ok(!response.text.includes(secret), "the body does not contain the key");
          for (const [name, value] of response.headers) assert.ok(!value.includes(secret), `header ${name}`);
        }
      });
    }

    test("a CORS preflight is 503 too, and carries no grant", async () => {
      const response = await worker.fetch(`${DRF}/login/`, {
        method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } });
      assertResponse(response, 503, MISCONFIGURED);
    });

    test("a body that is not JSON is still just 503", async () => {
      const response = await raw(worker, `${DRF}/login/`, { headers: { "content-type": "text/plain" }, body: "hello" });
      assertResponse(response, 503, MISCONFIGURED);
    });

    test("it stays 503 on later requests", async () => {
      for (let i = 0; i < 3; i += 1) {
        assertResponse(await login(worker, "a@example.com", "x"), 503, MISCONFIGURED);
      }
    });
  });
}

misconfiguredWorker("a JWT_SIGNING_KEY of 31 bytes", { JWT_SIGNING_KEY: KEY_31 }, KEY_31);
misconfiguredWorker("an empty JWT_SIGNING_KEY", { JWT_SIGNING_KEY: "" }, "");
misconfiguredWorker("an ACCESS_TOKEN_LIFETIME_SECS that is not a number (README)", { ACCESS_TOKEN_LIFETIME_SECS: "soon" });
misconfiguredWorker("a wildcard in ALLOWED_ORIGINS (README: never *)", { ALLOWED_ORIGINS: "*" });
misconfiguredWorker("an MFA_ENCRYPTION_KEY of 31 bytes (README: a long random string)", { MFA_ENCRYPTION_KEY: KEY_31 }, KEY_31);
misconfiguredWorker("a WEBAUTHN_ORIGINS origin off WEBAUTHN_RP_ID", {
  WEBAUTHN_RP_ID: "example.com",
  WEBAUTHN_ORIGINS: "https://app.example.com, https://evil-example.com",
});

describe("a 32-byte key is enough", () => {
  test("the worker serves", async () => {
    const worker = await startWorker({ JWT_SIGNING_KEY: `${KEY_31}!` });
    try {
      const response = await worker.post(`${DRF}/login/`, {});
      assert.equal(response.status, 400, response.text);
    } finally {
      await worker.dispose();
    }
  });
});

describe("lifetimes are configuration", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ ACCESS_TOKEN_LIFETIME_SECS: "60", REFRESH_TOKEN_LIFETIME_SECS: "3600" });
  });
  after(() => worker?.dispose());

  test("register answers expires_in 60 and tokens with those lifetimes", async () => {
    const user = await worker.register();
    assertTokenPair(tokenBody(user), { userId: user.user.id, expiresIn: 60, refreshLifetime: 3600 });
  });

  test("login and refresh do too", async () => {
    const user = await worker.register();
    const loggedIn = await login(worker, user.email, user.password);
    assertTokenPair(loggedIn.body, { userId: user.user.id, expiresIn: 60, refreshLifetime: 3600 });
    const refreshed = await worker.post(`${DRF}/token/refresh/`, { refresh_token: loggedIn.body.refresh_token });
    assertTokenPair(refreshed.body, { userId: user.user.id, expiresIn: 60, refreshLifetime: 3600, withUser: false });
    const claims = decodeSegment(refreshed.body.access_token, 1);
    assert.equal(claims.exp - claims.iat, 60);
  });
});

describe("ACCESS_TOKEN_LIFETIME_SECS alone", () => {
  test("changes expires_in and the access token's exp - iat, not the refresh token's", async () => {
    const worker = await startWorker({ ACCESS_TOKEN_LIFETIME_SECS: "60" });
    try {
      const user = await worker.register();
      assertTokenPair(tokenBody(user), { userId: user.user.id, expiresIn: 60, refreshLifetime: 604800 });
    } finally {
      await worker.dispose();
    }
  });
});

describe("API_PREFIXES is configuration", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ API_PREFIXES: "/auth/, /v2/identity/" });
  });
  after(() => worker?.dispose());

  test("the endpoints are served under each configured prefix", async () => {
    for (const prefix of ["http://edge-auth.test/auth", "http://edge-auth.test/v2/identity"]) {
      const response = await worker.post(`${prefix}/login/`, {});
      assertResponse(response, 400, { email: ["This field is required."], password: ["This field is required."] });
      const me = await worker.fetch(`${prefix}/me`);
      assert.equal(me.status, 401);
    }
  });

  test("the default prefixes are then unknown paths", async () => {
    for (const url of [`${DRF}/login/`, `${SHORT}/login/`]) {
      assertResponse(await worker.post(url, {}), 404, { detail: "Not found." });
    }
  });

  test("a registration under a custom prefix works end to end", async () => {
    const user = await worker.register({}, "http://edge-auth.test/auth");
    const response = await worker.fetch("http://edge-auth.test/v2/identity/me/", { token: user.access_token });
    assert.equal(response.status, 200);
    assertCommonHeaders(response.headers);
    assert.deepEqual(response.body, user.user);
  });
});

describe("PBKDF2_ITERATIONS is configuration", () => {
  test("a new password is stored as Django's pbkdf2_sha256 hash with the configured iterations", async () => {
    const worker = await startWorker({ PBKDF2_ITERATIONS: "1234" });
    try {
      const user = await worker.register();
      const row = await worker.db.prepare("SELECT email, password FROM users WHERE id = ?1").bind(user.user.id).first();
      assert.equal(row.email, user.email.toLowerCase());
      const [algorithm, iterations, salt, hash] = row.password.split("$");
      assert.equal(algorithm, "pbkdf2_sha256");
      assert.equal(iterations, "1234");
      assert.ok(salt.length >= 22, `salt ${salt}`);
      assert.equal(hash, pbkdf2Sync(user.password, salt, 1234, 32, "sha256").toString("base64"), "Django can verify it");
    } finally {
      await worker.dispose();
    }
  });
});

// Django's common-password list and the OpenAPI document are static assets (build/assets/, bound as
// ASSETS by wrangler.toml), not part of the wasm: a deployment without them must not check new
// passwords against nothing.
function withoutItsAssets(title, assets) {
  describe(title, () => {
    let worker;
    let directory;
    const password = "an old password 1";
    const email = `assets.${Date.now()}@example.com`;
    before(async () => {
      if (assets) {
        directory = mkdtempSync(join(tmpdir(), "edge-auth-assets-"));
        for (const [name, text] of Object.entries(assets)) writeFileSync(join(directory, name), text);
      }
      worker = await startWorker({}, { assets: directory ?? false });
      const hash = `pbkdf2_sha256$1000$salt$${pbkdf2Sync(password, "salt", 1000, 32, "sha256").toString("base64")}`;
      await worker.db
        .prepare("INSERT INTO users (uuid, email, password, first_name, last_name, date_joined) VALUES (?1, ?2, ?3, 'Ada', 'Lovelace', '2024-01-01T10:00:00Z')")
        .bind(randomUUID(), email, hash)
        .run();
    });
    after(async () => {
      await worker?.dispose();
      if (directory) rmSync(directory, { recursive: true, force: true });
    });

    test("register/ with a valid body is 503 Server misconfigured., and no user is made", async () => {
      const user = worker.newUser();
      assertResponse(await worker.post(`${DRF}/register/`, user), 503, MISCONFIGURED);
      assertResponse(await worker.post(`${DRF}/register/`, { ...user, password: "password", password_confirm: "password" }), 503, MISCONFIGURED);
      const row = await worker.db.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?1").bind(user.email).first();
      assert.equal(row.n, 0);
    });

    test("login/ and me/ still serve; change-password/ is 503 and the password stays", async () => {
      const loggedIn = await login(worker, email, password);
      assert.equal(loggedIn.status, 200, loggedIn.text);
      const token = loggedIn.body.access_token;
      assert.equal((await worker.fetch(`${DRF}/me/`, { token })).status, 200);
      const change = { old_password: password, new_password: "a new password 2", new_password_confirm: "a new password 2" };
      assertResponse(await worker.post(`${DRF}/change-password/`, change, { token }), 503, MISCONFIGURED);
      assert.equal((await login(worker, email, password)).status, 200, "the old password still logs in");
    });

    test("password/reset/confirm/ with a valid link is 503 and the password stays", async () => {
      const { uid, token } = await requestResetLink(worker, email);
      const body = { uid, token, new_password1: "a new password 3", new_password2: "a new password 3" };
      assertResponse(await worker.post(`${DRF}/password/reset/confirm/`, body), 503, MISCONFIGURED);
      assert.equal((await login(worker, email, password)).status, 200, "the old password still logs in");
    });

    test("openapi.json is 503 under both prefixes", async () => {
      for (const prefix of [DRF, SHORT]) assertResponse(await worker.fetch(`${prefix}/openapi.json`), 503, MISCONFIGURED);
    });

    test("the reason is logged, naming the asset and the binding", () => {
      for (const name of ["common-passwords.bin", "openapi.json"]) {
        assert.ok(
          worker.output.some((line) => line.includes(`the static asset ${name} (binding ASSETS)`)),
          `a log line names ${name}:\n${worker.output.join("\n")}`,
        );
      }
    });
  });
}

withoutItsAssets("no static assets (no ASSETS binding)", null);
withoutItsAssets("static assets that are not build.rs's (an HTML page under each name)", {
  "common-passwords.bin": "<!DOCTYPE html><title>Not Found</title>",
  "openapi.json": "<!DOCTYPE html><title>Not Found</title>",
});
withoutItsAssets("static assets without these two files", { "index.html": "<!DOCTYPE html>" });
