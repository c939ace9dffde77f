//! Token introspection (RFC 7662) for other resource servers: whether a token is live, asked by
//! the one configured client. Reads only: introspecting a token never changes anything.

use worker::Request;

use crate::app::http::{form_or_json_body, header};
use crate::app::sessions::rules;
use crate::app::store::sessions::{Account, Sessions};
use crate::app::store::users::Users;
use crate::app::{blacklist, database, now, Ctx, Outcome};
use crate::domain::fields::required_text;
use crate::domain::introspection::{active, basic_matches, inactive};
use crate::domain::secrets::Token;
use crate::domain::tokens::{TokenClaims, TokenType};
use crate::error::{ApiError, Reply};

/// `POST token/introspect/` → 200 `{"active": true, …claims}` or `{"active": false}` for the
/// introspection client (HTTP Basic, checked before the body is read); 401 for anyone else.
pub async fn introspect(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    let secret = state.introspection_secret.as_ref().map(Token::expose);
    if !basic_matches(header(req, "Authorization").as_deref(), config.introspection_client_id.as_deref(), secret) {
        return Err(ApiError::InvalidClient);
    }
    let data = form_or_json_body(req, config).await?;
    // `token_type_hint` is ignored, as RFC 7662 §2.1 allows: the token's own claim says.
    let token = required_text(&data, "token")?;
    let now = now().timestamp();
    let body = match state.tokens.verify_any(&token, now) {
        Ok(claims) if live(ctx, &claims, now).await? => {
            active(&claims, config.issuer.as_deref(), config.audience.as_deref())
        }
        _ => inactive(),
    };
    Ok(Reply::ok(body).no_store())
}

/// Whether the worker itself would take this verified token right now: an access token as
/// `caller::authenticate` takes it, a refresh token as `token/refresh/` would rotate it (without
/// rotating it). A rotated refresh token is not live, even within the reuse interval.
async fn live(ctx: &Ctx, claims: &TokenClaims, now: i64) -> Result<bool, ApiError> {
    let Some(user_id) = claims.user_id else {
        return Ok(false);
    };
    let db = database(ctx)?;
    let sid = claims.session_id.as_deref();
    // The user reads that decide: with the token's session (`None`: the rule for tokens without
    // one of ours), each of which must find the user usable and the token standing.
    let reads = if claims.token_type == TokenType::Access {
        [Some(sid), None]
    } else {
        // KV first, as refresh/ reads it: a token Django revoked for a user the worker did not
        // have yet is dead in KV alone (sync/events/), and any entry means dead (rotated too).
        if blacklist(ctx)?.lookup(&claims.jti).await?.is_some() {
            return Ok(false);
        }
        match Sessions::new(&db).record(&claims.jti, now, &rules(&ctx.data.state)).await? {
            Some(Account::Usable(record)) => {
                return Ok(!record.revoked && record.used_at.is_none() && record.user_id == user_id)
            }
            Some(Account::Unusable) => return Ok(false),
            // Never seen here (minted by Django, or rotated there out of one of ours): live if
            // refresh/ would adopt it. Issued after the user's cut-off by the rule for tokens
            // without a session of ours, and the session it names, if any, lives.
            None => [Some(None), sid.map(Some)],
        }
    };
    let users = Users::new(&db);
    for sid in reads.into_iter().flatten() {
        match users.by_id_for_token(user_id, sid, claims.issued_at).await? {
            Some(found) if !found.revoked && found.user.can_log_in() => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}
