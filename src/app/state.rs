//! Per-isolate state: configuration and keys parsed once, not on every request.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::{console_error, Env};

use crate::config::{Config, ConfigError, SigningKey, MIN_SIGNING_KEY_BYTES};
use crate::domain::device::DeviceKey;
use crate::domain::reset_token::ResetSecret;
use crate::domain::sealed::SealKey;
use crate::domain::secrets::Token;
use crate::domain::sync::SyncSecret;
use crate::domain::tokens::{Ed25519Keys, Tokens};

pub struct State {
    pub config: Config,
    pub tokens: Tokens,
    /// Signs the device cookies of the login back-off.
    pub devices: DeviceKey,
    /// Lets a deep health check past the per-IP limit (secret `HEALTH_CHECK_TOKEN`, optional).
    pub health_token: Option<Token>,
    /// Keys the password-reset tokens: Django's `SECRET_KEY` (secret `DJANGO_SECRET_KEY`) when
    /// set, so links work on both sides during a migration; else derived from the signing key.
    pub reset_secret: ResetSecret,
    /// The HTTP mail provider's API key (secret `EMAIL_HTTP_TOKEN`, optional).
    pub mail_token: Option<Token>,
    /// Signs and checks what is exchanged with Django's companion app (secret
    /// `DJANGO_SYNC_SECRET`): required with `DJANGO_SYNC_URL`; alone, it lets Django send events.
    pub sync_secret: Option<SyncSecret>,
    /// The introspection client's secret (secret `INTROSPECTION_CLIENT_SECRET`, with the var
    /// `INTROSPECTION_CLIENT_ID`); unset, nobody may introspect.
    pub introspection_secret: Option<Token>,
    /// Seals TOTP secrets: from the secret `MFA_ENCRYPTION_KEY` (at least 32 characters) when
    /// set, else derived from the signing key (rotating that key then makes them unreadable).
    pub mfa_key: SealKey,
}

thread_local! {
    static STATE: OnceCell<Result<Rc<State>, ConfigError>> = const { OnceCell::new() };
}

impl State {
    /// The isolate's state, built on first use. A bad configuration is logged once (the reason,
    /// never a secret) and then answered with 503 on every request.
    pub fn load(env: &Env) -> Result<Rc<State>, ConfigError> {
        STATE.with(|cell| {
            cell.get_or_init(|| {
                let built = State::build(env);
                if let Err(reason) = &built {
                    console_error!("edge-auth is misconfigured: {reason}");
                }
                built.map(Rc::new)
            })
            .clone()
        })
    }

    fn build(env: &Env) -> Result<State, ConfigError> {
        let config = Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string()))?;
        let key = SigningKey::from_secret(env.secret("JWT_SIGNING_KEY").ok().map(|s| s.to_string()))?;
        let mut tokens = Tokens::new(key.as_bytes(), config.access_ttl_secs, config.refresh_ttl_secs)
            .with_claim_names(config.claim_names.clone())
            .with_issuer_and_audience(config.issuer.clone(), config.audience.clone());
        let text = |name: &str| env.secret(name).ok().map(|s| s.to_string()).filter(|s| !s.is_empty());
        if let Some(seed) = text("JWT_ED25519_PRIVATE_KEY") {
            let kid = text("JWT_ED25519_KID");
            let previous = text("JWT_ED25519_PREVIOUS_KEYS");
            tokens = tokens.with_ed25519(Ed25519Keys::from_config(&seed, kid.as_deref(), previous.as_deref())?);
        }
        let devices = DeviceKey::derive(key.as_bytes());
        let health_token = text("HEALTH_CHECK_TOKEN").map(Token::new);
        let reset_secret = ResetSecret::new(text("DJANGO_SECRET_KEY"), key.as_bytes());
        let mail_token = text("EMAIL_HTTP_TOKEN").map(Token::new);
        let sync_secret = match text("DJANGO_SYNC_SECRET") {
            Some(secret) => Some(SyncSecret::new(&secret).ok_or(ConfigError::BadSecret {
                name: "DJANGO_SYNC_SECRET",
                reason: "must be at least 32 characters",
            })?),
            None if config.sync.django_url.is_some() => {
                return Err(ConfigError::BadSecret {
                    name: "DJANGO_SYNC_SECRET",
                    reason: "must be set with DJANGO_SYNC_URL",
                })
            }
            None => None,
        };
        let introspection_secret = text("INTROSPECTION_CLIENT_SECRET").map(Token::new);
        let mfa_key = match text("MFA_ENCRYPTION_KEY") {
            Some(secret) if secret.len() < MIN_SIGNING_KEY_BYTES => {
                return Err(ConfigError::BadSecret {
                    name: "MFA_ENCRYPTION_KEY",
                    reason: "must be at least 32 characters",
                })
            }
            Some(secret) => SealKey::derive(secret.as_bytes()),
            None => SealKey::derive(key.as_bytes()),
        };
        Ok(State {
            config,
            tokens,
            devices,
            health_token,
            reset_secret,
            mail_token,
            sync_secret,
            introspection_secret,
            mfa_key,
        })
    }
}
