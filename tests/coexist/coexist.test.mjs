// Issue 14, "Done when": edge-auth and Django run side by side as one system. A real Django project
// (django_project/: the spec's user model and views, simplejwt with its blacklist app, and the
// companion app edge_auth_django installed from integrations/django into tests/coexist/.venv) is
// served by `manage.py runserver` in its own process group, beside the built worker under
// `wrangler dev` with its local Queue (tests/harness/local-worker.mjs). Both sides sign tokens with
// one key and talk as integrations/django/PROTOCOL.md says: lazy migration, signed events both ways
// (the worker's through its Queue), introspection. Every propagation is polled against a deadline
// ("within seconds") and its latency printed at the end; nothing waits a fixed time except the
// refresh reuse interval and the Django outage itself.
//
//   node --test --test-concurrency=1 --test-timeout=600000 tests/coexist/   (`make coexist`; needs the release build)
//
// COEXIST_KEEP=1 keeps the temporary directories (Django's database and log, wrangler dev's log).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, groupAlive, prepareLocalWorker } from "../harness/local-worker.mjs";
import { ensureVenv, project, python } from "./venv.mjs";

const DEADLINE_MS = 20_000;
// After an outage the Queue's back-off decides (capped at SYNC_RETRY_MAX_DELAY_SECS below).
const OUTAGE_DEADLINE_MS = 60_000;
const KEEP = process.env.COEXIST_KEEP === "1";
const USER_ID_START = 1_000_000_000;

// One signing key, one shared secret, one introspection client for the whole run.
const SIGNING_KEY = randomBytes(48).toString("base64url");
const SHARED_SECRET = randomBytes(32).toString("hex");
const DJANGO_SECRET_KEY = randomBytes(40).toString("base64url");
const INTROSPECTION = { id: "fastapi-resource-server", secret: randomBytes(24).toString("hex") };
// Both sides hash at one low cost, as a deployment configures them (the same PBKDF2 iterations
// on both): a login on either side then rewrites no hash. (A login on the worker that overlaps a
// hash rewrite of the same user from a Django event answers 401: the worker only starts a session
// on the hash it verified.) The hash upgrade has its own test, with a user made at a lower cost.
const ITERATIONS = 1000;

const LOGIN_FAILED = { detail: "Invalid email or password." };
const BLACKLISTED = { detail: "Token is blacklisted", code: "token_not_valid" };
const INVALID_SIGNATURE = { detail: "Invalid signature." };
const SIGNATURE_EXPIRED = { detail: "Signature expired." };
const ALREADY_RECEIVED = { detail: "Event already received." };
const APPLIED = { status: "applied" };

const nowSecs = () => Math.floor(Date.now() / 1000);
/**
 * Waits for the clock's next second. A cut-off (`user.sessions_revoked`'s `before`) is in whole
 * seconds: a session's token dies when issued before it, a token without a session (Django's)
 * also in its own second. Tests that need a token to outlive a cut-off let a second pass first.
 */
async function nextSecond() {
  const second = nowSecs();
  while (nowSecs() === second) await sleep(20);
}
const claims = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

// ---------------------------------------------------------------------------------------------
// HTTP

/** One request; resolves { status, body (parsed JSON, if any), text, headers }. */
async function request(url, { method = "POST", json, form, raw, token, basic, headers = {} } = {}) {
  const sent = { ...headers };
  let body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    sent["content-type"] = "application/json";
  } else if (form !== undefined) {
    body = new URLSearchParams(form).toString();
    sent["content-type"] = "application/x-www-form-urlencoded";
  } else if (raw !== undefined) {
    body = raw;
    sent["content-type"] ??= "application/json";
  }
  if (token) sent.authorization = `Bearer ${token}`;
  if (basic) sent.authorization = `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString("base64")}`;
  const response = await fetch(url, { method, headers: sent, body, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

const show = (response) => `${response.status} ${response.text.slice(0, 400)}`;

/**
 * The spec's endpoints on one side (both serve them under /api/v1/drf/auth/), plus simplejwt's own
 * views on Django. `origin()` is read at each call: Django's server is restarted in between.
 */
function side(name, origin) {
  const api = (path) => `${origin()}/api/v1/drf/auth/${path}`;
  return {
    name,
    api,
    register: (user) => request(api("register/"), { json: { ...user, password_confirm: user.password } }),
    login: (email, password) => request(api("login/"), { json: { email, password } }),
    refresh: (refresh_token) => request(api("token/refresh/"), { json: { refresh_token } }),
    logout: (access, refresh_token) => request(api("logout/"), { json: { refresh_token }, token: access }),
    me: (access) => request(api("me/"), { method: "GET", token: access }),
    patchMe: (access, changes) => request(api("me/"), { method: "PATCH", json: changes, token: access }),
    changePassword: (access, old_password, new_password) =>
      request(api("change-password/"), { json: { old_password, new_password, new_password_confirm: new_password }, token: access }),
  };
}

// ---------------------------------------------------------------------------------------------
// The two servers

let site; // the worker's harness site
let worker; // its running server
let djangoServer; // see startDjango()
let scratch; // Django's database and logs

const W = side("worker", () => worker.origin);
const D = side("django", () => djangoServer.origin);
Object.assign(W, {
  logoutAll: (access) => request(W.api("logout-all/"), { token: access }),
  introspect: (token, client = INTROSPECTION) =>
    request(`${worker.origin}/api/v1/auth/token/introspect/`, { form: { token }, basic: client }),
  resetPassword: (email) => request(W.api("password/reset/"), { json: { email } }),
  confirmReset: (uid, token, password) =>
    request(W.api("password/reset/confirm/"), { json: { uid, token, new_password1: password, new_password2: password } }),
  events: () => `${worker.origin}/api/v1/auth/sync/events/`,
});
Object.assign(D, {
  // simplejwt's own views, as a simplejwt project mounts them.
  jwtRefresh: (refresh) => request(`${djangoServer.origin}/api/token/refresh/`, { json: { refresh } }),
  jwtVerify: (token) => request(`${djangoServer.origin}/api/token/verify/`, { json: { token } }),
  jwtBlacklist: (refresh) => request(`${djangoServer.origin}/api/token/blacklist/`, { json: { refresh } }),
  events: () => `${djangoServer.origin}/edge-auth/events/`,
  lookup: () => `${djangoServer.origin}/edge-auth/users/lookup/`,
});

const djangoEnv = (port) => ({
  ...process.env,
  PYTHONUNBUFFERED: "1",
  DJANGO_SETTINGS_MODULE: "site_config.settings",
  DJANGO_SECRET_KEY,
  JWT_SIGNING_KEY: SIGNING_KEY,
  EDGE_AUTH_URL: `${worker.origin}/api/v1/auth/`,
  EDGE_AUTH_SHARED_SECRET: SHARED_SECRET,
  DJANGO_DB_PATH: join(scratch, "db.sqlite3"),
  PBKDF2_ITERATIONS: String(ITERATIONS),
  DJANGO_PORT: String(port),
});

/** Runs a manage.py command to completion; returns its stdout. */
function manage(args) {
  try {
    return execFileSync(python, ["manage.py", ...args], {
      cwd: project,
      env: djangoEnv(djangoServer.port),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    throw new Error(`manage.py ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

const djangoGroups = new Set();
process.once("exit", () => {
  for (const pid of djangoGroups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

/** A long-running manage.py command in its own process group, its output appended to `log`. */
function spawnManage(args, log) {
  const fd = openSync(log, "a");
  const child = spawn(python, ["manage.py", ...args], {
    cwd: project,
    env: djangoEnv(djangoServer.port),
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  djangoGroups.add(child.pid);
  return child;
}

async function stopGroup(child) {
  if (!child || !djangoGroups.has(child.pid)) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // gone
  }
  const end = performance.now() + 10_000;
  while (groupAlive(child.pid) && performance.now() < end) await sleep(50);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
  djangoGroups.delete(child.pid);
}

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

/**
 * Django's runserver on `djangoServer.port` (threaded, no reloader) and the companion's outbox
 * watcher (`edge_auth_sync --watch`, as a deployment runs it), each in its own process group.
 * Ready once me/ answers 401 without credentials.
 */
async function startDjango() {
  const { port } = djangoServer;
  assert.equal(await accepts(port), false, `port ${port} is free before Django starts`);
  const log = join(scratch, "django.log");
  const started = performance.now();
  djangoServer.runserver = spawnManage(["runserver", `127.0.0.1:${port}`, "--noreload"], log);
  djangoServer.watcher = spawnManage(["edge_auth_sync", "--watch"], join(scratch, "edge_auth_sync.log"));
  for (;;) {
    const { runserver } = djangoServer;
    if (runserver.exitCode !== null || runserver.signalCode !== null) {
      throw new Error(`runserver exited before serving:\n${readFileSync(log, "utf8").slice(-3000)}`);
    }
    if (performance.now() - started > 60_000) throw new Error("runserver did not answer within 60 s");
    try {
      const response = await request(`${djangoServer.origin}/api/v1/drf/auth/me/`, { method: "GET" });
      if (response.status === 401) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return performance.now() - started;
}

async function stopDjango() {
  await stopGroup(djangoServer.watcher);
  await stopGroup(djangoServer.runserver);
  const end = performance.now() + 10_000;
  while ((await accepts(djangoServer.port)) && performance.now() < end) await sleep(50);
}

const timings = [];

before(async () => {
  ensureVenv();
  scratch = mkdtempSync(join(os.tmpdir(), "edge-auth-coexist-"));
  const port = await freePort();
  djangoServer = { port, origin: `http://127.0.0.1:${port}` };
  site = await prepareLocalWorker({
    keep: KEEP,
    secrets: {
      JWT_SIGNING_KEY: SIGNING_KEY,
      DJANGO_SYNC_SECRET: SHARED_SECRET,
      INTROSPECTION_CLIENT_SECRET: INTROSPECTION.secret,
      DJANGO_SECRET_KEY,
    },
  });
  worker = await site.serve({
    vars: {
      DJANGO_SYNC_URL: `${djangoServer.origin}/edge-auth/`,
      INTROSPECTION_CLIENT_ID: INTROSPECTION.id,
      PBKDF2_ITERATIONS: String(ITERATIONS),
      LOGIN_BACKOFF_THRESHOLD: "1000000",
      REFRESH_REUSE_INTERVAL_SECS: "1",
      // The Queue's back-off between deliveries of one event, capped low: the outage test waits for it.
      SYNC_RETRY_MAX_DELAY_SECS: "5",
    },
  });
  timings.push(["wrangler dev ready", worker.startMs]);
  manage(["migrate", "--verbosity", "0"]);
  timings.push(["runserver ready", await startDjango()]);
});

after(async () => {
  if (djangoServer) await stopDjango();
  const workerLog = worker?.logPath;
  if (site) await site.dispose();
  if (scratch && !KEEP) rmSync(scratch, { recursive: true, force: true });
  if (KEEP) console.error(`kept ${scratch} (Django) and ${workerLog} (wrangler dev)`);
  console.log(timings.map(([what, ms]) => `# ${what}: ${(ms / 1000).toFixed(2)} s`).join("\n"));
});

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Polls `probe` (resolving { ok, seen }) until ok or `deadlineMs`; records how long it took under
 * `what` and fails with the last thing seen.
 */
async function eventually(what, probe, { deadlineMs = DEADLINE_MS, every = 150 } = {}) {
  const started = performance.now();
  let last;
  for (;;) {
    last = await probe();
    if (last.ok) {
      timings.push([what, performance.now() - started]);
      return last;
    }
    if (performance.now() - started > deadlineMs) {
      assert.fail(`${what}: not within ${deadlineMs / 1000} s; last seen: ${last.seen}`);
    }
    await sleep(every);
  }
}

const statusIs = (status, call) => async () => {
  const response = await call();
  return { ok: response.status === status, seen: show(response), response };
};

let serial = 0;
function newUser(label) {
  serial += 1;
  return {
    email: `${label}.${serial}.${Date.now()}@example.com`,
    password: newPassword(),
    first_name: "Coexist",
    last_name: `${label}${serial}`,
  };
}
const newPassword = () => `pw-${randomBytes(8).toString("hex")}-Zq`;

/** A user registered on the worker and known to Django (its user.created delivered): the registration's body. */
async function userOnBoth(label) {
  const user = newUser(label);
  const registered = await W.register(user);
  assert.equal(registered.status, 201, show(registered));
  await eventually(`${label}: a worker registration reaches Django`, statusIs(200, () => D.login(user.email, user.password)));
  return { ...user, id: registered.body.user.id, tokens: registered.body };
}

async function workerSession(user) {
  const response = await W.login(user.email, user.password);
  assert.equal(response.status, 200, show(response));
  return response.body;
}

async function djangoSession(user) {
  const response = await D.login(user.email, user.password);
  assert.equal(response.status, 200, show(response));
  return response.body;
}

/** Django's read-only view of a refresh token: simplejwt's verify view says whether it is blacklisted. */
const blacklistedOnDjango = (refresh) => async () => {
  const response = await D.jwtVerify(refresh);
  return { ok: response.status !== 200 && /blacklisted/.test(response.text), seen: show(response) };
};

/** The worker's read-only view of a token: introspection. */
const inactiveOnWorker = (token) => async () => {
  const response = await W.introspect(token);
  return { ok: response.status === 200 && response.body?.active === false, seen: show(response) };
};

async function assertRefreshRefusedOnDjango(refresh) {
  for (const response of [await D.refresh(refresh), await D.jwtRefresh(refresh)]) {
    assert.equal(response.status, 401, show(response));
    assert.deepEqual(response.body, BLACKLISTED);
  }
}

async function assertRefreshRefusedOnWorker(refresh) {
  const response = await W.refresh(refresh);
  assert.equal(response.status, 401, show(response));
  assert.equal(response.body.code, "token_not_valid", show(response));
}

/** Django's encoded PBKDF2 hash, made here (the format both sides read). */
function djangoHash(password, iterations = ITERATIONS) {
  const salt = randomBytes(16).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 22).padEnd(22, "a");
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

/** PROTOCOL.md's signature header for `body` at time `t`. */
function signature(body, { t = nowSecs(), secret = SHARED_SECRET } = {}) {
  const v1 = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${t}.`).update(body).digest("hex");
  return `t=${t},v1=${v1}`;
}

function event(type, data, source) {
  return { id: randomBytes(16).toString("hex"), type, occurred_at: nowSecs(), source, data };
}

/** POSTs `body` (a string) to a receiver with this signature header (none when null). */
const deliver = (url, body, header) =>
  request(url, { raw: body, headers: header === null ? {} : { "edge-auth-signature": header } });

/** The mails wrangler dev's log describes so far (the send_email binding's local simulation). */
function loggedMails() {
  const lines = worker.log().replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const mails = [];
  lines.forEach((line, i) => {
    if (!line.includes("send_email binding called with MessageBuilder:")) return;
    const fields = {};
    for (const following of lines.slice(i + 1)) {
      if (!following.trim()) continue;
      const found = following.trim().match(/^(From|To|Subject|Text|HTML): (.*)$/);
      if (!found) break;
      fields[found[1]] ??= found[2].trim();
    }
    if (fields.Text) mails.push(fields);
  });
  return mails;
}

async function resetLink(email) {
  const { mail } = await eventually(`the reset mail to ${email} is logged`, async () => {
    const mail = loggedMails().find((m) => m.To === email && /Reset your password/.test(m.Subject ?? ""));
    return { ok: Boolean(mail), seen: JSON.stringify(loggedMails().map((m) => [m.To, m.Subject])), mail };
  });
  const found = readFileSync(mail.Text, "utf8").match(/\/reset-password\/([^/\s"'<>]+)\/([^/\s"'<>]+)\//);
  assert.ok(found, "the mail carries a reset link");
  return { uid: found[1], token: found[2] };
}

/** The profile fields both sides keep (PROTOCOL.md's <user>, as the profile shows them). */
const shared = (profile) => {
  const { id, uuid, email, first_name, last_name, phone_number, timezone, is_active, is_staff, is_superuser } = profile;
  return { id, uuid, email, first_name, last_name, phone_number, timezone, is_active, is_staff, is_superuser };
};

// ---------------------------------------------------------------------------------------------

describe("the setup", () => {
  test("the local wrangler.toml keeps the sync Queue: producer, consumer and dead-letter queue", () => {
    const config = readFileSync(site.config, "utf8");
    assert.match(config, /binding\s*=\s*"SYNC_QUEUE"/);
    assert.match(config, /\[\[queues\.producers\]\][^[]*queue\s*=\s*"edge-auth-sync"/);
    assert.match(config, /\[\[queues\.consumers\]\][^[]*queue\s*=\s*"edge-auth-sync"[^[]*dead_letter_queue\s*=\s*"edge-auth-sync-dlq"/);
  });
});

describe("one user base", () => {
  test("a user Django had before the companion (never announced) logs in on the worker: imported with the same id and profile", async () => {
    const user = newUser("legacy");
    const id = Number(manage(["create_legacy_user", user.email, user.password, "--first-name", "Grace", "--last-name", "Hopper"]).trim());
    assert.ok(id > 0 && id < USER_ID_START, `a Django id (${id})`);
    const onDjango = await djangoSession(user);

    const wrong = await W.login(user.email, `${user.password}-not`);
    assert.equal(wrong.status, 401, show(wrong));
    assert.deepEqual(wrong.body, LOGIN_FAILED);

    const lazy = await W.login(user.email, user.password);
    assert.equal(lazy.status, 200, show(lazy));
    assert.equal(lazy.body.user.id, id);
    assert.deepEqual(shared(lazy.body.user), shared(onDjango.user));
    // The tokens of each side are good on the other for this user now.
    assert.equal((await W.me(onDjango.access_token)).status, 200);
    assert.equal((await D.me(lazy.body.access_token)).status, 200);
  });

  test("a registration on the worker asks Django first: an address Django has gets no second account", async () => {
    const user = newUser("legacy-twin");
    manage(["create_legacy_user", user.email, user.password]);
    const twin = await W.register({ ...user, email: user.email.toUpperCase() });
    assert.equal(twin.status, 400, show(twin));
    assert.deepEqual(twin.body, { email: ["A user with this email already exists."] });
  });

  test("a user registered on Django logs in on the worker with Django's id", async () => {
    const user = newUser("django-made");
    const registered = await D.register(user);
    assert.equal(registered.status, 201, show(registered));
    const response = await W.login(user.email, user.password);
    assert.equal(response.status, 200, show(response));
    assert.equal(response.body.user.id, registered.body.user.id);
    assert.deepEqual(shared(response.body.user), shared(registered.body.user));
  });

  test("a user registered on the worker logs in on Django with the worker's id, and Django's own ids stay below it", async () => {
    const user = newUser("worker-made");
    const registered = await W.register(user);
    assert.equal(registered.status, 201, show(registered));
    assert.ok(registered.body.user.id >= USER_ID_START);
    const { response } = await eventually("a worker registration reaches Django", statusIs(200, () => D.login(user.email, user.password)));
    assert.equal(response.body.user.id, registered.body.user.id);
    assert.deepEqual(shared(response.body.user), shared(registered.body.user));
    assert.equal((await D.me(registered.body.access_token)).status, 200, "the worker's access token works on Django");

    const later = await D.register(newUser("after-worker-made"));
    assert.equal(later.status, 201, show(later));
    assert.ok(later.body.user.id < USER_ID_START, `Django's next id (${later.body.user.id}) stays below the worker's`);
  });

  test("a profile changed on either side is changed on the other", async () => {
    const user = await userOnBoth("profile");
    const patched = await W.patchMe(user.tokens.access_token, { first_name: "Changed-on-worker", timezone: "Europe/Paris" });
    assert.equal(patched.status, 200, show(patched));
    const onDjango = await djangoSession(user);
    await eventually("a worker PATCH me/ reaches Django", async () => {
      const response = await D.me(onDjango.access_token);
      return { ok: response.body?.first_name === "Changed-on-worker" && response.body?.timezone === "Europe/Paris", seen: show(response) };
    });
    const back = await D.patchMe(onDjango.access_token, { last_name: "Changed-on-django" });
    assert.equal(back.status, 200, show(back));
    await eventually("a Django PATCH me/ reaches the worker", async () => {
      const response = await W.me(user.tokens.access_token);
      return { ok: response.body?.last_name === "Changed-on-django", seen: show(response) };
    });
  });
});

describe("revocations made on the worker reach Django", () => {
  test("logout/: that refresh token fails on Django's refresh endpoints and that session's access token on me/; another session lives", async () => {
    const user = await userOnBoth("w-logout");
    const one = await workerSession(user);
    const two = await workerSession(user);
    const out = await W.logout(one.access_token, one.refresh_token);
    assert.equal(out.status, 200, show(out));

    await eventually("worker logout: refresh token blacklisted on Django", blacklistedOnDjango(one.refresh_token));
    await assertRefreshRefusedOnDjango(one.refresh_token);
    await eventually("worker logout: access token refused by Django", statusIs(401, () => D.me(one.access_token)));

    assert.equal((await D.me(two.access_token)).status, 200, "the other session's access token still works on Django");
    assert.equal((await D.jwtVerify(two.refresh_token)).status, 200, "the other session's refresh token is not blacklisted");
  });

  test("logout-all/: every refresh and access token of the user fails on Django; a later login works there", async () => {
    const user = await userOnBoth("w-logout-all");
    const sessions = [user.tokens, await workerSession(user), await workerSession(user)];
    const out = await W.logoutAll(sessions[1].access_token);
    assert.equal(out.status, 200, show(out));
    for (const [i, session] of sessions.entries()) {
      await eventually(`worker logout-all: refresh token ${i} blacklisted on Django`, blacklistedOnDjango(session.refresh_token));
      await assertRefreshRefusedOnDjango(session.refresh_token);
      await eventually(`worker logout-all: access token ${i} refused by Django`, statusIs(401, () => D.me(session.access_token)));
    }
    const again = await workerSession(user);
    assert.equal((await D.me(again.access_token)).status, 200, "a session made after logout-all works on Django");
  });

  test("refresh token reuse: the whole session fails on Django, the successor included", async () => {
    const user = await userOnBoth("w-reuse");
    const first = await workerSession(user);
    const rotated = await W.refresh(first.refresh_token);
    assert.equal(rotated.status, 200, show(rotated));
    const rotatedAt = nowSecs();
    await eventually("worker rotation: the consumed refresh token blacklisted on Django", blacklistedOnDjango(first.refresh_token));
    assert.equal((await D.me(rotated.body.access_token)).status, 200, "the successor works on Django before the reuse");

    // Past the reuse interval (1 s, counted in whole seconds), the consumed token again is theft.
    while (nowSecs() < rotatedAt + 2) await sleep(100);
    const reused = await W.refresh(first.refresh_token);
    assert.equal(reused.status, 401, show(reused));

    await eventually("worker reuse revocation: successor blacklisted on Django", blacklistedOnDjango(rotated.body.refresh_token));
    await assertRefreshRefusedOnDjango(rotated.body.refresh_token);
    for (const access of [first.access_token, rotated.body.access_token]) {
      await eventually("worker reuse revocation: the session's access tokens refused by Django", statusIs(401, () => D.me(access)));
    }
  });

  test("change-password/: the other sessions fail on Django, the caller's lives, and only the new password works on both", async () => {
    const user = await userOnBoth("w-password");
    const caller = await workerSession(user);
    const other = await workerSession(user);
    const onDjango = await djangoSession(user);
    await nextSecond();
    const next = newPassword();
    const changed = await W.changePassword(caller.access_token, user.password, next);
    assert.equal(changed.status, 200, show(changed));

    await eventually("worker password change: the new password logs in on Django", statusIs(200, () => D.login(user.email, next)));
    assert.deepEqual((await D.login(user.email, user.password)).body, LOGIN_FAILED);
    assert.deepEqual((await W.login(user.email, user.password)).body, LOGIN_FAILED);
    assert.equal((await W.login(user.email, next)).status, 200);

    for (const session of [other, onDjango, user.tokens]) {
      await eventually("worker password change: another session's refresh token blacklisted on Django", blacklistedOnDjango(session.refresh_token));
      await assertRefreshRefusedOnDjango(session.refresh_token);
      await eventually("worker password change: another session's access token refused by Django", statusIs(401, () => D.me(session.access_token)));
    }
    assert.equal((await D.me(caller.access_token)).status, 200, "the caller's session lives on Django as on the worker");
    assert.equal((await W.me(caller.access_token)).status, 200);
  });

  test("a Django session minted in the same second as a worker password change ends too", async () => {
    // As on the worker, a token without a session (Django's) issued in the cut-off's own second
    // may predate the change: it dies. Tried until minting and changing fall in one second.
    for (let attempt = 1; ; attempt += 1) {
      const user = await userOnBoth(`w-password-same-second-${attempt}`);
      const caller = await workerSession(user);
      await nextSecond();
      const onDjango = await djangoSession(user);
      assert.equal((await W.changePassword(caller.access_token, user.password, newPassword())).status, 200);
      if (nowSecs() !== claims(onDjango.refresh_token).iat) {
        assert.ok(attempt < 5, "minting and changing never fell in one second");
        continue;
      }
      await eventually("same second: Django's refresh token blacklisted on Django", blacklistedOnDjango(onDjango.refresh_token));
      await eventually("same second: Django's access token refused by Django", statusIs(401, () => D.me(onDjango.access_token)));
      break;
    }
  });

  test("password/reset/ + confirm: only the new password works on both, and every session fails on Django", async () => {
    const user = await userOnBoth("w-reset");
    const session = await workerSession(user);
    const requested = await W.resetPassword(user.email);
    assert.equal(requested.status, 200, show(requested));
    const { uid, token } = await resetLink(user.email);
    const next = newPassword();
    const confirmed = await W.confirmReset(uid, token, next);
    assert.equal(confirmed.status, 200, show(confirmed));

    await eventually("worker reset: the new password logs in on Django", statusIs(200, () => D.login(user.email, next)));
    assert.deepEqual((await D.login(user.email, user.password)).body, LOGIN_FAILED);
    assert.deepEqual((await W.login(user.email, user.password)).body, LOGIN_FAILED);
    for (const tokens of [session, user.tokens]) {
      await eventually("worker reset: access tokens refused by Django", statusIs(401, () => D.me(tokens.access_token)));
      await eventually("worker reset: refresh tokens blacklisted on Django", blacklistedOnDjango(tokens.refresh_token));
    }
  });
});

describe("revocations made on Django reach the worker", () => {
  test("logout/ on Django with Django's tokens: that refresh token fails on the worker; another lives", async () => {
    const user = await userOnBoth("d-logout");
    const one = await djangoSession(user);
    const two = await djangoSession(user);
    const out = await D.logout(one.access_token, one.refresh_token);
    assert.equal(out.status, 200, show(out));

    await eventually("Django logout: the refresh token inactive on the worker", inactiveOnWorker(one.refresh_token));
    await assertRefreshRefusedOnWorker(one.refresh_token);
    // Django's access token carries no session: simplejwt lets it live until it expires, and so does the worker.
    assert.equal((await D.me(one.access_token)).status, (await W.me(one.access_token)).status, "both sides agree on its access token");

    const refreshed = await W.refresh(two.refresh_token);
    assert.equal(refreshed.status, 200, `the other session still refreshes on the worker: ${show(refreshed)}`);
  });

  test("logout/ on Django with the worker's tokens: that session fails on the worker's token/refresh/ and me/", async () => {
    const user = await userOnBoth("d-logout-w");
    const one = await workerSession(user);
    const two = await workerSession(user);
    const out = await D.logout(one.access_token, one.refresh_token);
    assert.equal(out.status, 200, show(out));

    await eventually("Django logout of a worker session: its access token refused by the worker", statusIs(401, () => W.me(one.access_token)));
    await assertRefreshRefusedOnWorker(one.refresh_token);
    assert.equal((await W.me(two.access_token)).status, 200, "the other session lives on the worker");
  });

  test("simplejwt's blacklist view on Django with a worker refresh token: it fails on the worker", async () => {
    const user = await userOnBoth("d-blacklist");
    const session = await workerSession(user);
    const out = await D.jwtBlacklist(session.refresh_token);
    assert.equal(out.status, 200, show(out));
    await eventually("Django blacklist view: the refresh token inactive on the worker", inactiveOnWorker(session.refresh_token));
    await assertRefreshRefusedOnWorker(session.refresh_token);
  });

  test("simplejwt's rotation on Django of a worker refresh token: the old one fails on the worker, the new one works", async () => {
    const user = await userOnBoth("d-rotate");
    const session = await workerSession(user);
    const rotated = await D.jwtRefresh(session.refresh_token);
    assert.equal(rotated.status, 200, show(rotated));
    await eventually("Django rotation: the consumed refresh token inactive on the worker", inactiveOnWorker(session.refresh_token));
    assert.equal(claims(rotated.body.refresh).sid, claims(session.refresh_token).sid, "simplejwt keeps the sid claim");
    assert.equal((await W.me(session.access_token)).status, 200, "a rotation ends no session");
    const next = await W.refresh(rotated.body.refresh);
    assert.equal(next.status, 200, `Django's successor refreshes on the worker: ${show(next)}`);
  });

  test("change-password/ on Django: every session fails on the worker, and only the new password works on both", async () => {
    const user = await userOnBoth("d-password");
    const sessions = [user.tokens, await workerSession(user), await workerSession(user)];
    const onDjango = await djangoSession(user);
    await nextSecond();
    const next = newPassword();
    const changed = await D.changePassword(onDjango.access_token, user.password, next);
    assert.equal(changed.status, 200, show(changed));

    await eventually("Django password change: the new password logs in on the worker", statusIs(200, () => W.login(user.email, next)));
    assert.deepEqual((await W.login(user.email, user.password)).body, LOGIN_FAILED);
    assert.deepEqual((await D.login(user.email, user.password)).body, LOGIN_FAILED);
    for (const [i, session] of sessions.entries()) {
      await eventually(`Django password change: worker access token ${i} refused`, statusIs(401, () => W.me(session.access_token)));
      await assertRefreshRefusedOnWorker(session.refresh_token);
    }
    await eventually("Django password change: Django's refresh token inactive on the worker", inactiveOnWorker(onDjango.refresh_token));
  });

  test("an account deactivated on Django is refused by the worker's login/, me/ and token/refresh/", async () => {
    const user = await userOnBoth("d-deactivate");
    const session = await workerSession(user);
    manage(["deactivate_user", user.email]);
    assert.deepEqual((await D.login(user.email, user.password)).body, LOGIN_FAILED);

    const { response } = await eventually("Django deactivation: the worker refuses the login", statusIs(401, () => W.login(user.email, user.password)));
    assert.deepEqual(response.body, LOGIN_FAILED);
    await eventually("Django deactivation: the worker refuses me/", statusIs(401, () => W.me(session.access_token)));
    await assertRefreshRefusedOnWorker(session.refresh_token);
  });

  test("a login on Django that upgrades an older hash is not a password change: no session ends on the worker", async () => {
    // A user from an older Django (a lower PBKDF2 cost), brought over by a lazy login.
    const user = newUser("d-upgrade");
    manage(["create_legacy_user", user.email, user.password, "--iterations", String(ITERATIONS - 100)]);
    const session = await workerSession(user);
    // Django's login re-hashes the password at its cost and saves it: a user.updated with a new hash.
    const onDjango = await djangoSession(user);
    // Then a change that does travel: once it has arrived, what Django sent before it has too.
    assert.equal((await D.patchMe(onDjango.access_token, { first_name: "Upgraded" })).status, 200);
    await eventually("a Django PATCH me/ reaches the worker", async () => {
      const response = await W.me(session.access_token);
      return { ok: response.body?.first_name === "Upgraded", seen: show(response) };
    });
    assert.equal((await W.me(session.access_token)).status, 200, "the worker session lives");
    const refreshed = await W.refresh(session.refresh_token);
    assert.equal(refreshed.status, 200, `its refresh token too: ${show(refreshed)}`);
    assert.equal((await W.login(user.email, user.password)).status, 200);
    assert.equal((await D.me(onDjango.access_token)).status, 200, "and Django's session");
  });
});

describe("token introspection (RFC 7662) for other resource servers", () => {
  test("answers a live token's claims, and { active: false } once Django has revoked it", async () => {
    const user = await userOnBoth("introspect");
    const onDjango = await djangoSession(user);
    const live = await W.introspect(onDjango.refresh_token);
    assert.equal(live.status, 200, show(live));
    assert.equal(live.body.active, true);
    assert.equal(String(live.body.user_id), String(user.id));
    assert.equal(live.body.jti, claims(onDjango.refresh_token).jti);

    const viaJson = await request(`${worker.origin}/api/v1/auth/token/introspect/`, { json: { token: user.tokens.access_token }, basic: INTROSPECTION });
    assert.equal(viaJson.status, 200, show(viaJson));
    assert.equal(viaJson.body.active, true);

    assert.equal((await D.logout(onDjango.access_token, onDjango.refresh_token)).status, 200);
    const { seen } = await eventually("Django logout: introspection says inactive", inactiveOnWorker(onDjango.refresh_token));
    assert.match(seen, /^200 /);

    // A password change on Django ends every older session: the worker's access token too.
    const next = newPassword();
    const session = await djangoSession(user);
    assert.equal((await D.changePassword(session.access_token, user.password, next)).status, 200);
    await eventually("Django password change: introspection of an older access token says inactive", inactiveOnWorker(user.tokens.access_token));
    const dead = await W.introspect(user.tokens.access_token);
    assert.deepEqual(dead.body, { active: false }, "an inactive token's answer says nothing more");
  });

  test("a client with a wrong secret, an unknown id or no credentials gets 401", async () => {
    const user = await userOnBoth("introspect-client");
    for (const client of [{ ...INTROSPECTION, secret: `${INTROSPECTION.secret}x` }, { ...INTROSPECTION, id: "someone-else" }, null]) {
      const response = await request(`${worker.origin}/api/v1/auth/token/introspect/`, { form: { token: user.tokens.access_token }, basic: client ?? undefined });
      assert.equal(response.status, 401, `${JSON.stringify(client?.id)}: ${show(response)}`);
      assert.equal(response.body?.active, undefined, "no claims to a bad client");
    }
  });
});

describe("signed events", () => {
  // The same attacks on both receivers, with a password change (what an attacker would want).
  for (const [receiver, url, source, client] of [
    ["the worker", () => W.events(), "django", W],
    ["Django", () => D.events(), "edge-auth", D],
  ]) {
    test(`${receiver} refuses unsigned, mis-signed, tampered, stale and replayed events, and applies a good one once`, async () => {
      const user = await userOnBoth(`events-${source}`);
      const wanted = newPassword();
      const good = JSON.stringify(event("user.password_changed", { user_id: user.id, password: djangoHash(wanted) }, source));
      const attacker = newPassword();
      const tampered = good.replace(/"password":"[^"]*"/, `"password":"${djangoHash(attacker)}"`);
      assert.notEqual(tampered, good);

      const refusals = [
        ["no signature", good, null, INVALID_SIGNATURE],
        ["a malformed header", good, "v1=00", INVALID_SIGNATURE],
        ["another secret", good, signature(good, { secret: `${SHARED_SECRET}x` }), INVALID_SIGNATURE],
        ["a tampered body", tampered, signature(good), INVALID_SIGNATURE],
        ["a signature 10 minutes old", good, signature(good, { t: nowSecs() - 600 }), SIGNATURE_EXPIRED],
        ["a signature 10 minutes ahead", good, signature(good, { t: nowSecs() + 600 }), SIGNATURE_EXPIRED],
      ];
      for (const [what, body, header, expected] of refusals) {
        const response = await deliver(url(), body, header);
        assert.equal(response.status, 401, `${what}: ${show(response)}`);
        assert.deepEqual(response.body, expected, what);
      }
      for (const password of [wanted, attacker]) {
        assert.deepEqual((await client.login(user.email, password)).body, LOGIN_FAILED, "nothing refused was applied");
      }
      assert.equal((await client.login(user.email, user.password)).status, 200);

      const header = signature(good);
      const applied = await deliver(url(), good, header);
      assert.equal(applied.status, 200, show(applied));
      assert.deepEqual(applied.body, APPLIED);
      assert.equal((await client.login(user.email, wanted)).status, 200, "the good event is applied");

      // The password moves on; the same event again (as it was, or signed afresh) changes nothing.
      const session = await workerOrDjangoSession(client, user.email, wanted);
      const third = newPassword();
      assert.equal((await client.changePassword(session.access_token, wanted, third)).status, 200);
      for (const [what, replayHeader] of [["the same request", header], ["signed afresh", signature(good, { t: nowSecs() + 1 })]]) {
        const replayed = await deliver(url(), good, replayHeader);
        assert.equal(replayed.status, 409, `${what}: ${show(replayed)}`);
        assert.deepEqual(replayed.body, ALREADY_RECEIVED);
      }
      assert.deepEqual((await client.login(user.email, wanted)).body, LOGIN_FAILED, "the replay did not set the old hash again");
      assert.equal((await client.login(user.email, third)).status, 200);
    });
  }

  test("Django's user lookup answers only signed requests (it returns password hashes)", async () => {
    const user = await userOnBoth("lookup");
    const body = JSON.stringify({ email: user.email });
    for (const [what, header, expected] of [
      ["no signature", null, INVALID_SIGNATURE],
      ["another secret", signature(body, { secret: `${SHARED_SECRET}x` }), INVALID_SIGNATURE],
      ["a stale signature", signature(body, { t: nowSecs() - 600 }), SIGNATURE_EXPIRED],
    ]) {
      const response = await deliver(D.lookup(), body, header);
      assert.equal(response.status, 401, `${what}: ${show(response)}`);
      assert.deepEqual(response.body, expected, what);
      assert.doesNotMatch(response.text, /pbkdf2/);
    }
    const found = await deliver(D.lookup(), body, signature(body));
    assert.equal(found.status, 200, show(found));
    assert.equal(found.body.user.id, user.id);
    assert.equal(found.body.user.email, user.email);
    const unknown = JSON.stringify({ email: `nobody.${Date.now()}@example.com` });
    const missing = await deliver(D.lookup(), unknown, signature(unknown));
    assert.equal(missing.status, 404, show(missing));
  });
});

async function workerOrDjangoSession(client, email, password) {
  const response = await client.login(email, password);
  assert.equal(response.status, 200, show(response));
  return response.body;
}

describe("a Django outage", () => {
  test("changes made on the worker while Django is down are queued and applied once it is back", async () => {
    const user = await userOnBoth("outage");
    const caller = await workerSession(user);
    const leaving = await workerSession(user);
    const bystander = await workerSession(user);

    await stopDjango();
    const downAt = performance.now();
    // Registration needs Django's answer first (an address must never get two accounts).
    const blocked = await W.register(newUser("outage-register"));
    assert.equal(blocked.status, 503, show(blocked));
    assert.deepEqual(blocked.body, { detail: "Service temporarily unavailable, try again later." });

    assert.equal((await W.patchMe(caller.access_token, { first_name: "Queued" })).status, 200);
    assert.equal((await W.logout(leaving.access_token, leaving.refresh_token)).status, 200);
    const next = newPassword();
    assert.equal((await W.changePassword(caller.access_token, user.password, next)).status, 200);
    // Long enough for the Queue's consumer to have tried and failed at least once.
    await sleep(5000);

    timings.push(["runserver restarted", await startDjango()]);
    timings.push(["Django down", performance.now() - downAt]);
    const opts = { deadlineMs: OUTAGE_DEADLINE_MS };
    await eventually("after the outage: the new password logs in on Django", statusIs(200, () => D.login(user.email, next)), opts);
    assert.deepEqual((await D.login(user.email, user.password)).body, LOGIN_FAILED);
    await eventually("after the outage: the logged-out refresh token blacklisted on Django", blacklistedOnDjango(leaving.refresh_token), opts);
    await eventually("after the outage: the logged-out access token refused by Django", statusIs(401, () => D.me(leaving.access_token)), opts);
    await eventually("after the outage: the other sessions' tokens refused by Django", statusIs(401, () => D.me(bystander.access_token)), opts);
    await eventually("after the outage: the profile change on Django", async () => {
      const response = await D.me(caller.access_token);
      return { ok: response.body?.first_name === "Queued", seen: show(response) };
    }, opts);

    // And the system is whole again: a registration on the worker goes through and reaches Django.
    const late = newUser("after-outage");
    assert.equal((await W.register(late)).status, 201);
    await eventually("after the outage: a new worker registration reaches Django", statusIs(200, () => D.login(late.email, late.password)));
  });
});
