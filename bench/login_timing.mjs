// Benchmark (not a test): does login time tell whether an email is registered?
// Runs the release worker in Miniflare at the production work factor (PBKDF2 1,000,000) and
// prints the median wall time of failed logins for an unknown email and for a known email with a
// wrong password, interleaved so machine noise hits both alike. The target: a gap under 10%.
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
  for (let i = 0; i < ROUNDS; i++) {
    unknown.push(await time(`nobody.${i}@example.com`, "wrong-password-here"));
    wrong.push(await time(known.email, "wrong-password-here"));
    right.push(await time(known.email, known.password));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = {
    rounds: ROUNDS,
    pbkdf2_iterations: 1_000_000,
    median_ms: { unknown_email: median(unknown), known_email_wrong_password: median(wrong), known_email_right_password: median(right) },
  };
  const gap = Math.abs(result.median_ms.unknown_email - result.median_ms.known_email_wrong_password) /
    result.median_ms.known_email_wrong_password;
  result.gap_percent = gap * 100;
  console.log(`login timing, ${ROUNDS} rounds, PBKDF2 1,000,000 iterations (median wall ms):`);
  console.log(`  unknown email              ${result.median_ms.unknown_email.toFixed(1)}`);
  console.log(`  known email, wrong password ${result.median_ms.known_email_wrong_password.toFixed(1)}`);
  console.log(`  known email, right password ${result.median_ms.known_email_right_password.toFixed(1)}`);
  console.log(`  gap unknown vs known: ${result.gap_percent.toFixed(1)}% (budget 10%): ${gap < 0.1 ? "PASS" : "FAIL"}`);
  writeFileSync(new URL("results/login-timing.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
} finally {
  await worker.dispose();
}
