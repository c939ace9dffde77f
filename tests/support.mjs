// One Miniflare instance per test file, running the built worker (build/worker/shim.mjs) with
// its static assets (build/assets/) as wrangler.toml binds them, fresh in-memory D1 and KV,
// migrations applied, and short work factors so the suite is quick.
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";

const root = fileURLToPath(new URL("..", import.meta.url));

export const DRF = "http://edge-auth.test/api/v1/drf/auth";
export const SHORT = "http://edge-auth.test/api/v1/auth";
export const SIGNING_KEY = "blackbox-signing-key-0123456789abcdefghij";
export const ORIGIN = "https://app.example.com";

/**
 * Starts the worker; `vars` override the test defaults (strings, as in wrangler.toml).
 * `ipLimit` sets every per-IP rate limit (generous by default, so the suite never trips it);
 * `limits` sets single bindings by name, e.g. `{ LOGIN_RATE_LIMITER: 3 }`.
 * With `DJANGO_SYNC_URL` among `vars`, the sync queue is bound as wrangler.toml binds it (producer
 * `SYNC_QUEUE`, this worker its consumer, a dead-letter queue); `queues: false` leaves it out.
 * `assets` is the static-assets directory (default build/assets/); `assets: false` binds none.
 */
export async function startWorker(vars = {}, options = {}) {
  // A workerd process that never comes up (seen once on a loaded 2-core machine) must not hang
  // the suite: give it a bounded time, then one fresh try.
  // Likewise a setup step that fails inside Miniflare itself (seen once under heavy load: its
  // synchronous D1 proxy woke without the answer, an AssertionError from SynchronousFetcher).
  try {
    return await withTimeout(launch(vars, options), STARTUP_MS);
  } catch (error) {
    console.error(`worker start failed, trying once more: ${error?.message ?? error}`);
    return await withTimeout(launch(vars, options), STARTUP_MS);
  }
}

const STARTUP_MS = 60_000;

class StartupTimeout extends Error {}

function withTimeout(promise, ms) {
  let timedOut = false;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new StartupTimeout(`worker did not start within ${ms} ms`));
    }, ms);
  });
  // A launch that completes after its timeout is disposed, not leaked.
  promise.then((worker) => timedOut && worker.dispose(), () => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The per-IP rate limiting bindings (wrangler.toml's `[[ratelimits]]`). */
export const RATE_LIMITERS = ["IP_RATE_LIMITER", "LOGIN_RATE_LIMITER", "REFRESH_RATE_LIMITER"];

/** The sync queues of wrangler.toml (`[[queues.producers]]`, `[[queues.consumers]]`). */
export const SYNC_QUEUE = "edge-auth-sync";
export const SYNC_DLQ = "edge-auth-sync-dlq";

function syncQueues(vars, enabled) {
  if (!vars.DJANGO_SYNC_URL || enabled === false) return {};
  return {
    queueProducers: { SYNC_QUEUE: { queueName: SYNC_QUEUE } },
    queueConsumers: {
      [SYNC_QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 100, deadLetterQueue: SYNC_DLQ },
    },
  };
}

/**
 * wrangler.toml's `[assets]`: the directory bound as `ASSETS`, with every request going to the
 * worker first (`run_worker_first = true`), so that no file of it is served by its path.
 */
function staticAssets(directory = `${root}/build/assets`) {
  if (directory === false) return {};
  return {
    assets: {
      directory,
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
  };
}

async function launch(vars, { ipLimit = 10000, limits = {}, queues, assets } = {}) {
  const ratelimits = Object.fromEntries(
    RATE_LIMITERS.filter((name) => limits[name] !== null).map((name) => [
      name,
      { simple: { limit: limits[name] ?? ipLimit, period: 60 } },
    ]),
  );
  const log = new MailLog();
  const output = [];
  const mf = new Miniflare({
    rootPath: root,
    scriptPath: "build/worker/shim.mjs",
    modules: true,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-05-01",
    d1Databases: { DB: "edge-auth-test" },
    kvNamespaces: { TOKEN_BLACKLIST: "blacklist-test" },
    ratelimits,
    ...syncQueues(vars, queues),
    ...staticAssets(assets),
    d1Persist: false,
    // The `send_email` binding's local simulation writes each message to files and logs their
    // paths: the suite reads the mails from there, as a developer reads them under `wrangler dev`.
    email: { send_email: [{ name: "EMAIL" }] },
    log,
    // What the worker writes (its console: the access log, errors) is kept for tests that check
    // what a log line may carry; printed too when MF_LOG is set.
    handleRuntimeStdio: (stdout, stderr) => {
      for (const stream of [stdout, stderr]) {
        createInterface(stream).on("line", (line) => {
          output.push(line);
          if (process.env.MF_LOG) console.log(line);
        });
      }
    },
    kvPersist: false,
    bindings: {
      JWT_SIGNING_KEY: SIGNING_KEY,
      PBKDF2_ITERATIONS: "1000",
      ALLOWED_ORIGINS: ORIGIN,
      // The shipped default asks api.pwnedpasswords.com: no suite reaches the internet unless it
      // points PWNED_PASSWORDS_URL at its own server (tests/blackbox/breached-passwords.test.mjs).
      BREACHED_PASSWORD_CHECK: "off",
      ...vars,
    },
  });
  try {
    await mf.ready;
    const db = await mf.getD1Database("DB");
    for (const file of readdirSync(`${root}/migrations`).filter((f) => f.endsWith(".sql")).sort()) {
      const sql = readFileSync(`${root}/migrations/${file}`, "utf8").replace(/--.*$/gm, "");
      const statements = sql.split(";").map((s) => s.trim()).filter(Boolean);
      await db.batch(statements.map((s) => db.prepare(s)));
    }
    return new Worker(mf, db, log, output);
  } catch (error) {
    // A half-started worker is not left running beside the retry.
    await mf.dispose().catch(() => {});
    throw error;
  }
}

/**
 * Miniflare's log, kept: each "send_email binding called with MessageBuilder" entry becomes a
 * mail `{ from, to, subject, text, html }` (its parts read from the files it names). Printed too
 * when MF_LOG is set.
 */
class MailLog extends Log {
  constructor() {
    super(process.env.MF_LOG ? LogLevel.DEBUG : LogLevel.INFO);
    this.mails = [];
    this.waiters = new Set();
  }

  log(message) {
    if (process.env.MF_LOG) super.log(message);
    const mail = parseMail(message);
    if (!mail) return;
    this.mails.push(mail);
    for (const wake of this.waiters) wake();
  }
}

/** The mail a "send_email binding called with MessageBuilder:" log entry describes, or null. */
export function parseMail(message) {
  const text = String(message).replace(/\x1b\[[0-9;]*m/g, "");
  const at = text.indexOf("send_email binding called with MessageBuilder:");
  if (at < 0) return null;
  const field = (name) => text.slice(at).match(new RegExp(`^${name}: (.*)$`, "m"))?.[1]?.trim();
  const part = (name) => {
    const path = field(name);
    return path ? readFileSync(path, "utf8") : undefined;
  };
  return { from: field("From"), to: field("To"), subject: field("Subject"), text: part("Text"), html: part("HTML") };
}

class Worker {
  constructor(mf, db, log, output) {
    this.mf = mf;
    this.db = db;
    this.log = log;
    /** Every line the worker has written to its console so far. */
    this.output = output;
    this.emails = 0;
  }

  /** Every mail the worker has sent so far, oldest first. */
  get mails() {
    return this.log.mails;
  }

  /**
   * The first mail to `to` (and whose subject contains `subject`, if given) not taken before;
   * waits up to `timeout` ms for it (mails are sent after the response). Marks it taken.
   */
  async mail(to, { subject, timeout = 5000 } = {}) {
    const matches = (mail) =>
      !mail.taken && mail.to === to && (subject === undefined || mail.subject.includes(subject));
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.log.mails.find(matches);
      if (found) {
        found.taken = true;
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${to}${subject ? ` about "${subject}"` : ""} within ${timeout} ms`);
      await new Promise((resolve) => {
        const wake = () => {
          this.log.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.log.waiters.add(wake);
      });
    }
  }

  /** The mails to `to` so far (taken or not). */
  mailsTo(to) {
    return this.log.mails.filter((mail) => mail.to === to);
  }

  async dispose() {
    await this.mf.dispose();
  }

  /** Sends a request; a non-string `body` is sent as JSON. Returns { status, headers, body, text }. */
  async fetch(url, { method = "GET", body, headers = {}, token } = {}) {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      if (typeof body !== "string" && !("content-type" in lower(headers))) {
        init.headers["content-type"] = "application/json";
      }
    }
    if (token) init.headers.authorization = `Bearer ${token}`;
    return readResponse(await this.mf.dispatchFetch(url, init));
  }

  post(path, body, options = {}) {
    return this.fetch(path, { ...options, method: "POST", body });
  }

  /** A fresh, valid registration body. */
  newUser(overrides = {}) {
    this.emails += 1;
    const password = "correct-horse-battery-staple";
    return {
      email: `user${this.emails}.${Date.now()}@example.com`,
      password,
      password_confirm: password,
      first_name: "Ada",
      last_name: "Lovelace",
      ...overrides,
    };
  }

  /** Registers a user; returns the registration body and the 201 response body. */
  async register(overrides = {}, prefix = DRF) {
    const user = this.newUser(overrides);
    const response = await this.post(`${prefix}/register/`, user);
    if (response.status !== 201) {
      throw new Error(`register failed: ${response.status} ${response.text}`);
    }
    return { ...user, ...response.body };
  }
}

/** A response as the tests read it: status, headers, the body parsed as JSON (if it is), text. */
export async function readResponse(response) {
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, body: json, text };
}

function lower(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Decodes a JWT segment without checking anything. */
export function decodeSegment(token, index) {
  return JSON.parse(Buffer.from(token.split(".")[index], "base64url").toString("utf8"));
}
