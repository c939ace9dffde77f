//! edge-auth: the DRF + simplejwt auth API as a Cloudflare Worker.
//!
//! Everything that decides something lives in pure modules (`config`, `error`, `routes`,
//! `domain`) that `cargo test` checks natively; `app` holds the thin adapters to the Workers
//! platform (Request/Response, D1, KV) and is built for wasm32 only.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
mod worker_entry {
    use std::rc::Rc;

    use worker::{event, Context, Env, Request, Response, Result, Router};

    use crate::app::{handlers, http, state::State};
    use crate::routes::{Endpoint, HEALTH_PATH, JWKS_PATH};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
        http::serve(req, env, route_table).await
    }

    /// The one route table: every endpoint under every configured prefix, with and without
    /// its trailing slash. 404, 405, OPTIONS and CORS preflights are answered before routing by
    /// `routes::resolve`, which also names the endpoint the path belongs to, so only that
    /// endpoint's routes are built: a Router cannot be kept between requests, and building all
    /// ~60 routes cost ~70 µs of wasm CPU on every request (measured under node).
    fn route_table(state: Rc<State>, wanted: Endpoint) -> Router<'static, Rc<State>> {
        let patterns: Vec<String> = match wanted {
            // Served once, outside the prefixes.
            Endpoint::Health => vec![HEALTH_PATH.to_owned(), format!("{HEALTH_PATH}/")],
            Endpoint::Jwks => vec![JWKS_PATH.to_owned()],
            _ => state.config.prefixes.iter().flat_map(|prefix| wanted.patterns(prefix)).collect(),
        };
        let mut router = Router::with_data(state);
        for pattern in &patterns {
            router = match wanted {
                Endpoint::Health => router.get_async(pattern, handlers::health).head_async(pattern, handlers::health),
                Endpoint::Jwks => router.get_async(pattern, handlers::jwks).head_async(pattern, handlers::jwks),
                Endpoint::Register => router.post_async(pattern, handlers::register),
                Endpoint::Login => router.post_async(pattern, handlers::login),
                Endpoint::Logout => router.post_async(pattern, handlers::logout),
                Endpoint::TokenRefresh => router.post_async(pattern, handlers::refresh),
                Endpoint::Me => router
                    .get_async(pattern, handlers::me)
                    .head_async(pattern, handlers::me)
                    .patch_async(pattern, handlers::update_me),
                Endpoint::ChangePassword => router.post_async(pattern, handlers::change_password),
                Endpoint::LogoutAll => router.post_async(pattern, handlers::logout_all),
                Endpoint::Sessions => {
                    router.get_async(pattern, handlers::sessions).head_async(pattern, handlers::sessions)
                }
                Endpoint::Session => router.delete_async(pattern, handlers::delete_session),
                Endpoint::OpenApi => {
                    router.get_async(pattern, handlers::openapi).head_async(pattern, handlers::openapi)
                }
            };
        }
        router
    }
}
