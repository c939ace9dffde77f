// tests/coexist/.venv: the pinned Django stack (requirements.txt) and the companion app installed
// from its path (integrations/django) as a project would install it (`pip install ./integrations/django`).
// The companion is built from a copy of its directory, so that setuptools' build/ and *.egg-info
// never land in the repository, and installed again whenever a file of it is newer than the last install.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const venv = join(here, ".venv");
const requirements = join(here, "requirements.txt");
const requirementsStamp = join(venv, ".installed");
const companionStamp = join(venv, ".companion-installed");

/** The companion's source directory. */
export const companion = join(here, "..", "..", "integrations", "django");

/** The venv's python. */
export const python = join(venv, "bin", "python");

/** The reference project's directory (manage.py). */
export const project = join(here, "django_project");

/** The newest modification time of a file under `dir` (caches and build leftovers aside). */
function newest(dir) {
  let latest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (["__pycache__", "build", "dist", ".venv"].includes(entry.name) || entry.name.endsWith(".egg-info")) continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const fresh = (stamp, mtimeMs) => existsSync(stamp) && statSync(stamp).mtimeMs >= mtimeMs;

/**
 * Creates or updates tests/coexist/.venv. Throws when the companion is not there yet (its
 * pyproject.toml or setup.py missing) or pip fails; the message carries pip's output.
 */
export function ensureVenv() {
  const run = (command, args) => {
    try {
      execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    } catch (e) {
      throw new Error(`${command} ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
  };
  if (!fresh(requirementsStamp, statSync(requirements).mtimeMs)) {
    if (!existsSync(python)) run("python3", ["-m", "venv", venv]);
    run(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", requirements]);
    writeFileSync(requirementsStamp, "");
  }
  if (!["pyproject.toml", "setup.py"].some((f) => existsSync(join(companion, f)))) {
    throw new Error(`the companion app is not in ${companion} (no pyproject.toml or setup.py)`);
  }
  if (fresh(companionStamp, Math.max(newest(companion), statSync(requirementsStamp).mtimeMs))) return;
  const copy = mkdtempSync(join(os.tmpdir(), "edge-auth-companion-"));
  try {
    cpSync(companion, copy, {
      recursive: true,
      filter: (source) => !/(^|\/)(__pycache__|build|dist|[^/]*\.egg-info)$/.test(source),
    });
    // pip reinstalls a directory whatever its version; its declared dependencies are met by the pins above.
    run(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", copy]);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  writeFileSync(companionStamp, "");
}
