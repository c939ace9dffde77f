//! Turns Django's gzipped common-password list into one sorted, newline-separated string, so the
//! Worker can binary-search it with no decompression or allocation at runtime — and without a
//! table of 20,000 pointers and lengths (160 KB of wasm data that compresses poorly).

use std::io::Read;
use std::path::Path;
use std::{env, fs};

const LIST: &str = "data/common-passwords.txt.gz";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-changed=build.rs");

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
    // `{:?}` yields a valid Rust string literal (quotes, backslashes and controls escaped).
    let out = format!(
        "/// Django 5.2's common-password list (`x.strip()` of each line), sorted by bytes,\n\
         /// deduplicated, joined with `\\n` (no trailing newline).\n\
         pub static COMMON_PASSWORDS: &str = {:?};\n",
        entries.join("\n")
    );

    let out_dir = env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR not set: {e}"));
    fs::write(Path::new(&out_dir).join("common_passwords.rs"), out)
        .unwrap_or_else(|e| panic!("cannot write common_passwords.rs: {e}"));
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}
