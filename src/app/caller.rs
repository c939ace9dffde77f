//! Who is calling: the Bearer access token's user and session, checked live.

use worker::Request;

use crate::app::http::header;
use crate::app::store::users::{TokenUser, Users};
use crate::app::{database, now, Ctx};
use crate::domain::tokens::{TokenError, TokenType};
use crate::domain::user::User;
use crate::error::ApiError;

/// Who is calling: the access token's user and session, both checked live.
pub struct Caller {
    pub user: User,
    pub session_id: Option<String>,
}

/// The Bearer access token's user, checked as simplejwt's `JWTAuthentication` checks it, plus
/// its session: revoked sessions' access tokens stop working at once. One D1 read.
pub async fn authenticate(req: &Request, ctx: &Ctx) -> std::result::Result<Caller, ApiError> {
    let Some(authorization) = header(req, "Authorization") else {
        return Err(ApiError::NotAuthenticated);
    };
    let parts: Vec<&str> = authorization.split_whitespace().collect();
    let token = match parts.as_slice() {
        ["Bearer", token] => *token,
        ["Bearer", ..] => return Err(ApiError::BadAuthorizationHeader),
        _ => return Err(ApiError::NotAuthenticated),
    };
    let claims =
        ctx.data.state.tokens.verify(token, TokenType::Access, now().timestamp()).map_err(ApiError::BadAccessToken)?;
    let id = claims.user_id.ok_or(ApiError::NoUserIdentification)?;
    let db = database(ctx)?;
    let found = Users::new(&db).by_id_for_token(id, claims.session_id.as_deref(), claims.issued_at).await?;
    let TokenUser { user, revoked } = found.ok_or(ApiError::UserNotFound)?;
    if revoked {
        return Err(ApiError::BadAccessToken(TokenError::Blacklisted));
    }
    if !user.can_log_in() {
        return Err(ApiError::UserInactive);
    }
    Ok(Caller { user, session_id: claims.session_id })
}
