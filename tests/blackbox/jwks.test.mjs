// Third-party verification: optional Ed25519 signing, the published key set, and claim names.
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { DRF, decodeSegment, startWorker } from "../support.mjs";

const SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const JWKS = "http://edge-auth.test/.well-known/jwks.json";

/** Verifies a compact JWS with a JWK the way any third party would, with node's own crypto. */
function verifiesWith(jwk, token) {
  const [header, payload, signature] = token.split(".");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"));
}

describe("with HS256 only (the default)", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker?.dispose());

  test("the key set is published and empty", async () => {
    const response = await worker.fetch(JWKS);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { keys: [] });
  });
});

describe("with an Ed25519 signing key", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ JWT_ED25519_PRIVATE_KEY: SEED, JWT_ED25519_KID: "2026-11" });
  });
  after(() => worker?.dispose());

  test("tokens are EdDSA-signed with the published kid and verify against the key set", async () => {
    const user = await worker.register();
    const { body: jwks } = await worker.fetch(JWKS);
    assert.equal(jwks.keys.length, 1);
    const [jwk] = jwks.keys;
    assert.deepEqual({ ...jwk, x: undefined }, { kty: "OKP", crv: "Ed25519", kid: "2026-11", alg: "EdDSA", use: "sig", x: undefined });
    for (const token of [user.access_token, user.refresh_token]) {
      assert.deepEqual(decodeSegment(token, 0), { alg: "EdDSA", typ: "JWT", kid: "2026-11" });
      assert.ok(verifiesWith(jwk, token));
    }
    const forged = user.access_token.slice(0, -4) + (user.access_token.endsWith("AAAA") ? "BBBB" : "AAAA");
    assert.ok(!verifiesWith(jwk, forged));
  });

  test("EdDSA tokens work on every endpoint, refresh included", async () => {
    const user = await worker.register();
    assert.equal((await worker.fetch(`${DRF}/me/`, { token: user.access_token })).status, 200);
    const refreshed = await worker.post(`${DRF}/token/refresh/`, { refresh_token: user.refresh_token });
    assert.equal(refreshed.status, 200);
    assert.equal(decodeSegment(refreshed.body.access_token, 0).alg, "EdDSA");
  });
});

describe("with renamed claims for a FastAPI side", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ USER_ID_CLAIM: "sub" });
  });
  after(() => worker?.dispose());

  test("the user id travels in the configured claim", async () => {
    const user = await worker.register();
    const claims = decodeSegment(user.access_token, 1);
    assert.equal(claims.sub, String(user.user.id));
    assert.equal(claims.user_id, undefined);
    assert.equal((await worker.fetch(`${DRF}/me/`, { token: user.access_token })).status, 200);
  });
});
