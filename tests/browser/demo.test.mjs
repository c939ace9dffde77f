// The demo page (examples/web/) in Debian's Chromium, headless, driven by playwright-core (the
// system browser: playwright-core never downloads one), against the worker under `wrangler dev`,
// with Chrome's virtual WebAuthn authenticator attached over CDP. One user's whole story:
// register → enrol TOTP (code computed here, RFC 6238) → enrol a passkey → log out → log in with
// the passkey alone (usernameless) → log out → log in with password + TOTP → profile; then
// password + the passkey as second factor, and password + a recovery code.
// A screenshot of each step goes to tests/browser/artifacts/<nn>-<step>.png (paths printed).
// Every step asserts what the page shows; at the end, no console error, page error or failed
// request may have happened but the expected ones (login/'s 401 mfa_required).
//
// `make browser` (in `make test`) runs it: node --test --test-timeout=300000 tests/browser/
// Environment:
//   BROWSER_API        a worker's API prefix to test instead of starting one, e.g.
//                      http://127.0.0.1:8787/api/v1/auth/ (`make dev`); it must allow the demo's
//                      origin (ALLOWED_ORIGINS / WEBAUTHN_ORIGINS: http://localhost:3000 by default)
//   BROWSER_DEMO_PORT  the demo page's port on localhost (default 3000; another port, with no
//                      BROWSER_API, is allowed by the started worker through --var ALLOWED_ORIGINS)
//   CHROMIUM           the browser (default /usr/bin/chromium)
//   BROWSER_HEADED=1   show the browser (needs a display)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "../../examples/web/build.mjs";
import { serve } from "../../examples/web/serve.mjs";
import { prepareLocalWorker } from "../harness/local-worker.mjs";
import { base32Decode, hotp } from "../blackbox/mfa-helpers.mjs";
import { addAuthenticator, launchChromium } from "./support.mjs";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const DEMO_PORT = Number(process.env.BROWSER_DEMO_PORT || 3000);
const DEMO_ORIGIN = `http://localhost:${DEMO_PORT}`;

// ---- RFC 6238 (SHA-1, 6 digits, 30 s) ---------------------------------------------------------

const stepOf = (ms = Date.now()) => Math.floor(ms / 1000 / 30);

/** The code of a base32 secret at a 30 s step (the black-box suite's RFC 6238 helpers). */
const totp = (secret, step) => hotp(base32Decode(secret), step);

test("RFC 6238's SHA-1 vectors (the test's own TOTP)", () => {
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // base32 of "12345678901234567890"
  for (const [seconds, code] of [[59, "94287082"], [1111111109, "07081804"], [2000000000, "69279037"]]) {
    assert.equal(totp(secret, stepOf(seconds * 1000)), code.slice(2)); // the vectors' 8 digits, 6 kept
  }
});

// ---- the servers and the browser --------------------------------------------------------------

let site;
let worker;
let demo;
let browser;
let api;

before(async () => {
  if (process.env.BROWSER_API) {
    api = new URL(process.env.BROWSER_API).href;
  } else {
    site = await prepareLocalWorker();
    const vars = { PBKDF2_ITERATIONS: "1000" }; // the browser is under test here, not the hash
    if (DEMO_PORT !== 3000) vars.ALLOWED_ORIGINS = DEMO_ORIGIN; // wrangler.toml allows :3000
    worker = await site.serve({ vars });
    api = `${worker.origin}/api/v1/auth/`;
  }
  build(); // the default API; the page is opened with ?api=
  demo = await serve({ port: DEMO_PORT, host: "localhost" }).catch((e) => {
    throw e.code === "EADDRINUSE" ? new Error(`${DEMO_ORIGIN} is taken (a \`make demo\`?): stop it, or set BROWSER_DEMO_PORT`) : e;
  });
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((done) => (demo ? demo.close(done) : done()));
  await site?.dispose();
});

test("the demo page: register, TOTP, passkey, passkey login, password + TOTP login", { timeout: 180_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
  const consoleErrors = [];
  const pageErrors = [];
  const failed = []; // "METHOD path status" of every API answer >= 400 or request that failed
  const expectedFailures = [];
  page.on("console", (message) => {
    // Chrome logs every >= 400 answer as "Failed to load resource"; those are checked as answers below.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("requestfailed", (request) => failed.push(`${request.method()} ${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.request().method()} ${new URL(response.url()).pathname.replace(/.*\/auth\//, "")} ${response.status()}`);
  });

  const { cdp, authenticatorId } = await addAuthenticator(page);

  let shot = 0;
  const screenshot = async (name) => {
    const path = join(ARTIFACTS, `${String(++shot).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };
  /** One step: its actions and checks, then its screenshot (taken on failure too, marked FAILED). */
  const step = async (name, body) => {
    try {
      await body();
    } catch (e) {
      await screenshot(`${name}-FAILED`).catch(() => {});
      console.log(`at ${name}: calls answered >= 400 ${JSON.stringify(failed)}, console errors ${JSON.stringify(consoleErrors)}, page errors ${JSON.stringify(pageErrors)}`);
      throw e;
    }
    await screenshot(name);
  };
  const byId = (id) => page.getByTestId(id);
  const text = async (id) => (await byId(id).textContent())?.trim() ?? "";
  /** Waits for the status area to leave "busy" with an answer, then requires the `ok` one matching `pattern`. */
  const statusSays = async (pattern) => {
    await page.waitForFunction(
      ([source]) => {
        const status = document.querySelector('[data-testid="status"]');
        return status?.dataset.kind === "error" || (status?.dataset.kind === "ok" && new RegExp(source).test(status.textContent ?? ""));
      },
      [pattern.source],
      { timeout: 30_000 },
    );
    const status = byId("status");
    assert.equal(await status.getAttribute("data-kind"), "ok", `status: ${await status.textContent()}`);
    assert.match(await status.textContent(), pattern);
  };
  const signedInAs = async (email) => {
    await statusSays(new RegExp(`Signed in as ${email.replace(/[.+]/g, "\\$&")}`));
    assert.ok(await byId("signed-in").isVisible());
    assert.ok(await byId("signed-out").isHidden());
    assert.equal(await text("profile-email"), email);
    assert.equal(await text("profile-name"), "Ada Browser");
    assert.ok((await byId("session-item").count()) >= 1, "the sessions list shows this session");
    assert.match(await page.locator('[data-testid="session-item"].current').textContent(), /this one/);
  };
  const logOut = async () => {
    await byId("logout").click();
    await statusSays(/^Logged out\.$/);
    assert.ok(await byId("signed-out").isVisible());
    assert.ok(await byId("signed-in").isHidden());
    assert.equal(await byId("session-item").count(), 0);
  };

  const email = `browser-${randomBytes(6).toString("hex")}@example.com`;
  const password = `Pw-${randomBytes(12).toString("base64url")}-9`;
  let secret;
  let usedStep;
  let recoveryCodes;

  await step("home", async () => {
    await page.goto(`${DEMO_ORIGIN}/?api=${encodeURIComponent(api)}`);
    assert.equal(await text("api-base"), api);
    assert.ok(await byId("signed-out").isVisible());
    assert.ok(await byId("mfa-form").isHidden());
  });

  await step("registered", async () => {
    await byId("register-email").fill(email);
    await byId("register-password").fill(password);
    await byId("register-first-name").fill("Ada");
    await byId("register-last-name").fill("Browser");
    await byId("register-submit").click();
    await signedInAs(email);
  });

  await step("totp-setup", async () => {
    await byId("totp-setup").click();
    await statusSays(/Scan the code/);
    assert.ok(await byId("totp-enrol").isVisible());
    secret = await text("totp-secret");
    assert.match(secret, /^[A-Z2-7]{32}$/);
    // The QR code is an image that loaded (a data: URL of the server's SVG), not markup in the page.
    const qr = byId("totp-qr");
    assert.match(await qr.getAttribute("src"), /^data:image\/svg\+xml;/);
    await page.waitForFunction(() => document.querySelector('[data-testid="totp-qr"]')?.naturalWidth > 0);
    assert.equal(await page.locator("#totp-enrol svg").count(), 0);
  });

  await step("totp-enabled", async () => {
    usedStep = stepOf();
    await byId("totp-code").fill(totp(secret, usedStep));
    await byId("totp-confirm").click();
    await statusSays(/TOTP is on/);
    assert.equal(await text("totp-state"), "TOTP is on.");
    assert.ok(await byId("totp-enrol").isHidden());
    recoveryCodes = (await byId("recovery-code").allTextContents()).map((code) => code.trim());
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
  });

  await step("passkey-added", async () => {
    await byId("passkey-register").click();
    await statusSays(/Passkey “Passkey” added/);
    assert.equal(await text("passkey-state"), "Passkey “Passkey” added.");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential (usernameless login)");
    assert.equal(credentials[0].rpId, "localhost");
  });

  await step("logged-out", logOut);

  await step("passkey-login", async () => {
    await byId("passkey-login").click(); // no e-mail typed: the authenticator names the user
    await signedInAs(email);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.ok(credentials[0].signCount >= 1, "the authenticator signed an assertion");
  });

  await step("logged-out-again", logOut);

  await step("mfa-required", async () => {
    await byId("login-email").fill(email);
    await byId("login-password").fill(password);
    expectedFailures.push("POST login/ 401");
    await byId("login-submit").click();
    await statusSays(/^Second factor required\.$/);
    assert.ok(await byId("mfa-form").isVisible());
    assert.ok(await byId("signed-out").isHidden());
    assert.equal(await text("mfa-methods"), "totp, recovery_code, webauthn");
    for (const id of ["mfa-code", "mfa-recovery", "mfa-passkey"]) assert.ok(await byId(id).isVisible(), id);
  });

  await step("totp-login", async () => {
    // The enrolment's code stays refused until its step has passed: wait for a fresh one.
    const waited = Date.now();
    while (stepOf() <= usedStep) await page.waitForTimeout(((usedStep + 1) * 30_000 - Date.now()) + 500);
    console.log(`waited ${Date.now() - waited} ms for a fresh TOTP step`);
    await byId("mfa-code").fill(totp(secret, stepOf()));
    await byId("mfa-code-submit").click();
    await signedInAs(email);
    assert.ok(await byId("mfa-form").isHidden());
    // Recovery codes are shown once, at enrolment: never again.
    assert.ok(await byId("recovery").isHidden());
    assert.equal(await byId("recovery-code").count(), 0);
  });

  await step("profile", async () => {
    await byId("profile-refresh").click();
    await statusSays(/^Profile loaded\.$/);
    assert.equal(await text("profile-email"), email);
    assert.equal(await text("profile-name"), "Ada Browser");
    await byId("sessions-refresh").click();
    await statusSays(/^Sessions loaded\.$/);
    assert.ok((await byId("session-item").count()) >= 1);
  });

  // The other two answers to mfa_required: the passkey as the second factor, and a recovery code.
  const passwordFirst = async () => {
    await byId("login-email").fill(email);
    await byId("login-password").fill(password);
    expectedFailures.push("POST login/ 401");
    await byId("login-submit").click();
    await statusSays(/^Second factor required\.$/);
  };
  await step("logged-out-for-passkey-mfa", logOut);
  await step("passkey-as-second-factor", async () => {
    await passwordFirst();
    await byId("mfa-passkey").click();
    await signedInAs(email);
  });
  await step("logged-out-for-recovery", logOut);
  await step("recovery-code-login", async () => {
    await passwordFirst();
    await byId("mfa-recovery").fill(recoveryCodes[0]);
    await byId("mfa-recovery-submit").click();
    await signedInAs(email);
  });

  assert.deepEqual(pageErrors, [], "no uncaught error in the page");
  assert.deepEqual(consoleErrors, [], "no console error");
  assert.deepEqual(failed, expectedFailures, "no failed API call but the expected ones");
  await page.close();
});
