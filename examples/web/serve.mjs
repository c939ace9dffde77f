// A static server for the built demo page (examples/web/dist/), no dependency: node:http only.
// It serves the page from its own origin, http://localhost:3000 by default, so that the browser
// calls the worker (http://127.0.0.1:8787) cross-origin, as a production frontend does; WebAuthn's
// RP ID is then `localhost`: open the page at localhost, not 127.0.0.1.
//
//   node examples/web/serve.mjs             (make demo; DEMO_PORT=3001, HOST=… to move it)
//   import { serve } from "./serve.mjs"; const server = await serve({ port }); … server.close()
import { readFile } from "node:fs/promises";
import http from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};
// The page runs only its own script and style; it may call any http(s) API (`?api=`); the QR code
// is a data: image.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function serve({ root = join(here, "dist"), port = 3000, host = "localhost" } = {}) {
  const base = resolve(root);
  const server = http.createServer(async (req, res) => {
    let path = "";
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      // a malformed escape: answered 404 below
    }
    const file = resolve(base, `.${path.endsWith("/") ? `${path}index.html` : path}`);
    const type = TYPES[extname(file)];
    if ((req.method !== "GET" && req.method !== "HEAD") || !path || !file.startsWith(base + sep) || !type) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("Not found\n");
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": type, "Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("Not found (build it first: node examples/web/build.mjs)\n");
    }
  });
  return new Promise((resolveServer, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolveServer(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.DEMO_PORT || 3000);
  const host = process.env.HOST || "localhost";
  await serve({ port, host });
  console.log(`demo page on http://${host}:${port}/ (the worker must allow this origin: ALLOWED_ORIGINS)`);
}
