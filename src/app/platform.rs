//! The platform's own endpoints: the health check, the OpenAPI document, the JWKS.

use serde_json::{json, Value};
use worker::Request;

use crate::app::assets;
use crate::app::http::header;
use crate::app::throttle::{limit_ip, Limiter};
use crate::app::{blacklist, database, Ctx, Outcome};
use crate::domain::health::{bearer_matches, wants_deep};
use crate::domain::secrets::Token;
use crate::error::Reply;
use crate::routes::{openapi_document, Endpoint};

/// `GET /healthz` → 200 with the version, touching no storage. `?deep=1` also reports whether D1
/// and KV answer: for a caller with `Authorization: Bearer <HEALTH_CHECK_TOKEN>`, or else within
/// the per-IP limit.
pub async fn health(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let version = env!("CARGO_PKG_VERSION");
    let deep = wants_deep(&req.inner().url());
    if !deep {
        return Ok(Reply::ok(json!({ "status": "ok", "version": version })).no_store());
    }
    let token = ctx.data.state.health_token.as_ref().map(Token::expose);
    if !bearer_matches(header(req, "Authorization").as_deref(), token) {
        limit_ip(req, ctx, Limiter::General, "health", ctx.data.state.config.rate_limit_period_secs.unsigned_abs())
            .await?;
    }
    let d1 = match database(ctx) {
        Ok(db) => db.prepare("SELECT 1").first::<Value>(None).await.is_ok(),
        Err(_) => false,
    };
    let kv = match blacklist(ctx) {
        Ok(blacklist) => blacklist.lookup("healthz").await.is_ok(),
        Err(_) => false,
    };
    let body = json!({
        "status": if d1 && kv { "ok" } else { "degraded" },
        "version": version,
        "d1": d1,
        "kv": kv,
    });
    Ok(Reply::ok(body).no_store())
}

/// `GET <prefix>openapi.json` → the OpenAPI document, its `servers` naming the prefix asked.
pub async fn openapi(req: Request, ctx: Ctx) -> Outcome {
    let document = assets::openapi(&ctx.env).await?;
    let path = req.path();
    let prefix = path.strip_suffix(Endpoint::OpenApi.path()).unwrap_or("/");
    Ok(Reply::ok(openapi_document(&document, prefix)))
}

/// `GET /.well-known/jwks.json` → the Ed25519 public keys (`{"keys": []}` with HS256 only).
pub async fn jwks(_req: Request, ctx: Ctx) -> Outcome {
    Ok(Reply::ok(ctx.data.state.tokens.jwks()).with_header("Cache-Control", "public, max-age=300"))
}
