// An attacker who knew the password and asked to move the account to their own address must not
// finish that move after the owner changed or reset the password: a pending email change dies
// with the password it was asked with.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";
import { NOT_FOUND, OK, SUBJECTS, keyFrom, resetLinkFrom } from "./helpers.mjs";

const NEW_PASSWORD = "a lighthouse keeper's ledger";

describe("a pending email change and the password it was asked with", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker.dispose());

  async function changeRequestedBy(user, attackerAddress) {
    const asked = await worker.post(
      `${DRF}/email/change/`,
      { new_email: attackerAddress, password: user.password },
      { token: user.access_token },
    );
    assert.equal(asked.status, 200, asked.text);
    return keyFrom(await worker.mail(attackerAddress, { subject: SUBJECTS.confirmNew }));
  }

  test("dies when the owner changes the password", async () => {
    const user = await worker.register();
    const key = await changeRequestedBy(user, `attacker1.${Date.now()}@evil.example`);
    const changed = await worker.post(
      `${DRF}/change-password/`,
      { old_password: user.password, new_password: NEW_PASSWORD, new_password_confirm: NEW_PASSWORD },
      { token: user.access_token },
    );
    assert.equal(changed.status, 200, changed.text);
    const confirmed = await worker.post(`${DRF}/registration/verify-email/`, { key });
    assert.deepEqual([confirmed.status, confirmed.body], [404, NOT_FOUND]);
    const login = await worker.post(`${DRF}/login/`, { email: user.email, password: NEW_PASSWORD });
    assert.equal(login.status, 200, "the account keeps its address");
  });

  test("dies when the owner resets the password", async () => {
    const user = await worker.register();
    const key = await changeRequestedBy(user, `attacker2.${Date.now()}@evil.example`);
    assert.equal((await worker.post(`${DRF}/password/reset/`, { email: user.email })).status, 200);
    const reset = await worker.mail(user.email, { subject: SUBJECTS.reset });
    const { uid, token } = resetLinkFrom(reset);
    const confirmed = await worker.post(`${DRF}/password/reset/confirm/`, {
      uid,
      token,
      new_password1: NEW_PASSWORD,
      new_password2: NEW_PASSWORD,
    });
    assert.equal(confirmed.status, 200, confirmed.text);
    const moved = await worker.post(`${DRF}/registration/verify-email/`, { key });
    assert.deepEqual([moved.status, moved.body], [404, NOT_FOUND]);
  });

  test("still completes when the password stayed the same", async () => {
    const user = await worker.register();
    const address = `owner.${Date.now()}@new.example`;
    const key = await changeRequestedBy(user, address);
    const confirmed = await worker.post(`${DRF}/registration/verify-email/`, { key });
    assert.deepEqual([confirmed.status, confirmed.body], [200, OK]);
    const status = await worker.fetch(`${DRF}/email/`, { token: user.access_token });
    assert.deepEqual(status.body, { email: address, verified: true });
  });
});
