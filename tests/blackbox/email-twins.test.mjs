// Issue 10, finding 8: one mailbox, one account. A twin spelling of a registered address
// (fullwidth letters, an IDN domain's punycode, a case variant) is the same email, and a quoted
// local part is refused; login reads an address the same way, so a twin logs into the original.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DRF, startWorker } from "../support.mjs";
import { login } from "./helpers.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(() => worker?.dispose());

const TAKEN = { email: ["A user with this email already exists."] };
const INVALID = { email: ["Enter a valid email address."] };

const register = (email) => worker.post(`${DRF}/register/`, worker.newUser({ email }));

/** Registers `original`, then `twin`: the twin must be refused as the same email. */
async function assertTwin(original, twin, stored) {
  const first = await register(original);
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.user.email, stored);
  const second = await register(twin);
  assert.equal(second.status, 400, `${twin} registered beside ${original}: ${second.text}`);
  assert.deepEqual(second.body, TAKEN);
}

describe("email twins", () => {
  test("the fullwidth spelling of a registered address is the same email", async () => {
    await assertTwin("victim@example.com", "victim@ｅｘａｍｐｌｅ.com", "victim@example.com");
    // Fullwidth everywhere, the `＠` and the dot included.
    const again = await register("ｖｉｃｔｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ");
    assert.equal(again.status, 400, again.text);
    assert.deepEqual(again.body, TAKEN);
  });

  test("an IDN domain and its punycode are the same domain", async () => {
    await assertTwin("u@müller.de", "u@xn--mller-kva.de", "u@xn--mller-kva.de");
    // And the other way round, with another case of the non-ASCII letter.
    await assertTwin("v@xn--mller-kva.de", "v@MÜLLER.de", "v@xn--mller-kva.de");
  });

  test("the local part is compared without regard to case", async () => {
    await assertTwin("Case.Twin@example.com", "CASE.TWIN@example.com", "case.twin@example.com");
  });

  test("a quoted local part is refused as an invalid email", async () => {
    const plain = await register("quoted@example.com");
    assert.equal(plain.status, 201, plain.text);
    for (const quoted of ['"quoted"@example.com', '"victim"@example.com', '"john..doe"@example.com']) {
      const response = await register(quoted);
      assert.equal(response.status, 400, `${quoted}: ${response.text}`);
      assert.deepEqual(response.body, INVALID, quoted);
    }
  });

  test("a domain that cannot be IDNA-encoded is an invalid email, not a server error", async () => {
    for (const email of ["a@xn--zz.com", "a@exa_mple.com", "a@a\u200db.com", `a@${"ü".repeat(70)}.de`]) {
      const response = await register(email);
      assert.equal(response.status, 400, `${email}: ${response.text}`);
      assert.deepEqual(response.body, INVALID, email);
    }
  });

  test("a twin spelling logs into the original account", async () => {
    const owner = await worker.register({ email: "owner@example.com" });
    for (const twin of ["owner@ｅｘａｍｐｌｅ.com", "OWNER@Example.COM", "ｏｗｎｅｒ＠example.com"]) {
      const response = await login(worker, twin, owner.password);
      assert.equal(response.status, 200, `${twin}: ${response.text}`);
      assert.equal(response.body.user.id, owner.user.id, twin);
    }
    const idn = await worker.register({ email: "w@müller.de" });
    const response = await login(worker, "w@xn--mller-kva.de", idn.password);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.user.id, idn.user.id);
  });
});
