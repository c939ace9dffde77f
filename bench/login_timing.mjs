// Benchmark (not a test): does login time tell whether an email is registered, or how strong its
// stored hash is? Runs the release worker in Miniflare at the production work factor (PBKDF2
// 1,000,000) and prints the median wall time of failed logins for an unknown email, for a known
// email with a wrong password, and for a known email whose stored hash is weaker (100,000
// iterations, as imported from an older Django), interleaved so machine noise hits all alike.
// The target: every gap under 10%.
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { DRF, startWorker } from "../tests/support.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const worker = await startWorker(
  { PBKDF2_ITERATIONS: "1000000", LOGIN_BACKOFF_THRESHOLD: "1000000" },
  { ipLimit: 1_000_000 },
);
try {
  const known = await worker.register();
  const weak = await worker.register();
  const salt = randomBytes(16).toString("hex").slice(0, 22);
  const weakHash = `pbkdf2_sha256$100000$${salt}$${pbkdf2Sync(weak.password, salt, 100_000, 32, "sha256").toString("base64")}`;
  await worker.db.prepare("UPDATE users SET password = ?1 WHERE email = ?2").bind(weakHash, weak.email).run();
  const time = async (email, password) => {
    const start = performance.now();
    const response = await worker.post(`${DRF}/login/`, { email, password });
    const elapsed = performance.now() - start;
    if (response.status !== 401 && response.status !== 200) throw new Error(`unexpected ${response.status}`);
    return elapsed;
  };
  await time(known.email, "warm-up-password"); // first call compiles and warms the isolate
  const unknown = [];
  const wrong = [];
  const right = [];
  const weakWrong = [];
  for (let i = 0; i < ROUNDS; i++) {
    unknown.push(await time(`nobody.${i}@example.com`, "wrong-password-here"));
    wrong.push(await time(known.email, "wrong-password-here"));
    weakWrong.push(await time(weak.email, "wrong-password-here"));
    right.push(await time(known.email, known.password));
  }
  const round1 = (x) => Math.round(x * 10) / 10;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    rounds: ROUNDS,
    pbkdf2_iterations: 1_000_000,
    median_ms: {
      unknown_email: median(unknown),
      known_email_wrong_password: median(wrong),
      weak_hash_wrong_password: median(weakWrong),
      known_email_right_password: median(right),
    },
  };
  const gapTo = (ms) => Math.abs(ms - result.median_ms.known_email_wrong_password) / result.median_ms.known_email_wrong_password;
  const gap = gapTo(result.median_ms.unknown_email);
  const weakGap = gapTo(result.median_ms.weak_hash_wrong_password);
  result.gap_percent = gap * 100;
  result.weak_hash_gap_percent = weakGap * 100;
  result.budgets = [
    { name: "unknown vs known email", value: round1(result.gap_percent), limit: 10, unit: "%", pass: gap < 0.1 },
    { name: "weak hash vs known email", value: round1(result.weak_hash_gap_percent), limit: 10, unit: "%", pass: weakGap < 0.1 },
  ];
  console.log(`login timing, ${ROUNDS} rounds, PBKDF2 1,000,000 iterations (median wall ms):`);
  console.log(`  unknown email              ${result.median_ms.unknown_email.toFixed(1)}`);
  console.log(`  known email, wrong password ${result.median_ms.known_email_wrong_password.toFixed(1)}`);
  console.log(`  weak hash (100,000), wrong  ${result.median_ms.weak_hash_wrong_password.toFixed(1)}`);
  console.log(`  known email, right password ${result.median_ms.known_email_right_password.toFixed(1)}`);
  console.log(`  gap unknown vs known: ${result.gap_percent.toFixed(1)}% (budget 10%): ${gap < 0.1 ? "PASS" : "FAIL"}`);
  console.log(`  gap weak hash vs known: ${result.weak_hash_gap_percent.toFixed(1)}% (budget 10%): ${weakGap < 0.1 ? "PASS" : "FAIL"}`);
  writeFileSync(new URL("results/login-timing.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
} finally {
  await worker.dispose();
}
