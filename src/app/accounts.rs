//! Accounts: register, log in, the profile and the password. Each handler reads its input at the
//! edge, hands it to the pure core and the storage adapters, and shapes the reply.

use serde_json::{json, Map, Value};
use worker::{console_log, D1Database, Request};

use crate::app::assets::common_passwords;
use crate::app::breach::screen_form;
use crate::app::caller::authenticate;
use crate::app::django::{lookup, Lookup};
use crate::app::http::{header, json_body};
use crate::app::issue::{token_body, NewSession};
use crate::app::mail::notify;
use crate::app::outbound::{publish, syncing};
use crate::app::passwords::{commit_password, hash_password, is_valid, password_check_key, NewPassword};
use crate::app::recovery::send_verification;
use crate::app::second_factor::ask_second_factor;
use crate::app::sessions::blacklist_all;
use crate::app::signin::{sign_in, SignIn};
use crate::app::state::State;
use crate::app::store::factors::{Factors, SecondFactors};
use crate::app::store::sessions::{Sessions, UserRef};
use crate::app::store::users::{InsertError, Users};
use crate::app::throttle::{device_of, limit_ip, Limiter, PasswordThrottle};
use crate::app::{database, first_row, now, random_bytes, Ctx, OrInternal, Outcome};
use crate::config::Config;
use crate::domain::audit::{AuditEvent, EventType, LoginFailure};
use crate::domain::device::Device;
use crate::domain::fields::FieldErrors;
use crate::domain::mail::Template;
use crate::domain::password::{check_password, owed_on_failure, pay, unverifiable, Target, Verdict};
use crate::domain::password_rules::PasswordPolicy;
use crate::domain::sync::{looked_up_user, user_record, Outgoing};
use crate::domain::user::{
    timestamp, Credentials, PasswordChange, ProfileChanges, Registration, User, EMAIL_TAKEN, OLD_PASSWORD_INCORRECT,
};
use crate::error::{ApiError, Reply};

/// `POST register/` → 201 with a token pair and the new profile.
pub async fn register(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    limit_ip(req, ctx, Limiter::General, "register", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, &state.config).await?;
    let common = common_passwords(&ctx.env).await?;
    let parsed =
        Registration::parse(&data, &PasswordPolicy { min_length: state.config.breach.min_length, common: &common });
    let fields = ["password", "password_confirm"];
    let registration = screen_form(&state.config.breach, &data, parsed, fields, |form| &form.password).await?;
    let db = database(ctx)?;
    let users = Users::new(&db);
    if users.by_email(&registration.email).await?.is_some() {
        return Err(FieldErrors::single("email", EMAIL_TAKEN).into());
    }
    // Beside Django, an address never gets two accounts: Django is asked first, and when it
    // cannot answer, nobody can tell.
    if syncing(ctx) {
        match lookup(state, &registration.email).await {
            Lookup::NotFound => {}
            Lookup::Found(_) => return Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
            Lookup::Unavailable => return Err(ApiError::Unavailable),
        }
    }
    let hash = hash_password(registration.password.expose(), &state.config.password_hasher)?;
    let uuid = uuid::Builder::from_random_bytes(random_bytes()?).into_uuid().to_string();
    let now = now();
    // With REQUIRE_VERIFIED_EMAIL, no session until the address is verified (dj-rest-auth's
    // mandatory verification): only the mail.
    let verified_first = state.config.mail.require_verified_email;
    let session = NewSession::begin(state, now.timestamp())?;
    let start = if verified_first {
        Vec::new()
    } else {
        Sessions::new(&db).start(
            UserRef::Email(&registration.email),
            &session.id,
            header(req, "User-Agent").as_deref(),
            &session.refresh,
        )?
    };
    let id_start = state.config.user_id_start;
    let user = match users.insert(&registration, &uuid, &hash, &timestamp(now), id_start, start).await {
        Ok(user) => user,
        // Lost a race with a concurrent registration of the same email.
        Err(InsertError::EmailTaken) => return Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
        Err(InsertError::Failed(e)) => return Err(e),
    };
    publish(ctx, vec![Outgoing::user_created(&user)]).await;
    let started = (!verified_first).then_some(session.id.as_str());
    ctx.record(req, AuditEvent::success(EventType::UserRegistered, user.id).session(started));
    send_verification(ctx, user.id, user.email.clone());
    if verified_first {
        return Ok(Reply::new(201, json!({ "detail": "Verification e-mail sent." })).for_user(user.id));
    }
    Ok(Reply::new(201, token_body(state, user.id, &session.refresh, Some(&user))?).no_store().for_user(user.id))
}

/// `POST login/` → 200 with a token pair and the profile; 401 whatever went wrong.
pub async fn login(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Password, "login", config.rate_limit_period_secs.unsigned_abs()).await?;
    let credentials = Credentials::parse(&json_body(req, config).await?)?;
    let db = database(ctx)?;
    let now = now();
    let attempt = reserve_attempt(&db, device_of(req, &state.devices), &credentials.email, now, config).await?;
    // Lazy migration: an address the worker lacks may be Django's user.
    let lazy = attempt.user.is_none() && syncing(ctx);
    let found = if lazy { django_user(state, &credentials.email).await } else { attempt.user };
    let (mut user, needs_rehash) = match verify(found, credentials.password.expose(), &config.password_hasher) {
        Ok(verified) => verified,
        Err(failed) => {
            ctx.record(req, failed);
            return Err(ApiError::LoginFailed);
        }
    };
    if lazy {
        user = import(&db, user).await?;
    }
    if config.mail.require_verified_email && !user.email_verified {
        // The right password: no failure to count, but no tokens for an unproven address.
        PasswordThrottle::new(&db).clear_now(&attempt.throttle_key).await?;
        ctx.record(req, AuditEvent::login_failed(Some(user.id), LoginFailure::EmailNotVerified));
        return Err(ApiError::EmailNotVerified);
    }
    if attempt.factors.any() {
        return ask_second_factor(req, ctx, &db, &user, &attempt.factors, &attempt.throttle_key, now.timestamp()).await;
    }
    let new_hash =
        if needs_rehash { Some(hash_password(credentials.password.expose(), &config.password_hasher)?) } else { None };
    let signed_in = SignIn {
        throttle_key: Some(&attempt.throttle_key),
        device: attempt.device,
        new_hash: new_hash.as_deref(),
        method: None,
    };
    sign_in(req, ctx, &db, user, signed_in).await
}

/// A login attempt, reserved: the user the email names (if any), the trusted device (if its
/// cookie is that user's) and the back-off row the attempt was counted in.
struct Attempt {
    user: Option<User>,
    device: Option<Device>,
    throttle_key: String,
    /// The second factors of the user the email names (none for an unknown email).
    factors: Factors,
}

/// Looks the user up and reserves the attempt (counted as a failure) before the password is
/// checked: on the trusted device's own row when the cookie is this account's, else the email's.
async fn reserve_attempt(
    db: &D1Database,
    device: Option<Device>,
    email: &str,
    now: chrono::DateTime<chrono::Utc>,
    config: &Config,
) -> Result<Attempt, ApiError> {
    let throttle = PasswordThrottle::new(db);
    let mut throttle_key = device.as_ref().map_or_else(|| email.to_owned(), Device::throttle_key);
    let reads = db
        .batch(vec![
            Users::new(db).by_email_statement(email)?,
            throttle.read(&throttle_key)?,
            SecondFactors::new(db).of_email_statement(email)?,
        ])
        .await
        .or_internal("login lookup")?;
    let user: Option<User> = first_row(&reads, 0)?;
    let mut seen = first_row(&reads, 1)?;
    let factors = first_row(&reads, 2)?.unwrap_or_default();
    let device = device.filter(|device| user.as_ref().is_some_and(|user| user.id == device.user_id));
    if device.is_none() && throttle_key != email {
        // Another account's device cookie counts as none.
        throttle_key = email.to_owned();
        seen = throttle.read_now(&throttle_key).await?;
    }
    throttle.reserve(&throttle_key, seen, now.timestamp(), &config.login_backoff).await?;
    Ok(Attempt { user, device, throttle_key, factors })
}

/// The user, if `password` is theirs and they may log in, and whether their hash needs
/// re-hashing; else the failed login for the audit trail. A failure for an unknown email, or a stored value nothing was run for, costs a
/// whole hash at the target; a weaker hash of the target's PBKDF2 is topped up to the target's
/// count; a hash of another algorithm costs what it costs (Django's rule, see README), so
/// timing tells nobody which emails exist. The reserved attempt stays counted: that was the failure.
fn verify(user: Option<User>, password: &str, target: &Target) -> Result<(User, bool), AuditEvent> {
    let verdict = match &user {
        Some(user) => check_password(password, &user.password, target),
        None => Verdict::Invalid,
    };
    match (user, verdict) {
        (Some(user), Verdict::Valid { needs_rehash }) if user.can_log_in() => Ok((user, needs_rehash)),
        (Some(user), Verdict::Valid { .. }) => {
            // The right password for an account that may not log in: paid like any failure.
            pay(password, owed_on_failure(Some(&user.password), target), target);
            Err(AuditEvent::login_failed(Some(user.id), LoginFailure::AccountDisabled))
        }
        (Some(user), _) => {
            // Unsupported, malformed or over-costly hashes never match: say so to the operator.
            if let Some(why) = unverifiable(&user.password) {
                console_log!("login refused for user {}: {why}", user.id);
            }
            pay(password, owed_on_failure(Some(&user.password), target), target);
            Err(AuditEvent::login_failed(Some(user.id), LoginFailure::InvalidPassword))
        }
        (None, _) => {
            pay(password, owed_on_failure(None, target), target);
            Err(AuditEvent::login_failed(None, LoginFailure::UnknownAccount))
        }
    }
}

/// The user Django has for `email` (lazy migration), as the worker would store it; `None` when
/// Django does not have it, cannot be asked, or sent a record the worker cannot take (logged).
async fn django_user(state: &State, email: &str) -> Option<User> {
    let Lookup::Found(answer) = lookup(state, email).await else {
        return None;
    };
    let user = looked_up_user(answer.as_bytes(), email);
    user.map_err(|why| console_log!("lazy migration: Django's user not imported: {}", why.0)).ok()
}

/// Imports Django's user whose password just verified, with its id, hash and profile (a uuid made
/// when Django has none), and returns the stored row to log in. Nothing is sent back: Django has
/// it. The row stored for the address is logged in when it is this user with this hash (just
/// inserted, or by a concurrent login); any other (its id or uuid another row's, the address
/// another user's, the hash changed meanwhile) is not what the password was checked against:
/// this attempt fails (logged), the next one logs in against the stored row as usual.
async fn import(db: &D1Database, mut user: User) -> Result<User, ApiError> {
    if user.uuid.is_empty() {
        user.uuid = uuid::Builder::from_random_bytes(random_bytes()?).into_uuid().to_string();
    }
    let stored = Users::new(db).import(&user_record(&user).to_string(), &user.email).await?;
    match stored {
        Some(stored) if stored.id == user.id && stored.password == user.password => {
            console_log!("lazy migration: user {} imported from Django", user.id);
            Ok(stored)
        }
        _ => {
            console_log!(
                "lazy migration: user {} not imported: its id, uuid or address is another row's, or it changed",
                user.id
            );
            Err(ApiError::LoginFailed)
        }
    }
}

/// `GET|HEAD me/` → the caller's profile.
pub async fn profile(req: Request, ctx: Ctx) -> Outcome {
    let caller = authenticate(&req, &ctx).await?;
    Ok(Reply::ok(caller.user.profile()).no_store().for_user(caller.user.id))
}

/// `PATCH me/` → changes names, phone number or time zone.
pub async fn update_profile(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let mut user = authenticate(req, ctx).await?.user;
    let changes = ProfileChanges::parse(&json_body(req, &ctx.data.state.config).await?)?;
    changes.apply(&mut user);
    Users::new(&database(ctx)?).save_profile(&user).await?;
    publish(ctx, vec![Outgoing::user_updated(&user)]).await;
    Ok(Reply::ok(user.profile()).no_store().for_user(user.id))
}

/// `POST change-password/` → new password; every other session ends.
pub async fn change_password(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    let caller = authenticate(req, ctx).await?;
    let user = &caller.user;
    // The old password is a password check like login's: the same per-IP budget and back-off.
    limit_ip(req, ctx, Limiter::Password, "change-password", config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, config).await?;
    let common = common_passwords(&ctx.env).await?;
    let policy = PasswordPolicy { min_length: config.breach.min_length, common: &common };
    let db = database(ctx)?;
    let now = now().timestamp();
    let throttle_key = password_check_key(req, state, user);
    let (parsed, wrong_old_password) = check_change(&db, &data, user, &throttle_key, now, config, &policy).await?;
    if wrong_old_password {
        let failed = AuditEvent::failure(EventType::PasswordChanged, Some(user.id))
            .session(caller.session_id.as_deref())
            .detail(json!({ "reason": LoginFailure::InvalidPassword.as_str() }));
        ctx.record(req, failed);
    }
    let fields = ["new_password", "new_password_confirm"];
    let change = screen_form(&config.breach, &data, parsed, fields, |form| &form.new_password).await?;
    let hash = hash_password(change.new_password.expose(), &config.password_hasher)?;
    let keep = caller.session_id.as_deref();
    let mut verified = user.password.clone();
    for _ in 0..3 {
        let new = NewPassword {
            user_id: user.id,
            replaces: &verified,
            hash: &hash,
            keep,
            throttle_key: &throttle_key,
            verifies_email: false,
        };
        if let Some(revoked) = commit_password(&db, new, now).await? {
            let events =
                vec![Outgoing::password_changed(user.id, &hash), Outgoing::sessions_revoked(user.id, now, keep)];
            blacklist_all(ctx, user.id, revoked, now, None, events).await?;
            ctx.record(req, AuditEvent::success(EventType::PasswordChanged, user.id).session(keep));
            notify(ctx, Template::PasswordChanged.to(&user.email));
            return Ok(Reply::ok(json!({ "message": "Password changed successfully." })).for_user(user.id));
        }
        // The stored hash changed since it was read. A login's re-hash of the same password is no
        // change of password: go on if the old password still verifies against what is stored.
        match Users::new(&db).password_of(user.id).await? {
            Some(stored) if is_valid(change.old_password.expose(), &stored, &config.password_hasher) => {
                verified = stored
            }
            _ => break,
        }
    }
    Err(FieldErrors::single("old_password", OLD_PASSWORD_INCORRECT).into())
}

/// Reserves the attempt on the back-off (before the old password is checked), then reads and
/// checks the change; a right old password clears the reservation even when another field fails.
/// The form's verdict (for the breach check to complete), and whether an old password was given
/// and was wrong (for the audit trail).
async fn check_change(
    db: &D1Database,
    data: &Map<String, Value>,
    user: &User,
    throttle_key: &str,
    now: i64,
    config: &Config,
    policy: &PasswordPolicy<'_>,
) -> Result<(Result<PasswordChange, FieldErrors>, bool), ApiError> {
    let throttle = PasswordThrottle::new(db);
    throttle.reserve_now(throttle_key, now, &config.login_backoff).await?;
    let old_password_ok = std::cell::Cell::new(None);
    let change = PasswordChange::parse(data, user, policy, |old| {
        let right = is_valid(old, &user.password, &config.password_hasher);
        old_password_ok.set(Some(right));
        right
    });
    if change.is_err() && old_password_ok.get() == Some(true) {
        throttle.clear_now(throttle_key).await?;
    }
    Ok((change, old_password_ok.get() == Some(false)))
}
