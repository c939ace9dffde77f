//! The worker: rooms by capability (`accounts`, `sessions`, `recovery`, `mfa` and `passkeys` for
//! second factors, `inbound` for Django's events, `introspection` for other resource servers,
//! `admin`, `platform`), who is calling (`caller`), signing in a proven user (`signin`), what the
//! second factors share (`second_factor`), issuing tokens (`issue`), anti-automation (`throttle`), the HTTP edge (`http`), per-isolate
//! state (`state`) and static assets (`assets`), the storage adapters (`store`), and Django
//! beside it (`django`, `outbound`).
//! Built for wasm32 only.

pub mod accounts;
pub mod admin;
pub mod assets;
pub mod audit;
pub mod breach;
pub mod caller;
pub mod django;
pub mod http;
pub mod inbound;
pub mod introspection;
pub mod issue;
pub mod mail;
pub mod mfa;
pub mod outbound;
pub mod passkeys;
pub mod passwords;
pub mod platform;
pub mod prune;
pub mod recovery;
pub mod second_factor;
pub mod sessions;
pub mod signin;
pub mod state;
pub mod store;
pub mod support;
pub mod throttle;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use worker::{D1Database, Env, Request};

use crate::app::state::State;
use crate::app::store::blacklist::Blacklist;
use crate::domain::audit::{AuditEvent, Source};
use crate::error::{ApiError, Reply};

pub use support::{first_row, now, random_bytes, OrInternal};

/// What a handler gives back: a reply, or the error that becomes one.
pub type Outcome = Result<Reply, ApiError>;

/// A handler, as the route table's exhaustive `match` in `lib.rs` names it.
pub type Handler = fn(worker::Request, Ctx) -> Pin<Box<dyn Future<Output = Outcome>>>;

/// What a handler gets besides the request: the isolate's state and the request's `waitUntil`.
pub struct Routed {
    pub state: Rc<State>,
    /// The request's `waitUntil`, for work after the response (mail).
    pub background: worker::Context,
}

/// A handler's context: the request's data, the bindings, the path's `:id` segment
/// (`sessions/:id/`, `admin/users/:id/…`) and the audit events the handler recorded. Our own, not
/// `worker::RouteContext`: the route table is matched by `routes::resolve`, so no
/// `worker::Router` is built per request.
pub struct Ctx {
    pub data: Routed,
    pub env: Env,
    id: Option<String>,
    recorded: Recorded,
}

/// The audit events a request's handler recorded, written once it is done (`http::dispatch`),
/// with what writing them takes: the bindings and the request's source, both taken by the first
/// `Ctx::record`, so that a request that records nothing pays nothing for the trail.
pub type Recorded = Rc<RefCell<Recording>>;

#[derive(Default)]
pub struct Recording {
    pub events: Vec<AuditEvent>,
    /// Set with the first event.
    pub to: Option<(Env, Source)>,
}

impl Ctx {
    pub fn new(data: Routed, env: Env, id: Option<String>, recorded: Recorded) -> Ctx {
        Ctx { data, env, id, recorded }
    }

    /// Adds `event` to the audit trail, with `req`'s address and user agent: written in one batch
    /// when the handler is done, before the response leaves (`http::dispatch`).
    pub fn record(&self, req: &Request, event: AuditEvent) {
        let mut recording = self.recorded.borrow_mut();
        if recording.to.is_none() {
            recording.to = Some((self.env.clone(), source(req)));
        }
        recording.events.push(event);
    }

    /// The `:id` of `sessions/:id/` or `admin/users/:id/…` (as it came, percent-encoded); `None`
    /// on endpoints without one.
    pub fn path_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn d1(&self, name: &str) -> worker::Result<D1Database> {
        self.env.d1(name)
    }

    pub fn kv(&self, name: &str) -> worker::Result<worker::kv::KvStore> {
        self.env.kv(name)
    }
}

/// Where `req` came from, as the audit trail keeps it: its client's address (`CF-Connecting-IP`)
/// and user agent.
pub fn source(req: &Request) -> Source {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    Source::new(header("CF-Connecting-IP"), header("User-Agent"))
}

/// Boxes a handler's future, so every handler fits one `Handler` type.
pub fn boxed(future: impl Future<Output = Outcome> + 'static) -> Pin<Box<dyn Future<Output = Outcome>>> {
    Box::pin(future)
}

pub fn database(ctx: &Ctx) -> Result<D1Database, ApiError> {
    ctx.d1("DB").or_internal("binding DB")
}

pub fn blacklist(ctx: &Ctx) -> Result<Blacklist, ApiError> {
    Ok(Blacklist::new(ctx.kv("TOKEN_BLACKLIST").or_internal("binding TOKEN_BLACKLIST")?))
}
