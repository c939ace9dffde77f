//! Exports for `bench/run.mjs`, which instantiates this module in node and in workerd (no
//! imports, no wasm-bindgen) and times each export. Every function returns a word of its result
//! so that nothing can be optimised away. Built with the workspace's release profile, so the
//! hash path is compiled exactly as in the worker.

use sha2::digest::generic_array::GenericArray;

/// The floor: `2 × iterations` calls of `sha2::compress256` on a 64-byte block, one dependency
/// chain through the state as in PBKDF2: the least any PBKDF2-HMAC-SHA256 built on that
/// function can cost.
#[no_mangle]
pub extern "C" fn floor_compress256(iterations: u32) -> u32 {
    let mut state = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut block = [GenericArray::from([0x5a; 64])];
    for _ in 0..iterations {
        // Opaque to the optimiser, so the message schedule cannot be hoisted out of the loop.
        let block = core::hint::black_box(&mut block);
        sha2::compress256(&mut state, block);
        sha2::compress256(&mut state, block);
    }
    state[0]
}

/// PBKDF2-HMAC-SHA256 as the worker runs it (`pbkdf2-fast`).
#[no_mangle]
pub extern "C" fn pbkdf2_fast(iterations: u32) -> u32 {
    let key = pbkdf2_fast::pbkdf2_hmac_sha256(b"wrong-password-here", b"r4nd0mS4ltW1thTw3ntyTw", iterations);
    u32::from_be_bytes([key[0], key[1], key[2], key[3]])
}

/// RustCrypto's `pbkdf2_hmac::<Sha256>` (the previous hash path), monomorphised in this crate.
#[no_mangle]
pub extern "C" fn pbkdf2_rustcrypto(iterations: u32) -> u32 {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"wrong-password-here", b"r4nd0mS4ltW1thTw3ntyTw", iterations, &mut key);
    u32::from_be_bytes([key[0], key[1], key[2], key[3]])
}
