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
    use crate::routes::{Endpoint, JWKS_PATH};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
        http::serve(req, env, route_table).await
    }

    /// The one route table: every endpoint under every configured prefix, with and without
    /// its trailing slash. 404, 405, OPTIONS and CORS preflights are answered before routing.
    fn route_table(state: Rc<State>) -> Router<'static, Rc<State>> {
        let mut router = Router::with_data(state.clone());
        for pattern in ["/healthz", "/healthz/"] {
            router = router.get_async(pattern, handlers::health).head_async(pattern, handlers::health);
        }
        router = router.get_async(JWKS_PATH, handlers::jwks).head_async(JWKS_PATH, handlers::jwks);
        for prefix in &state.config.prefixes {
            for endpoint in Endpoint::ALL {
                for pattern in endpoint.patterns(prefix) {
                    router = match endpoint {
                        Endpoint::Register => router.post_async(&pattern, handlers::register),
                        Endpoint::Login => router.post_async(&pattern, handlers::login),
                        Endpoint::Logout => router.post_async(&pattern, handlers::logout),
                        Endpoint::TokenRefresh => router.post_async(&pattern, handlers::refresh),
                        Endpoint::Me => router
                            .get_async(&pattern, handlers::me)
                            .head_async(&pattern, handlers::me)
                            .patch_async(&pattern, handlers::update_me),
                        Endpoint::ChangePassword => router.post_async(&pattern, handlers::change_password),
                        Endpoint::LogoutAll => router.post_async(&pattern, handlers::logout_all),
                        Endpoint::Sessions => {
                            router.get_async(&pattern, handlers::sessions).head_async(&pattern, handlers::sessions)
                        }
                        Endpoint::Session => router.delete_async(&pattern, handlers::delete_session),
                        Endpoint::OpenApi => {
                            router.get_async(&pattern, handlers::openapi).head_async(&pattern, handlers::openapi)
                        }
                        // Served once, outside the prefixes (above).
                        Endpoint::Health | Endpoint::Jwks => router,
                    };
                }
            }
        }
        router
    }
}
