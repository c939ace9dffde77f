// Issue 16, second factors: RFC 6238 codes computed here (HMAC-SHA1, 6 digits, 30 s steps) and the
// steps every TOTP test repeats (enrol, the 401 mfa_required login, login/mfa/, the trail).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DRF } from "../support.mjs";
import {
  accessTokenError, assertCommonHeaders, assertNoStore, assertTokenPair, login, me, nowSecs, refreshTokenError,
} from "./helpers.mjs";

export const STEP = 30;
export const BASE32 = /^[A-Z2-7]{32}$/;
export const RECOVERY_CODE = /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/i;
export const MFA_REQUIRED_DETAIL = "Second factor required.";
export const MFA_TOKEN_INVALID = { detail: "Invalid or expired MFA token.", code: "mfa_token_invalid" };
export const MFA_CODE_INVALID = { detail: "Invalid code.", code: "mfa_code_invalid" };
export const INVALID_CODE = { code: ["Invalid code."] };
export const PASSWORD_INCORRECT = { password: ["Password is incorrect."] };
export const TOTP_ALREADY_ENABLED = { detail: "TOTP is already enabled." };
export const NO_SETUP = { detail: "No TOTP setup in progress." };
export const NO_FACTOR = { detail: "No second factor is enabled." };
export const SECURITY_MAIL = /two-factor|security/i;

/** RFC 4648 base32 (upper case, padding optional) to bytes. */
export function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit RFC 6238 code (SHA-1, 30 s) of a base32 secret at a Unix time in seconds. */
export function totp(secretBase32, atUnixSeconds = nowSecs()) {
  return hotp(base32Decode(secretBase32), Math.floor(atUnixSeconds / STEP));
}

/** RFC 4226 HOTP, 6 digits, for a key (bytes) and a counter. */
export function hotp(key, counter) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 1_000_000).padStart(6, "0");
}

/** The code `steps` steps away from now (e.g. -1: the previous 30 s window). */
export const codeAt = (secret, steps = 0) => totp(secret, nowSecs() + steps * STEP);

/**
 * Waits, when fewer than `margin` seconds are left in the current step, for the next one, so that
 * "now" in the test and "now" in the worker fall in the same step for the next few requests.
 */
export async function freshStep(margin = 5) {
  const left = STEP - (Date.now() / 1000) % STEP;
  if (left < margin) await sleep(left * 1000 + 200);
}

export const setup = (worker, user, prefix = DRF) =>
  worker.post(`${prefix}/mfa/totp/setup/`, undefined, { token: user.access_token });
/** Starts a TOTP setup, asserting its 200: the body (secret, otpauth_url, qr_svg). */
export async function startSetup(worker, user, prefix = DRF) {
  const response = await setup(worker, user, prefix);
  assert.equal(response.status, 200, response.text);
  return response.body;
}
export const confirm = (worker, user, body, prefix = DRF) =>
  worker.post(`${prefix}/mfa/totp/confirm/`, body, { token: user.access_token });
export const disable = (worker, user, body, prefix = DRF) =>
  worker.fetch(`${prefix}/mfa/totp/`, { method: "DELETE", body, token: user.access_token });
export const regenerate = (worker, user, body, prefix = DRF) =>
  worker.post(`${prefix}/mfa/recovery-codes/`, body, { token: user.access_token });
export const mfaStatus = (worker, user, prefix = DRF) => worker.fetch(`${prefix}/mfa/`, { token: user.access_token });
export const loginMfa = (worker, body, prefix = DRF) => worker.post(`${prefix}/login/mfa/`, body);

/**
 * Sets TOTP up for `user` (a `worker.register()` result) and confirms it with the code of the step
 * `confirmStep` away from now; returns `{ secret, recoveryCodes, confirmed }` (the confirm body).
 */
export async function enrolTotp(worker, user, { prefix = DRF, confirmStep = 0 } = {}) {
  await freshStep();
  const { secret } = await startSetup(worker, user, prefix);
  const confirmed = await confirm(worker, user, { code: codeAt(secret, confirmStep) }, prefix);
  assert.equal(confirmed.status, 200, confirmed.text);
  return { secret, recoveryCodes: confirmed.body.recovery_codes, confirmed: confirmed.body };
}

/** The password login of a user with a factor: asserts the 401 mfa_required shape, returns its body. */
export async function passwordStep(worker, user, prefix = DRF) {
  const response = await login(worker, user.email, user.password, prefix);
  assertMfaRequired(response);
  return response.body;
}

/** A 401 mfa_required: the four keys, no token, an opaque mfa_token. */
export function assertMfaRequired(response, methods) {
  assert.equal(response.status, 401, response.text);
  assertCommonHeaders(response.headers);
  assert.deepEqual(Object.keys(response.body).sort(), ["code", "detail", "methods", "mfa_token"]);
  assert.equal(response.body.detail, MFA_REQUIRED_DETAIL);
  assert.equal(response.body.code, "mfa_required");
  assert.equal(typeof response.body.mfa_token, "string");
  assert.ok(response.body.mfa_token.length >= 16, "an unguessable mfa_token");
  assert.ok(!response.body.mfa_token.includes("."), "opaque, not a JWT");
  if (methods) assert.deepEqual(response.body.methods, methods);
}

/** A 401 with exactly `body` (the MFA errors carry a `code`; the WWW-Authenticate header is not asserted). */
export function assertRefused(response, body) {
  assert.equal(response.status, 401, response.text);
  assert.deepEqual(response.body, body);
  assertCommonHeaders(response.headers);
}

/**
 * Makes every live mfa_token of `userId` expired, by moving its `expires_at` (the contract's
 * mfa_tokens table) into the past in whatever unit the worker stored it (seconds, ms or ISO text).
 */
export async function expireMfaTokens(worker, userId) {
  const row = await worker.db.prepare("SELECT expires_at FROM mfa_tokens WHERE user_id = ?1").bind(userId).first();
  assert.ok(row, "the login stored an mfa_token");
  const now = Date.now();
  let past;
  if (typeof row.expires_at === "string") past = new Date(now - 60_000).toISOString();
  else past = row.expires_at > 1e12 ? now - 60_000 : Math.floor(now / 1000) - 60;
  await worker.db.prepare("UPDATE mfa_tokens SET expires_at = ?2 WHERE user_id = ?1").bind(userId, past).run();
}

/** The caller's trail (events/, newest first, one page of 100). */
export async function trail(worker, user, prefix = DRF) {
  const response = await worker.fetch(`${prefix}/events/?page_size=100`, { token: user.access_token });
  assert.equal(response.status, 200, response.text);
  return response.body.results;
}

/** The newest event of `type` (and matching `where`, if given), waiting up to 5 s for it. */
export async function newestEvent(worker, user, type, where = () => true) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (await trail(worker, user)).find((event) => event.type === type && where(event));
    if (found || Date.now() > deadline) return found;
    await sleep(100);
  }
}

/** The next security notice to `email` (subject matching /two-factor|security/i), waiting up to 5 s; marks it taken. */
export async function securityMail(worker, email, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = worker.mailsTo(email).find((mail) => !mail.taken && SECURITY_MAIL.test(mail.subject ?? ""));
    if (found) {
      found.taken = true;
      return found;
    }
    if (Date.now() > deadline) throw new Error(`no security mail to ${email} within ${timeout} ms`);
    await sleep(100);
  }
}

/** A six-digit code that is none of the codes of the steps -2..+2 (so certainly wrong). */
export function wrongCode(secret) {
  const near = new Set([-2, -1, 0, 1, 2].map((step) => codeAt(secret, step)));
  for (let n = 0; ; n += 1) {
    const candidate = String(n * 111_111 % 1_000_000).padStart(6, "0");
    if (!near.has(candidate)) return candidate;
  }
}

export const refresh = (worker, refreshToken, prefix = DRF) =>
  worker.post(`${prefix}/token/refresh/`, { refresh_token: refreshToken });

/** A session ended by a factor's change: its access token and its refresh token are refused as blacklisted. */
export async function assertSessionEnded(worker, session) {
  assert.deepEqual((await me(worker, session.access_token)).body, accessTokenError("Token is blacklisted"));
  assert.deepEqual((await refresh(worker, session.refresh_token)).body, refreshTokenError("Token is blacklisted"));
}

/** The caller's session, kept: its access token works and its refresh token rotates (so do not reuse it). */
export async function assertSessionLives(worker, session) {
  assert.equal((await me(worker, session.access_token)).status, 200, "the access token works");
  assert.equal((await refresh(worker, session.refresh_token)).status, 200, "the refresh token works");
}

/** A 200 token pair and profile of `user` (login/, login/mfa/, passkeys/login/verify/). */
export function assertLoggedIn(response, user) {
  assert.equal(response.status, 200, response.text);
  assertNoStore(response.headers);
  assertTokenPair(response.body, { userId: user.user.id });
  assert.equal(response.body.user.id, user.user.id);
  assert.equal(response.body.user.email, user.email.toLowerCase());
}
