//! PBKDF2-HMAC-SHA256 (RFC 8018) with a 32-byte derived key: Django's `pbkdf2_sha256`.
//!
//! The hot loop is two SHA-256 compressions per iteration, so this crate is all about them:
//!
//! - **Non-generic.** Generic code (`pbkdf2_hmac::<Sha256>`, `Hmac<D>`) is monomorphised in the
//!   calling crate and compiled at *its* opt-level. Everything here is concrete, so a per-package
//!   profile override (`[profile.release.package.pbkdf2-fast] opt-level = 3`) compiles the whole
//!   hash path for speed even when the rest of the worker is compiled for size.
//! - **Precomputed pads.** The HMAC inner and outer pad blocks depend only on the password: they
//!   are compressed once, and every iteration starts from those two saved states.
//! - **Words, not bytes.** Each iteration's message is the previous 32-byte digest plus constant
//!   padding (`0x80`, zeros, the bit length 768). It lives in one 16-word block whose padding is
//!   written once; the iteration only overwrites the first eight words. There is no big-endian
//!   byte round trip per compression (`sha2::compress256` takes bytes).
//! - **One compression function, never inlined.** [`compress`] is a single wasm function called
//!   twice per iteration. Measured variants: inlining both compressions into the loop was 10–15%
//!   slower in node 20's V8; a copy specialised for the constant padding words was ~6% faster
//!   there but ~9% slower in workerd's V8, the engine that runs the worker, so the general
//!   function stays (`make bench` times both engines).
//! - **Fully unrolled rounds** over locals, with `Maj(a, b, c)` as `b ^ ((a ^ b) & (b ^ c))`,
//!   reusing the previous round's `a ^ b`.
//!
//! No `unsafe`, no allocation, no target-specific code: the same source runs natively (where
//! `cargo test` checks it against RustCrypto's `pbkdf2`, `hmac` and `sha2`) and on wasm32.

#![no_std]
#![forbid(unsafe_code)]

/// Length of the derived key and of a SHA-256 digest.
pub const KEY_LEN: usize = 32;

const BLOCK_LEN: usize = 64;

const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

/// Derives Django's 32-byte `pbkdf2_sha256` key: PBKDF2 with HMAC-SHA256, `iterations` rounds,
/// one output block (`dklen` = 32).
///
/// `iterations` of 0 is treated as 1, as RustCrypto's `pbkdf2` does (RFC 8018 requires ≥ 1).
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let pads = HmacPads::new(password);

    // U_1 = HMAC(P, S || INT(1)); the only block index, since dklen equals the digest length.
    let mut inner = Hasher::resume(pads.inner);
    inner.update(salt);
    inner.update(&1u32.to_be_bytes());
    let mut u = finish_hmac(&pads.outer, inner.finish());
    let mut key = u;

    // U_i = HMAC(P, U_{i-1}); T = U_1 ^ U_2 ^ ... ^ U_c. `block` is the 32-byte message U_{i-1}
    // (then the inner digest) followed by its fixed padding: (64 + 32) bytes = 768 bits hashed.
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(&u);
    block[8] = 0x8000_0000;
    block[15] = (BLOCK_LEN as u32 + KEY_LEN as u32) * 8;
    for _ in 1..iterations {
        let mut inner = pads.inner.state;
        compress(&mut inner, &block);
        block[..8].copy_from_slice(&inner);
        u = pads.outer.state;
        compress(&mut u, &block);
        block[..8].copy_from_slice(&u);
        for (k, w) in key.iter_mut().zip(u) {
            *k ^= w;
        }
    }
    words_to_bytes(&key)
}

/// SHA-256 of `data`, for the tests and for hashing over-long HMAC keys.
pub fn sha256(data: &[u8]) -> [u8; KEY_LEN] {
    let mut hasher = Hasher::resume(Resumed { state: IV, blocks: 0 });
    hasher.update(data);
    words_to_bytes(&hasher.finish())
}

/// The chaining values after the HMAC key block XOR ipad and XOR opad.
struct HmacPads {
    inner: Resumed,
    outer: Resumed,
}

impl HmacPads {
    fn new(password: &[u8]) -> HmacPads {
        let mut key = [0u8; BLOCK_LEN];
        if password.len() > BLOCK_LEN {
            key[..KEY_LEN].copy_from_slice(&sha256(password));
        } else {
            key[..password.len()].copy_from_slice(password);
        }
        let pad = |byte: u8| {
            let mut block = key;
            for b in &mut block {
                *b ^= byte;
            }
            let mut state = IV;
            compress(&mut state, &block_words(&block));
            Resumed { state, blocks: 1 }
        };
        HmacPads { inner: pad(0x36), outer: pad(0x5c) }
    }
}

/// A SHA-256 state after `blocks` whole 64-byte blocks.
#[derive(Clone, Copy)]
struct Resumed {
    state: [u32; 8],
    blocks: u64,
}

/// Streaming SHA-256 over [`compress`], used only outside the hot loop.
struct Hasher {
    state: [u32; 8],
    buffer: [u8; BLOCK_LEN],
    buffered: usize,
    length: u64,
}

impl Hasher {
    fn resume(from: Resumed) -> Hasher {
        Hasher { state: from.state, buffer: [0; BLOCK_LEN], buffered: 0, length: from.blocks * BLOCK_LEN as u64 }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u64;
        while !data.is_empty() {
            let take = (BLOCK_LEN - self.buffered).min(data.len());
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered == BLOCK_LEN {
                compress(&mut self.state, &block_words(&self.buffer));
                self.buffered = 0;
            }
        }
    }

    fn finish(mut self) -> [u32; 8] {
        let bits = self.length.wrapping_mul(8);
        self.buffer[self.buffered..].fill(0);
        self.buffer[self.buffered] = 0x80;
        if self.buffered >= BLOCK_LEN - 8 {
            compress(&mut self.state, &block_words(&self.buffer));
            self.buffer.fill(0);
        }
        self.buffer[BLOCK_LEN - 8..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &block_words(&self.buffer));
        self.state
    }
}

/// The outer HMAC hash: SHA-256 continued from the outer pad over the inner digest.
fn finish_hmac(outer: &Resumed, inner_digest: [u32; 8]) -> [u32; 8] {
    let mut hasher = Hasher::resume(*outer);
    hasher.update(&words_to_bytes(&inner_digest));
    hasher.finish()
}

fn block_words(block: &[u8; BLOCK_LEN]) -> [u32; 16] {
    let mut words = [0u32; 16];
    for (word, bytes) in words.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    words
}

fn words_to_bytes(words: &[u32; 8]) -> [u8; KEY_LEN] {
    let mut bytes = [0u8; KEY_LEN];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// One round; the callers rotate the eight working variables by renaming instead of moving.
/// `$y` holds `b ^ c` on entry (the previous round's `a ^ b`) and this round's `a ^ b` on exit.
macro_rules! round {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $y:ident, $w:expr, $i:expr) => {
        $h = $h
            .wrapping_add($e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25))
            .wrapping_add($g ^ ($e & ($f ^ $g)))
            .wrapping_add(K[$i])
            .wrapping_add($w);
        $d = $d.wrapping_add($h);
        let a_xor_b = $a ^ $b;
        $h = $h
            .wrapping_add($a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22))
            .wrapping_add($b ^ (a_xor_b & $y));
        $y = a_xor_b;
    };
}

/// Eight rounds starting at round `$i`, with the message words already scheduled.
macro_rules! rounds8 {
    ($s:ident, $y:ident, $w:ident, $i:expr) => {
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = $s;
        round!(a, b, c, d, e, f, g, h, $y, $w[($i) % 16], $i);
        round!(h, a, b, c, d, e, f, g, $y, $w[($i + 1) % 16], $i + 1);
        round!(g, h, a, b, c, d, e, f, $y, $w[($i + 2) % 16], $i + 2);
        round!(f, g, h, a, b, c, d, e, $y, $w[($i + 3) % 16], $i + 3);
        round!(e, f, g, h, a, b, c, d, $y, $w[($i + 4) % 16], $i + 4);
        round!(d, e, f, g, h, a, b, c, $y, $w[($i + 5) % 16], $i + 5);
        round!(c, d, e, f, g, h, a, b, $y, $w[($i + 6) % 16], $i + 6);
        round!(b, c, d, e, f, g, h, a, $y, $w[($i + 7) % 16], $i + 7);
        $s = [a, b, c, d, e, f, g, h];
    };
}

/// Message schedule for rounds `$i..$i + 8` (`$i` ≥ 16), in the 16-word ring `$w`.
macro_rules! schedule8 {
    ($w:ident, $i:expr) => {
        schedule!($w, $i);
        schedule!($w, $i + 1);
        schedule!($w, $i + 2);
        schedule!($w, $i + 3);
        schedule!($w, $i + 4);
        schedule!($w, $i + 5);
        schedule!($w, $i + 6);
        schedule!($w, $i + 7);
    };
}

macro_rules! schedule {
    ($w:ident, $t:expr) => {
        let x = $w[($t - 15) % 16];
        let y = $w[($t - 2) % 16];
        $w[$t % 16] = $w[$t % 16]
            .wrapping_add(x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3))
            .wrapping_add($w[($t - 7) % 16])
            .wrapping_add(y.rotate_right(17) ^ y.rotate_right(19) ^ (y >> 10));
    };
}

/// The SHA-256 compression function over one block of sixteen big-endian words (FIPS 180-4
/// §6.2.2), fully unrolled. Never inlined: see the crate documentation.
#[inline(never)]
#[allow(unused_assignments)] // the last round's `a ^ b` has no next round to read it
fn compress(state: &mut [u32; 8], block: &[u32; 16]) {
    let mut w = *block;
    let mut s = *state;
    let mut y = s[1] ^ s[2];
    rounds8!(s, y, w, 0);
    rounds8!(s, y, w, 8);
    schedule8!(w, 16);
    rounds8!(s, y, w, 16);
    schedule8!(w, 24);
    rounds8!(s, y, w, 24);
    schedule8!(w, 32);
    rounds8!(s, y, w, 32);
    schedule8!(w, 40);
    rounds8!(s, y, w, 40);
    schedule8!(w, 48);
    rounds8!(s, y, w, 48);
    schedule8!(w, 56);
    rounds8!(s, y, w, 56);
    for (out, add) in state.iter_mut().zip(s) {
        *out = out.wrapping_add(add);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;
    use hmac::digest::Digest;

    fn hex(bytes: &[u8]) -> std::string::String {
        bytes.iter().map(|b| std::format!("{b:02x}")).collect()
    }

    fn reference(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
        let mut key = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut key);
        key
    }

    /// A deterministic byte pattern (xorshift), so failures reproduce.
    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn published_pbkdf2_hmac_sha256_vectors() {
        // The SHA-256 counterparts of RFC 6070's PBKDF2-HMAC-SHA1 vectors, as widely published.
        let cases: [(&[u8], &[u8], u32, &str); 4] = [
            (b"password", b"salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
            (b"password", b"salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
            (b"password", b"salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
            (
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1",
            ),
        ];
        for (password, salt, iterations, expected) in cases {
            assert_eq!(hex(&pbkdf2_hmac_sha256(password, salt, iterations)), expected);
        }
    }

    #[test]
    fn rfc_7914_vectors_first_block() {
        // RFC 7914 §11 gives 64-byte outputs; the first 32 bytes are block 1, which is all there is here.
        let cases: [(&[u8], &[u8], u32, &str); 2] = [
            (b"passwd", b"salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
            (b"Password", b"NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"),
        ];
        for (password, salt, iterations, expected) in cases {
            assert_eq!(hex(&pbkdf2_hmac_sha256(password, salt, iterations)), expected);
        }
    }

    #[test]
    fn sha256_matches_rustcrypto_for_every_length_across_block_boundaries() {
        for len in 0..300 {
            let data = bytes(len, len as u32 + 1);
            assert_eq!(sha256(&data)[..], sha2::Sha256::digest(&data)[..], "length {len}");
        }
    }

    #[test]
    fn matches_rustcrypto_pbkdf2_for_password_and_salt_lengths_around_the_block_size() {
        // Passwords up to and past 64 bytes (the HMAC key is hashed above that); salts whose
        // salt || INT(1) crosses the first block's padding boundary (55/56 bytes) and beyond.
        for len in (0..140).chain([255, 256, 1000]) {
            let password = bytes(len, 7 + len as u32);
            let salt = bytes(len, 1000 + len as u32);
            for iterations in [1, 2, 3, 17] {
                assert_eq!(
                    pbkdf2_hmac_sha256(&password, &salt, iterations),
                    reference(&password, &salt, iterations),
                    "length {len}, {iterations} iterations"
                );
                assert_eq!(
                    pbkdf2_hmac_sha256(&password, b"edge-auth", iterations),
                    reference(&password, b"edge-auth", iterations)
                );
                assert_eq!(pbkdf2_hmac_sha256(b"pw", &salt, iterations), reference(b"pw", &salt, iterations));
            }
        }
    }

    #[test]
    fn matches_rustcrypto_pbkdf2_over_many_iterations() {
        assert_eq!(
            pbkdf2_hmac_sha256(b"p\xc3\xa4ssw\xc3\xb6rd", b"salt", 5000),
            reference(b"p\xc3\xa4ssw\xc3\xb6rd", b"salt", 5000)
        );
    }

    #[test]
    fn zero_iterations_behave_as_one_like_rustcrypto() {
        assert_eq!(pbkdf2_hmac_sha256(b"password", b"salt", 0), reference(b"password", b"salt", 0));
        assert_eq!(pbkdf2_hmac_sha256(b"password", b"salt", 0), pbkdf2_hmac_sha256(b"password", b"salt", 1));
    }
}
