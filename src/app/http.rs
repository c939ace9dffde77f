//! HTTP at the edge: the request pipeline, JSON bodies in, `Reply`s out, and the headers
//! every response carries.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use worker::{console_error, console_log, Context, Date, Env, Request, Response, Result};

use crate::app::state::State;
use crate::app::support::random_bytes;
use crate::app::{Ctx, Handler, Routed};
use crate::config::Config;
use crate::domain::body::{parse_json_object, BodyError, LimitedBody};
use crate::domain::tokens::hex;
use crate::edge::{cors_headers, is_preflight, preflight, AccessLog, SECURITY_HEADERS};
use crate::error::{ApiError, Reply};
use crate::routes::{path_id, resolve, Endpoint, Op, Resolution};

/// Runs one request through configuration, CORS, routing and the handler, then stamps the
/// common headers on whatever came out and writes one structured log line. `handler_for` is the
/// route table's map from operation to handler (`lib.rs`).
pub async fn serve(req: Request, env: Env, context: Context, handler_for: fn(Op) -> Handler) -> Result<Response> {
    let started = Date::now().as_millis();
    let request_id = header(&req, "CF-Ray").unwrap_or_else(|| random_bytes::<8>().map(|b| hex(&b)).unwrap_or_default());
    let method = req.inner().method();
    let path = req.path();
    let client_ip = client_ip(&req);
    let (route, user_id, response) = dispatch(req, env, context, handler_for, &method, &path).await;
    let response = response?;
    response.headers().set("X-Request-Id", &request_id)?;
    let entry = AccessLog {
        request_id: &request_id,
        method: &method,
        route,
        status: response.status_code(),
        duration_ms: Date::now().as_millis().saturating_sub(started),
        user_id,
        client_ip: &client_ip,
    };
    console_log!("{}", entry.to_json());
    Ok(response)
}

async fn dispatch(
    req: Request,
    env: Env,
    background: Context,
    handler_for: fn(Op) -> Handler,
    method: &str,
    path: &str,
) -> (&'static str, Option<i64>, Result<Response>) {
    let origin = header(&req, "Origin");
    let state = match State::load(&env) {
        Ok(state) => state,
        Err(_) => return ("-", None, finish(ApiError::Misconfigured.into_reply())),
    };
    let config = &state.config;
    if is_preflight(method, origin.as_deref(), header(&req, "Access-Control-Request-Method").as_deref()) {
        let reply = preflight(config, origin.as_deref().unwrap_or_default());
        return ("preflight", None, finish(reply));
    }
    let (route, user_id, response) = match resolve(config, method, path) {
        Resolution::Answer(reply) => (route_label(config, path), None, to_response(reply)),
        Resolution::Serve(endpoint, _, op) => {
            let id = (endpoint == Endpoint::Session).then(|| path_id(path).to_owned());
            let ctx = Ctx::new(Routed { state: state.clone(), background }, env, id);
            let reply = handler_for(op)(req, ctx).await.unwrap_or_else(ApiError::into_reply);
            let user_id = reply.user_id;
            let response = match to_response(reply) {
                Ok(response) => Ok(response),
                Err(e) => {
                    console_error!("unhandled platform error: {e}");
                    to_response(ApiError::Internal.into_reply())
                }
            };
            (endpoint.path(), user_id, response)
        }
    };
    (route, user_id, response.and_then(|response| decorate(response, config, origin.as_deref())))
}

fn route_label(config: &Config, path: &str) -> &'static str {
    Endpoint::for_path(config, path).map_or("-", Endpoint::path)
}

/// A reply made before configuration or CORS apply (misconfiguration, preflight): the security
/// headers only.
fn finish(reply: Reply) -> Result<Response> {
    add_security_headers(to_response(reply)?)
}

fn decorate(response: Response, config: &Config, origin: Option<&str>) -> Result<Response> {
    let response = add_security_headers(response)?;
    for (name, value) in cors_headers(config, origin) {
        response.headers().set(name, &value)?;
    }
    Ok(response)
}

fn add_security_headers(response: Response) -> Result<Response> {
    for (name, value) in SECURITY_HEADERS {
        response.headers().set(name, value)?;
    }
    Ok(response)
}

/// A `Reply` as a platform response: JSON body, status, its own headers.
pub fn to_response(reply: Reply) -> Result<Response> {
    let response = if reply.status == 204 {
        Response::empty()?.with_status(204)
    } else {
        Response::from_json(&reply.body)?.with_status(reply.status)
    };
    let headers = response.headers();
    headers.set("Content-Type", "application/json")?;
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    Ok(response)
}

/// The client's address as Cloudflare saw it. `X-Forwarded-For` is client-controlled and ignored.
pub fn client_ip(req: &Request) -> String {
    header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".to_owned())
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Reads the body as a JSON object, refusing it unread when it declares itself too large and
/// stopping at the first chunk that takes it over the limit (the rest is cancelled, never read).
/// A body that declares its length (within the limit, or it was refused) and is not chunked is
/// read in one call: the runtime's framing holds it to that length, and it costs one crossing
/// instead of a reader, a read per chunk and a release.
pub async fn json_body(req: &mut Request, config: &Config) -> std::result::Result<Map<String, Value>, ApiError> {
    let declared = header(req, "Content-Length");
    let mut body = LimitedBody::new(config.max_body_bytes, declared.as_deref())?;
    if req.inner().body().is_some() {
        let framed = declared.as_deref().is_some_and(|len| len.trim().parse::<u64>().is_ok())
            && header(req, "Transfer-Encoding").is_none();
        if framed {
            body.push(&req.bytes().await.map_err(unreadable)?)?;
        } else {
            let mut chunks = req.stream().map_err(unreadable)?;
            while let Some(chunk) = chunks.next().await {
                body.push(&chunk.map_err(unreadable)?)?;
            }
        }
    }
    Ok(parse_json_object(header(req, "Content-Type").as_deref(), body.bytes())?)
}

fn unreadable(e: worker::Error) -> ApiError {
    console_error!("reading request body: {e}");
    ApiError::Body(BodyError::Malformed("Could not read the request body".into()))
}
