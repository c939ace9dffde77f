//! Account recovery and verified email, in dj-rest-auth's shape: password reset by Django's
//! `PasswordResetTokenGenerator` links, address verification and change by mailed single-use
//! keys, and the notices that follow. Whatever an anonymous request asks about an address, the
//! answer is the same and immediate: the lookup and the mail happen after the response.

use std::future::Future;

use serde_json::{json, Value};
use worker::Request;

use crate::app::assets::common_passwords;
use crate::app::audit;
use crate::app::breach::screen;
use crate::app::caller::authenticate;
use crate::app::http::json_body;
use crate::app::mail::{later, notify, Postbox};
use crate::app::outbound::publish;
use crate::app::passwords::{check_password_attempt, commit_password, hash_password, NewPassword};
use crate::app::sessions::blacklist_all;
use crate::app::store::email_keys::{Applied, ConfirmError, EmailKeys};
use crate::app::store::users::Users;
use crate::app::throttle::{limit_ip, Limiter};
use crate::app::{database, first_row, now, random_bytes, Ctx, OrInternal, Outcome};
use crate::domain::audit::{AuditEvent, EventType, Source};
use crate::domain::fields::FieldErrors;
use crate::domain::mail::Template;
use crate::domain::password_rules::PasswordPolicy;
use crate::domain::recovery::{
    key_hash, link, parse_email_request, parse_key, EmailChange, KeyPurpose, MailedKey, ResetConfirmation,
    INVALID_VALUE, PASSWORD_INCORRECT,
};
use crate::domain::reset_token::{check_token, encode_uid, make_token, token_clock, ResetSubject};
use crate::domain::sync::Outgoing;
use crate::domain::tokens::hex;
use crate::domain::user::{User, EMAIL_TAKEN};
use crate::error::{ApiError, Reply};

/// `POST password/reset/` → 200, the same for every well-formed address; the link goes out
/// after the response to an active account with a usable password (Django's rule).
pub async fn request_password_reset(mut req: Request, ctx: Ctx) -> Outcome {
    let answer = json!({ "detail": "Password reset e-mail has been sent." });
    for_any_address(&mut req, &ctx, "password-reset", answer, mail_reset_link).await
}

/// What the anonymous endpoints about an address do: the per-IP limit, the address read, at once
/// the same `answer` for every well-formed one, and `work` on it after the response.
async fn for_any_address<Work>(
    req: &mut Request,
    ctx: &Ctx,
    action: &str,
    answer: Value,
    work: fn(Postbox, String, Source) -> Work,
) -> Outcome
where
    Work: Future<Output = Result<(), ApiError>> + 'static,
{
    let config = &ctx.data.state.config;
    limit_ip(req, ctx, Limiter::General, action, config.rate_limit_period_secs.unsigned_abs()).await?;
    let email = parse_email_request(&json_body(req, config).await?)?;
    let postbox = Postbox::of(ctx);
    let source = crate::app::source(req);
    later(ctx, async move {
        // Failures were logged where they happened; the client's answer does not depend on them.
        let _ = work(postbox, email, source).await;
    });
    Ok(Reply::ok(answer))
}

/// The address's budget is counted in the same round trip as the lookup, for every address:
/// what runs after the response differs between a known and an unknown address only by the
/// token and the hand-over to the transport (work after one response can slow the next one).
async fn mail_reset_link(postbox: Postbox, email: String, source: Source) -> Result<(), ApiError> {
    let (postbox, email) = (&postbox, email.as_str());
    let db = postbox.database()?;
    let now = now();
    let reads = db
        .batch(vec![postbox.count(&db, email, now.timestamp())?, Users::new(&db).by_email_statement(email)?])
        .await
        .or_internal("password-reset lookup")?;
    let within_budget = postbox.allows(first_row(&reads, 0)?);
    let user = match first_row::<User>(&reads, 1)? {
        Some(user) if within_budget && user.can_log_in() && !user.password.starts_with('!') => user,
        _ => return Ok(()),
    };
    let mail = &postbox.state.config.mail;
    let token = make_token(postbox.state.reset_secret.as_bytes(), &reset_subject(&user), token_clock(now));
    let link = link(&mail.password_reset_url, &[("uid", &encode_uid(user.id)), ("token", &token)]);
    let message =
        Template::PasswordReset { link: &link, valid_for_secs: mail.password_reset_timeout_secs }.to(&user.email);
    postbox.deliver(&message).await;
    let requested = AuditEvent::success(EventType::PasswordResetRequested, user.id);
    audit::record_in(&db, &source, &requested, now.timestamp()).await;
    Ok(())
}

/// What Django's reset token covers of a user.
fn reset_subject(user: &User) -> ResetSubject<'_> {
    ResetSubject {
        id: user.id,
        password_hash: &user.password,
        last_login: user.last_login.as_deref(),
        email: &user.email,
    }
}

/// `POST password/reset/confirm/` → the new password; every session ends, the back-off is
/// cleared, the address counts as verified (the link reached it) and a notice follows.
pub async fn confirm_password_reset(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Password, "password-reset-confirm", config.rate_limit_period_secs.unsigned_abs())
        .await?;
    let confirmation = ResetConfirmation::parse(&json_body(req, config).await?)?;
    let db = database(ctx)?;
    let users = Users::new(&db);
    let mut user = match confirmation.user_id {
        Some(id) => users.by_id(id).await?,
        None => None,
    }
    .ok_or_else(|| FieldErrors::single("uid", INVALID_VALUE))?;
    let now = now();
    let secret = state.reset_secret.as_bytes();
    let timeout = config.mail.password_reset_timeout_secs;
    if !check_token(&[secret], &reset_subject(&user), &confirmation.token, token_clock(now), timeout) {
        return Err(FieldErrors::single("token", INVALID_VALUE).into());
    }
    let common = common_passwords(&ctx.env).await?;
    let policy = PasswordPolicy { min_length: config.breach.min_length, common: &common };
    let checked = confirmation.new_password(&user.attributes(), &policy);
    let candidate = confirmation.agreed().cloned();
    let new_password = screen(&config.breach, checked, candidate, "new_password2").await?;
    let hash = hash_password(new_password.expose(), &config.password_hasher)?;
    let now = now.timestamp();
    let new = NewPassword {
        user_id: user.id,
        replaces: &user.password,
        hash: &hash,
        keep: None,
        throttle_key: &user.email,
        verifies_email: true,
    };
    // `None`: the password changed since the token was checked, and the token died with it.
    let revoked = commit_password(&db, new, now).await?.ok_or_else(|| FieldErrors::single("token", INVALID_VALUE))?;
    let mut events = vec![Outgoing::password_changed(user.id, &hash), Outgoing::sessions_revoked(user.id, now, None)];
    if !user.email_verified {
        // The link reached the mailbox: the address is verified now.
        (user.password, user.email_verified) = (hash, true);
        events.push(Outgoing::user_updated(&user));
    }
    blacklist_all(ctx, user.id, revoked, now, None, events).await?;
    ctx.record(req, AuditEvent::success(EventType::PasswordReset, user.id));
    notify(ctx, Template::PasswordWasReset.to(&user.email));
    Ok(Reply::ok(json!({ "detail": "Password has been reset with the new password." })).no_store().for_user(user.id))
}

/// `POST registration/verify-email/` → the key's address is verified (or, for a change, becomes
/// the account's); 404 for a key that is unknown, used, expired or outdated.
pub async fn verify_email(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let config = &ctx.data.state.config;
    limit_ip(req, ctx, Limiter::General, "verify-email", config.rate_limit_period_secs.unsigned_abs()).await?;
    let key = parse_key(&json_body(req, config).await?)?;
    let db = database(ctx)?;
    let marker = hex(&random_bytes::<16>()?);
    match EmailKeys::new(&db).confirm(&key_hash(key.expose()), now().timestamp(), &marker).await {
        Ok(Some(Applied { confirmed, old_email, user })) => {
            publish(ctx, vec![Outgoing::user_updated(&user)]).await;
            let changed = confirmed.purpose == KeyPurpose::Change.as_str() && old_email != confirmed.email;
            let kind = if changed { EventType::EmailChanged } else { EventType::EmailVerified };
            ctx.record(req, AuditEvent::success(kind, confirmed.user_id));
            if changed {
                notify(ctx, Template::EmailChanged { new_email: &confirmed.email }.to(&old_email));
            }
            Ok(Reply::ok(json!({ "detail": "ok" })).no_store().for_user(confirmed.user_id))
        }
        Ok(None) => Err(ApiError::NotFound),
        Err(ConfirmError::EmailTaken) => Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
        Err(ConfirmError::Failed(e)) => Err(e),
    }
}

/// `POST registration/resend-email/` → 200 whatever the address; a new link goes out after the
/// response to an active account whose address is not verified yet.
pub async fn resend_verification(mut req: Request, ctx: Ctx) -> Outcome {
    for_any_address(&mut req, &ctx, "resend-email", json!({ "detail": "ok" }), resend_to).await
}

/// One round trip for every address, as for the reset: the budget counted, and a new key stored
/// only where the address is an active, unverified account's and within its budget.
async fn resend_to(postbox: Postbox, email: String, _: Source) -> Result<(), ApiError> {
    let (postbox, email) = (&postbox, email.as_str());
    let db = postbox.database()?;
    let now = now().timestamp();
    let config = &postbox.state.config.mail;
    let key = MailedKey::new(random_bytes()?);
    let expires_at = now + config.email_verify_timeout_secs;
    let mut statements = vec![postbox.count(&db, email, now)?];
    statements.extend(EmailKeys::new(&db).reissue_verification(
        email,
        &key.hash,
        expires_at,
        config.per_address_per_hour,
    )?);
    let results = db.batch(statements).await.or_internal("resend-email writes")?;
    let within_budget = postbox.allows(first_row(&results, 0)?);
    if within_budget && first_row::<Value>(&results, 2)?.is_some() {
        deliver_key(postbox, KeyPurpose::Verify, email, &key).await;
    }
    Ok(())
}

/// Mails a new key for `email` (within the address's budget), after the response.
pub fn send_verification(ctx: &Ctx, user_id: i64, email: String) {
    let postbox = Postbox::of(ctx);
    later(ctx, async move {
        let _ = mail_key(&postbox, user_id, KeyPurpose::Verify, &email).await;
    });
}

/// Stores a new key of `purpose` for `email` and mails its link there, if the address's budget
/// allows.
async fn mail_key(postbox: &Postbox, user_id: i64, purpose: KeyPurpose, email: &str) -> Result<(), ApiError> {
    let now = now().timestamp();
    if !postbox.budget_allows(email, now).await? {
        return Ok(());
    }
    let config = &postbox.state.config.mail;
    let key = MailedKey::new(random_bytes()?);
    let db = postbox.database()?;
    EmailKeys::new(&db).issue(user_id, purpose, email, &key.hash, now + config.email_verify_timeout_secs).await?;
    deliver_key(postbox, purpose, email, &key).await;
    Ok(())
}

/// Mails the link of a stored key.
async fn deliver_key(postbox: &Postbox, purpose: KeyPurpose, email: &str, key: &MailedKey) {
    let config = &postbox.state.config.mail;
    let link = link(&config.email_verify_url, &[("key", key.key.expose())]);
    let valid_for_secs = config.email_verify_timeout_secs;
    let message = match purpose {
        KeyPurpose::Verify => Template::VerifyEmail { link: &link, valid_for_secs },
        KeyPurpose::Change => Template::ConfirmNewEmail { link: &link, valid_for_secs },
    }
    .to(email);
    postbox.deliver(&message).await;
}

/// `GET|HEAD email/` → the caller's address and whether it is verified.
pub async fn email_status(req: Request, ctx: Ctx) -> Outcome {
    let user = authenticate(&req, &ctx).await?.user;
    Ok(Reply::ok(json!({ "email": user.email, "verified": user.email_verified })).no_store().for_user(user.id))
}

/// `POST email/change/` → a key to the new address; the address changes when it is confirmed.
/// The password is checked like login's (same per-IP budget and back-off); whether the new
/// address is taken is told only to the account's owner.
pub async fn change_email(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let config = &ctx.data.state.config;
    let user = authenticate(req, ctx).await?.user;
    limit_ip(req, ctx, Limiter::Password, "email-change", config.rate_limit_period_secs.unsigned_abs()).await?;
    let change = EmailChange::parse(&json_body(req, config).await?)?;
    let db = database(ctx)?;
    if !check_password_attempt(req, ctx, &db, &user, change.password.expose()).await? {
        return Err(FieldErrors::single("password", PASSWORD_INCORRECT).into());
    }
    if Users::new(&db).by_email(&change.new_email).await?.is_some() {
        return Err(FieldErrors::single("new_email", EMAIL_TAKEN).into());
    }
    let postbox = Postbox::of(ctx);
    let (user_id, new_email) = (user.id, change.new_email);
    later(ctx, async move {
        let _ = mail_key(&postbox, user_id, KeyPurpose::Change, &new_email).await;
    });
    ctx.record(req, AuditEvent::success(EventType::EmailChangeRequested, user.id));
    Ok(Reply::ok(json!({ "detail": "Verification e-mail sent." })).for_user(user.id))
}
