//! Turns Django's gzipped common-password list into one sorted, front-coded byte string, so the
//! Worker can binary-search it with no decompression at runtime (one block of 64 entries is
//! decoded per look-up) — and without a table of 20,000 pointers and lengths (160 KB of wasm data
//! that compresses poorly).

use std::io::Read;
use std::path::Path;
use std::{env, fs};

const LIST: &str = "data/common-passwords.txt.gz";
/// The OpenAPI document, written for people; the worker gets it without the layout.
const OPENAPI: &str = "src/openapi.json";
/// Entries per front-coded block (see `password_rules::contains_entry`).
const BLOCK: usize = 64;
/// The byte that starts a block's head.
const HEAD: u8 = 0x1f;
/// The longest shared prefix a coded entry names: its length byte stays below `HEAD`.
const MAX_SHARED: usize = HEAD as usize - 1;

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-changed={OPENAPI}");
    println!("cargo:rerun-if-changed=build.rs");
    openapi_without_whitespace();

    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let gz = fs::read(Path::new(&manifest_dir).join(LIST)).unwrap_or_else(|e| panic!("cannot read {LIST}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{LIST} is not gzipped UTF-8: {e}"));

    // Django reads the file in text mode (universal newlines) and keeps `{x.strip() for x in f}`.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut entries: Vec<&str> = text.lines().map(|l| l.trim_matches(py_isspace)).collect();
    entries.sort_unstable();
    entries.dedup();

    assert!(entries.iter().all(|e| !e.is_empty() && !e.contains('\n')), "entries must be non-empty single lines");
    // Front coding, which gzip (the upload) cannot do as well on its own: 162 KB of text become
    // 70 KB, 57 KB of gzip 40 KB. Every entry starts with a byte below 0x20 (entries have none:
    // see the assert) and runs to the next one: `HEAD` and the whole entry for every `BLOCK`th
    // (a block's head), else the length of the prefix shared with the entry before (at most
    // `MAX_SHARED`, so below `HEAD`) and the rest. `password_rules::contains_entry` searches it.
    assert!(entries.iter().all(|e| e.bytes().all(|b| b >= 0x20)), "entries must have no control bytes");
    let mut coded: Vec<u8> = Vec::new();
    let mut previous: &[u8] = &[];
    for (i, entry) in entries.iter().enumerate() {
        let entry = entry.as_bytes();
        if i % BLOCK == 0 {
            coded.push(HEAD);
            coded.extend_from_slice(entry);
        } else {
            let shared = entry.iter().zip(previous).take_while(|(a, b)| a == b).count().min(MAX_SHARED);
            coded.push(shared as u8);
            coded.extend_from_slice(&entry[shared..]);
        }
        previous = entry;
    }
    let literal: String = coded.iter().map(|&b| std::ascii::escape_default(b).to_string()).collect();
    let out = format!(
        "/// Django 5.2's common-password list (`x.strip()` of each line), sorted by bytes,\n\
         /// deduplicated, front-coded in blocks of {BLOCK} (see build.rs).\n\
         pub static COMMON_PASSWORDS: &[u8] = b\"{literal}\";\n"
    );

    let out_dir = env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR not set: {e}"));
    fs::write(Path::new(&out_dir).join("common_passwords.rs"), out)
        .unwrap_or_else(|e| panic!("cannot write common_passwords.rs: {e}"));
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `src/openapi.json` written compactly by serde_json (-0.8 KB of gzipped wasm): the worker
/// parses it into a `Value` before serving, so the layout never reached a response.
fn openapi_without_whitespace() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let text = fs::read_to_string(Path::new(&manifest_dir).join(OPENAPI))
        .unwrap_or_else(|e| panic!("cannot read {OPENAPI}: {e}"));
    let document: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{OPENAPI} is not JSON: {e}"));
    let out = document.to_string();
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR not set: {e}"));
    fs::write(Path::new(&out_dir).join("openapi.json"), out)
        .unwrap_or_else(|e| panic!("cannot write openapi.json: {e}"));
}
