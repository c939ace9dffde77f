// Writes bench/peer/better-auth-schema.sql with better-auth's own tooling, offline: its
// getMigrations (what `npx @better-auth/cli migrate` runs) for the peer's options, against an
// empty local D1 database from Miniflare, so the SQL is what better-auth itself would create on
// D1 for that configuration. Run it again after changing the better-auth version or the options:
//   node bench/peer/better-auth-schema.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { getMigrations } from "better-auth/db/migration";
import { Miniflare } from "miniflare";
import { options } from "./better-auth-worker.mjs";

// better-auth exports no ./package.json: read it beside its resolved entry (dist/index.mjs).
const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.resolve("better-auth")), "utf8")).version;
const mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response(null); } };", d1Databases: ["DB"] });
try {
  const db = await mf.getD1Database("DB");
  // Placeholders: the schema depends on neither.
  const config = { ...options({ BETTER_AUTH_SECRET: "schema-only-placeholder-secret-0123456789", BETTER_AUTH_URL: "http://127.0.0.1" }), database: db };
  const { compileMigrations, toBeCreated } = await getMigrations(config);
  if (toBeCreated.length === 0) throw new Error("better-auth found nothing to create: is the database the D1 one?");
  const sql = await compileMigrations();
  const header =
    `-- better-auth ${version}'s core tables (user, session, account, verification) for D1 (SQLite),\n` +
    `-- for the bench peer only (bench/peer/better-auth-worker.mjs). Generated, not hand-written: by\n` +
    `-- bench/peer/better-auth-schema.mjs, better-auth's getMigrations (its CLI's "migrate") run for the\n` +
    `-- peer's options against an empty local D1 database. Applied with\n` +
    `-- \`wrangler d1 execute DB --local --file\` by bench/peer.mjs before each run.\n`;
  const out = new URL("./better-auth-schema.sql", import.meta.url);
  writeFileSync(out, `${header}\n${sql.replaceAll(/;\n\n/g, ";\n")}\n`);
  console.log(`wrote ${out.pathname}: ${toBeCreated.map((t) => t.table).join(", ")}`);
} finally {
  await mf.dispose();
}
