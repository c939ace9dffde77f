//! HTTP at the edge: the request pipeline, JSON bodies in, `Reply`s out, and the headers
//! every response carries.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use worker::wasm_bindgen::JsCast;
use worker::{console_error, console_log, js_sys, web_sys, Context, Date, Env, Request, Result};

use crate::app::state::State;
use crate::app::store::events::Events;
use crate::app::support::{now, random_bytes};
use crate::app::{Ctx, Handler, Recorded, Recording, Routed};
use crate::config::Config;
use crate::domain::body::{drain_refused, parse_form_or_json, parse_json_object, BodyError, LimitedBody, DRAIN_BYTES};
use crate::domain::tokens::hex;
use crate::edge::{cors_headers, is_preflight, preflight, AccessLog, SECURITY_HEADERS};
use crate::error::{ApiError, Reply};
use crate::routes::{path_id, resolve, Endpoint, Op, Resolution};

/// Runs one request through configuration, CORS, routing and the handler, then stamps the
/// common headers on whatever came out and writes one structured log line. `handler_for` is the
/// route table's map from operation to handler (`lib.rs`).
pub async fn serve(
    req: Request,
    env: Env,
    context: Context,
    handler_for: fn(Op) -> Handler,
) -> Result<web_sys::Response> {
    let started = Date::now().as_millis();
    let request_id = header(&req, "CF-Ray").unwrap_or_else(|| random_bytes::<8>().map(|b| hex(&b)).unwrap_or_default());
    let method = req.inner().method();
    let path = req.path();
    let client_ip = client_ip(&req);
    let (route, reply) = dispatch(req, env, context, handler_for, &method, &path).await;
    let response = respond(&reply, &request_id)?;
    let entry = AccessLog {
        request_id: &request_id,
        method: &method,
        route,
        status: reply.status,
        duration_ms: Date::now().as_millis().saturating_sub(started),
        user_id: reply.user_id,
        client_ip: &client_ip,
    };
    console_log!("{}", entry.to_json());
    Ok(response)
}

/// The route label for the access log, and the reply with every header it goes out with but
/// `Content-Type` and `X-Request-Id` (`respond`).
async fn dispatch(
    req: Request,
    env: Env,
    background: Context,
    handler_for: fn(Op) -> Handler,
    method: &str,
    path: &str,
) -> (&'static str, Reply) {
    let origin = header(&req, "Origin");
    let state = match State::load(&env) {
        Ok(state) => state,
        Err(_) => return ("-", finish(ApiError::Misconfigured.into_reply())),
    };
    let config = &state.config;
    if is_preflight(method, origin.as_deref(), header(&req, "Access-Control-Request-Method").as_deref()) {
        let reply = preflight(config, origin.as_deref().unwrap_or_default());
        return ("preflight", finish(reply));
    }
    let (route, reply) = match resolve(config, method, path) {
        Resolution::Answer(reply) => (route_label(config, path), reply),
        Resolution::Serve(endpoint, _, op) => {
            let id = path_id(endpoint, path).map(str::to_owned);
            let recorded = Recorded::default();
            let ctx = Ctx::new(Routed { state: state.clone(), background }, env, id, recorded.clone());
            let reply = handler_for(op)(req, ctx).await.unwrap_or_else(ApiError::into_reply);
            write_recorded(recorded.take()).await;
            (endpoint.path(), reply)
        }
    };
    (route, decorate(reply, config, origin.as_deref()))
}

/// Writes the audit events a handler recorded (`Ctx::record`) in one batch, with the request's
/// address and user agent.
async fn write_recorded(recording: Recording) {
    let Some((env, source)) = recording.to else {
        return;
    };
    let events = recording.events;
    match env.d1("DB") {
        Ok(db) => Events::new(&db).write(&source, &events, now().timestamp()).await,
        Err(e) => console_error!("audit trail: {} event(s) not recorded: binding DB: {e}", events.len()),
    }
}

fn route_label(config: &Config, path: &str) -> &'static str {
    Endpoint::for_path(config, path).map_or("-", Endpoint::path)
}

/// A reply made before configuration or CORS apply (misconfiguration, preflight): the security
/// headers only.
fn finish(mut reply: Reply) -> Reply {
    reply.headers.extend(SECURITY_HEADERS.map(|(name, value)| (name, value.to_owned())));
    reply
}

fn decorate(reply: Reply, config: &Config, origin: Option<&str>) -> Reply {
    let mut reply = finish(reply);
    reply.headers.extend(cors_headers(config, origin));
    reply
}

/// A `Reply` as a platform response: JSON body, status, `Content-Type`, its own headers (a later
/// one of a name replacing an earlier one, as `Headers.set` does) and `X-Request-Id`. Made in
/// one call into the runtime: status and headers as one JSON `ResponseInit`, the body as one
/// string, where a `Headers.set` per header cost two strings across each.
pub fn respond(reply: &Reply, request_id: &str) -> Result<web_sys::Response> {
    let headers = [("Content-Type", "application/json")]
        .into_iter()
        .chain(reply.headers.iter().map(|(name, value)| (*name, value.as_str())))
        .chain([("X-Request-Id", request_id)]);
    let init: web_sys::ResponseInit = js_sys::JSON::parse(&response_init(reply.status, headers))?.unchecked_into();
    let body = (reply.status != 204).then(|| reply.body.to_string());
    Ok(web_sys::Response::new_with_opt_str_and_init(body.as_deref(), &init)?)
}

/// `{"status":…,"headers":{…}}`, written out: a `serde_json::Map` costs 2.9 KB more wasm. A
/// repeated name keeps its last value (JSON.parse's rule).
fn response_init<'a>(status: u16, headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = format!("{{\"status\":{status},\"headers\":{{");
    for (i, (name, value)) in headers.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(name).to_string());
        out.push(':');
        out.push_str(&Value::from(value).to_string());
    }
    out.push_str("}}");
    out
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
    let body = raw_body(req, config).await?;
    Ok(parse_json_object(header(req, "Content-Type").as_deref(), &body)?)
}

/// Reads the body as `json_body` does, a form body (`application/x-www-form-urlencoded`) being
/// accepted too: RFC 7662 has introspection requests sent as forms.
pub async fn form_or_json_body(
    req: &mut Request,
    config: &Config,
) -> std::result::Result<Map<String, Value>, ApiError> {
    let body = raw_body(req, config).await?;
    Ok(parse_form_or_json(header(req, "Content-Type").as_deref(), &body)?)
}

/// The body's bytes as sent, within `MAX_BODY_BYTES` (read as `json_body` reads it). A body over
/// the limit, declared as a length not far over it, is drained (`domain::body::drain_refused`)
/// before the 413 is answered.
pub async fn raw_body(req: &mut Request, config: &Config) -> std::result::Result<Vec<u8>, ApiError> {
    let content_length = header(req, "Content-Length");
    let mut body = match LimitedBody::new(config.max_body_bytes, content_length.as_deref()) {
        Ok(body) => body,
        Err(refused) => {
            if drain_refused(content_length.as_deref()) {
                if let Ok(mut chunks) = req.stream() {
                    drain(&mut chunks, 0).await;
                }
            }
            return Err(refused.into());
        }
    };
    if req.inner().body().is_some() {
        let framed = body.declared() && header(req, "Transfer-Encoding").is_none();
        if framed {
            body.push(&req.bytes().await.map_err(unreadable)?)?;
        } else {
            let mut chunks = req.stream().map_err(unreadable)?;
            while let Some(chunk) = chunks.next().await {
                body.push(&chunk.map_err(unreadable)?)?;
            }
        }
    }
    Ok(body.into_bytes())
}

/// Reads and drops a refused body (its declared length is within `DRAIN_BYTES`), stopping at
/// `DRAIN_BYTES` whatever it sends.
async fn drain(chunks: &mut worker::ByteStream, mut read: usize) {
    while read <= DRAIN_BYTES {
        match chunks.next().await {
            Some(Ok(chunk)) => read += chunk.len(),
            _ => return,
        }
    }
}

fn unreadable(e: worker::Error) -> ApiError {
    console_error!("reading request body: {e}");
    ApiError::Body(BodyError::Malformed("Could not read the request body".into()))
}
