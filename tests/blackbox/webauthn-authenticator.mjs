// A software WebAuthn authenticator and client for the black-box suite (issue 16): it answers the
// server's creation and request options (WebAuthn L3 JSON forms) with the credential JSON a
// browser's `toJSON()` gives, built byte by byte as an authenticator builds it, with keys from
// node:crypto (ES256 on P-256, EdDSA on Ed25519, RS256 with RSA 2048). Every part can be
// overridden to forge what an attacker would send (origin, RP ID, flags, counter, what is signed).
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { ORIGIN } from "../support.mjs";

// -- CBOR (RFC 8949), the subset WebAuthn needs ----------------------------------------------

/**
 * Encodes: non-negative and negative integers, byte strings (Buffer/Uint8Array), text, arrays,
 * and maps (a `Map`, keys in insertion order, int or text keys; or a plain object, text keys).
 */
export function cbor(value) {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error("only integers");
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

function head(major, n) {
  const type = major << 5;
  if (n < 24) return Buffer.from([type | n]);
  if (n < 0x100) return Buffer.from([type | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = type | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = type | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

// -- helpers ----------------------------------------------------------------------------------

export const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
export const fromB64url = (text) => Buffer.from(text, "base64url");
export const sha256 = (data) => createHash("sha256").update(data).digest();

export const ES256 = -7;
export const EDDSA = -8;
export const RS256 = -257;

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 };

/** A key pair for `alg` and its public key as a COSE_Key (a Map in CTAP2 canonical order). */
export function keyPair(alg) {
  if (alg === ES256) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { x, y } = publicKey.export({ format: "jwk" });
    const cose = new Map([[1, 2], [3, ES256], [-1, 1], [-2, fromB64url(x)], [-3, fromB64url(y)]]);
    return { privateKey, cose, hash: "sha256" };
  }
  if (alg === EDDSA) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const { x } = publicKey.export({ format: "jwk" });
    return { privateKey, cose: new Map([[1, 1], [3, EDDSA], [-1, 6], [-2, fromB64url(x)]]), hash: null };
  }
  if (alg === RS256) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const { n, e } = publicKey.export({ format: "jwk" });
    return { privateKey, cose: new Map([[1, 3], [3, RS256], [-1, fromB64url(n)], [-2, fromB64url(e)]]), hash: "sha256" };
  }
  throw new Error(`unsupported alg ${alg}`);
}

/** authenticatorData: rpIdHash || flags || signCount (BE) || attested credential data, if any. */
export function authenticatorData({ rpId, flags, counter, attested }) {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter >>> 0);
  return Buffer.concat([sha256(Buffer.from(rpId)), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)]);
}

/** attestedCredentialData: aaguid (16 zero bytes) || credentialId length (BE) || credentialId || COSE key. */
export function attestedCredentialData(credentialId, cose) {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(credentialId.length);
  return Buffer.concat([Buffer.alloc(16), length, credentialId, cbor(cose)]);
}

// -- the authenticator -----------------------------------------------------------------------

/**
 * Holds discoverable credentials (one per `create`), each with its key, user handle and counter.
 * `origin` is where the "browser" runs (the suite's ALLOWED_ORIGINS, hence the RP ID
 * app.example.com); `counter: false` makes an authenticator that never counts (always 0);
 * `backup: true` sets BE and BS (a synced passkey).
 */
export class SoftwareAuthenticator {
  constructor({ origin = ORIGIN, counter = true, backup = false, transports = ["internal"] } = {}) {
    this.origin = origin;
    this.counting = counter;
    this.backup = backup;
    this.transports = transports;
    this.credentials = [];
  }

  /**
   * navigator.credentials.create(): a RegistrationResponseJSON for PublicKeyCredentialCreationOptionsJSON.
   * `alg` picks the key (default: the first of the server's pubKeyCredParams this class supports);
   * `fmt` "none" or "packed" (self-attestation). Overrides: origin, rpId (whose hash is sent), type,
   * challenge, flags, clientData (replaces clientDataJSON's object entirely).
   */
  create(options, { alg, fmt = "none", origin, rpId, type, challenge, flags, clientData } = {}) {
    const chosen = alg ?? options.pubKeyCredParams.map((p) => p.alg).find((a) => [ES256, EDDSA, RS256].includes(a));
    const { privateKey, cose, hash } = keyPair(chosen);
    const id = randomBytes(32);
    const credential = {
      id, alg: chosen, privateKey, hash, rpId: options.rp.id, userHandle: options.user.id, counter: 0,
    };
    this.credentials.push(credential);

    const clientDataJSON = Buffer.from(JSON.stringify(clientData ?? {
      type: type ?? "webauthn.create",
      challenge: challenge ?? options.challenge,
      origin: origin ?? this.origin,
      crossOrigin: false,
    }));
    const backupFlags = this.backup ? FLAGS.BE | FLAGS.BS : 0;
    const authData = authenticatorData({
      rpId: rpId ?? options.rp.id,
      flags: flags ?? (FLAGS.UP | FLAGS.UV | FLAGS.AT | backupFlags),
      counter: this.tick(credential),
      attested: attestedCredentialData(id, cose),
    });
    const attStmt = fmt === "packed"
      ? new Map([["alg", chosen], ["sig", signWith(credential, Buffer.concat([authData, sha256(clientDataJSON)]))]])
      : new Map();
    const attestationObject = cbor(new Map([["fmt", fmt], ["attStmt", attStmt], ["authData", authData]]));
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: this.transports,
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get(): an AuthenticationResponseJSON for PublicKeyCredentialRequestOptionsJSON.
   * Uses `credential` (an id, b64url) or else the first allowed one held, or else (usernameless) the
   * newest held for the RP. Overrides: origin, rpId, type, challenge, flags, counter, userHandle,
   * signed (a function of the bytes that should be signed, returning what is signed instead),
   * credentialId (claims another id than the signing key's).
   */
  get(options, { credential: wanted, origin, rpId, type, challenge, flags, counter, userHandle, signed, credentialId } = {}) {
    const credential = this.pick(options, wanted);
    const clientDataJSON = Buffer.from(JSON.stringify({
      type: type ?? "webauthn.get",
      challenge: challenge ?? options.challenge,
      origin: origin ?? this.origin,
      crossOrigin: false,
    }));
    const backupFlags = this.backup ? FLAGS.BE | FLAGS.BS : 0;
    const authData = authenticatorData({
      rpId: rpId ?? options.rpId ?? credential.rpId,
      flags: flags ?? (FLAGS.UP | FLAGS.UV | backupFlags),
      counter: counter ?? this.tick(credential),
    });
    const data = Buffer.concat([authData, sha256(clientDataJSON)]);
    const signature = signWith(credential, signed ? signed(data) : data);
    const id = credentialId ?? b64url(credential.id);
    return {
      id,
      rawId: id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: userHandle ?? credential.userHandle,
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** The credential `get` would use. */
  pick(options, wanted) {
    const held = this.credentials;
    if (wanted) return held.find((c) => b64url(c.id) === wanted) ?? fail(`no credential ${wanted}`);
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    if (allowed.length) return held.find((c) => allowed.includes(b64url(c.id))) ?? fail("no allowed credential held");
    const forRp = held.filter((c) => !options.rpId || c.rpId === options.rpId);
    return forRp.at(-1) ?? fail("no credential for the RP");
  }

  /** The next signature counter of a credential (0 forever when this authenticator does not count). */
  tick(credential) {
    if (!this.counting) return 0;
    credential.counter += 1;
    return credential.counter;
  }
}

function signWith({ privateKey, hash }, data) {
  // ES256: node's default encoding is DER, as WebAuthn wants; RS256: PKCS#1 v1.5; Ed25519: no prehash.
  return sign(hash, data, privateKey);
}

function fail(message) {
  throw new Error(message);
}
