//! edge-auth: the DRF + simplejwt auth API as a Cloudflare Worker.
//!
//! Everything that decides something lives in pure modules (`config`, `error`, `routes`,
//! `domain`) that `cargo test` checks natively; `app` holds the thin adapters to the Workers
//! platform (Request/Response, D1, KV) and is built for wasm32 only.

pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod routes;

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
mod worker_entry {
    use worker::wasm_bindgen::prelude::wasm_bindgen;
    use worker::wasm_bindgen::JsValue;
    use worker::{event, web_sys, worker_sys, Context, Env, Request, Result};

    use crate::app::{
        accounts, admin, audit, boxed, http, inbound, introspection, mfa, outbound, passkeys, platform, prune,
        recovery, sessions, Handler,
    };
    use crate::routes::Op;

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
        http::serve(req, env, ctx, handler).await
    }

    /// The Cron Trigger (`[triggers] crons`): deletes what nothing needs any more, in bounded
    /// batches (`app::prune`). Never fails: errors are logged and the next run continues.
    /// Exported by hand, like `queue`: the event and its context are not read, and
    /// `#[event(scheduled)]`'s wrappers of them cost wasm.
    #[wasm_bindgen(
        wasm_bindgen = ::worker::wasm_bindgen,
        wasm_bindgen_futures = ::worker::wasm_bindgen_futures,
        js_sys = ::worker::js_sys
    )]
    pub async fn scheduled(_event: JsValue, env: Env, _ctx: JsValue) -> Result<JsValue, JsValue> {
        prune::run(&env).await;
        Ok(JsValue::UNDEFINED)
    }

    /// The `SYNC_QUEUE` consumer: events to Django (`app::outbound::deliver`). Exported by hand,
    /// not with `#[event(queue)]`: worker 0.8's `MessageBatch` hides each message's `attempts`,
    /// which the back-off needs. Never fails: each message is acknowledged or retried on its own.
    #[wasm_bindgen(
        wasm_bindgen = ::worker::wasm_bindgen,
        wasm_bindgen_futures = ::worker::wasm_bindgen_futures,
        js_sys = ::worker::js_sys
    )]
    pub async fn queue(
        batch: worker_sys::MessageBatch,
        env: Env,
        _ctx: worker_sys::Context,
    ) -> Result<JsValue, JsValue> {
        outbound::deliver(batch, env).await;
        Ok(JsValue::UNDEFINED)
    }

    /// The handler of every operation of the route table (`routes::ROUTES`, which says which
    /// endpoint and method each serves). Exhaustive: a new operation does not build without one.
    fn handler(op: Op) -> Handler {
        match op {
            Op::Register => |req, ctx| boxed(accounts::register(req, ctx)),
            Op::Login => |req, ctx| boxed(accounts::login(req, ctx)),
            Op::Profile => |req, ctx| boxed(accounts::profile(req, ctx)),
            Op::UpdateProfile => |req, ctx| boxed(accounts::update_profile(req, ctx)),
            Op::ChangePassword => |req, ctx| boxed(accounts::change_password(req, ctx)),
            Op::Refresh => |req, ctx| boxed(sessions::refresh(req, ctx)),
            Op::Introspect => |req, ctx| boxed(introspection::introspect(req, ctx)),
            Op::Logout => |req, ctx| boxed(sessions::logout(req, ctx)),
            Op::LogoutAll => |req, ctx| boxed(sessions::logout_all(req, ctx)),
            Op::ListSessions => |req, ctx| boxed(sessions::list_sessions(req, ctx)),
            Op::EndSession => |req, ctx| boxed(sessions::end_session(req, ctx)),
            Op::RequestPasswordReset => |req, ctx| boxed(recovery::request_password_reset(req, ctx)),
            Op::ConfirmPasswordReset => |req, ctx| boxed(recovery::confirm_password_reset(req, ctx)),
            Op::VerifyEmail => |req, ctx| boxed(recovery::verify_email(req, ctx)),
            Op::ResendVerification => |req, ctx| boxed(recovery::resend_verification(req, ctx)),
            Op::EmailStatus => |req, ctx| boxed(recovery::email_status(req, ctx)),
            Op::ChangeEmail => |req, ctx| boxed(recovery::change_email(req, ctx)),
            Op::ReceiveSyncEvent => |req, ctx| boxed(inbound::receive_event(req, ctx)),
            Op::ListEvents => |req, ctx| boxed(audit::list_events(req, ctx)),
            Op::Health => |req, ctx| boxed(platform::health(req, ctx)),
            Op::OpenApi => |req, ctx| boxed(platform::openapi(req, ctx)),
            Op::Jwks => |req, ctx| boxed(platform::jwks(req, ctx)),
            Op::AdminListUsers => |req, ctx| boxed(admin::list_users(req, ctx)),
            Op::AdminShowUser => |req, ctx| boxed(admin::show_user(req, ctx)),
            Op::AdminUpdateUser => |req, ctx| boxed(admin::update_user(req, ctx)),
            Op::AdminListSessions => |req, ctx| boxed(admin::list_sessions(req, ctx)),
            Op::AdminLogoutAll => |req, ctx| boxed(admin::logout_all(req, ctx)),
            Op::AdminListEvents => |req, ctx| boxed(admin::list_events(req, ctx)),
            Op::MfaStatus => |req, ctx| boxed(mfa::status(req, ctx)),
            Op::SetupTotp => |req, ctx| boxed(mfa::totp_setup(req, ctx)),
            Op::ConfirmTotp => |req, ctx| boxed(mfa::totp_confirm(req, ctx)),
            Op::DisableTotp => |req, ctx| boxed(mfa::totp_disable(req, ctx)),
            Op::RegenerateRecoveryCodes => |req, ctx| boxed(mfa::regenerate_recovery_codes(req, ctx)),
            Op::LoginSecondFactor => |req, ctx| boxed(mfa::login_second_step(req, ctx)),
            Op::PasskeyRegisterOptions => |req, ctx| boxed(passkeys::register_options(req, ctx)),
            Op::RegisterPasskey => |req, ctx| boxed(passkeys::register_verify(req, ctx)),
            Op::ListPasskeys => |req, ctx| boxed(passkeys::list(req, ctx)),
            Op::RenamePasskey => |req, ctx| boxed(passkeys::rename(req, ctx)),
            Op::RemovePasskey => |req, ctx| boxed(passkeys::remove(req, ctx)),
            Op::PasskeyLoginOptions => |req, ctx| boxed(passkeys::login_options(req, ctx)),
            Op::PasskeyLogin => |req, ctx| boxed(passkeys::login_verify(req, ctx)),
        }
    }
}
