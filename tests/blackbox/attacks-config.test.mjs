// Issue 10, finding 10: an absolute session lifetime, optional `iss`/`aud` claims, a missing rate
// limiting binding as a misconfiguration, and shipped per-IP limits in line with the anchors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { DRF, decodeSegment, startWorker } from "../support.mjs";
import { assertResponse, claimsFor, me, mintToken } from "./helpers.mjs";

const refresh = (worker, token) => worker.post(`${DRF}/token/refresh/`, { refresh_token: token });

describe("REFRESH_SESSION_MAX_LIFETIME_SECS bounds a session however often it rotates", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ REFRESH_SESSION_MAX_LIFETIME_SECS: "2" });
  });
  after(() => worker?.dispose());

  test("a session kept in use by rotation is refused once it is older than the lifetime", async () => {
    const user = await worker.register();
    await sleep(500);
    const rotated = await refresh(worker, user.refresh_token);
    assert.equal(rotated.status, 200, `young enough: ${rotated.text}`);
    await sleep(2800);
    const late = await refresh(worker, rotated.body.refresh_token);
    assert.equal(late.status, 401, late.text);
    assert.equal(late.body.code, "token_not_valid");
    assert.ok(["Token is expired", "Token is blacklisted"].includes(late.body.detail), late.text);
  });
});

describe("JWT_ISSUER and JWT_AUDIENCE", () => {
  const ISSUER = "https://auth.example.com";
  const AUDIENCE = "edge-api";
  let worker;
  let user;
  before(async () => {
    worker = await startWorker({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    user = await worker.register();
  });
  after(() => worker?.dispose());

  const access = (extra) => mintToken(claimsFor(user.user.id, extra));
  const refreshToken = (extra) => mintToken(claimsFor(user.user.id, { type: "refresh", lifetime: 604800, ...extra }));

  test("tokens the worker issues carry iss and aud", async () => {
    for (const token of [user.access_token, user.refresh_token]) {
      const claims = decodeSegment(token, 1);
      assert.equal(claims.iss, ISSUER);
      assert.equal(claims.aud, AUDIENCE);
    }
  });

  test("a token minted without iss and aud is refused by me/ and token/refresh/", async () => {
    assert.equal((await me(worker, access({}))).status, 401);
    const refreshed = await refresh(worker, refreshToken({}));
    assert.equal(refreshed.status, 401, refreshed.text);
    assert.equal(refreshed.body.code, "token_not_valid");
  });

  test("a token minted with the right iss and aud is accepted by me/ and token/refresh/", async () => {
    const fetched = await me(worker, access({ iss: ISSUER, aud: AUDIENCE }));
    assert.equal(fetched.status, 200, fetched.text);
    const refreshed = await refresh(worker, refreshToken({ iss: ISSUER, aud: AUDIENCE }));
    assert.equal(refreshed.status, 200, refreshed.text);
  });

  test("a token minted for another audience, or by another issuer, is refused", async () => {
    for (const claims of [{ iss: ISSUER, aud: "another-api" }, { iss: "https://evil.example.com", aud: AUDIENCE }]) {
      assert.equal((await me(worker, access(claims))).status, 401, JSON.stringify(claims));
      assert.equal((await refresh(worker, refreshToken(claims))).status, 401, JSON.stringify(claims));
    }
  });

  test("without the vars, tokens carry no iss or aud", async () => {
    const plain = await startWorker();
    try {
      const other = await plain.register();
      for (const token of [other.access_token, other.refresh_token]) {
        const claims = decodeSegment(token, 1);
        assert.ok(!("iss" in claims) && !("aud" in claims), JSON.stringify(claims));
      }
    } finally {
      await plain.dispose();
    }
  });
});

describe("a missing rate limiting binding is a misconfiguration, not a silent skip", () => {
  const MISCONFIGURED = { detail: "Server misconfigured." };

  test("without LOGIN_RATE_LIMITER, login/ answers 503", async () => {
    const worker = await startWorker({}, { limits: { LOGIN_RATE_LIMITER: null } });
    try {
      const response = await worker.post(`${DRF}/login/`, { email: "someone@example.com", password: "some-password" });
      assertResponse(response, 503, MISCONFIGURED);
    } finally {
      await worker.dispose();
    }
  });

  test("without REFRESH_RATE_LIMITER, token/refresh/ answers 503", async () => {
    const worker = await startWorker({}, { limits: { REFRESH_RATE_LIMITER: null } });
    try {
      assertResponse(await refresh(worker, "x"), 503, MISCONFIGURED);
    } finally {
      await worker.dispose();
    }
  });
});

describe("the shipped wrangler.toml", () => {
  /** The `[[ratelimits]]` blocks of wrangler.toml, by name: { limit, period }. */
  function shippedRateLimits() {
    const toml = readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8")
      .replace(/#.*$/gm, "");
    const blocks = toml.split(/^\s*\[/m).filter((block) => block.startsWith("[ratelimits]]"));
    return Object.fromEntries(blocks.map((block) => {
      const name = block.match(/^\s*name\s*=\s*"([^"]+)"/m)?.[1];
      const limit = Number(block.match(/\blimit\s*=\s*(\d+)/)?.[1]);
      const period = Number(block.match(/\bperiod\s*=\s*(\d+)/)?.[1]);
      return [name, { limit, period }];
    }));
  }

  test("declares the per-IP, password-check and refresh rate limiting bindings", () => {
    const limits = shippedRateLimits();
    for (const name of ["IP_RATE_LIMITER", "LOGIN_RATE_LIMITER", "REFRESH_RATE_LIMITER"]) {
      assert.ok(name in limits, `${name} in ${JSON.stringify(limits)}`);
    }
  });

  // The anchors: GoTrue allows 30 sign-ins per 5 minutes, better-auth 3 per 10 s.
  // The binding's period is 10 or 60 seconds; the budgets are compared per minute.
  const perMinute = ({ limit, period } = {}) => {
    assert.ok([10, 60].includes(period), `period ${period}`);
    assert.ok(limit >= 1, `limit ${limit}`);
    return (limit * 60) / period;
  };

  test("limits password checks to at most 10 a minute per IP", () => {
    const rate = perMinute(shippedRateLimits().LOGIN_RATE_LIMITER);
    assert.ok(rate <= 10, `${rate} a minute`);
  });

  test("limits refreshes to at most 60 a minute per IP", () => {
    const rate = perMinute(shippedRateLimits().REFRESH_RATE_LIMITER);
    assert.ok(rate <= 60, `${rate} a minute`);
  });
});
