//! Events to Django (`integrations/django/PROTOCOL.md`, "What each side sends"), through the
//! Cloudflare Queue `SYNC_QUEUE`: handlers `publish` what they changed once D1 has committed it,
//! and this worker's Queue consumer (`deliver`) POSTs each event, signed at delivery time, to the
//! companion's `events/`, retrying with back-off while Django is down (then the dead-letter queue).
//! A Django outage delays events; it loses none, and it never fails a user's request.

use serde_json::Value;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_error, js_sys, worker_sys, Env};

use crate::app::django::post;
use crate::app::state::State;
use crate::app::{now, random_bytes, Ctx};
use crate::config::SyncConfig;
use crate::domain::sync::{envelope, Delivery, Outgoing};
use crate::domain::tokens::hex;

/// The producer binding (`[[queues.producers]]` in wrangler.toml).
const QUEUE: &str = "SYNC_QUEUE";

/// The most messages one `sendBatch` takes.
const BATCH_MAX: usize = 100;

/// How long the consumer waits for the companion to take one event (milliseconds).
const DELIVERY_TIMEOUT_MS: u32 = 10_000;

/// Whether events go to Django (`DJANGO_SYNC_URL` is set).
pub fn syncing(ctx: &Ctx) -> bool {
    ctx.data.state.config.sync.django_url.is_some()
}

/// Queues `events` for Django, each in its envelope (a random id, `occurred_at` now) as a text
/// message, when `DJANGO_SYNC_URL` is set. Call it after the change is committed, and await it
/// before answering. A failure is logged with the event types, never their data (user records
/// carry password hashes), and does not fail the request: D1 has the change, Django does not.
pub async fn publish(ctx: &Ctx, events: Vec<Outgoing>) {
    if !syncing(ctx) || events.is_empty() {
        return;
    }
    let types = events.iter().map(|event| event.kind.as_str()).collect::<Vec<_>>().join(", ");
    if let Err(why) = send(ctx, events).await {
        console_error!("sync events not queued ({types}): {why}");
    }
}

/// `sendBatch` on `SYNC_QUEUE`, by at most `BATCH_MAX`; each batch made in one call into the
/// runtime, as a JSON array of `{"contentType": "text", "body": <envelope>}`.
async fn send(ctx: &Ctx, events: Vec<Outgoing>) -> Result<(), String> {
    let queue = js_sys::Reflect::get(ctx.env.as_ref(), &JsValue::from(QUEUE)).unwrap_or_default();
    if queue.is_undefined() {
        return Err(format!("no queue binding {QUEUE}"));
    }
    let queue: worker_sys::Queue = queue.unchecked_into();
    let occurred_at = now().timestamp();
    for chunk in events.chunks(BATCH_MAX) {
        let mut batch = Vec::with_capacity(chunk.len());
        for event in chunk {
            let id = hex(&random_bytes::<16>().map_err(|_| "no randomness for event ids")?);
            let body = envelope(&id, event.kind, occurred_at, &event.data);
            batch.push(serde_json::json!({ "contentType": "text", "body": body }));
        }
        let batch = js_sys::JSON::parse(&Value::Array(batch).to_string()).map_err(|_| "unparsable batch")?;
        let sent = queue.send_batch(batch.unchecked_into(), JsValue::UNDEFINED).map_err(describe)?;
        JsFuture::from(sent).await.map_err(describe)?;
    }
    Ok(())
}

/// A platform error's message (it names what failed, never the messages).
fn describe(error: JsValue) -> String {
    error.dyn_into::<js_sys::Error>().map_or_else(|_| "refused".to_owned(), |error| String::from(error.message()))
}

/// The Queue consumer (`[[queues.consumers]]`): each event of the batch, in order, POSTed to
/// `{DJANGO_SYNC_URL}events/` and acknowledged, dropped or retried as `Delivery::after` decides
/// from the companion's answer and the message's `attempts`. Takes the platform's batch as is:
/// worker 0.8's `MessageBatch` does not expose `attempts`.
pub async fn deliver(batch: worker_sys::MessageBatch, env: Env) {
    let state = State::load(&env).ok();
    let max_delay_secs = state
        .as_ref()
        .map_or(SyncConfig::default().retry_max_delay_secs, |state| state.config.sync.retry_max_delay_secs);
    let Ok(messages) = batch.messages() else {
        return console_error!("sync: the queue's batch could not be read");
    };
    for value in messages.iter() {
        let attempts = js_sys::Reflect::get(&value, &JsValue::from("attempts")).ok().and_then(|n| n.as_f64());
        let attempts = attempts.map_or(1, |n| n as u32);
        let message: worker_sys::Message = value.unchecked_into();
        let body = message.body().ok().and_then(|body| body.as_string()).unwrap_or_default();
        let answer = match &state {
            Some(state) => post(state, "events/", &body, DELIVERY_TIMEOUT_MS).await.map(|answer| answer.status),
            None => Err("edge-auth is misconfigured"),
        };
        let done = match Delivery::after(answer.ok(), attempts, max_delay_secs) {
            Delivery::Delivered => message.ack(),
            Delivery::Refused => {
                console_error!("sync {}: {}; dropped (retrying cannot help)", label(&body), failure(answer));
                message.ack()
            }
            Delivery::RetryIn(delay) => {
                let (label, failure) = (label(&body), failure(answer));
                console_error!("sync {label}: {failure}; attempt {attempts}, retried in {delay} s");
                let options = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&options, &JsValue::from("delaySeconds"), &JsValue::from(delay));
                message.retry(options.into())
            }
        };
        if done.is_err() {
            console_error!("sync {}: the queue refused the outcome", label(&body));
        }
    }
}

/// Why a delivery failed, for the log.
fn failure(answer: Result<u16, &str>) -> String {
    match answer {
        Ok(status) => format!("Django answered {status}"),
        Err(why) => why.to_owned(),
    }
}

/// An event's type and id, for the log (never its data).
fn label(body: &str) -> String {
    let event: Value = serde_json::from_slice(body.as_bytes()).unwrap_or_default();
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or("?").to_owned();
    format!("event {} {}", field("type"), field("id"))
}
