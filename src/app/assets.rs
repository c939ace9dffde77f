//! The worker's constant data, kept out of the wasm (whose gzip has a budget) as static assets:
//! build.rs writes them to `build/assets/` (wrangler.toml's `[assets]`, every request still going
//! to the worker first). Each is read through the `ASSETS` binding when first needed and kept for
//! the isolate's life, like its state. A read that fails, or bytes that are not what build.rs
//! writes, is logged and answered 503, and tried again by the next request that needs it: no
//! password is ever checked against a missing list.

use std::cell::OnceCell;
use std::rc::Rc;

use serde_json::Value;
use worker::{console_error, Env};

use crate::domain::password_rules::CommonPasswords;
use crate::error::ApiError;

thread_local! {
    static COMMON_PASSWORDS: OnceCell<Rc<CommonPasswords>> = const { OnceCell::new() };
    static OPENAPI: OnceCell<Rc<Value>> = const { OnceCell::new() };
}

/// Django's common-password list (`common-passwords.bin`).
pub async fn common_passwords(env: &Env) -> Result<Rc<CommonPasswords>, ApiError> {
    const NAME: &str = "common-passwords.bin";
    if let Some(list) = COMMON_PASSWORDS.with(|cell| cell.get().cloned()) {
        return Ok(list);
    }
    let list = CommonPasswords::from_coded(read(env, NAME).await?)
        .ok_or_else(|| misconfigured(NAME, "not the front-coded list build.rs writes"))?;
    Ok(COMMON_PASSWORDS.with(|cell| cell.get_or_init(|| Rc::new(list)).clone()))
}

/// The OpenAPI document (`openapi.json`), parsed.
pub async fn openapi(env: &Env) -> Result<Rc<Value>, ApiError> {
    const NAME: &str = "openapi.json";
    if let Some(document) = OPENAPI.with(|cell| cell.get().cloned()) {
        return Ok(document);
    }
    let document = serde_json::from_slice::<Value>(&read(env, NAME).await?)
        .ok()
        .filter(|document| document.get("openapi").is_some())
        .ok_or_else(|| misconfigured(NAME, "not an OpenAPI document"))?;
    Ok(OPENAPI.with(|cell| cell.get_or_init(|| Rc::new(document)).clone()))
}

/// The asset `name`'s bytes. The binding serves assets by path; the host is never looked at.
async fn read(env: &Env, name: &str) -> Result<Vec<u8>, ApiError> {
    let assets = env.assets("ASSETS").map_err(|e| misconfigured(name, e))?;
    let mut response =
        assets.fetch(format!("https://assets.invalid/{name}"), None).await.map_err(|e| misconfigured(name, e))?;
    match response.status_code() {
        200 => response.bytes().await.map_err(|e| misconfigured(name, e)),
        status => Err(misconfigured(name, format!("answered {status}"))),
    }
}

fn misconfigured(name: &str, reason: impl std::fmt::Display) -> ApiError {
    console_error!("edge-auth is misconfigured: the static asset {name} (binding ASSETS): {reason}");
    ApiError::Misconfigured
}
