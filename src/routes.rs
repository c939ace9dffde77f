//! The endpoint table and what is decided from path and method alone: which path is which
//! endpoint, which methods it serves (404, 405 and `Allow`, OPTIONS), and the OpenAPI document.
//!
//! `ROUTES` is the one table of `(endpoint, method) → operation`. The worker's dispatch, 404/405
//! and `Allow`, the CORS preflight's methods and the check that the OpenAPI document agrees with
//! what is served are all derived from it; the worker maps each operation to its handler in one
//! exhaustive `match` (`lib.rs`).

use serde_json::{json, Value};

use crate::config::Config;
use crate::error::{ApiError, Reply};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Login,
    Logout,
    TokenRefresh,
    /// `token/introspect/`: RFC 7662 token introspection for other resource servers.
    TokenIntrospect,
    Me,
    ChangePassword,
    LogoutAll,
    Sessions,
    /// `sessions/<id>/`.
    Session,
    /// `password/reset/` (dj-rest-auth).
    PasswordReset,
    /// `password/reset/confirm/` (dj-rest-auth).
    PasswordResetConfirm,
    /// `registration/verify-email/` (dj-rest-auth).
    VerifyEmail,
    /// `registration/resend-email/` (dj-rest-auth).
    ResendEmail,
    /// `email/`: the caller's address and whether it is verified.
    Email,
    /// `email/change/`.
    EmailChange,
    /// `sync/events/`: events from Django's companion app (PROTOCOL.md), signed.
    SyncEvents,
    /// `events/`: the caller's audit trail.
    Events,
    /// `/healthz`, outside the prefixes.
    Health,
    /// `openapi.json`: the OpenAPI 3.1 document of everything here.
    OpenApi,
    /// `/.well-known/jwks.json`, outside the prefixes.
    Jwks,
    /// `admin/users/`: staff only, like the rest of `admin/`.
    AdminUsers,
    /// `admin/users/<id>/`.
    AdminUser,
    /// `admin/users/<id>/sessions/`.
    AdminUserSessions,
    /// `admin/users/<id>/logout-all/`.
    AdminUserLogoutAll,
    /// `admin/events/`.
    AdminEvents,
    /// `mfa/`: which second factors the caller has.
    Mfa,
    TotpSetup,
    TotpConfirm,
    Totp,
    RecoveryCodes,
    /// `login/mfa/`: the login's second step.
    LoginMfa,
    PasskeyRegisterOptions,
    PasskeyRegisterVerify,
    Passkeys,
    /// `passkeys/<id>/`.
    Passkey,
    PasskeyLoginOptions,
    PasskeyLoginVerify,
}

/// The OpenAPI 3.1 document (`src/openapi.json`; the worker reads it from its static assets) as
/// served under `prefix`: `servers` names that prefix.
pub fn openapi_document(document: &Value, prefix: &str) -> Value {
    let mut document = document.clone();
    document["servers"] = json!([{ "url": prefix.trim_end_matches('/') }]);
    document
}

/// The public keys of the optional Ed25519 signing, for third-party verification.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Liveness and dependency check, outside the API prefixes.
pub const HEALTH_PATH: &str = "/healthz";

/// The HTTP methods the worker serves (OPTIONS is answered before routing), in DRF's `Allow` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
    Head,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }
}

/// What a handler does: one per `(endpoint, method)` row of `ROUTES` (HEAD shares GET's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Register,
    Login,
    Logout,
    Refresh,
    Introspect,
    Profile,
    UpdateProfile,
    ChangePassword,
    LogoutAll,
    ListSessions,
    EndSession,
    RequestPasswordReset,
    ConfirmPasswordReset,
    VerifyEmail,
    ResendVerification,
    EmailStatus,
    ChangeEmail,
    ReceiveSyncEvent,
    ListEvents,
    Health,
    OpenApi,
    Jwks,
    AdminListUsers,
    AdminShowUser,
    AdminUpdateUser,
    AdminListSessions,
    AdminLogoutAll,
    AdminListEvents,
    MfaStatus,
    SetupTotp,
    ConfirmTotp,
    DisableTotp,
    RegenerateRecoveryCodes,
    LoginSecondFactor,
    PasskeyRegisterOptions,
    RegisterPasskey,
    ListPasskeys,
    RenamePasskey,
    RemovePasskey,
    PasskeyLoginOptions,
    PasskeyLogin,
}

/// The one endpoint table.
pub const ROUTES: [(Endpoint, Method, Op); 54] = [
    (Endpoint::Register, Method::Post, Op::Register),
    (Endpoint::Login, Method::Post, Op::Login),
    (Endpoint::Logout, Method::Post, Op::Logout),
    (Endpoint::TokenRefresh, Method::Post, Op::Refresh),
    (Endpoint::TokenIntrospect, Method::Post, Op::Introspect),
    (Endpoint::Me, Method::Get, Op::Profile),
    (Endpoint::Me, Method::Head, Op::Profile),
    (Endpoint::Me, Method::Patch, Op::UpdateProfile),
    (Endpoint::ChangePassword, Method::Post, Op::ChangePassword),
    (Endpoint::LogoutAll, Method::Post, Op::LogoutAll),
    (Endpoint::Sessions, Method::Get, Op::ListSessions),
    (Endpoint::Sessions, Method::Head, Op::ListSessions),
    (Endpoint::Session, Method::Delete, Op::EndSession),
    (Endpoint::PasswordReset, Method::Post, Op::RequestPasswordReset),
    (Endpoint::PasswordResetConfirm, Method::Post, Op::ConfirmPasswordReset),
    (Endpoint::VerifyEmail, Method::Post, Op::VerifyEmail),
    (Endpoint::ResendEmail, Method::Post, Op::ResendVerification),
    (Endpoint::Email, Method::Get, Op::EmailStatus),
    (Endpoint::Email, Method::Head, Op::EmailStatus),
    (Endpoint::EmailChange, Method::Post, Op::ChangeEmail),
    (Endpoint::SyncEvents, Method::Post, Op::ReceiveSyncEvent),
    (Endpoint::Events, Method::Get, Op::ListEvents),
    (Endpoint::Events, Method::Head, Op::ListEvents),
    (Endpoint::Health, Method::Get, Op::Health),
    (Endpoint::Health, Method::Head, Op::Health),
    (Endpoint::OpenApi, Method::Get, Op::OpenApi),
    (Endpoint::OpenApi, Method::Head, Op::OpenApi),
    (Endpoint::Jwks, Method::Get, Op::Jwks),
    (Endpoint::Jwks, Method::Head, Op::Jwks),
    (Endpoint::AdminUsers, Method::Get, Op::AdminListUsers),
    (Endpoint::AdminUsers, Method::Head, Op::AdminListUsers),
    (Endpoint::AdminUser, Method::Get, Op::AdminShowUser),
    (Endpoint::AdminUser, Method::Head, Op::AdminShowUser),
    (Endpoint::AdminUser, Method::Patch, Op::AdminUpdateUser),
    (Endpoint::AdminUserSessions, Method::Get, Op::AdminListSessions),
    (Endpoint::AdminUserSessions, Method::Head, Op::AdminListSessions),
    (Endpoint::AdminUserLogoutAll, Method::Post, Op::AdminLogoutAll),
    (Endpoint::AdminEvents, Method::Get, Op::AdminListEvents),
    (Endpoint::AdminEvents, Method::Head, Op::AdminListEvents),
    (Endpoint::Mfa, Method::Get, Op::MfaStatus),
    (Endpoint::Mfa, Method::Head, Op::MfaStatus),
    (Endpoint::TotpSetup, Method::Post, Op::SetupTotp),
    (Endpoint::TotpConfirm, Method::Post, Op::ConfirmTotp),
    (Endpoint::Totp, Method::Delete, Op::DisableTotp),
    (Endpoint::RecoveryCodes, Method::Post, Op::RegenerateRecoveryCodes),
    (Endpoint::LoginMfa, Method::Post, Op::LoginSecondFactor),
    (Endpoint::PasskeyRegisterOptions, Method::Post, Op::PasskeyRegisterOptions),
    (Endpoint::PasskeyRegisterVerify, Method::Post, Op::RegisterPasskey),
    (Endpoint::Passkeys, Method::Get, Op::ListPasskeys),
    (Endpoint::Passkeys, Method::Head, Op::ListPasskeys),
    (Endpoint::Passkey, Method::Patch, Op::RenamePasskey),
    (Endpoint::Passkey, Method::Delete, Op::RemovePasskey),
    (Endpoint::PasskeyLoginOptions, Method::Post, Op::PasskeyLoginOptions),
    (Endpoint::PasskeyLoginVerify, Method::Post, Op::PasskeyLogin),
];

/// What the pipeline does with a request before (or instead of) routing it to a handler.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// Run the handler: this endpoint serves this method with this operation.
    Serve(Endpoint, Method, Op),
    /// Answer directly (405, 404, OPTIONS metadata).
    Answer(Reply),
}

impl Endpoint {
    pub const ALL: [Endpoint; 36] = [
        Endpoint::Register,
        Endpoint::Login,
        Endpoint::Logout,
        Endpoint::TokenRefresh,
        Endpoint::TokenIntrospect,
        Endpoint::Me,
        Endpoint::ChangePassword,
        Endpoint::LogoutAll,
        Endpoint::Sessions,
        Endpoint::Session,
        Endpoint::PasswordReset,
        Endpoint::PasswordResetConfirm,
        Endpoint::VerifyEmail,
        Endpoint::ResendEmail,
        Endpoint::Email,
        Endpoint::EmailChange,
        Endpoint::SyncEvents,
        Endpoint::Events,
        Endpoint::OpenApi,
        Endpoint::AdminUsers,
        Endpoint::AdminUser,
        Endpoint::AdminUserSessions,
        Endpoint::AdminUserLogoutAll,
        Endpoint::AdminEvents,
        Endpoint::Mfa,
        Endpoint::TotpSetup,
        Endpoint::TotpConfirm,
        Endpoint::Totp,
        Endpoint::RecoveryCodes,
        Endpoint::LoginMfa,
        Endpoint::PasskeyRegisterOptions,
        Endpoint::PasskeyRegisterVerify,
        Endpoint::Passkeys,
        Endpoint::Passkey,
        Endpoint::PasskeyLoginOptions,
        Endpoint::PasskeyLoginVerify,
    ];

    /// The path below a prefix, with its trailing slash (`:id` a one-segment parameter)
    /// (`Health` and `Jwks` are absolute: they are not served under the prefixes).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Health => HEALTH_PATH,
            Endpoint::Jwks => JWKS_PATH,
            Endpoint::Register => "register/",
            Endpoint::Login => "login/",
            Endpoint::Logout => "logout/",
            Endpoint::TokenRefresh => "token/refresh/",
            Endpoint::TokenIntrospect => "token/introspect/",
            Endpoint::Me => "me/",
            Endpoint::ChangePassword => "change-password/",
            Endpoint::LogoutAll => "logout-all/",
            Endpoint::Sessions => "sessions/",
            Endpoint::Session => "sessions/:id/",
            Endpoint::PasswordReset => "password/reset/",
            Endpoint::PasswordResetConfirm => "password/reset/confirm/",
            Endpoint::VerifyEmail => "registration/verify-email/",
            Endpoint::ResendEmail => "registration/resend-email/",
            Endpoint::Email => "email/",
            Endpoint::EmailChange => "email/change/",
            Endpoint::SyncEvents => "sync/events/",
            Endpoint::Events => "events/",
            Endpoint::OpenApi => "openapi.json",
            Endpoint::AdminUsers => "admin/users/",
            Endpoint::AdminUser => "admin/users/:id/",
            Endpoint::AdminUserSessions => "admin/users/:id/sessions/",
            Endpoint::AdminUserLogoutAll => "admin/users/:id/logout-all/",
            Endpoint::AdminEvents => "admin/events/",
            Endpoint::Mfa => "mfa/",
            Endpoint::TotpSetup => "mfa/totp/setup/",
            Endpoint::TotpConfirm => "mfa/totp/confirm/",
            Endpoint::Totp => "mfa/totp/",
            Endpoint::RecoveryCodes => "mfa/recovery-codes/",
            Endpoint::LoginMfa => "login/mfa/",
            Endpoint::PasskeyRegisterOptions => "passkeys/register/options/",
            Endpoint::PasskeyRegisterVerify => "passkeys/register/verify/",
            Endpoint::Passkeys => "passkeys/",
            Endpoint::Passkey => "passkeys/:id/",
            Endpoint::PasskeyLoginOptions => "passkeys/login/options/",
            Endpoint::PasskeyLoginVerify => "passkeys/login/verify/",
        }
    }

    /// Whether `rest` (the path after the prefix, with a trailing slash) is this endpoint: the
    /// path itself, or with its `:id` (wherever it stands) one non-empty segment.
    fn matches(self, rest: &str) -> bool {
        match self.path().split_once(":id/") {
            Some((head, tail)) => rest
                .strip_prefix(head)
                .and_then(|id| id.strip_suffix(tail))
                .and_then(|id| id.strip_suffix('/'))
                .is_some_and(|id| !id.is_empty() && !id.contains('/')),
            None => self.path() == rest,
        }
    }

    /// Its rows of `ROUTES`: the methods it serves (besides OPTIONS) and their operations.
    pub fn routes(self) -> impl Iterator<Item = (Method, Op)> {
        ROUTES.into_iter().filter(move |(endpoint, _, _)| *endpoint == self).map(|(_, method, op)| (method, op))
    }

    /// The `Allow` header, in DRF's order (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS).
    pub fn allow(self) -> String {
        // `Method`'s variants in their declared (DRF's) order, kept if served: no sort in the wasm.
        [Method::Get, Method::Post, Method::Patch, Method::Delete, Method::Head]
            .into_iter()
            .filter(|wanted| self.routes().any(|(method, _)| method == *wanted))
            .map(Method::as_str)
            .chain(["OPTIONS"])
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// DRF's view name, shown by `OPTIONS`.
    fn name(self) -> &'static str {
        match self {
            Endpoint::Register => "Register",
            Endpoint::Login => "Login",
            Endpoint::Logout => "Logout",
            Endpoint::TokenRefresh => "Token Refresh",
            Endpoint::TokenIntrospect => "Token Introspection",
            Endpoint::Me => "Current User",
            Endpoint::ChangePassword => "Change Password",
            Endpoint::LogoutAll => "Logout All",
            Endpoint::Sessions => "Session List",
            Endpoint::Session => "Session",
            // dj-rest-auth's view names.
            Endpoint::PasswordReset => "Password Reset",
            Endpoint::PasswordResetConfirm => "Password Reset Confirm",
            Endpoint::VerifyEmail => "Verify Email",
            Endpoint::ResendEmail => "Resend Email Verification",
            Endpoint::Email => "Email",
            Endpoint::EmailChange => "Email Change",
            Endpoint::SyncEvents => "Sync Events",
            Endpoint::Events => "Event List",
            Endpoint::Health => "Health",
            Endpoint::OpenApi => "OpenAPI Schema",
            Endpoint::Jwks => "JSON Web Key Set",
            Endpoint::AdminUsers => "Admin User List",
            Endpoint::AdminUser => "Admin User",
            Endpoint::AdminUserSessions => "Admin User Sessions",
            Endpoint::AdminUserLogoutAll => "Admin User Logout All",
            Endpoint::AdminEvents => "Admin Event List",
            Endpoint::Mfa => "Second Factors",
            Endpoint::TotpSetup => "TOTP Setup",
            Endpoint::TotpConfirm => "TOTP Confirm",
            Endpoint::Totp => "TOTP",
            Endpoint::RecoveryCodes => "Recovery Codes",
            Endpoint::LoginMfa => "Login Second Factor",
            Endpoint::PasskeyRegisterOptions => "Passkey Registration Options",
            Endpoint::PasskeyRegisterVerify => "Passkey Registration",
            Endpoint::Passkeys => "Passkey List",
            Endpoint::Passkey => "Passkey",
            Endpoint::PasskeyLoginOptions => "Passkey Login Options",
            Endpoint::PasskeyLoginVerify => "Passkey Login",
        }
    }

    /// Finds the endpoint for `path` under any configured prefix (or `/healthz`).
    pub fn for_path(config: &Config, path: &str) -> Option<Endpoint> {
        if path.strip_suffix('/').unwrap_or(path) == HEALTH_PATH {
            return Some(Endpoint::Health);
        }
        if path == JWKS_PATH {
            return Some(Endpoint::Jwks);
        }
        config.prefixes.iter().find_map(|prefix| {
            let rest = path.strip_prefix(prefix.as_str())?;
            if rest == Endpoint::OpenApi.path() {
                return Some(Endpoint::OpenApi);
            }
            let normalized = if rest.ends_with('/') { rest.to_owned() } else { format!("{rest}/") };
            let rest = normalized.as_str();
            Endpoint::ALL.into_iter().find(|endpoint| endpoint.matches(rest))
        })
    }
}

/// The `:id` segment of a path `Endpoint::for_path` found to be `endpoint` (`None` when its
/// pattern has none): the segment as far from the end as `:id` is in the pattern, the trailing
/// slash aside; as it came (percent-encoded).
pub fn path_id(endpoint: Endpoint, path: &str) -> Option<&str> {
    let (_, tail) = endpoint.path().split_once(":id/")?;
    let path = path.strip_suffix('/').unwrap_or(path);
    path.rsplit('/').nth(tail.matches('/').count())
}

/// Decides, from path and method alone, whether a handler runs.
pub fn resolve(config: &Config, method: &str, path: &str) -> Resolution {
    let Some(endpoint) = Endpoint::for_path(config, path) else {
        return Resolution::Answer(ApiError::NotFound.into_reply());
    };
    if let Some((method, op)) = endpoint.routes().find(|(served, _)| served.as_str() == method) {
        return Resolution::Serve(endpoint, method, op);
    }
    if method == "OPTIONS" {
        return Resolution::Answer(
            Reply::ok(json!({
                "name": endpoint.name(),
                "description": "",
                "renders": ["application/json"],
                "parses": ["application/json"],
            }))
            .with_header("Allow", endpoint.allow()),
        );
    }
    Resolution::Answer(ApiError::MethodNotAllowed { method: method.to_owned(), allow: endpoint.allow() }.into_reply())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config { allowed_origins: vec!["https://app.example.com".into()], ..Config::default() }
    }

    /// `src/openapi.json` without its layout, as build.rs writes it to the static assets.
    const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

    #[test]
    fn the_served_openapi_document_is_the_source_without_its_layout() {
        let source: Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        assert_eq!(serde_json::from_str::<Value>(OPENAPI).unwrap(), source);
        assert!(!OPENAPI.contains('\n') && OPENAPI.len() < include_str!("openapi.json").len());
    }

    /// The full paths `endpoint` answers under `prefix`: with and without the trailing slash.
    fn patterns(endpoint: Endpoint, prefix: &str) -> Vec<String> {
        let full = format!("{prefix}{}", endpoint.path());
        let without = full.trim_end_matches('/').to_owned();
        if without == full {
            vec![full]
        } else {
            vec![full, without]
        }
    }

    fn served(resolution: Resolution) -> Option<Endpoint> {
        match resolution {
            Resolution::Serve(endpoint, _, _) => Some(endpoint),
            Resolution::Answer(_) => None,
        }
    }

    #[test]
    fn allow_and_the_preflight_methods_are_derived_from_the_one_table() {
        assert_eq!(Endpoint::Me.allow(), "GET, PATCH, HEAD, OPTIONS");
        assert_eq!(Endpoint::Sessions.allow(), "GET, HEAD, OPTIONS");
        assert_eq!(Endpoint::Session.allow(), "DELETE, OPTIONS");
        assert_eq!(Endpoint::Login.allow(), "POST, OPTIONS");
        assert_eq!(Endpoint::SyncEvents.allow(), "POST, OPTIONS");
        assert_eq!(Endpoint::TokenIntrospect.allow(), "POST, OPTIONS");
        let me: Vec<(Method, Op)> = Endpoint::Me.routes().collect();
        assert_eq!(me, [(Method::Get, Op::Profile), (Method::Head, Op::Profile), (Method::Patch, Op::UpdateProfile)]);
    }

    #[test]
    fn every_row_of_the_table_is_reachable_and_none_is_served_twice() {
        for (i, (endpoint, method, _)) in ROUTES.iter().enumerate() {
            assert!(!ROUTES[..i].iter().any(|(e, m, _)| e == endpoint && m == method), "{endpoint:?} {method:?}");
            assert!(*endpoint == Endpoint::Health || *endpoint == Endpoint::Jwks || Endpoint::ALL.contains(endpoint));
        }
    }

    #[test]
    fn every_endpoint_is_found_under_both_prefixes_with_or_without_the_slash() {
        for endpoint in Endpoint::ALL {
            for prefix in ["/api/v1/drf/auth/", "/api/v1/auth/"] {
                for pattern in patterns(endpoint, prefix) {
                    let path = pattern.replace(":id", "0123abcd");
                    assert_eq!(Endpoint::for_path(&config(), &path), Some(endpoint), "{path}");
                }
            }
        }
    }

    #[test]
    fn a_session_path_takes_one_id_segment() {
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/sessions/abc123/"), Some(Endpoint::Session));
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/sessions/abc123"), Some(Endpoint::Session));
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/sessions/"), Some(Endpoint::Sessions));
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/sessions/a/b/"), None);
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/sessions//"), None);
        assert_eq!(path_id(Endpoint::Session, "/api/v1/auth/sessions/abc123/"), Some("abc123"));
        assert_eq!(path_id(Endpoint::Session, "/api/v1/auth/sessions/a%2Fb"), Some("a%2Fb"));
        assert_eq!(path_id(Endpoint::Sessions, "/api/v1/auth/sessions/"), None);
    }

    #[test]
    fn an_admin_user_path_takes_its_id_in_the_middle_too() {
        let found = |path: &str| Endpoint::for_path(&config(), path);
        assert_eq!(found("/api/v1/auth/admin/users/"), Some(Endpoint::AdminUsers));
        assert_eq!(found("/api/v1/auth/admin/users/42/"), Some(Endpoint::AdminUser));
        assert_eq!(found("/api/v1/drf/auth/admin/users/42"), Some(Endpoint::AdminUser));
        assert_eq!(found("/api/v1/auth/admin/users/42/sessions/"), Some(Endpoint::AdminUserSessions));
        assert_eq!(found("/api/v1/auth/admin/users/42/sessions"), Some(Endpoint::AdminUserSessions));
        assert_eq!(found("/api/v1/auth/admin/users/42/logout-all/"), Some(Endpoint::AdminUserLogoutAll));
        assert_eq!(found("/api/v1/auth/admin/events/"), Some(Endpoint::AdminEvents));
        // No empty id, no id of two segments, nothing after the known tails.
        assert_eq!(found("/api/v1/auth/admin/users//sessions/"), None);
        assert_eq!(found("/api/v1/auth/admin/users/4/2/sessions/"), None);
        assert_eq!(found("/api/v1/auth/admin/users/42/sessions/x/"), None);
        assert_eq!(found("/api/v1/auth/admin/users/42/nope/"), None);
        assert_eq!(found("/api/v1/auth/admin/"), None);
        // The handler judges the id (a non-integer one is 404 there).
        assert_eq!(found("/api/v1/auth/admin/users/sessions/"), Some(Endpoint::AdminUser));
        assert_eq!(path_id(Endpoint::AdminUser, "/api/v1/auth/admin/users/42/"), Some("42"));
        assert_eq!(path_id(Endpoint::AdminUser, "/api/v1/auth/admin/users/42"), Some("42"));
        assert_eq!(path_id(Endpoint::AdminUserSessions, "/api/v1/auth/admin/users/42/sessions/"), Some("42"));
        assert_eq!(path_id(Endpoint::AdminUserSessions, "/api/v1/auth/admin/users/7/sessions"), Some("7"));
        assert_eq!(path_id(Endpoint::AdminUserLogoutAll, "/api/v1/auth/admin/users/9/logout-all/"), Some("9"));
        assert_eq!(path_id(Endpoint::AdminUsers, "/api/v1/auth/admin/users/"), None);
    }

    #[test]
    fn the_admin_endpoints_serve_their_methods() {
        assert_eq!(Endpoint::AdminUsers.allow(), "GET, HEAD, OPTIONS");
        assert_eq!(Endpoint::AdminUser.allow(), "GET, PATCH, HEAD, OPTIONS");
        assert_eq!(Endpoint::AdminUserSessions.allow(), "GET, HEAD, OPTIONS");
        assert_eq!(Endpoint::AdminUserLogoutAll.allow(), "POST, OPTIONS");
        assert_eq!(Endpoint::AdminEvents.allow(), "GET, HEAD, OPTIONS");
        assert_eq!(
            resolve(&config(), "PATCH", "/api/v1/drf/auth/admin/users/3/"),
            Resolution::Serve(Endpoint::AdminUser, Method::Patch, Op::AdminUpdateUser)
        );
        let Resolution::Answer(reply) = resolve(&config(), "DELETE", "/api/v1/auth/admin/users/3/") else { panic!() };
        assert_eq!(reply.status, 405);
    }

    #[test]
    fn the_health_check_lives_outside_the_prefixes() {
        assert_eq!(served(resolve(&config(), "GET", "/healthz")), Some(Endpoint::Health));
        assert_eq!(served(resolve(&config(), "GET", "/healthz/")), Some(Endpoint::Health));
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/healthz/"), None);
        assert_eq!(Endpoint::for_path(&config(), "/healthz//"), None);
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_served_routes() {
        let document = openapi_document(&serde_json::from_str(OPENAPI).unwrap(), "/api/v1/auth/");
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["servers"], json!([{"url": "/api/v1/auth"}]));
        let mut described: Vec<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |method| (path.clone(), method.to_uppercase()))
            })
            .filter(|(_, method)| method != "PARAMETERS")
            .collect();
        described.sort();
        let mut served: Vec<(String, String)> = Endpoint::ALL
            .into_iter()
            .flat_map(|endpoint| {
                let path = format!("/{}", endpoint.path().replace(":id", "{id}"));
                // HEAD is implied by GET in OpenAPI.
                endpoint
                    .routes()
                    .filter(|(method, _)| *method != Method::Head)
                    .map(move |(method, _)| (path.clone(), method.as_str().to_owned()))
            })
            .collect();
        served.sort();
        assert_eq!(described, served);
    }

    #[test]
    fn the_openapi_document_is_found_under_every_prefix_but_only_without_a_slash() {
        assert_eq!(served(resolve(&config(), "GET", "/api/v1/drf/auth/openapi.json")), Some(Endpoint::OpenApi));
        assert_eq!(served(resolve(&config(), "GET", "/api/v1/auth/openapi.json")), Some(Endpoint::OpenApi));
        assert_eq!(Endpoint::for_path(&config(), "/api/v1/auth/openapi.json/"), None);
    }

    #[test]
    fn the_key_set_lives_at_its_well_known_path() {
        assert_eq!(served(resolve(&config(), "GET", "/.well-known/jwks.json")), Some(Endpoint::Jwks));
        assert!(
            matches!(resolve(&config(), "POST", "/.well-known/jwks.json"), Resolution::Answer(r) if r.status == 405)
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in
            ["/", "/api/v1/drf/auth/", "/api/v1/drf/auth/nope/", "/api/v2/auth/login/", "/api/v1/drf/auth/login//"]
        {
            assert_eq!(resolve(&config(), "POST", path), Resolution::Answer(ApiError::NotFound.into_reply()), "{path}");
        }
    }

    #[test]
    fn a_method_an_endpoint_does_not_serve_is_405_with_allow() {
        let Resolution::Answer(reply) = resolve(&config(), "GET", "/api/v1/drf/auth/login/") else { panic!() };
        assert_eq!(reply.status, 405);
        assert_eq!(reply.body, json!({"detail": "Method \"GET\" not allowed."}));
        assert_eq!(reply.headers, vec![("Allow", "POST, OPTIONS".to_owned())]);
        let Resolution::Answer(reply) = resolve(&config(), "DELETE", "/api/v1/auth/me") else { panic!() };
        assert_eq!(reply.headers, vec![("Allow", "GET, PATCH, HEAD, OPTIONS".to_owned())]);
    }

    #[test]
    fn served_methods_go_to_their_handler() {
        assert_eq!(served(resolve(&config(), "POST", "/api/v1/auth/token/refresh")), Some(Endpoint::TokenRefresh));
        for path in ["/api/v1/drf/auth/token/introspect/", "/api/v1/auth/token/introspect"] {
            assert_eq!(
                resolve(&config(), "POST", path),
                Resolution::Serve(Endpoint::TokenIntrospect, Method::Post, Op::Introspect),
                "{path}"
            );
        }
        assert_eq!(served(resolve(&config(), "HEAD", "/api/v1/drf/auth/me/")), Some(Endpoint::Me));
        assert_eq!(served(resolve(&config(), "PATCH", "/api/v1/drf/auth/me/")), Some(Endpoint::Me));
    }

    #[test]
    fn plain_options_describes_the_endpoint() {
        let Resolution::Answer(reply) = resolve(&config(), "OPTIONS", "/api/v1/drf/auth/login/") else { panic!() };
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["name"], "Login");
        assert_eq!(reply.headers, vec![("Allow", "POST, OPTIONS".to_owned())]);
    }

    #[test]
    fn configured_prefixes_replace_the_defaults() {
        let config = Config { prefixes: vec!["/auth/".into()], ..Config::default() };
        assert_eq!(Endpoint::for_path(&config, "/auth/login/"), Some(Endpoint::Login));
        assert_eq!(Endpoint::for_path(&config, "/api/v1/drf/auth/login/"), None);
    }
}
