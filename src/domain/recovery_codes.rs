//! Recovery codes for a second factor: ten single-use codes shown once when TOTP is enabled (and
//! on request), for the day the phone is lost. Pure: the random bytes come in.
//!
//! A code is 12 characters of Crockford's base32 in lower case, `xxxx-xxxx-xxxx`: 60 random bits.
//! The alphabet `0-9 a-z` without `i l o u` has no pair a reader confuses, and the input is
//! forgiving the way Crockford's is: case, dashes and whitespace are ignored, `o` reads as `0`,
//! `i` and `l` as `1`.
//!
//! Stored as SHA-256 (hex) only, with no slow hash: a slow hash exists to stretch a secret a
//! person chose (a password has maybe 20-40 bits an attacker can guess in order); these codes are
//! uniformly random, so a leaked hash can only be brute-forced over the whole 2^60 space. The hash
//! also covers the user's id, so that search is per user, not one pass over every user's codes at
//! once: finding one of a user's ten codes takes ~2^56 SHA-256 on average, about a month of a
//! fast GPU, for a code that is worth something only together with that user's password. (Ten
//! characters, 50 bits, would be a GPU-hour: the reason for twelve.)

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::domain::tokens::hex;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Random bytes a set is made from: 8 a code, of which 60 bits are used.
pub const RANDOM_LEN: usize = COUNT * 8;
/// Characters of a code, without its dashes.
const CHARS: usize = 12;
/// Characters between dashes.
const GROUP: usize = 4;
/// Crockford's base32, lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Domain separation of the stored hash.
const HASH_TAG: &[u8] = b"edge-auth recovery code v1\0";

/// A recovery code as shown to the user, `xxxx-xxxx-xxxx`. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// Ten codes from 80 random bytes the caller drew (`getrandom` in the worker). Two equal codes in
/// a set would take a 2^-53 coincidence; they would only be one code less.
pub fn generate(random: &[u8; RANDOM_LEN]) -> Vec<RecoveryCode> {
    random
        .chunks_exact(8)
        .map(|chunk| {
            let bits = u64::from_be_bytes(chunk.try_into().expect("chunks of 8"));
            let mut code = String::with_capacity(CHARS + CHARS / GROUP - 1);
            for i in 0..CHARS {
                if i > 0 && i % GROUP == 0 {
                    code.push('-');
                }
                let value = (bits >> (5 * (CHARS - 1 - i))) & 0x1f;
                code.push(ALPHABET[value as usize] as char);
            }
            RecoveryCode(code)
        })
        .collect()
}

/// A code as typed, in the one spelling that is hashed: lower case, dashes and whitespace
/// dropped, `o` as `0`, `i`/`l` as `1`. `None` unless that leaves 12 characters of the alphabet
/// (so a malformed code is refused before any lookup).
pub fn normalise(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CHARS);
    for c in input.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == CHARS {
            return None;
        }
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

/// What is stored for a code of a user: hex SHA-256 over a tag, the user's id and the normalised
/// code. `None` for input that is no code (see `normalise`). Also the lookup key when one is
/// used: `WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, then mark it used.
pub fn hash(user_id: i64, input: &str) -> Option<String> {
    let code = normalise(input)?;
    let mut digest = Sha256::new();
    digest.update(HASH_TAG);
    digest.update(user_id.to_be_bytes());
    digest.update(code.as_bytes());
    Some(hex(&digest.finalize()))
}

/// Which of the stored hashes (of the user's unused codes) `input` is, comparing with every one
/// in constant time; for a caller that reads the set rather than looking the hash up.
pub fn find(user_id: i64, input: &str, stored: &[&str]) -> Option<usize> {
    let sent = hash(user_id, input)?;
    let mut found = Choice::from(0);
    let mut index = 0u64;
    for (i, stored) in stored.iter().enumerate() {
        let hit = sent.as_bytes().ct_eq(stored.as_bytes());
        index.conditional_assign(&(i as u64), hit);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(seed: u8) -> [u8; RANDOM_LEN] {
        std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
    }

    #[test]
    fn a_set_is_ten_distinct_readable_codes() {
        let codes = generate(&random(1));
        assert_eq!(codes.len(), COUNT);
        for code in &codes {
            let text = code.expose();
            assert_eq!(text.len(), 14, "{text}");
            assert_eq!(text.as_bytes()[4], b'-');
            assert_eq!(text.as_bytes()[9], b'-');
            assert!(text.chars().filter(|c| *c != '-').all(|c| ALPHABET.contains(&(c as u8))), "{text}");
            assert!(!text.contains(['i', 'l', 'o', 'u']), "{text}");
        }
        let mut distinct: Vec<&str> = codes.iter().map(RecoveryCode::expose).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
    }

    #[test]
    fn codes_are_the_random_bits_spelled_out() {
        let mut bytes = [0u8; RANDOM_LEN];
        assert!(generate(&bytes).iter().all(|code| code.expose() == "0000-0000-0000"));
        bytes[..8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(generate(&bytes)[0].expose(), "zzzz-zzzz-zzzz");
        // The low 60 bits, five at a time from the top: 1, 2, ..., 12 (the top four bits unused).
        let bits = (1..=12u64).fold(0xf, |acc, v| (acc << 5) | v);
        bytes[8..16].copy_from_slice(&bits.to_be_bytes());
        assert_eq!(generate(&bytes)[1].expose(), "1234-5678-9abc");
        assert_ne!(generate(&random(1)), generate(&random(2)));
    }

    #[test]
    fn input_is_forgiven_its_case_dashes_spaces_and_look_alike_letters() {
        assert_eq!(normalise("ab12-cd34-ef56").as_deref(), Some("ab12cd34ef56"));
        assert_eq!(normalise(" AB12 CD34 EF56\n").as_deref(), Some("ab12cd34ef56"));
        assert_eq!(normalise("ab12cd34ef56").as_deref(), Some("ab12cd34ef56"));
        assert_eq!(normalise("Ol1I-o0LI-0000").as_deref(), Some("011100110000"));
        let code = generate(&random(3))[0].clone();
        let sloppy = code.expose().to_uppercase().replace('-', " ");
        assert_eq!(hash(42, &sloppy), hash(42, code.expose()));
    }

    #[test]
    fn anything_that_is_no_code_is_refused_without_panic() {
        for bad in [
            "",
            "----",
            "ab12-cd34-ef5",
            "ab12-cd34-ef567",
            "ab12-cd34-ef5u",
            "ab12_cd34_ef56",
            "ab12-cd34-ef5é",
            "ab12-cd34-ef5\u{0}",
            "ａｂ12-cd34-ef56",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
            assert_eq!(hash(1, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_stored_hash_is_sha256_hex_bound_to_the_user() {
        let stored = hash(7, "ab12-cd34-ef56").unwrap();
        assert_eq!(stored.len(), 64);
        assert!(stored.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(!stored.contains("ab12"), "the code is not in its hash");
        // The same code of another user hashes differently: no one search covers every user.
        assert_ne!(hash(8, "ab12-cd34-ef56").unwrap(), stored);
        assert_ne!(hash(7, "ab12-cd34-ef57").unwrap(), stored);
        let mut plain = Sha256::new();
        plain.update(b"ab12cd34ef56");
        assert_ne!(hex(&plain.finalize()), stored, "domain-separated, not a bare SHA-256");
    }

    #[test]
    fn find_answers_which_stored_code_matched_and_only_for_its_user() {
        let codes = generate(&random(9));
        let stored: Vec<String> = codes.iter().map(|c| hash(5, c.expose()).unwrap()).collect();
        let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(find(5, code.expose(), &stored), Some(i));
            assert_eq!(find(6, code.expose(), &stored), None, "another user's code");
        }
        // Once the caller drops a used code's hash from the set, that code is refused.
        let used = find(5, codes[3].expose(), &stored).unwrap();
        let remaining: Vec<&str> = stored.iter().enumerate().filter(|(i, _)| *i != used).map(|(_, h)| *h).collect();
        assert_eq!(find(5, codes[3].expose(), &remaining), None);
        assert_eq!(find(5, "0000-0000-0000", &stored), None);
        assert_eq!(find(5, "not a code", &stored), None);
        assert_eq!(find(5, codes[0].expose(), &[]), None);
    }

    #[test]
    fn debug_never_shows_a_code() {
        let code = generate(&random(4)).remove(0);
        assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
        assert_eq!(format!("{:?}", vec![code.clone()]), "[RecoveryCode(<redacted>)]");
    }
}
