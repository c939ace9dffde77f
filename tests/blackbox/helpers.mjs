// Shared helpers for the black-box suite: raw requests, token minting the way simplejwt does it,
// and the assertions that pin the contract's shapes (CONTRACT.md).
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { DRF, SIGNING_KEY, decodeSegment, readResponse } from "../support.mjs";

export const PROFILE_KEYS = [
  "account_status", "date_joined", "display_name", "email", "first_name", "full_name", "id",
  "is_active", "is_practitioner", "is_staff", "is_superuser", "last_login", "last_name",
  "phone_number", "phone_number_verified", "timezone", "uuid",
];

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// DRF renders datetimes with isoformat(): microseconds (6 digits) only when non-zero, then "Z".
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/;
export const JTI = /^[0-9a-f]{32}$/;

export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

export const BEARER_CHALLENGE = 'Bearer realm="api"';
export const NOT_PROVIDED = { detail: "Authentication credentials were not provided." };
export const LOGIN_FAILED = { detail: "Invalid email or password." };
export const REQUIRED = "This field is required.";
export const BLANK = "This field may not be blank.";
export const NOT_A_STRING = "Not a valid string.";
export const TOO_LONG_150 = "Ensure this field has no more than 150 characters.";
export const TOO_SHORT = "This password is too short. It must contain at least 8 characters.";
export const TOO_COMMON = "This password is too common.";
export const NUMERIC = "This password is entirely numeric.";
export const similarTo = (field) => `The password is too similar to the ${field}.`;

/** The 401 body for a bad Bearer access token. */
export function accessTokenError(message) {
  return {
    detail: "Given token not valid for any token type",
    code: "token_not_valid",
    messages: [{ token_class: "AccessToken", token_type: "access", message }],
  };
}

/** The body for a bad refresh token (401 on refresh, 400 on logout). */
export function refreshTokenError(detail) {
  return { detail, code: "token_not_valid" };
}

/**
 * Sends exactly what it is given: `body` may be a string, a Buffer/Uint8Array or a stream, and no
 * content type is added. Returns { status, headers, body, text } like the harness's `fetch`.
 */
export async function raw(worker, url, { method = "POST", headers = {}, body } = {}) {
  const init = { method, headers };
  if (body !== undefined) init.body = body;
  if (body instanceof ReadableStream) init.duplex = "half";
  return readResponse(await worker.mf.dispatchFetch(url, init));
}

/**
 * A JSON request body sent at once but ended only on `release()`. A request carrying it has done
 * everything its handler does before reading the body, and waits there: releasing several such
 * bodies together makes their handlers race from that point (used by the attack tests).
 */
export function heldBody(value) {
  let release;
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(JSON.stringify(value)));
      release = () => controller.close();
    },
  });
  return { stream, release };
}

/** POSTs a string as `application/json` without re-encoding it. */
export function postJsonText(worker, url, text, headers = {}) {
  return raw(worker, url, { headers: { "content-type": "application/json", ...headers }, body: text });
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/**
 * Mints a JWT the way PyJWT/simplejwt does: base64url(header).base64url(payload).signature.
 * `alg` picks the HMAC (HS256/HS384/HS512) or "none" (empty signature).
 */
export function mintToken(claims, { key = SIGNING_KEY, alg = "HS256", header } = {}) {
  const head = header ?? { alg, typ: "JWT" };
  const signingInput = `${b64url(head)}.${b64url(claims)}`;
  if (alg === "none") return `${signingInput}.`;
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  const signature = createHmac(hash, key).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

/** simplejwt's claims for `userId` at `now` (seconds), overridable. */
export function claimsFor(userId, { type = "access", lifetime = 1800, now = nowSecs(), ...extra } = {}) {
  return {
    token_type: type,
    exp: now + lifetime,
    iat: now,
    jti: randomBytes(16).toString("hex"),
    user_id: String(userId),
    ...extra,
  };
}

export const nowSecs = () => Math.floor(Date.now() / 1000);

/**
 * Refresh tokens that must be refused, each with simplejwt's reason: `[title, make, detail]`.
 * `owner()` gives the user (a `worker.register()` result) they are forged for; it is called only
 * when a test runs `make()`, so the table can be built before that user is registered.
 */
export function badRefreshTokens(owner) {
  const claims = (options = {}) => claimsFor(owner().user.id, { type: "refresh", ...options });
  return [
    ["a word that is not a JWT", () => "garbage", "Token is invalid"],
    ["a JWT signed with another key",
      () => mintToken(claims(), { key: "another-signing-key-0123456789abcdefghij" }), "Token is invalid"],
    ["an unsigned alg:none JWT", () => mintToken(claims(), { alg: "none" }), "Token is invalid"],
    ["an HS512 JWT", () => mintToken(claims(), { alg: "HS512" }), "Token is invalid"],
    ["a tampered payload", () => {
      // Another user's id under the owner's signature (never the owner's own id, or nothing changed).
      const { user, refresh_token: token } = owner();
      const [header, , signature] = token.split(".");
      const claims = { ...decodeSegment(token, 1), user_id: String(user.id + 1) };
      const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
      return `${header}.${payload}.${signature}`;
    }, "Token is invalid"],
    ["an expired refresh token",
      () => mintToken(claims({ lifetime: 604800, now: nowSecs() - 604800 - 10 })), "Token is expired"],
    ["an access token", () => owner().access_token, "Token has wrong type"],
  ];
}

export function me(worker, token, prefix = DRF) {
  return worker.fetch(`${prefix}/me/`, { token });
}

export function login(worker, email, password, prefix = DRF) {
  return worker.post(`${prefix}/login/`, { email, password });
}

/**
 * Median wall ms of failed logins (a wrong password) for `email` and for unknown emails,
 * interleaved over `rounds` (keep it under the per-account back-off threshold): `{ known, unknown }`.
 */
export async function failedLoginTimes(worker, email, rounds) {
  const timeOf = async (address) => {
    const started = process.hrtime.bigint();
    const response = await login(worker, address, "not-the-password");
    assert.equal(response.status, 401);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const known = [];
  const unknown = [];
  for (let i = 0; i < rounds; i += 1) {
    known.push(await timeOf(email));
    unknown.push(await timeOf(`ghost${i}.${Date.now()}@example.com`));
  }
  return { known: median(known), unknown: median(unknown) };
}

/** Headers every response carries. */
export function assertCommonHeaders(headers) {
  assert.match(headers.get("content-type") ?? "", /^application\/json(; ?charset=utf-8)?$/i);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(headers.get(name), value, name);
  }
}

/** Headers of a response that carries tokens. */
export function assertNoStore(headers) {
  assert.equal(headers.get("cache-control"), "no-store");
  assert.equal(headers.get("pragma"), "no-cache");
}

/** A 401 with the Bearer challenge and exactly `body`. */
export function assertUnauthorized(response, body) {
  assert.equal(response.status, 401, response.text);
  assert.equal(response.headers.get("www-authenticate"), BEARER_CHALLENGE);
  assert.deepEqual(response.body, body);
  assertCommonHeaders(response.headers);
}

/** A response with `status` and exactly `body`. */
export function assertResponse(response, status, body) {
  assert.equal(response.status, status, response.text);
  assert.deepEqual(response.body, body);
  assertCommonHeaders(response.headers);
}

/** A profile: the 17 keys, the generated values shaped right, the rest exactly `expected`. */
export function assertProfile(profile, expected) {
  assert.deepEqual(Object.keys(profile).sort(), PROFILE_KEYS);
  assert.ok(Number.isInteger(profile.id) && profile.id > 0, `id ${profile.id}`);
  assert.match(profile.uuid, UUID_V4);
  assert.match(profile.date_joined, ISO_UTC);
  if (profile.last_login !== null) assert.match(profile.last_login, ISO_UTC);
  const { id, uuid, date_joined, ...rest } = profile;
  const { id: _i, uuid: _u, date_joined: _d, ...wanted } = expected;
  assert.deepEqual(rest, wanted);
  for (const [key, value] of Object.entries({ id, uuid, date_joined })) {
    if (key in expected) assert.equal(value, expected[key], key);
  }
}

/** The profile a fresh registration with these fields should produce (id/uuid/date_joined aside). */
export function expectedProfile({ email, first_name = "", last_name = "", phone_number = null, timezone = "UTC" }, extra = {}) {
  const full_name = `${first_name} ${last_name}`.trim();
  return {
    email: email.toLowerCase(), first_name, last_name, full_name,
    display_name: full_name || email.toLowerCase(), phone_number, phone_number_verified: false, timezone,
    is_practitioner: false, account_status: "active", last_login: null, is_active: true, is_staff: false,
    is_superuser: false, ...extra,
  };
}

/**
 * A token response: the pair, `token_type`, `expires_in`, and `user` only when `withUser`.
 * Checks both tokens' headers and claims exactly; returns the decoded claims.
 */
export function assertTokenPair(body, { userId, expiresIn = 1800, refreshLifetime = 604800, withUser = true } = {}) {
  const keys = ["access_token", "expires_in", "refresh_token", "token_type"];
  assert.deepEqual(Object.keys(body).sort(), withUser ? [...keys, "user"].sort() : keys);
  assert.equal(body.token_type, "bearer");
  assert.equal(body.expires_in, expiresIn);
  const access = assertClaims(body.access_token, "access", expiresIn, userId);
  const refresh = assertClaims(body.refresh_token, "refresh", refreshLifetime, userId);
  assert.notEqual(access.jti, refresh.jti);
  return { access, refresh };
}

/** A token minted by the worker: simplejwt's header and exactly simplejwt's claims. */
export function assertClaims(token, type, lifetime, userId) {
  assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeSegment(token, 0), { alg: "HS256", typ: "JWT" });
  const claims = decodeSegment(token, 1);
  // simplejwt's five claims must all be there; extra claims are allowed (simplejwt ignores them).
  for (const name of ["exp", "iat", "jti", "token_type", "user_id"]) assert.ok(name in claims, `claim ${name}`);
  assert.equal(claims.token_type, type);
  assert.ok(Number.isInteger(claims.iat) && Number.isInteger(claims.exp));
  assert.ok(Math.abs(claims.iat - nowSecs()) <= 5, `iat ${claims.iat} is now`);
  assert.equal(claims.exp - claims.iat, lifetime);
  assert.match(claims.jti, JTI);
  assert.equal(typeof claims.user_id, "string");
  if (userId !== undefined) assert.equal(claims.user_id, String(userId));
  // The signature is HMAC-SHA256 over header.payload with the shared key.
  const [h, p, s] = token.split(".");
  assert.equal(createHmac("sha256", SIGNING_KEY).update(`${h}.${p}`).digest("base64url"), s, "HS256 signature");
  return claims;
}

/** The blacklist KV namespace. */
export function blacklist(worker) {
  return worker.mf.getKVNamespace("TOKEN_BLACKLIST");
}

// Issue 12: account recovery and verified email. dj-rest-auth's answers, the mails' subjects, the
// links the default PASSWORD_RESET_URL and EMAIL_VERIFY_URL build, and reading those links back.
export const RESET_SENT = { detail: "Password reset e-mail has been sent." };
export const RESET_DONE = { detail: "Password has been reset with the new password." };
export const VERIFICATION_SENT = { detail: "Verification e-mail sent." };
export const OK = { detail: "ok" };
export const NOT_FOUND = { detail: "Not found." };
export const INVALID_UID = { uid: ["Invalid value"] };
export const INVALID_TOKEN = { token: ["Invalid value"] };
// Django's SetPasswordForm, with its typographic apostrophe (U+2019).
export const MISMATCH = { new_password2: ["The two password fields didn\u2019t match."] };
export const INVALID_EMAIL = "Enter a valid email address.";
export const SUBJECTS = {
  reset: "Reset your password",
  verify: "Verify your e-mail address",
  confirmNew: "Confirm your new e-mail address",
  emailChanged: "Your e-mail address was changed",
  passwordChanged: "Your password was changed",
  passwordReset: "Your password was reset",
};
// The defaults: http://localhost:3000/reset-password/{uid}/{token}/ and http://localhost:3000/verify-email/{key}/
export const RESET_LINK = /http:\/\/localhost:3000\/reset-password\/([^/\s"'<>]+)\/([^/\s"'<>]+)\//;
export const VERIFY_LINK = /http:\/\/localhost:3000\/verify-email\/([^/\s"'<>]+)\//;

/** The reset link in a mail's text part: { link, uid, token }. */
export function resetLinkFrom(mail) {
  const found = mail.text.match(RESET_LINK);
  assert.ok(found, `the mail carries a reset link: ${mail.text}`);
  const [link, uid, token] = found;
  return { link, uid, token };
}

/** The verification link in a mail's text part: { link, key }. */
export function verifyLinkFrom(mail) {
  const found = mail.text.match(VERIFY_LINK);
  assert.ok(found, `the mail carries a verification link: ${mail.text}`);
  return { link: found[0], key: found[1] };
}

/** The key in a mail's verification link. */
export const keyFrom = (mail) => verifyLinkFrom(mail).key;

/** Asks for a reset of `email` (dj-rest-auth's 200) and reads the link out of the mail: { mail, link, uid, token }. */
export async function requestResetLink(worker, email, prefix = DRF) {
  assertResponse(await worker.post(`${prefix}/password/reset/`, { email }), 200, RESET_SENT);
  const mail = await worker.mail(email, { subject: SUBJECTS.reset });
  return { mail, ...resetLinkFrom(mail) };
}

/** The next mail to `address` about `subject` (a verification unless told) and its link: { mail, link, key }. */
export async function verificationKey(worker, address, subject = SUBJECTS.verify) {
  const mail = await worker.mail(address, { subject });
  return { mail, ...verifyLinkFrom(mail) };
}

/** Expects no mail to `address` about `subject` within `ms`. */
export async function assertNoMail(worker, address, subject, ms = 1500) {
  await assert.rejects(worker.mail(address, { subject, timeout: ms }), /no mail/, `no "${subject}" mail to ${address}`);
}
