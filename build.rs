//! The worker's two constant blobs, written as static assets (`build/assets/`, wrangler.toml's
//! `[assets]`) rather than into the wasm, whose gzip has a budget: the worker reads each through
//! its `ASSETS` binding once per isolate (`app::assets`). The same bytes go to `OUT_DIR`, where
//! the native tests read them.
//!
//! - `common-passwords.bin`: Django's gzipped common-password list as one sorted, front-coded
//!   byte string, so the worker can binary-search it with no decompression (one block of 64
//!   entries is decoded per look-up) and no table of 20,000 pointers and lengths.
//! - `openapi.json`: `src/openapi.json` without its layout.
//!
//! `build/assets/` is outside `OUT_DIR` so that wrangler can upload it; a `make build` after
//! `rm -rf build` must write it again although nothing cargo tracks changed, so each file is also
//! a `rerun-if-changed` path, written with its inputs' time (written with the time of the run, it
//! would count as changed at the next build, and the crate would be rebuilt every time).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use std::{env, fs};

const LIST: &str = "data/common-passwords.txt.gz";
/// The OpenAPI document, written for people; the worker gets it without the layout.
const OPENAPI: &str = "src/openapi.json";
/// Where wrangler.toml's `[assets] directory` points (and the test harnesses).
const ASSETS: &str = "build/assets";
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
    let openapi = openapi_without_whitespace();
    let common_passwords = front_coded_common_passwords();
    let inputs_time = [LIST, OPENAPI, "build.rs"]
        .iter()
        .map(|input| fs::metadata(manifest_dir().join(input)).and_then(|m| m.modified()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("cannot read an input's time: {e}"))
        .into_iter()
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR not set: {e}")));
    let assets = manifest_dir().join(ASSETS);
    fs::create_dir_all(&assets).unwrap_or_else(|e| panic!("cannot create {ASSETS}: {e}"));
    for (name, bytes) in [("common-passwords.bin", &common_passwords), ("openapi.json", &openapi)] {
        write(&out_dir.join(name), bytes, None);
        write(&assets.join(name), bytes, Some(inputs_time));
        println!("cargo:rerun-if-changed={ASSETS}/{name}");
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()))
}

/// Writes `bytes` to `path` whole or not at all (a test harness may read it meanwhile), with the
/// modification time `time` when given.
fn write(path: &Path, bytes: &[u8], time: Option<SystemTime>) {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = fs::write(&partial, bytes).and_then(|()| match time {
        Some(time) => fs::File::options().write(true).open(&partial)?.set_modified(time),
        None => Ok(()),
    });
    written
        .and_then(|()| fs::rename(&partial, path))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Django's list, front-coded (see the comment in the loop and `password_rules::CommonPasswords`).
fn front_coded_common_passwords() -> Vec<u8> {
    let gz = fs::read(manifest_dir().join(LIST)).unwrap_or_else(|e| panic!("cannot read {LIST}: {e}"));
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
    coded
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `src/openapi.json` written compactly by serde_json: the worker parses it into a `Value`
/// before serving, so the layout never reaches a response.
fn openapi_without_whitespace() -> Vec<u8> {
    let text =
        fs::read_to_string(manifest_dir().join(OPENAPI)).unwrap_or_else(|e| panic!("cannot read {OPENAPI}: {e}"));
    let document: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{OPENAPI} is not JSON: {e}"));
    document.to_string().into_bytes()
}
