//! Django's `Argon2PasswordHasher`: `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`,
//! salt and hash in unpadded base64 (argon2-cffi's PHC string after Django's `argon2` prefix).
//! Verified for argon2id, argon2i and argon2d at versions 0x13 and 0x10 (older Django wrote
//! argon2i, and before that no `v=`), and written as argon2id when it is the hashing target.

use argon2::{Algorithm, Argon2, Params, Version};
use base64ct::{Base64Unpadded, Encoding};
use subtle::ConstantTimeEq;

use super::MAX_HASH_MEMORY_BYTES;

/// Largest memory cost verified or configured, in KiB: what fits in an isolate beside the rest.
pub const MAX_MEMORY_KIB: u32 = (MAX_HASH_MEMORY_BYTES / 1024) as u32;

/// Largest total work (memory × passes, in KiB) a stored hash may ask for: four passes over the
/// largest memory, twice Django's default (100 MiB, 2 passes).
const MAX_WORK_KIB: u64 = 4 * MAX_MEMORY_KIB as u64;

/// Output length Django (argon2-cffi's default) writes.
const HASH_LEN: usize = 32;

/// Salts shorter than argon2's minimum, or hashes longer than this, match nothing.
const MAX_HASH_LEN: usize = 1024;

/// Argon2 parameters: memory in KiB, passes, lanes (argon2-cffi's `memory_cost`, `time_cost`,
/// `parallelism`, which is what Django's hasher calls them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub memory_cost: u32,
    pub time_cost: u32,
    pub parallelism: u32,
}

impl Cost {
    /// OWASP's recommendation for argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
    pub const OWASP: Cost = Cost { memory_cost: 19 * 1024, time_cost: 2, parallelism: 1 };

    /// A cost this worker can run, or why not: argon2's own limits, and a memory cost that leaves
    /// room for everything else in a Workers isolate's 128 MB.
    pub fn new(memory_cost: u32, time_cost: u32, parallelism: u32) -> Result<Cost, &'static str> {
        if time_cost == 0 {
            return Err("ARGON2_TIME_COST must be at least 1");
        }
        if !(1..=255).contains(&parallelism) {
            return Err("ARGON2_PARALLELISM must be between 1 and 255");
        }
        if memory_cost < 8 * parallelism {
            return Err("ARGON2_MEMORY_COST must be at least 8 KiB per lane (ARGON2_PARALLELISM)");
        }
        if memory_cost > MAX_MEMORY_KIB {
            return Err("ARGON2_MEMORY_COST cannot fit in a Workers isolate's 128 MB (at most 106496 KiB, 104 MiB)");
        }
        if u64::from(memory_cost) * u64::from(time_cost) > MAX_WORK_KIB {
            return Err("ARGON2_MEMORY_COST × ARGON2_TIME_COST is more work than a login may spend");
        }
        Ok(Cost { memory_cost, time_cost, parallelism })
    }

    /// Whether a hash at `self` is weaker than `target` in any parameter.
    pub fn below(&self, target: &Cost) -> bool {
        self.memory_cost < target.memory_cost
            || self.time_cost < target.time_cost
            || self.parallelism < target.parallelism
    }
}

/// A stored argon2 hash this worker can run.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored {
    pub algorithm: Algorithm,
    pub version: Version,
    pub cost: Cost,
    pub salt: Vec<u8>,
    hash: Vec<u8>,
}

/// Hashes `password` as Django's `Argon2PasswordHasher` (argon2id, version 0x13) does at `cost`,
/// with `salt` (Django's 22-character random string) used as bytes.
pub fn make_password(password: &str, salt: &str, cost: &Cost) -> String {
    let hash = derive(Algorithm::Argon2id, Version::V0x13, cost, password, salt.as_bytes(), HASH_LEN)
        .expect("a configured cost and a 22-byte salt are valid argon2 inputs");
    format!(
        "argon2$argon2id$v=19$m={},t={},p={}${}${}",
        cost.memory_cost,
        cost.time_cost,
        cost.parallelism,
        Base64Unpadded::encode_string(salt.as_bytes()),
        Base64Unpadded::encode_string(&hash)
    )
}

/// Parses Django's argon2 value, or `None` when no password can match it or it asks for more
/// memory or work than a login may spend (then nothing runs).
pub fn parse(encoded: &str) -> Option<Stored> {
    let rest = encoded.strip_prefix("argon2$")?;
    let fields: Vec<&str> = rest.split('$').collect();
    let (variant, version, params, salt, hash) = match fields[..] {
        [variant, version, params, salt, hash] => (variant, parse_version(version)?, params, salt, hash),
        // Before argon2 1.3 the PHC string had no version: that is 0x10.
        [variant, params, salt, hash] => (variant, Version::V0x10, params, salt, hash),
        _ => return None,
    };
    let algorithm = match variant {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let cost = parse_params(params)?;
    let salt = Base64Unpadded::decode_vec(salt).ok()?;
    let hash = Base64Unpadded::decode_vec(hash).ok()?;
    let sizes_ok = salt.len() >= argon2::MIN_SALT_LEN && (Params::MIN_OUTPUT_LEN..=MAX_HASH_LEN).contains(&hash.len());
    sizes_ok.then_some(Stored { algorithm, version, cost, salt, hash })
}

impl Stored {
    pub fn verify(&self, password: &str) -> bool {
        derive(self.algorithm, self.version, &self.cost, password, &self.salt, self.hash.len())
            .is_some_and(|derived| bool::from(derived.ct_eq(&self.hash)))
    }
}

fn derive(
    algorithm: Algorithm,
    version: Version,
    cost: &Cost,
    password: &str,
    salt: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let params = Params::new(cost.memory_cost, cost.time_cost, cost.parallelism, Some(len)).ok()?;
    let mut out = vec![0u8; len];
    Argon2::new(algorithm, version, params).hash_password_into(password.as_bytes(), salt, &mut out).ok()?;
    Some(out)
}

fn parse_version(field: &str) -> Option<Version> {
    match field {
        "v=19" => Some(Version::V0x13),
        "v=16" => Some(Version::V0x10),
        _ => None,
    }
}

/// `m=<KiB>,t=<passes>,p=<lanes>`, in that order, canonical decimals, within [`Cost::new`]'s limits.
fn parse_params(field: &str) -> Option<Cost> {
    let mut parts = field.split(',');
    let mut next = |key: &str| -> Option<u32> {
        let value = parts.next()?.strip_prefix(key)?;
        let canonical =
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) && (value == "0" || !value.starts_with('0'));
        if canonical && value.len() <= 10 {
            value.parse().ok()
        } else {
            None
        }
    };
    let (memory_cost, time_cost, parallelism) = (next("m=")?, next("t=")?, next("p=")?);
    if parts.next().is_some() {
        return None;
    }
    Cost::new(memory_cost, time_cost, parallelism).ok()
}
