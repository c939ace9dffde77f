//! The worker: rooms by capability (`accounts`, `sessions`, `platform`), who is calling
//! (`caller`), issuing tokens (`issue`), anti-automation (`throttle`), the HTTP edge (`http`),
//! per-isolate state (`state`) and the storage adapters (`store`). Built for wasm32 only.

pub mod accounts;
pub mod caller;
pub mod http;
pub mod issue;
pub mod mail;
pub mod passwords;
pub mod platform;
pub mod recovery;
pub mod sessions;
pub mod state;
pub mod store;
pub mod support;
pub mod throttle;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use worker::{D1Database, RouteContext};

use crate::app::state::State;
use crate::app::store::blacklist::Blacklist;
use crate::error::{ApiError, Reply};

pub use support::{first_row, now, random_bytes, OrInternal};

/// What a handler gives back: a reply, or the error that becomes one.
pub type Outcome = Result<Reply, ApiError>;

/// A handler, as the route table's exhaustive `match` in `lib.rs` names it.
pub type Handler = fn(worker::Request, Ctx) -> Pin<Box<dyn Future<Output = Outcome>>>;

/// The router's data for one request: the isolate's state, the handler the table chose, and the
/// user the reply served (for the access log).
pub struct Routed {
    pub state: Rc<State>,
    pub handler: Handler,
    pub user_id: Cell<Option<i64>>,
    /// The request's `waitUntil`, for work after the response (mail).
    pub background: Rc<worker::Context>,
}

pub type Ctx = RouteContext<Rc<Routed>>;

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
