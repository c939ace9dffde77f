// Drops the `name` and `producers` custom sections from the wasm that worker-build wrote
// (`make build` runs it after `worker-build --release`): -1.4 KB of the gzipped upload.
// `strip = true` (Cargo.toml) already drops the Rust function names; these two are what
// wasm-bindgen adds afterwards (names of its closure shims, ~11 KB raw, and tool versions).
// Nothing reads them at run time: only stack traces name those shims by index instead.
// Every other section, `target_features` included, is copied byte for byte.
//
//   node scripts/strip-wasm-names.mjs build/index_bg.wasm
import { readFileSync, writeFileSync } from "node:fs";

const DROP = new Set(["name", "producers"]);

function leb128(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

const path = process.argv[2];
if (!path) throw new Error("usage: node scripts/strip-wasm-names.mjs FILE.wasm");
const bytes = readFileSync(path);
if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${path} is not a wasm module`);
const kept = [bytes.subarray(0, 8)];
let at = 8;
while (at < bytes.length) {
  const start = at;
  const id = bytes[at++];
  const [size, body] = leb128(bytes, at);
  at = body + size;
  if (at > bytes.length) throw new Error(`${path}: section at ${start} runs past the end`);
  if (id === 0) {
    const [nameLength, nameAt] = leb128(bytes, body);
    if (DROP.has(bytes.subarray(nameAt, nameAt + nameLength).toString("utf8"))) continue;
  }
  kept.push(bytes.subarray(start, at));
}
const out = Buffer.concat(kept);
if (out.length !== bytes.length) writeFileSync(path, out);
