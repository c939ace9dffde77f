//! HTTP at the edge: the request pipeline, JSON bodies in, `Reply`s out, and the headers
//! every response carries.

use std::rc::Rc;

use futures_util::StreamExt;
use serde_json::{Map, Value};
use worker::{console_error, console_log, Date, Env, Request, Response, Result, Router};

use crate::app::random_bytes;
use crate::app::state::State;
use crate::app::throttle::client_ip;
use crate::config::Config;
use crate::domain::body::{parse_json_object, BodyError, LimitedBody};
use crate::domain::tokens::hex;
use crate::error::{ApiError, Reply, USER_HEADER};
use crate::routes::{
    cors_headers, is_preflight, preflight, resolve, AccessLog, Endpoint, Resolution, SECURITY_HEADERS,
};

/// Runs one request through configuration, CORS, routing and the handler, then stamps the
/// common headers on whatever came out and writes one structured log line.
pub async fn serve(
    req: Request,
    env: Env,
    route_table: fn(Rc<State>, Endpoint) -> Router<'static, Rc<State>>,
) -> Result<Response> {
    let started = Date::now().as_millis();
    let request_id = header(&req, "CF-Ray").unwrap_or_else(|| random_bytes::<8>().map(|b| hex(&b)).unwrap_or_default());
    let method = req.inner().method();
    let path = req.path();
    let client_ip = client_ip(&req);
    let (route, response) = dispatch(req, env, route_table, &method, &path).await;
    let response = response?;
    let headers = response.headers();
    headers.set("X-Request-Id", &request_id)?;
    let user_id = headers.get(USER_HEADER)?.and_then(|id| id.parse().ok());
    headers.delete(USER_HEADER)?;
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
    route_table: fn(Rc<State>, Endpoint) -> Router<'static, Rc<State>>,
    method: &str,
    path: &str,
) -> (&'static str, Result<Response>) {
    let origin = header(&req, "Origin");
    let state = match State::load(&env) {
        Ok(state) => state,
        Err(_) => return ("-", finish(ApiError::Misconfigured.into_reply(), None, None)),
    };
    let config = &state.config;
    if is_preflight(method, origin.as_deref(), header(&req, "Access-Control-Request-Method").as_deref()) {
        let reply = preflight(config, origin.as_deref().unwrap_or_default());
        return ("preflight", finish(reply, None, None));
    }
    let (route, response) = match resolve(config, method, path) {
        Resolution::Answer(reply) => (route_label(config, path), to_response(reply)),
        Resolution::Serve(endpoint) => {
            let response = match route_table(state.clone(), endpoint).run(req, env).await {
                Ok(response) => Ok(response),
                Err(e) => {
                    console_error!("unhandled platform error: {e}");
                    to_response(ApiError::Internal.into_reply())
                }
            };
            (endpoint.path(), response)
        }
    };
    (route, response.and_then(|response| decorate(response, config, origin.as_deref())))
}

fn route_label(config: &Config, path: &str) -> &'static str {
    Endpoint::for_path(config, path).map_or("-", Endpoint::path)
}

fn finish(reply: Reply, config: Option<&Config>, origin: Option<&str>) -> Result<Response> {
    let response = to_response(reply)?;
    match config {
        Some(config) => decorate(response, config, origin),
        None => add_security_headers(response),
    }
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

/// A handler's outcome as a response.
pub fn respond(outcome: std::result::Result<Reply, ApiError>) -> Result<Response> {
    to_response(outcome.unwrap_or_else(ApiError::into_reply))
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Reads the body as a JSON object, refusing it unread when it declares itself too large and
/// stopping at the first chunk that takes it over the limit (the rest is cancelled, never read).
pub async fn json_body(req: &mut Request, config: &Config) -> std::result::Result<Map<String, Value>, ApiError> {
    let mut body = LimitedBody::new(config.max_body_bytes, header(req, "Content-Length").as_deref())?;
    if req.inner().body().is_some() {
        let mut chunks = req.stream().map_err(unreadable)?;
        while let Some(chunk) = chunks.next().await {
            body.push(&chunk.map_err(unreadable)?)?;
        }
    }
    Ok(parse_json_object(header(req, "Content-Type").as_deref(), body.bytes())?)
}

fn unreadable(e: worker::Error) -> ApiError {
    console_error!("reading request body: {e}");
    ApiError::Body(BodyError::Malformed("Could not read the request body".into()))
}
