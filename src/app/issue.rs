//! Issuing tokens: a session's first refresh token, a rotated one's successor, and the token
//! response that carries them.

use serde_json::{json, Value};

use crate::app::state::State;
use crate::app::{now, random_bytes};
use crate::domain::tokens::{hex, TokenClaims, TokenType};
use crate::domain::user::User;
use crate::error::ApiError;

/// The refresh token that replaces `old`: in the same session, or in a new one for a token minted
/// elsewhere (no session of ours).
pub fn successor_of(
    state: &State,
    old: &TokenClaims,
    user_id: i64,
    now: i64,
) -> std::result::Result<TokenClaims, ApiError> {
    let sid = match &old.session_id {
        Some(sid) => sid.clone(),
        None => hex(&random_bytes::<16>()?),
    };
    Ok(state.tokens.mint(TokenType::Refresh, user_id, Some(&sid), random_bytes()?, now).claims)
}

/// A session about to start: its id and first refresh token.
pub struct NewSession {
    pub id: String,
    pub refresh: TokenClaims,
}

impl NewSession {
    pub fn begin(state: &State, now: i64) -> std::result::Result<NewSession, ApiError> {
        let id = hex(&random_bytes::<16>()?);
        // The user id is not known yet at register: the claims are re-signed with it in `token_body`.
        let refresh = state.tokens.mint(TokenType::Refresh, 0, Some(&id), random_bytes()?, now).claims;
        Ok(NewSession { id, refresh })
    }
}

/// The token response: the given refresh token (signed for `user_id`), a fresh access token in
/// the same session, and the profile when `profile` is given.
pub fn token_body(
    state: &State,
    user_id: i64,
    refresh: &TokenClaims,
    profile: Option<&User>,
) -> std::result::Result<Value, ApiError> {
    let refresh = TokenClaims { user_id: Some(user_id), ..refresh.clone() };
    let access = state.tokens.mint(
        TokenType::Access,
        user_id,
        refresh.session_id.as_deref(),
        random_bytes()?,
        refresh.issued_at.max(now().timestamp()),
    );
    let mut body = json!({
        "access_token": access.token.expose(),
        "refresh_token": state.tokens.sign(&refresh),
        "token_type": "bearer",
        "expires_in": state.tokens.ttl(TokenType::Access),
    });
    if let (Some(user), Value::Object(map)) = (profile, &mut body) {
        map.insert("user".into(), user.profile());
    }
    Ok(body)
}
