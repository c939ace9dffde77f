// CONTRACT.md "Headers and CORS": JSON content type and five security headers on every response,
// no-store on token responses, CORS grants to configured origins only, never `*`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, ORIGIN, SHORT, startWorker } from "../support.mjs";
import { assertCommonHeaders, assertNoStore, login, postJsonText, raw } from "./helpers.mjs";

let worker;
let user;
before(async () => {
  worker = await startWorker();
  user = await worker.register();
});
after(() => worker?.dispose());

const EVIL = "https://evil.example.com";

/** Every kind of response the API gives, by name. */
const RESPONSES = {
  "201 register": () => worker.post(`${DRF}/register/`, worker.newUser()),
  "200 login": () => login(worker, user.email, user.password),
  "200 refresh": async () => {
    const fresh = await worker.register();
    return worker.post(`${DRF}/token/refresh/`, { refresh_token: fresh.refresh_token });
  },
  "200 GET me": () => worker.fetch(`${DRF}/me/`, { token: user.access_token }),
  "200 HEAD me": () => worker.fetch(`${DRF}/me/`, { method: "HEAD", token: user.access_token }),
  "200 PATCH me": () => worker.fetch(`${SHORT}/me`, { method: "PATCH", body: { timezone: "UTC" }, token: user.access_token }),
  "200 logout": async () => {
    const fresh = await worker.register();
    return worker.post(`${DRF}/logout/`, { refresh_token: fresh.refresh_token }, { token: fresh.access_token });
  },
  "200 change-password": async () => {
    const fresh = await worker.register();
    return worker.post(`${DRF}/change-password/`,
      { old_password: fresh.password, new_password: "brand-new-passphrase", new_password_confirm: "brand-new-passphrase" },
      { token: fresh.access_token });
  },
  "200 OPTIONS": () => worker.fetch(`${DRF}/login/`, { method: "OPTIONS" }),
  "200 preflight": () => worker.fetch(`${DRF}/login/`, {
    method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } }),
  "400 field errors": () => worker.post(`${DRF}/register/`, {}),
  "400 malformed JSON": () => postJsonText(worker, `${DRF}/login/`, "{"),
  "400 not an object": () => postJsonText(worker, `${DRF}/login/`, "[]"),
  "400 logout with a bad token": () => worker.post(`${DRF}/logout/`, { refresh_token: "x" }, { token: user.access_token }),
  "401 no credentials": () => worker.fetch(`${DRF}/me/`),
  "401 bad token": () => worker.fetch(`${DRF}/me/`, { token: "x.y.z" }),
  "401 login failed": () => login(worker, user.email, "wrong-password-here"),
  "401 refresh failed": () => worker.post(`${DRF}/token/refresh/`, { refresh_token: "x" }),
  "404": () => worker.fetch(`${DRF}/nowhere/`),
  "405": () => worker.fetch(`${DRF}/login/`),
  "413": () => postJsonText(worker, `${DRF}/login/`, JSON.stringify({ pad: "x".repeat(70_000) })),
  "415": () => raw(worker, `${DRF}/login/`, { headers: { "content-type": "text/plain" }, body: "hi" }),
};

describe("every response carries the JSON type and the security headers", () => {
  for (const [name, send] of Object.entries(RESPONSES)) {
    test(name, async () => {
      const response = await send();
      assert.equal(String(response.status), name.slice(0, 3), response.text);
      assertCommonHeaders(response.headers);
      if (!name.includes("HEAD")) assert.notEqual(response.body, undefined, "the body is JSON");
    });
  }
});

describe("token responses are not to be stored", () => {
  for (const name of ["201 register", "200 login", "200 refresh"]) {
    test(`${name} carries Cache-Control: no-store and Pragma: no-cache`, async () => {
      const response = await RESPONSES[name]();
      assert.ok(response.body.access_token, "a token response");
      assertNoStore(response.headers);
    });
  }
});

describe("CORS preflight", () => {
  const preflight = (origin, path = "login/", method = "POST", headers = "content-type") =>
    worker.fetch(`${DRF}/${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
    });

  const list = (value) => (value ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);

  test("from the allowed origin is 200 with an exact grant, methods, headers and Vary: Origin", async () => {
    const response = await preflight(ORIGIN, "me/", "PATCH", "authorization, content-type");
    assert.equal(response.status, 200, response.text);
    assertCommonHeaders(response.headers);
    assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
    const methods = list(response.headers.get("access-control-allow-methods"));
    for (const method of ["get", "post", "patch", "options"]) assert.ok(methods.includes(method), `${method} in ${methods}`);
    const headers = list(response.headers.get("access-control-allow-headers"));
    for (const header of ["authorization", "content-type"]) assert.ok(headers.includes(header), `${header} in ${headers}`);
    assert.ok(list(response.headers.get("vary")).includes("origin"), `Vary: ${response.headers.get("vary")}`);
  });

  test("never grants with a wildcard, on any endpoint", async () => {
    for (const path of ["register/", "login/", "logout/", "token/refresh/", "me/", "change-password/"]) {
      const response = await preflight(ORIGIN, path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN, path);
      for (const [name, value] of response.headers) assert.ok(!value.split(",").map((v) => v.trim()).includes("*"), `${name}: ${value}`);
    }
  });

  test("from the allowed origin under the shorter prefix is granted too", async () => {
    const response = await worker.fetch(`${SHORT}/token/refresh`, {
      method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } });
    assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
  });

  for (const origin of [EVIL, "https://app.example.com.evil.com", "http://app.example.com", "https://APP.example.com:443x", "null"]) {
    test(`from ${origin} gets no Access-Control-Allow-Origin`, async () => {
      const response = await preflight(origin);
      assertCommonHeaders(response.headers);
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      assert.equal(response.headers.get("access-control-allow-credentials"), null);
    });
  }
});

describe("CORS on actual requests", () => {
  test("a request from the allowed origin gets Access-Control-Allow-Origin: <origin>", async () => {
    const response = await worker.post(`${DRF}/login/`, { email: user.email, password: user.password }, { headers: { origin: ORIGIN } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
  });

  test("error responses to the allowed origin are granted too, so the browser can read them", async () => {
    const response = await worker.fetch(`${DRF}/me/`, { headers: { origin: ORIGIN } });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
  });

  test("a request from a disallowed origin gets no Access-Control-Allow-Origin", async () => {
    const response = await worker.post(`${DRF}/login/`, { email: user.email, password: user.password }, { headers: { origin: EVIL } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });

  test("a request without Origin gets no Access-Control-Allow-Origin", async () => {
    const response = await worker.fetch(`${DRF}/me/`, { token: user.access_token });
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });
});

describe("ALLOWED_ORIGINS is configuration", () => {
  test("a worker configured with two origins grants each and nothing else", async () => {
    const other = await startWorker({ ALLOWED_ORIGINS: "https://one.example, http://localhost:3000" });
    try {
      for (const origin of ["https://one.example", "http://localhost:3000"]) {
        const response = await other.fetch(`${DRF}/login/`, {
          method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
        assert.equal(response.headers.get("access-control-allow-origin"), origin);
      }
      const refused = await other.fetch(`${DRF}/login/`, {
        method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST" } });
      assert.equal(refused.headers.get("access-control-allow-origin"), null);
    } finally {
      await other.dispose();
    }
  });
});
