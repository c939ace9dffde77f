// Builds the demo page into examples/web/dist/: src/main.ts bundled by the project's own esbuild
// (ESBUILD_BIN, else node_modules/.bin/esbuild) into app.js, beside index.html and style.css.
// API (default http://127.0.0.1:8787/api/v1/auth/) is the worker prefix the page calls unless the
// page's URL says `?api=`.
//
//   node examples/web/build.mjs            (make demo does this)
//   import { build } from "./build.mjs"; build({ api })   (the browser test)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
export const dist = join(here, "dist");
export const DEFAULT_API = "http://127.0.0.1:8787/api/v1/auth/";

export function build({ api = process.env.API || DEFAULT_API } = {}) {
  const url = new URL(api); // refuses a malformed value here rather than in the browser
  const esbuild = process.env.ESBUILD_BIN || resolve(here, "../../node_modules/.bin/esbuild");
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  execFileSync(
    esbuild,
    [
      join(here, "src/main.ts"),
      "--bundle",
      "--format=esm",
      "--target=es2022",
      "--sourcemap",
      "--log-level=warning",
      `--define:DEFAULT_API=${JSON.stringify(url.href)}`,
      `--outfile=${join(dist, "app.js")}`,
    ],
    { stdio: "inherit" },
  );
  for (const file of ["index.html", "style.css"]) copyFileSync(join(here, file), join(dist, file));
  return dist;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`built ${build()} (API ${process.env.API || DEFAULT_API}; ?api= overrides it)`);
}
