// The pinned Django stack of tests/interop/ (requirements.txt) in tests/interop/.venv, shared by
// the interop test files; `make interop` creates it too.
import { execFileSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const venv = join(here, ".venv");
const requirements = join(here, "requirements.txt");
const installed = join(venv, ".installed");

/** The venv's python. */
export const python = join(venv, "bin", "python");

/** django_side.py, which every Django command goes through. */
export const djangoSide = join(here, "django_side.py");

/** Creates tests/interop/.venv, or reinstalls it when requirements.txt is newer than the last install. */
export function ensureVenv() {
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(requirements).mtimeMs) return;
  const run = (command, args) => execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (!existsSync(python)) run("python3", ["-m", "venv", venv]);
  run(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", requirements]);
  writeFileSync(installed, "");
}
