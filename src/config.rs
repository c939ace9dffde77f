//! Runtime configuration, parsed once per isolate from `wrangler.toml` `[vars]` and secrets.
//!
//! Pure: the worker adapter hands in a lookup function, so every rule here is tested natively.

use std::fmt;

use crate::domain::password::{argon2, Target, MAX_ITERATIONS};
use crate::domain::sessions::Backoff;
use crate::domain::tokens::{ClaimNames, KeyError};

/// The first id edge-auth assigns to a new user unless `USER_ID_START` says otherwise (and the
/// default of `import-django --user-id-start`): Django's ids stay below it.
pub const DEFAULT_USER_ID_START: i64 = 1_000_000_000;

/// Minimum HS256 key length; simplejwt/PyJWT warn below the hash size, we refuse.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Access token lifetime in seconds (also the `expires_in` of token responses).
    pub access_ttl_secs: i64,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// How new passwords are hashed and the bar old hashes are upgraded to (`PASSWORD_HASHER`:
    /// `pbkdf2_sha256` at `PBKDF2_ITERATIONS`, Django 5.2's 1,000,000 by default, or `argon2id`
    /// at `ARGON2_MEMORY_COST` KiB, `ARGON2_TIME_COST` passes, `ARGON2_PARALLELISM` lanes).
    pub password_hasher: Target,
    /// Exact origins allowed by CORS (scheme://host[:port]); never a wildcard.
    pub allowed_origins: Vec<String>,
    /// Path prefixes the endpoints are served under, each starting and ending with `/`.
    pub prefixes: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a just-rotated refresh token may be presented again and get the same successor.
    pub reuse_interval_secs: i64,
    /// Failed logins per account before back-off starts, and its shape.
    pub login_backoff: Backoff,
    /// The period of the `IP_RATE_LIMITER` binding, told to throttled clients in `Retry-After`.
    pub rate_limit_period_secs: i64,
    /// Token claim names (simplejwt's by default).
    pub claim_names: ClaimNames,
    /// The first id edge-auth assigns to a new user: ids below it are Django's (imported, or
    /// created on the Django side while both run), so the two sequences never collide.
    pub user_id_start: i64,
    /// Absolute session lifetime: rotation never extends a session past this age.
    pub session_max_lifetime_secs: i64,
    /// `iss` written into tokens and required on incoming ones, when set (simplejwt's `ISSUER`).
    pub issuer: Option<String>,
    /// `aud` written into tokens and required on incoming ones, when set (simplejwt's `AUDIENCE`).
    pub audience: Option<String>,
    /// Account recovery and verified email: links, lifetimes, delivery.
    pub mail: MailConfig,
    /// Running beside Django (`integrations/django/PROTOCOL.md`).
    pub sync: SyncConfig,
    /// `INTROSPECTION_CLIENT_ID`: the resource server that may call `token/introspect/` (with the
    /// secret `INTROSPECTION_CLIENT_SECRET`); unset, nobody may.
    pub introspection_client_id: Option<String>,
    /// The scheduled prune: how long audit events are kept, and how much one run deletes.
    pub prune: PruneConfig,
    /// New passwords: the minimum length and the breached-password check.
    pub breach: BreachConfig,
    /// Second factors: TOTP, the login's second step and passkeys.
    pub mfa: MfaConfig,
}

/// Second factors (issue 16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaConfig {
    /// `MFA_ISSUER`: the issuer an authenticator app shows beside the account (`otpauth://`).
    pub issuer: String,
    /// `MFA_TOKEN_MAX_ATTEMPTS`: wrong second factors one `mfa_token` takes before it dies.
    pub token_max_attempts: i64,
    /// The WebAuthn relying party; `None` when no origin is configured (passkeys unavailable).
    pub webauthn: Option<WebauthnConfig>,
}

impl MfaConfig {
    /// How long an `mfa_token` and a WebAuthn challenge live.
    pub const CHALLENGE_TTL_SECS: i64 = 300;
}

impl Default for MfaConfig {
    fn default() -> Self {
        MfaConfig { issuer: "edge-auth".into(), token_max_attempts: 5, webauthn: None }
    }
}

/// `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebauthnConfig {
    /// The RP ID: a domain every origin is on (the host of the first origin unless set).
    pub rp_id: String,
    /// The name an authenticator shows.
    pub rp_name: String,
    /// The exact origins a ceremony may come from.
    pub origins: Vec<String>,
}

/// The scheduled prune (`[triggers] crons`): what it keeps and how much one run may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneConfig {
    /// `EVENT_RETENTION_DAYS`: audit events older than this are deleted.
    pub event_retention_days: i64,
    /// `PRUNE_BATCH_SIZE`: rows one DELETE statement removes at most.
    pub batch_size: i64,
    /// `PRUNE_MAX_BATCHES`: DELETE statements one run makes at most, 7 to 1,000 (D1 allows a
    /// free-plan invocation 50 queries, a paid one 1,000); what is left waits for the next run.
    pub max_batches: u32,
}

impl PruneConfig {
    /// The most `PRUNE_BATCH_SIZE` may be: one statement stays well inside D1's 30 s per query.
    pub const MAX_BATCH_SIZE: i64 = 10_000;
    /// The most `PRUNE_MAX_BATCHES` may be: D1's queries per invocation on a paid plan.
    pub const MAX_BATCHES: i64 = 1_000;
    /// The least it may be: every run visits every table once (`domain::prune::Table::ALL`).
    pub const MIN_BATCHES: i64 = 7;
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig { event_retention_days: 90, batch_size: 1_000, max_batches: 40 }
    }
}

/// What a new password must pass beyond Django's common-password list: a minimum length, and
/// not appearing in Pwned Passwords' breach corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreachConfig {
    /// `PASSWORD_MIN_LENGTH`: Django's `MinimumLengthValidator` bound (8 unless set).
    pub min_length: usize,
    /// `BREACHED_PASSWORD_CHECK`: `off`, `fail-open` (the default) or `fail-closed`.
    pub check: BreachCheck,
    /// `PWNED_PASSWORDS_URL`: the range endpoint; the 5 hex digits are appended to it.
    pub url: String,
    /// `PWNED_PASSWORDS_TIMEOUT_MS`: how long a range may take to arrive, whole.
    pub timeout_ms: u32,
}

/// What happens to a new password when the range API gives no usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachCheck {
    /// Never asked.
    Off,
    /// Asked; without an answer the password is accepted (and a warning logged).
    FailOpen,
    /// Asked; without an answer the request fails with 503.
    FailClosed,
}

impl Default for BreachConfig {
    fn default() -> Self {
        BreachConfig {
            min_length: crate::domain::password_rules::MIN_LENGTH,
            check: BreachCheck::FailOpen,
            url: "https://api.pwnedpasswords.com/range/".into(),
            timeout_ms: 1_500,
        }
    }
}

/// Running beside Django: where the companion app is, and how long undelivered events wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// `DJANGO_SYNC_URL`: the companion's mount, ending in `/` (lookups and events go below it).
    /// Unset: no lazy migration and no events sent; received events still need the secret.
    pub django_url: Option<String>,
    /// `SYNC_RETRY_MAX_DELAY_SECS`: the longest back-off between two deliveries of one event.
    pub retry_max_delay_secs: i64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { django_url: None, retry_max_delay_secs: 300 }
    }
}

/// Account recovery and verified email (issue 12): where links point, how long they work, who
/// sends, and how many mails one address may receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailConfig {
    /// `PASSWORD_RESET_URL`: the frontend's reset page, with `{uid}` and `{token}`.
    pub password_reset_url: String,
    /// `EMAIL_VERIFY_URL`: the frontend's verification page, with `{key}`.
    pub email_verify_url: String,
    /// `PASSWORD_RESET_TIMEOUT_SECS` (Django's `PASSWORD_RESET_TIMEOUT`, 3 days).
    pub password_reset_timeout_secs: i64,
    /// `EMAIL_VERIFY_TIMEOUT_SECS`: how long a verification or email-change key works.
    pub email_verify_timeout_secs: i64,
    /// `REQUIRE_VERIFIED_EMAIL`: no tokens for an unverified address (off: the drop-in contract).
    pub require_verified_email: bool,
    /// `EMAIL_FROM`: the sender.
    pub from: String,
    /// `EMAIL_HTTP_URL`: a Resend-compatible endpoint; unset, the `send_email` binding `EMAIL`.
    pub http_url: Option<String>,
    /// `EMAIL_RATE_LIMIT_PER_HOUR`: link mails one address may receive per hour.
    pub per_address_per_hour: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            password_reset_url: "http://localhost:3000/reset-password/{uid}/{token}/".into(),
            email_verify_url: "http://localhost:3000/verify-email/{key}/".into(),
            password_reset_timeout_secs: 3 * 24 * 60 * 60,
            email_verify_timeout_secs: 3 * 24 * 60 * 60,
            require_verified_email: false,
            from: "no-reply@example.com".into(),
            http_url: None,
            per_address_per_hour: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            access_ttl_secs: 30 * 60,
            refresh_ttl_secs: 7 * 24 * 60 * 60,
            password_hasher: Target::Pbkdf2Sha256 { iterations: 1_000_000 },
            allowed_origins: Vec::new(),
            prefixes: vec!["/api/v1/drf/auth/".into(), "/api/v1/auth/".into()],
            max_body_bytes: 64 * 1024,
            reuse_interval_secs: 10,
            login_backoff: Backoff { threshold: 10, base_secs: 30, max_secs: 900, window_secs: 900 },
            rate_limit_period_secs: 60,
            claim_names: ClaimNames::default(),
            user_id_start: DEFAULT_USER_ID_START,
            session_max_lifetime_secs: 30 * 24 * 60 * 60,
            issuer: None,
            audience: None,
            mail: MailConfig::default(),
            sync: SyncConfig::default(),
            introspection_client_id: None,
            prune: PruneConfig::default(),
            breach: BreachConfig::default(),
            mfa: MfaConfig::default(),
        }
    }
}

/// Why the worker refuses to serve. Logged (never the secret itself); clients see a bare 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    SigningKeyMissing,
    SigningKeyTooShort { len: usize },
    BadVar { name: &'static str, reason: &'static str },
    BadSecret { name: &'static str, reason: &'static str },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::SigningKeyMissing => {
                write!(f, "secret JWT_SIGNING_KEY is not set")
            }
            ConfigError::SigningKeyTooShort { len } => {
                write!(f, "secret JWT_SIGNING_KEY is {len} bytes; at least {MIN_SIGNING_KEY_BYTES} are required")
            }
            ConfigError::BadVar { name, reason } => write!(f, "var {name}: {reason}"),
            ConfigError::BadSecret { name, reason } => write!(f, "secret {name}: {reason}"),
        }
    }
}

/// The Ed25519 key errors, named by the secret or var that carried the key.
impl From<KeyError> for ConfigError {
    fn from(error: KeyError) -> ConfigError {
        match error {
            KeyError::Seed(reason) => ConfigError::BadSecret { name: "JWT_ED25519_PRIVATE_KEY", reason },
            KeyError::PreviousKeys(reason) => ConfigError::BadVar { name: "JWT_ED25519_PREVIOUS_KEYS", reason },
        }
    }
}

impl Config {
    /// Reads every var through `get`; an absent or empty var keeps its default.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let access_ttl_secs = positive(var("ACCESS_TOKEN_LIFETIME_SECS"), "ACCESS_TOKEN_LIFETIME_SECS")?
            .unwrap_or(defaults.access_ttl_secs);
        let refresh_ttl_secs = positive(var("REFRESH_TOKEN_LIFETIME_SECS"), "REFRESH_TOKEN_LIFETIME_SECS")?
            .unwrap_or(defaults.refresh_ttl_secs);
        let password_hasher = password_hasher(&var)?;
        let max_body_bytes = match positive(var("MAX_BODY_BYTES"), "MAX_BODY_BYTES")? {
            None => defaults.max_body_bytes,
            Some(n) => {
                usize::try_from(n).map_err(|_| ConfigError::BadVar { name: "MAX_BODY_BYTES", reason: "too large" })?
            }
        };
        let seconds = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            Ok(positive(var(name), name)?.unwrap_or(default))
        };
        let reuse_interval_secs = seconds("REFRESH_REUSE_INTERVAL_SECS", defaults.reuse_interval_secs)?;
        let login_backoff = Backoff {
            threshold: u32::try_from(seconds("LOGIN_BACKOFF_THRESHOLD", i64::from(defaults.login_backoff.threshold))?)
                .map_err(|_| ConfigError::BadVar { name: "LOGIN_BACKOFF_THRESHOLD", reason: "too large" })?,
            base_secs: seconds("LOGIN_BACKOFF_BASE_SECS", defaults.login_backoff.base_secs)?,
            max_secs: seconds("LOGIN_BACKOFF_MAX_SECS", defaults.login_backoff.max_secs)?,
            window_secs: seconds("LOGIN_FAILURE_WINDOW_SECS", defaults.login_backoff.window_secs)?,
        };
        let rate_limit_period_secs = seconds("RATE_LIMIT_PERIOD_SECS", defaults.rate_limit_period_secs)?;
        let claim_names = ClaimNames {
            user_id: var("USER_ID_CLAIM").unwrap_or(defaults.claim_names.user_id),
            token_type: var("TOKEN_TYPE_CLAIM").unwrap_or(defaults.claim_names.token_type),
            jti: var("JTI_CLAIM").unwrap_or(defaults.claim_names.jti),
        };
        let reserved = ["exp", "iat", "nbf", "sid", "iss", "aud"];
        if reserved
            .iter()
            .any(|r| [&claim_names.user_id, &claim_names.token_type, &claim_names.jti].contains(&&r.to_string()))
            || claim_names.user_id == claim_names.token_type
            || claim_names.user_id == claim_names.jti
            || claim_names.token_type == claim_names.jti
        {
            return Err(ConfigError::BadVar {
                name: "USER_ID_CLAIM",
                reason: "claim names must differ from each other and from exp, iat, nbf, sid, iss, aud",
            });
        }
        let allowed_origins = match var("ALLOWED_ORIGINS") {
            None => defaults.allowed_origins,
            Some(list) => list_of(&list)
                .map(|origin| {
                    if origin == "*" || !(origin.starts_with("https://") || origin.starts_with("http://")) {
                        Err(ConfigError::BadVar {
                            name: "ALLOWED_ORIGINS",
                            reason: "each origin must be an exact http(s)://host[:port]; no wildcard",
                        })
                    } else {
                        Ok(origin.trim_end_matches('/').to_owned())
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        let prefixes = match var("API_PREFIXES") {
            None => defaults.prefixes,
            Some(list) => {
                let prefixes: Vec<String> = list_of(&list).map(normalize_prefix).collect();
                if prefixes.is_empty() {
                    return Err(ConfigError::BadVar { name: "API_PREFIXES", reason: "no prefix given" });
                }
                prefixes
            }
        };
        let user_id_start = seconds("USER_ID_START", defaults.user_id_start)?;
        let session_max_lifetime_secs =
            seconds("REFRESH_SESSION_MAX_LIFETIME_SECS", defaults.session_max_lifetime_secs)?;
        let mail = MailConfig {
            password_reset_url: template(var("PASSWORD_RESET_URL"), "PASSWORD_RESET_URL", &["{uid}", "{token}"])?
                .unwrap_or(defaults.mail.password_reset_url),
            email_verify_url: template(var("EMAIL_VERIFY_URL"), "EMAIL_VERIFY_URL", &["{key}"])?
                .unwrap_or(defaults.mail.email_verify_url),
            password_reset_timeout_secs: seconds(
                "PASSWORD_RESET_TIMEOUT_SECS",
                defaults.mail.password_reset_timeout_secs,
            )?,
            email_verify_timeout_secs: seconds("EMAIL_VERIFY_TIMEOUT_SECS", defaults.mail.email_verify_timeout_secs)?,
            require_verified_email: flag(var("REQUIRE_VERIFIED_EMAIL"), "REQUIRE_VERIFIED_EMAIL")?
                .unwrap_or(defaults.mail.require_verified_email),
            from: match var("EMAIL_FROM") {
                Some(from) if !from.contains('@') || from.contains(['\r', '\n']) => {
                    return Err(ConfigError::BadVar { name: "EMAIL_FROM", reason: "must be an e-mail address" })
                }
                from => from.unwrap_or(defaults.mail.from),
            },
            http_url: template(var("EMAIL_HTTP_URL"), "EMAIL_HTTP_URL", &[])?,
            per_address_per_hour: seconds("EMAIL_RATE_LIMIT_PER_HOUR", defaults.mail.per_address_per_hour)?,
        };
        let sync = SyncConfig {
            django_url: match var("DJANGO_SYNC_URL") {
                None => None,
                Some(url)
                    if !(url.starts_with("https://") || url.starts_with("http://"))
                        || url.contains(char::is_whitespace) =>
                {
                    return Err(ConfigError::BadVar { name: "DJANGO_SYNC_URL", reason: "must be an http(s) URL" })
                }
                Some(url) if url.ends_with('/') => Some(url),
                Some(url) => Some(format!("{url}/")),
            },
            retry_max_delay_secs: seconds("SYNC_RETRY_MAX_DELAY_SECS", defaults.sync.retry_max_delay_secs)?,
        };
        let at_most = |name: &'static str, default: i64, max: i64| -> Result<i64, ConfigError> {
            match seconds(name, default)? {
                n if n > max => Err(ConfigError::BadVar { name, reason: "too large (see the README's limit)" }),
                n => Ok(n),
            }
        };
        let prune = PruneConfig {
            event_retention_days: at_most("EVENT_RETENTION_DAYS", defaults.prune.event_retention_days, 36_500)?,
            batch_size: at_most("PRUNE_BATCH_SIZE", defaults.prune.batch_size, PruneConfig::MAX_BATCH_SIZE)?,
            max_batches: match at_most(
                "PRUNE_MAX_BATCHES",
                i64::from(defaults.prune.max_batches),
                PruneConfig::MAX_BATCHES,
            )? {
                n if n < PruneConfig::MIN_BATCHES => {
                    return Err(ConfigError::BadVar {
                        name: "PRUNE_MAX_BATCHES",
                        reason: "at least 7: one batch per table",
                    })
                }
                n => n as u32,
            },
        };
        let breach = BreachConfig {
            min_length: usize::try_from(seconds("PASSWORD_MIN_LENGTH", defaults.breach.min_length as i64)?)
                .map_err(|_| ConfigError::BadVar { name: "PASSWORD_MIN_LENGTH", reason: "too large" })?,
            check: match var("BREACHED_PASSWORD_CHECK").as_deref() {
                None | Some("fail-open") => BreachCheck::FailOpen,
                Some("fail-closed") => BreachCheck::FailClosed,
                Some("off") => BreachCheck::Off,
                Some(_) => {
                    return Err(ConfigError::BadVar {
                        name: "BREACHED_PASSWORD_CHECK",
                        reason: "must be off, fail-open or fail-closed",
                    })
                }
            },
            url: match var("PWNED_PASSWORDS_URL") {
                None => defaults.breach.url,
                Some(url)
                    if !(url.starts_with("https://") || url.starts_with("http://"))
                        || url.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') =>
                {
                    return Err(ConfigError::BadVar {
                        name: "PWNED_PASSWORDS_URL",
                        reason: "must be an http(s) URL the 5 hex digits can be appended to",
                    })
                }
                Some(url) => url,
            },
            timeout_ms: match positive(var("PWNED_PASSWORDS_TIMEOUT_MS"), "PWNED_PASSWORDS_TIMEOUT_MS")? {
                None => defaults.breach.timeout_ms,
                // A minute is already far beyond what a request should wait for a range.
                Some(ms) if ms <= 60_000 => ms as u32,
                Some(_) => {
                    return Err(ConfigError::BadVar { name: "PWNED_PASSWORDS_TIMEOUT_MS", reason: "at most 60000" })
                }
            },
        };
        let mfa = MfaConfig {
            issuer: match var("MFA_ISSUER") {
                // The issuer is the label's prefix before a colon in the `otpauth://` URL.
                Some(issuer) if issuer.contains(':') || issuer.chars().any(char::is_control) => {
                    return Err(ConfigError::BadVar { name: "MFA_ISSUER", reason: "no colon or control character" })
                }
                issuer => issuer.unwrap_or(defaults.mfa.issuer),
            },
            token_max_attempts: at_most("MFA_TOKEN_MAX_ATTEMPTS", defaults.mfa.token_max_attempts, 100)?,
            webauthn: webauthn(&var, &allowed_origins)?,
        };
        Ok(Config {
            breach,
            mfa,
            mail,
            sync,
            prune,
            user_id_start,
            session_max_lifetime_secs,
            issuer: var("JWT_ISSUER"),
            audience: var("JWT_AUDIENCE"),
            introspection_client_id: var("INTROSPECTION_CLIENT_ID"),
            access_ttl_secs,
            refresh_ttl_secs,
            password_hasher,
            allowed_origins,
            prefixes,
            max_body_bytes,
            reuse_interval_secs,
            login_backoff,
            rate_limit_period_secs,
            claim_names,
        })
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}

/// The HS256 secret, checked for length. Its bytes never reach `Debug`, logs or responses.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn from_secret(secret: Option<String>) -> Result<SigningKey, ConfigError> {
        let secret = secret.filter(|s| !s.is_empty()).ok_or(ConfigError::SigningKeyMissing)?;
        if secret.len() < MIN_SIGNING_KEY_BYTES {
            return Err(ConfigError::SigningKeyTooShort { len: secret.len() });
        }
        Ok(SigningKey(secret.into_bytes()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// `PASSWORD_HASHER` and its cost, refused when a hash at that cost could not be verified here
/// (over `MAX_ITERATIONS`) or could not fit in an isolate's memory.
fn password_hasher(var: &impl Fn(&str) -> Option<String>) -> Result<Target, ConfigError> {
    let number = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
        match positive(var(name), name)? {
            None => Ok(default),
            Some(n) => u32::try_from(n).map_err(|_| ConfigError::BadVar { name, reason: "must fit in 32 bits" }),
        }
    };
    match var("PASSWORD_HASHER").as_deref() {
        None | Some("pbkdf2_sha256") => {
            let iterations = number("PBKDF2_ITERATIONS", 1_000_000)?;
            if iterations > MAX_ITERATIONS {
                return Err(ConfigError::BadVar { name: "PBKDF2_ITERATIONS", reason: "at most 10000000" });
            }
            Ok(Target::Pbkdf2Sha256 { iterations })
        }
        Some("argon2id") => {
            let owasp = argon2::Cost::OWASP;
            let cost = argon2::Cost::new(
                number("ARGON2_MEMORY_COST", owasp.memory_cost)?,
                number("ARGON2_TIME_COST", owasp.time_cost)?,
                number("ARGON2_PARALLELISM", owasp.parallelism)?,
            )
            .map_err(|reason| ConfigError::BadVar { name: "PASSWORD_HASHER", reason })?;
            Ok(Target::Argon2id(cost))
        }
        Some(_) => Err(ConfigError::BadVar { name: "PASSWORD_HASHER", reason: "must be pbkdf2_sha256 or argon2id" }),
    }
}

fn positive(value: Option<String>, name: &'static str) -> Result<Option<i64>, ConfigError> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::BadVar { name, reason: "must be a positive integer" }),
        })
        .transpose()
}

/// A URL template: http(s), with every placeholder it needs.
fn template(value: Option<String>, name: &'static str, needs: &[&str]) -> Result<Option<String>, ConfigError> {
    match value {
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            Err(ConfigError::BadVar { name, reason: "must be an http(s) URL" })
        }
        Some(url) if needs.iter().any(|placeholder| !url.contains(placeholder)) => {
            Err(ConfigError::BadVar { name, reason: "must contain each of its placeholders ({uid} {token} / {key})" })
        }
        other => Ok(other),
    }
}

/// The WebAuthn relying party: `WEBAUTHN_ORIGINS` (each an exact http(s) origin on the RP ID),
/// else those of `ALLOWED_ORIGINS` on the RP ID; `WEBAUTHN_RP_ID`, else the host of the first
/// origin. Origins set explicitly must all be on the RP ID; taken from `ALLOWED_ORIGINS`, those
/// that are not (`http://127.0.0.1:3000` beside `http://localhost:3000`) are left out.
fn webauthn(
    var: &impl Fn(&str) -> Option<String>,
    allowed_origins: &[String],
) -> Result<Option<WebauthnConfig>, ConfigError> {
    let bad = |reason| ConfigError::BadVar { name: "WEBAUTHN_ORIGINS", reason };
    let explicit = var("WEBAUTHN_ORIGINS");
    let origins: Vec<String> = match &explicit {
        Some(list) => list_of(list)
            .map(|origin| {
                if origin_host(origin).is_none() {
                    return Err(bad("each origin must be an exact http(s)://host[:port]"));
                }
                Ok(origin.trim_end_matches('/').to_owned())
            })
            .collect::<Result<_, _>>()?,
        None => allowed_origins.to_vec(),
    };
    let rp_id = match var("WEBAUTHN_RP_ID") {
        Some(id) if id.contains(|c: char| c == '/' || c == ':' || c.is_whitespace()) || id.starts_with('.') => {
            return Err(ConfigError::BadVar { name: "WEBAUTHN_RP_ID", reason: "must be a domain, e.g. example.com" })
        }
        Some(id) => id.to_ascii_lowercase(),
        None => match origins.first().and_then(|origin| origin_host(origin)) {
            Some(host) => host,
            None => return Ok(None),
        },
    };
    let on_rp_id =
        |origin: &String| origin_host(origin).is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}")));
    if explicit.is_some() && !origins.iter().all(on_rp_id) {
        return Err(bad("every origin's host must be the RP ID or under it"));
    }
    let origins: Vec<String> = origins.into_iter().filter(on_rp_id).collect();
    if origins.is_empty() {
        return Err(bad("no origin is on WEBAUTHN_RP_ID"));
    }
    let rp_name = var("WEBAUTHN_RP_NAME").unwrap_or_else(|| "edge-auth".into());
    Ok(Some(WebauthnConfig { rp_id, rp_name, origins }))
}

/// The host of an `http(s)://host[:port]` origin, lowercased; `None` for anything else.
fn origin_host(origin: &str) -> Option<String> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let host = match rest.strip_prefix('[') {
        Some(v6) => return v6.split_once(']').map(|(host, _)| host.to_ascii_lowercase()),
        None => rest.split(':').next()?,
    };
    let valid = !host.is_empty() && !host.contains(['/', '?', '#', '@']);
    valid.then(|| host.to_ascii_lowercase())
}

/// A boolean var: true/false, 1/0, yes/no (any case).
fn flag(value: Option<String>, name: &'static str) -> Result<Option<bool>, ConfigError> {
    value
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::BadVar { name, reason: "must be true or false" }),
        })
        .transpose()
}

fn list_of(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn normalize_prefix(prefix: &str) -> String {
    let inner = prefix.trim_matches('/');
    if inner.is_empty() {
        "/".to_owned()
    } else {
        format!("/{inner}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn no_vars_gives_the_drf_defaults() {
        let config = from(&[]).unwrap();
        assert_eq!(config.access_ttl_secs, 1800);
        assert_eq!(config.refresh_ttl_secs, 604_800);
        assert_eq!(config.password_hasher, Target::Pbkdf2Sha256 { iterations: 1_000_000 });
        assert_eq!(config.prefixes, ["/api/v1/drf/auth/", "/api/v1/auth/"]);
        assert_eq!(config.max_body_bytes, 65_536);
        assert!(config.allowed_origins.is_empty());
        assert_eq!(config.reuse_interval_secs, 10);
        assert_eq!(config.login_backoff, Backoff { threshold: 10, base_secs: 30, max_secs: 900, window_secs: 900 });
        assert_eq!(config.user_id_start, 1_000_000_000);
        assert_eq!(config.session_max_lifetime_secs, 30 * 24 * 60 * 60);
        assert_eq!((config.issuer, config.audience), (None, None));
        assert_eq!(config.introspection_client_id, None);
    }

    #[test]
    fn the_introspection_client_is_named_by_a_var_and_blank_names_none() {
        let config = from(&[("INTROSPECTION_CLIENT_ID", " fastapi ")]).unwrap();
        assert_eq!(config.introspection_client_id.as_deref(), Some("fastapi"));
        assert_eq!(from(&[("INTROSPECTION_CLIENT_ID", "  ")]).unwrap().introspection_client_id, None);
    }

    #[test]
    fn id_range_session_lifetime_issuer_and_audience_are_configurable() {
        let config = from(&[
            ("USER_ID_START", "5000"),
            ("REFRESH_SESSION_MAX_LIFETIME_SECS", "3600"),
            ("JWT_ISSUER", " https://auth.example.com "),
            ("JWT_AUDIENCE", "edge-api"),
        ])
        .unwrap();
        assert_eq!((config.user_id_start, config.session_max_lifetime_secs), (5000, 3600));
        assert_eq!(config.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(config.audience.as_deref(), Some("edge-api"));
        assert!(from(&[("USER_ID_START", "0")]).is_err());
        assert!(from(&[("USER_ID_CLAIM", "aud")]).is_err());
    }

    #[test]
    fn session_and_back_off_settings_are_configurable() {
        let config = from(&[
            ("REFRESH_REUSE_INTERVAL_SECS", "2"),
            ("LOGIN_BACKOFF_THRESHOLD", "3"),
            ("LOGIN_BACKOFF_BASE_SECS", "1"),
            ("LOGIN_BACKOFF_MAX_SECS", "4"),
            ("LOGIN_FAILURE_WINDOW_SECS", "5"),
        ])
        .unwrap();
        assert_eq!(config.reuse_interval_secs, 2);
        assert_eq!(config.login_backoff, Backoff { threshold: 3, base_secs: 1, max_secs: 4, window_secs: 5 });
        assert!(from(&[("LOGIN_BACKOFF_THRESHOLD", "0")]).is_err());
    }

    #[test]
    fn claim_names_are_configurable_but_must_stay_distinct() {
        assert_eq!(from(&[]).unwrap().claim_names, ClaimNames::default());
        let config = from(&[("USER_ID_CLAIM", "sub"), ("TOKEN_TYPE_CLAIM", "type")]).unwrap();
        assert_eq!(
            config.claim_names,
            ClaimNames { user_id: "sub".into(), token_type: "type".into(), jti: "jti".into() }
        );
        assert!(from(&[("USER_ID_CLAIM", "jti")]).is_err());
        assert!(from(&[("USER_ID_CLAIM", "exp")]).is_err());
    }

    #[test]
    fn vars_override_lifetimes_work_factor_and_limits() {
        let config = from(&[
            ("ACCESS_TOKEN_LIFETIME_SECS", "60"),
            ("REFRESH_TOKEN_LIFETIME_SECS", " 120 "),
            ("PBKDF2_ITERATIONS", "1000"),
            ("MAX_BODY_BYTES", "1024"),
        ])
        .unwrap();
        assert_eq!(
            (config.access_ttl_secs, config.refresh_ttl_secs, config.password_hasher, config.max_body_bytes),
            (60, 120, Target::Pbkdf2Sha256 { iterations: 1000 }, 1024)
        );
    }

    #[test]
    fn non_numeric_or_non_positive_numbers_are_refused() {
        for bad in ["abc", "0", "-5", "1.5"] {
            assert!(
                matches!(
                    from(&[("PBKDF2_ITERATIONS", bad)]),
                    Err(ConfigError::BadVar { name: "PBKDF2_ITERATIONS", .. })
                ),
                "{bad}"
            );
        }
        assert!(from(&[("PBKDF2_ITERATIONS", "5000000000")]).is_err());
        // More than a stored hash may claim: the worker could not verify its own hashes.
        assert!(from(&[("PBKDF2_ITERATIONS", "10000001")]).is_err());
    }

    #[test]
    fn argon2id_is_the_other_target_at_owasps_cost_unless_told() {
        let config = from(&[("PASSWORD_HASHER", "argon2id")]).unwrap();
        assert_eq!(
            config.password_hasher,
            Target::Argon2id(argon2::Cost { memory_cost: 19_456, time_cost: 2, parallelism: 1 })
        );
        let config = from(&[
            ("PASSWORD_HASHER", "argon2id"),
            ("ARGON2_MEMORY_COST", "65536"),
            ("ARGON2_TIME_COST", "3"),
            ("ARGON2_PARALLELISM", "4"),
        ])
        .unwrap();
        assert_eq!(
            config.password_hasher,
            Target::Argon2id(argon2::Cost { memory_cost: 65_536, time_cost: 3, parallelism: 4 })
        );
    }

    #[test]
    fn hashers_and_costs_that_cannot_run_in_an_isolate_are_refused() {
        let refused = |vars: &[(&str, &str)]| matches!(from(vars), Err(ConfigError::BadVar { .. }));
        assert!(refused(&[("PASSWORD_HASHER", "bcrypt")]));
        assert!(refused(&[("PASSWORD_HASHER", "argon2")]));
        // 128 MiB of argon2 memory leaves nothing for the rest of a 128 MB isolate.
        assert!(refused(&[("PASSWORD_HASHER", "argon2id"), ("ARGON2_MEMORY_COST", "131072")]));
        assert!(refused(&[("PASSWORD_HASHER", "argon2id"), ("ARGON2_PARALLELISM", "0")]));
        assert!(refused(&[("PASSWORD_HASHER", "argon2id"), ("ARGON2_TIME_COST", "-1")]));
        assert!(refused(&[("PASSWORD_HASHER", "argon2id"), ("ARGON2_MEMORY_COST", "8"), ("ARGON2_PARALLELISM", "2")]));
        let error = from(&[("PASSWORD_HASHER", "argon2id"), ("ARGON2_MEMORY_COST", "200000")]).unwrap_err();
        assert!(error.to_string().contains("128 MB"), "{error}");
    }

    #[test]
    fn prefixes_are_normalized_to_leading_and_trailing_slashes() {
        let config = from(&[("API_PREFIXES", "api/v2/auth, /auth/ ,")]).unwrap();
        assert_eq!(config.prefixes, ["/api/v2/auth/", "/auth/"]);
        assert!(from(&[("API_PREFIXES", " , ")]).is_err());
    }

    #[test]
    fn origins_must_be_exact_and_never_a_wildcard() {
        let config = from(&[("ALLOWED_ORIGINS", "https://app.example.com/, http://localhost:3000")]).unwrap();
        assert!(config.origin_allowed("https://app.example.com"));
        assert!(config.origin_allowed("http://localhost:3000"));
        assert!(!config.origin_allowed("https://evil.example.com"));
        assert!(!config.origin_allowed("https://app.example.com.evil.com"));
        assert!(from(&[("ALLOWED_ORIGINS", "*")]).is_err());
        assert!(from(&[("ALLOWED_ORIGINS", "app.example.com")]).is_err());
    }

    #[test]
    fn a_missing_or_short_signing_key_is_refused_without_echoing_it() {
        assert_eq!(SigningKey::from_secret(None).unwrap_err(), ConfigError::SigningKeyMissing);
        assert_eq!(SigningKey::from_secret(Some(String::new())).unwrap_err(), ConfigError::SigningKeyMissing);
        let short = "s3cr3t-but-short".to_owned();
        let err = SigningKey::from_secret(Some(short.clone())).unwrap_err();
        assert_eq!(err, ConfigError::SigningKeyTooShort { len: 16 });
        assert!(!err.to_string().contains(&short));
        let key = SigningKey::from_secret(Some("k".repeat(32))).unwrap();
        assert_eq!(key.as_bytes().len(), 32);
        assert!(!format!("{key:?}").contains("kkkk"));
    }

    #[test]
    fn ed25519_key_errors_name_the_secret_or_var_that_carried_the_key() {
        assert_eq!(
            ConfigError::from(KeyError::Seed("not base64url")).to_string(),
            "secret JWT_ED25519_PRIVATE_KEY: not base64url"
        );
        assert_eq!(
            ConfigError::from(KeyError::PreviousKeys("public key must be 32 bytes")).to_string(),
            "var JWT_ED25519_PREVIOUS_KEYS: public key must be 32 bytes"
        );
    }

    #[test]
    fn recovery_mail_defaults_to_djangos_three_days_and_the_dev_frontend() {
        let mail = from(&[]).unwrap().mail;
        assert_eq!(mail.password_reset_url, "http://localhost:3000/reset-password/{uid}/{token}/");
        assert_eq!(mail.email_verify_url, "http://localhost:3000/verify-email/{key}/");
        assert_eq!((mail.password_reset_timeout_secs, mail.email_verify_timeout_secs), (259_200, 259_200));
        assert!(!mail.require_verified_email);
        assert_eq!((mail.http_url, mail.per_address_per_hour), (None, 5));
    }

    #[test]
    fn recovery_mail_is_configurable_and_bad_values_are_refused() {
        let mail = from(&[
            ("PASSWORD_RESET_URL", "https://app.example.com/r?u={uid}&t={token}"),
            ("EMAIL_VERIFY_URL", "https://app.example.com/v/{key}"),
            ("REQUIRE_VERIFIED_EMAIL", "True"),
            ("EMAIL_FROM", "Auth <auth@example.com>"),
            ("EMAIL_HTTP_URL", "https://api.resend.com/emails"),
            ("EMAIL_RATE_LIMIT_PER_HOUR", "2"),
        ])
        .unwrap()
        .mail;
        assert!(mail.require_verified_email);
        assert_eq!(mail.http_url.as_deref(), Some("https://api.resend.com/emails"));
        assert_eq!((mail.from.as_str(), mail.per_address_per_hour), ("Auth <auth@example.com>", 2));
        for (name, value) in [
            ("PASSWORD_RESET_URL", "https://app.example.com/reset/{uid}/"),
            ("PASSWORD_RESET_URL", "javascript:alert({uid}{token})"),
            ("EMAIL_VERIFY_URL", "https://app.example.com/verify/"),
            ("REQUIRE_VERIFIED_EMAIL", "sometimes"),
            ("EMAIL_FROM", "nobody"),
            ("EMAIL_HTTP_URL", "ftp://mail.example.com"),
            ("EMAIL_RATE_LIMIT_PER_HOUR", "0"),
            ("PASSWORD_RESET_TIMEOUT_SECS", "-1"),
        ] {
            assert!(
                matches!(from(&[(name, value)]), Err(ConfigError::BadVar { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn the_prune_keeps_events_90_days_and_deletes_in_batches_of_a_thousand_unless_told() {
        assert_eq!(
            from(&[]).unwrap().prune,
            PruneConfig { event_retention_days: 90, batch_size: 1_000, max_batches: 40 }
        );
        let prune = from(&[("EVENT_RETENTION_DAYS", "30"), ("PRUNE_BATCH_SIZE", "200"), ("PRUNE_MAX_BATCHES", "500")])
            .unwrap()
            .prune;
        assert_eq!(prune, PruneConfig { event_retention_days: 30, batch_size: 200, max_batches: 500 });
        // Fewer batches than tables and a run could spend them all on tables with nothing due.
        assert_eq!(PruneConfig::MIN_BATCHES, crate::domain::prune::Table::ALL.len() as i64);
        for (name, value) in [
            ("EVENT_RETENTION_DAYS", "0"),
            ("EVENT_RETENTION_DAYS", "forever"),
            ("PRUNE_BATCH_SIZE", "-1"),
            ("PRUNE_BATCH_SIZE", "10001"),
            ("PRUNE_MAX_BATCHES", "1001"),
            ("PRUNE_MAX_BATCHES", "6"),
        ] {
            assert!(
                matches!(from(&[(name, value)]), Err(ConfigError::BadVar { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn breached_passwords_are_checked_fail_open_against_pwned_passwords_with_djangos_length_unless_told() {
        let breach = from(&[]).unwrap().breach;
        assert_eq!(
            breach,
            BreachConfig {
                min_length: 8,
                check: BreachCheck::FailOpen,
                url: "https://api.pwnedpasswords.com/range/".into(),
                timeout_ms: 1500,
            }
        );
        for (value, check) in
            [("off", BreachCheck::Off), ("fail-open", BreachCheck::FailOpen), ("fail-closed", BreachCheck::FailClosed)]
        {
            assert_eq!(from(&[("BREACHED_PASSWORD_CHECK", value)]).unwrap().breach.check, check);
        }
        let breach = from(&[
            ("PASSWORD_MIN_LENGTH", "15"),
            ("PWNED_PASSWORDS_URL", "http://127.0.0.1:8787/range/"),
            ("PWNED_PASSWORDS_TIMEOUT_MS", "250"),
        ])
        .unwrap()
        .breach;
        assert_eq!(
            (breach.min_length, breach.url.as_str(), breach.timeout_ms),
            (15, "http://127.0.0.1:8787/range/", 250)
        );
        assert_eq!(from(&[("PASSWORD_MIN_LENGTH", "1")]).unwrap().breach.min_length, 1);
    }

    #[test]
    fn bad_breach_settings_are_refused_by_name() {
        for (name, value) in [
            ("BREACHED_PASSWORD_CHECK", "on"),
            ("BREACHED_PASSWORD_CHECK", "fail_open"),
            ("BREACHED_PASSWORD_CHECK", "true"),
            ("PWNED_PASSWORDS_URL", "api.pwnedpasswords.com/range/"),
            ("PWNED_PASSWORDS_URL", "ftp://example.com/range/"),
            ("PWNED_PASSWORDS_URL", "https://example.com/range?prefix="),
            ("PWNED_PASSWORDS_URL", "https://exa mple.com/range/"),
            ("PWNED_PASSWORDS_TIMEOUT_MS", "0"),
            ("PWNED_PASSWORDS_TIMEOUT_MS", "-5"),
            ("PWNED_PASSWORDS_TIMEOUT_MS", "1.5"),
            ("PWNED_PASSWORDS_TIMEOUT_MS", "60001"),
            ("PASSWORD_MIN_LENGTH", "0"),
            ("PASSWORD_MIN_LENGTH", "-1"),
            ("PASSWORD_MIN_LENGTH", "eight"),
        ] {
            assert!(
                matches!(from(&[(name, value)]), Err(ConfigError::BadVar { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn sync_with_django_is_off_until_its_url_is_set_and_the_url_gets_its_trailing_slash() {
        let sync = from(&[]).unwrap().sync;
        assert_eq!((sync.django_url, sync.retry_max_delay_secs), (None, 300));
        let sync =
            from(&[("DJANGO_SYNC_URL", "https://django.example.com/edge-auth"), ("SYNC_RETRY_MAX_DELAY_SECS", "5")])
                .unwrap()
                .sync;
        assert_eq!(sync.django_url.as_deref(), Some("https://django.example.com/edge-auth/"));
        assert_eq!(sync.retry_max_delay_secs, 5);
        for url in ["django.example.com/edge-auth/", "ftp://x/", "https://a b/"] {
            assert_eq!(
                from(&[("DJANGO_SYNC_URL", url)]),
                Err(ConfigError::BadVar { name: "DJANGO_SYNC_URL", reason: "must be an http(s) URL" })
            );
        }
    }

    #[test]
    fn the_relying_party_defaults_to_the_first_allowed_origin_and_leaves_out_origins_off_it() {
        let config = from(&[("ALLOWED_ORIGINS", "http://localhost:3000, http://127.0.0.1:3000")]).unwrap();
        let rp = config.mfa.webauthn.unwrap();
        assert_eq!(rp.rp_id, "localhost");
        assert_eq!(rp.origins, ["http://localhost:3000"]);
        assert_eq!(rp.rp_name, "edge-auth");
        assert_eq!(from(&[]).unwrap().mfa.webauthn, None, "no origin, no passkeys");
    }

    #[test]
    fn an_explicit_relying_party_must_cover_every_origin_it_names() {
        let config = from(&[
            ("ALLOWED_ORIGINS", "https://app.example.com"),
            ("WEBAUTHN_RP_ID", "Example.com"),
            ("WEBAUTHN_RP_NAME", "Example"),
            ("WEBAUTHN_ORIGINS", "https://app.example.com, https://login.example.com/"),
        ])
        .unwrap();
        let rp = config.mfa.webauthn.unwrap();
        assert_eq!((rp.rp_id.as_str(), rp.rp_name.as_str()), ("example.com", "Example"));
        assert_eq!(rp.origins, ["https://app.example.com", "https://login.example.com"]);
        assert!(from(&[("WEBAUTHN_RP_ID", "example.com"), ("WEBAUTHN_ORIGINS", "https://evil-example.com")]).is_err());
        assert!(from(&[("WEBAUTHN_ORIGINS", "app.example.com")]).is_err());
        assert!(
            from(&[("WEBAUTHN_RP_ID", "https://example.com"), ("WEBAUTHN_ORIGINS", "https://example.com")]).is_err()
        );
    }

    #[test]
    fn second_factor_settings_are_configurable_within_bounds() {
        let config = from(&[("MFA_ISSUER", "Acme"), ("MFA_TOKEN_MAX_ATTEMPTS", "3")]).unwrap();
        assert_eq!((config.mfa.issuer.as_str(), config.mfa.token_max_attempts), ("Acme", 3));
        assert_eq!(from(&[]).unwrap().mfa.token_max_attempts, 5);
        assert!(from(&[("MFA_ISSUER", "Acme:Corp")]).is_err());
        assert!(from(&[("MFA_TOKEN_MAX_ATTEMPTS", "0")]).is_err());
        assert!(from(&[("MFA_TOKEN_MAX_ATTEMPTS", "101")]).is_err());
    }
}
