// The page's WebAuthn ceremonies send what the worker takes, with the browser's L3 JSON helpers
// (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, toJSON()) and
// without them (examples/web/src/webauthn.ts's own base64url conversions, for older browsers):
// the API is a stub behind page.route on the page's own origin, which checks the credential JSON
// of a passkey enrolment and of a usernameless login made by Chrome's virtual authenticator.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { build } from "../../examples/web/build.mjs";
import { serve } from "../../examples/web/serve.mjs";
import { addAuthenticator, launchChromium } from "./support.mjs";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const decode = (text) => Buffer.from(text, "base64url");
const BASE64URL = /^[A-Za-z0-9_-]+$/;

let demo;
let origin;
let browser;

before(async () => {
  build();
  demo = await serve({ port: 0, host: "localhost" }); // any port: the stub needs no CORS grant
  origin = `http://localhost:${demo.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((done) => (demo ? demo.close(done) : done()));
});

for (const helpers of [true, false]) {
  test(`passkey enrolment and usernameless login ${helpers ? "with" : "without"} the L3 JSON helpers`, { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    if (!helpers) {
      await page.addInitScript(() => {
        delete PublicKeyCredential.parseCreationOptionsFromJSON;
        delete PublicKeyCredential.parseRequestOptionsFromJSON;
        delete PublicKeyCredential.prototype.toJSON;
      });
    }
    await addAuthenticator(page);

    const userHandle = b64url(randomBytes(16));
    const user = { id: 1, email: "stub@example.com", display_name: "Stub User", full_name: "Stub User" };
    const signedIn = { access_token: "access", refresh_token: "refresh", token_type: "bearer", expires_in: 1800, user };
    const clientData = (credential, type, challenge) => {
      const data = JSON.parse(decode(credential.response.clientDataJSON));
      assert.equal(data.type, type);
      assert.equal(data.challenge, challenge);
      assert.equal(data.origin, origin);
    };
    let challenge;
    let credentialId;
    const checked = [];
    await page.route(`${origin}/stub/**`, async (route) => {
      const path = new URL(route.request().url()).pathname.replace("/stub/", "");
      const body = JSON.parse(route.request().postData() || "null");
      const reply = (status, json) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(json) });
      try {
        switch (path) {
          case "register/":
            return reply(201, signedIn);
          case "me/":
            return reply(200, user);
          case "sessions/":
            return reply(200, []);
          case "passkeys/register/options/":
            challenge = b64url(randomBytes(32));
            return reply(200, {
              rp: { id: "localhost", name: "edge-auth" },
              user: { id: userHandle, name: user.email, displayName: user.display_name },
              challenge,
              pubKeyCredParams: [-8, -7, -257].map((alg) => ({ type: "public-key", alg })),
              timeout: 300000,
              excludeCredentials: [{ type: "public-key", id: b64url(randomBytes(16)), transports: ["usb"] }],
              authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "preferred" },
              attestation: "none",
            });
          case "passkeys/register/verify/": {
            const { credential, name } = body;
            assert.equal(name, "Passkey");
            assert.equal(credential.type, "public-key");
            assert.match(credential.id, BASE64URL);
            assert.equal(credential.rawId, credential.id);
            clientData(credential, "webauthn.create", challenge);
            assert.match(credential.response.attestationObject, BASE64URL);
            assert.ok(Array.isArray(credential.response.transports));
            credentialId = credential.id;
            checked.push(path);
            return reply(201, { id: "0".repeat(32), name, created_at: new Date().toISOString(), last_used_at: null, backed_up: false, transports: [] });
          }
          case "logout/":
            return reply(200, { message: "Successfully logged out." });
          case "passkeys/login/options/":
            challenge = b64url(randomBytes(32));
            return reply(200, { challenge, timeout: 300000, rpId: "localhost", allowCredentials: [], userVerification: "required" });
          case "passkeys/login/verify/": {
            assert.equal(body.id, credentialId);
            assert.equal(body.rawId, credentialId);
            clientData(body, "webauthn.get", challenge);
            assert.equal(body.response.userHandle, userHandle, "the discoverable credential names its user");
            const authenticatorData = decode(body.response.authenticatorData);
            assert.deepEqual(authenticatorData.subarray(0, 32), createHash("sha256").update("localhost").digest(), "rpIdHash");
            assert.equal(authenticatorData[32] & 0x05, 0x05, "user present and verified");
            assert.match(body.response.signature, BASE64URL);
            checked.push(path);
            return reply(200, signedIn);
          }
        }
        return reply(404, { detail: "Not found." });
      } catch (e) {
        problems.push(`${path}: ${e.message}`);
        return reply(400, { detail: e.message });
      }
    });

    const byId = (id) => page.getByTestId(id);
    const statusSays = async (pattern) => {
      await page.waitForFunction(() => ["ok", "error"].includes(document.querySelector('[data-testid="status"]')?.dataset.kind));
      assert.match(await byId("status").textContent(), pattern);
    };
    await page.goto(`${origin}/?api=${encodeURIComponent(`${origin}/stub/`)}`);
    await byId("register-email").fill(user.email);
    await byId("register-password").fill("irrelevant");
    await byId("register-submit").click();
    await statusSays(/Signed in as/);
    await byId("passkey-register").click();
    await statusSays(/Passkey “Passkey” added/);
    await byId("logout").click();
    await statusSays(/Logged out/);
    await byId("passkey-login").click();
    await statusSays(/Signed in as stub@example\.com/);
    assert.deepEqual(problems, []);
    assert.deepEqual(checked, ["passkeys/register/verify/", "passkeys/login/verify/"]);
    await page.close();
  });
}
