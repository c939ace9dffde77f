//! Requests to Django's companion app (`DJANGO_SYNC_URL`, `integrations/django/PROTOCOL.md`): a
//! JSON POST signed at send time with the shared secret, aborted after a timeout. Bodies are
//! never logged, sent or received: user records carry password hashes.

use worker::console_error;

use crate::app::now;
use crate::app::state::State;
use crate::app::support::post_json;
use crate::domain::sync::SIGNATURE_HEADER;

/// How long a login or a registration waits for a lookup (milliseconds).
pub const LOOKUP_TIMEOUT_MS: u32 = 3_000;

/// What the companion answered.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` to `{DJANGO_SYNC_URL}{path}`. `Err` says why no answer came (for the log): not
/// configured, or no whole answer within `timeout_ms` (unreachable, or too slow: aborted).
pub async fn post(state: &State, path: &str, body: &str, timeout_ms: u32) -> Result<Answer, &'static str> {
    let (Some(base), Some(secret)) = (&state.config.sync.django_url, &state.sync_secret) else {
        return Err("DJANGO_SYNC_URL is not set");
    };
    let signature = secret.sign(now().timestamp(), body.as_bytes());
    let headers = [(SIGNATURE_HEADER, signature.as_str())];
    let (status, body) = post_json(&format!("{base}{path}"), &headers, body, timeout_ms).await?;
    Ok(Answer { status, body })
}

/// What Django said about an address.
pub enum Lookup {
    /// 200: Django has this user; the answer's body (`{"user": …}`).
    Found(String),
    /// 404: Django does not.
    NotFound,
    /// No answer, or another status (logged): nobody can tell.
    Unavailable,
}

/// Asks Django for the user with this address (`users/lookup/`), within `LOOKUP_TIMEOUT_MS`.
pub async fn lookup(state: &State, email: &str) -> Lookup {
    let body = serde_json::json!({ "email": email }).to_string();
    match post(state, "users/lookup/", &body, LOOKUP_TIMEOUT_MS).await {
        Ok(answer) if answer.status == 200 => Lookup::Found(answer.body),
        Ok(answer) if answer.status == 404 => Lookup::NotFound,
        Ok(answer) => {
            console_error!("Django's user lookup answered {}", answer.status);
            Lookup::Unavailable
        }
        Err(why) => {
            console_error!("Django's user lookup failed: {why}");
            Lookup::Unavailable
        }
    }
}
