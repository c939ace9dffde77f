// CONTRACT.md "Paths": both prefixes, trailing slash optional, 404 for unknown paths, 405 with
// `Allow` for methods an endpoint does not serve, HEAD on me/, the OpenAPI document under each
// prefix; the worker's static assets (build/assets/) are never served by their own paths.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { DRF, SHORT, startWorker } from "../support.mjs";
import {
  NOT_PROVIDED, REQUIRED, assertCommonHeaders, assertProfile, assertResponse, assertUnauthorized,
  expectedProfile, raw,
} from "./helpers.mjs";

let worker;
let user;
before(async () => {
  worker = await startWorker();
  user = await worker.register();
});
after(() => worker?.dispose());

// What each endpoint answers to an authenticated request with an empty object: enough to tell
// the endpoints apart, so a path that reached the wrong handler fails.
const ENDPOINTS = [
  { path: "register", method: "POST", status: 400,
    body: { email: [REQUIRED], password: [REQUIRED], password_confirm: [REQUIRED], first_name: [REQUIRED], last_name: [REQUIRED] } },
  { path: "login", method: "POST", status: 400, body: { email: [REQUIRED], password: [REQUIRED] } },
  { path: "logout", method: "POST", status: 400, body: { refresh_token: [REQUIRED] } },
  { path: "token/refresh", method: "POST", status: 400, body: { refresh_token: [REQUIRED] } },
  { path: "change-password", method: "POST", status: 400,
    body: { old_password: [REQUIRED], new_password: [REQUIRED], new_password_confirm: [REQUIRED] } },
  { path: "me", method: "GET", status: 200 },
  { path: "me", method: "PATCH", status: 200 },
];

const PREFIXES = [["/api/v1/drf/auth/", DRF], ["/api/v1/auth/", SHORT]];

describe("both prefixes, with and without the trailing slash", () => {
  for (const [label, prefix] of PREFIXES) {
    for (const slash of ["/", ""]) {
      for (const endpoint of ENDPOINTS) {
        const path = `${endpoint.path}${slash}`;
        test(`${endpoint.method} ${label}${path} reaches the ${endpoint.path}/ endpoint`, async () => {
          const response = await worker.fetch(`${prefix}/${path}`, {
            method: endpoint.method,
            body: endpoint.method === "GET" ? undefined : {},
            token: user.access_token,
          });
          if (endpoint.path === "me") {
            assert.equal(response.status, 200, response.text);
            assertCommonHeaders(response.headers);
            assertProfile(response.body, { ...expectedProfile(user), id: user.user.id, uuid: user.user.uuid });
          } else {
            assertResponse(response, endpoint.status, endpoint.body);
          }
        });
      }
    }
  }

  test("a query string does not change which endpoint answers", async () => {
    const response = await worker.post(`${SHORT}/login/?next=/home&x=1`, {});
    assertResponse(response, 400, { email: [REQUIRED], password: [REQUIRED] });
  });

  test("the endpoints that need a Bearer token ask for one under both prefixes", async () => {
    for (const prefix of [DRF, SHORT]) {
      for (const [method, path] of [["POST", "logout/"], ["POST", "change-password/"], ["GET", "me/"], ["PATCH", "me"]]) {
        const response = await worker.fetch(`${prefix}/${path}`, { method, body: method === "GET" ? undefined : {} });
        assertUnauthorized(response, NOT_PROVIDED);
      }
    }
  });
});

describe("unknown paths", () => {
  const UNKNOWN = [
    "/",
    "/api/v1/drf/auth/",
    "/api/v1/auth",
    "/api/v1/drf/auth/nope/",
    "/api/v1/drf/auth/token/",
    "/api/v1/drf/auth/token/verify/",
    "/api/v1/auth/LOGIN/",
    "/api/v1/drf/auth/login//",
    "/api/v1/drf/auth/login/extra/",
    "/api/v2/auth/login/",
    "/api/v1/drf/auth/me.json",
    "/favicon.ico",
    // The static assets' own names (wrangler.toml: run_worker_first), at the root and under a prefix.
    "/openapi.json",
    "/common-passwords.bin",
    "/api/v1/drf/auth/common-passwords.bin",
    "/assets/openapi.json",
  ];
  for (const path of UNKNOWN) {
    for (const method of ["GET", "POST"]) {
      test(`${method} ${path} is 404 Not found.`, async () => {
        const response = await worker.fetch(`http://edge-auth.test${path}`, {
          method, body: method === "POST" ? {} : undefined, token: user.access_token,
        });
        assertResponse(response, 404, { detail: "Not found." });
      });
    }
  }
});

describe("openapi.json", () => {
  const source = JSON.parse(readFileSync(new URL("../../src/openapi.json", import.meta.url), "utf8"));
  for (const [prefix, url] of PREFIXES) {
    test(`GET ${prefix}openapi.json is src/openapi.json with servers naming ${prefix}`, async () => {
      const response = await worker.fetch(`${url}/openapi.json`);
      assertResponse(response, 200, { ...source, servers: [{ url: prefix.replace(/\/$/, "") }] });
      assert.equal(response.headers.get("cache-control"), null, "cacheable as before");
    });
  }

  test("HEAD answers the same headers without a body, and the trailing slash is an unknown path", async () => {
    const head = await worker.fetch(`${DRF}/openapi.json`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assertCommonHeaders(head.headers);
    assertResponse(await worker.fetch(`${DRF}/openapi.json/`), 404, { detail: "Not found." });
  });
});

describe("methods an endpoint does not serve", () => {
  const POST_ONLY = ["register/", "login/", "logout/", "token/refresh/", "change-password/"];
  for (const path of POST_ONLY) {
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      test(`${method} ${path} is 405 with Allow: POST, OPTIONS`, async () => {
        const response = await worker.fetch(`${DRF}/${path}`, {
          method, body: method === "GET" || method === "DELETE" ? undefined : {}, token: user.access_token,
        });
        assertResponse(response, 405, { detail: `Method "${method}" not allowed.` });
        assert.equal(response.headers.get("allow"), "POST, OPTIONS");
      });
    }
    test(`HEAD ${path} is 405 with Allow: POST, OPTIONS`, async () => {
      const response = await worker.fetch(`${DRF}/${path}`, { method: "HEAD" });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("allow"), "POST, OPTIONS");
      assert.equal(response.text, "");
    });
  }

  for (const method of ["POST", "PUT", "DELETE"]) {
    test(`${method} me/ is 405 with Allow: GET, PATCH, HEAD, OPTIONS`, async () => {
      const response = await worker.fetch(`${DRF}/me/`, {
        method, body: method === "DELETE" ? undefined : {}, token: user.access_token,
      });
      assertResponse(response, 405, { detail: `Method "${method}" not allowed.` });
      assert.equal(response.headers.get("allow"), "GET, PATCH, HEAD, OPTIONS");
    });
  }

  test("a 405 is answered the same under the shorter prefix and without the slash", async () => {
    const response = await worker.fetch(`${SHORT}/token/refresh`, { method: "GET" });
    assertResponse(response, 405, { detail: 'Method "GET" not allowed.' });
    assert.equal(response.headers.get("allow"), "POST, OPTIONS");
    const me = await worker.fetch(`${SHORT}/me`, { method: "PUT", body: {} });
    assertResponse(me, 405, { detail: 'Method "PUT" not allowed.' });
    assert.equal(me.headers.get("allow"), "GET, PATCH, HEAD, OPTIONS");
  });

  test("a 405 is answered before authentication and before the body is read", async () => {
    const response = await raw(worker, `${DRF}/me/`, {
      method: "PUT", headers: { "content-type": "text/plain", authorization: "Bearer nonsense" }, body: "not json",
    });
    assertResponse(response, 405, { detail: 'Method "PUT" not allowed.' });
  });
});

describe("OPTIONS (the Allow header lists OPTIONS, so it is served)", () => {
  for (const [path, allow] of [
    ["register/", "POST, OPTIONS"], ["login/", "POST, OPTIONS"], ["logout/", "POST, OPTIONS"],
    ["token/refresh/", "POST, OPTIONS"], ["change-password/", "POST, OPTIONS"], ["me/", "GET, PATCH, HEAD, OPTIONS"],
  ]) {
    test(`OPTIONS ${path} without a preflight is 200 with Allow: ${allow}`, async () => {
      const response = await worker.fetch(`${SHORT}/${path}`, { method: "OPTIONS" });
      assert.equal(response.status, 200, response.text);
      assertCommonHeaders(response.headers);
      assert.equal(response.headers.get("allow"), allow);
    });
  }
});

describe("HEAD me/", () => {
  test("with a valid token is 200 with the JSON headers and no body", async () => {
    const response = await worker.fetch(`${DRF}/me/`, { method: "HEAD", token: user.access_token });
    assert.equal(response.status, 200);
    assert.equal(response.text, "");
    assertCommonHeaders(response.headers);
  });

  test("without a token is 401 with the Bearer challenge", async () => {
    const response = await worker.fetch(`${SHORT}/me`, { method: "HEAD" });
    assert.equal(response.status, 401);
    assert.equal(response.text, "");
    assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="api"');
  });
});
