//! One named handler per endpoint and method. Each reads its input at the edge, hands it to the
//! pure core, touches storage through the adapters, and returns a `Reply` or an `ApiError`.

use std::rc::Rc;

use serde_json::{json, Value};
use worker::{console_log, D1Database, Request, Response, Result, RouteContext};

use crate::app::blacklist::Blacklist;
use crate::app::http::{header, json_body, respond};
use crate::app::state::State;
use crate::app::users::{InsertError, Users};
use crate::app::{now, random_bytes, OrInternal};
use crate::domain::fields::{Form, Text};
use crate::domain::password::{check_password, make_password, new_salt, Verdict};
use crate::domain::tokens::{TokenError, TokenType};
use crate::domain::user::{timestamp, Credentials, PasswordChange, ProfileChanges, Registration, User, EMAIL_TAKEN};
use crate::error::{ApiError, FieldErrors, Reply};

type Ctx = RouteContext<Rc<State>>;
type Outcome = std::result::Result<Reply, ApiError>;

/// `POST register/` → 201 with a token pair and the new profile.
pub async fn register(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(register_user(&mut req, &ctx).await)
}

/// `POST login/` → 200 with a token pair and the profile; 401 whatever went wrong.
pub async fn login(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(log_in(&mut req, &ctx).await)
}

/// `POST logout/` → blacklists the caller's own refresh token.
pub async fn logout(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(log_out(&mut req, &ctx).await)
}

/// `POST token/refresh/` → rotates: a new pair, the old refresh token blacklisted.
pub async fn refresh(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(rotate(&mut req, &ctx).await)
}

/// `GET|HEAD me/` → the caller's profile.
pub async fn me(req: Request, ctx: Ctx) -> Result<Response> {
    respond(authenticate(&req, &ctx).await.map(|user| Reply::ok(user.profile())))
}

/// `PATCH me/` → changes names, phone number or time zone.
pub async fn update_me(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(update_profile(&mut req, &ctx).await)
}

/// `POST change-password/`.
pub async fn change_password(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(replace_password(&mut req, &ctx).await)
}

async fn register_user(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let registration = Registration::parse(&json_body(req, &state.config).await?)?;
    let db = database(ctx)?;
    let users = Users::new(&db);
    if users.by_email(&registration.email).await?.is_some() {
        return Err(FieldErrors::single("email", EMAIL_TAKEN));
    }
    let hash = hash_password(&registration.password, state.config.pbkdf2_iterations)?;
    let uuid = uuid::Builder::from_random_bytes(random_bytes()?).into_uuid().to_string();
    let now = now();
    let user = match users.insert(&registration, &uuid, &hash, &timestamp(now)).await {
        Ok(user) => user,
        // Lost a race with a concurrent registration of the same email.
        Err(InsertError::EmailTaken) => return Err(FieldErrors::single("email", EMAIL_TAKEN)),
        Err(InsertError::Failed(e)) => return Err(e),
    };
    Ok(Reply::new(201, session_body(state, &user, now.timestamp())?).no_store())
}

async fn log_in(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let iterations = state.config.pbkdf2_iterations;
    let credentials = Credentials::parse(&json_body(req, &state.config).await?)?;
    let db = database(ctx)?;
    let users = Users::new(&db);
    let Some(mut user) = users.by_email(&credentials.email).await? else {
        // Spend the same PBKDF2 work as a wrong password, so timing does not tell who exists.
        let _ = make_password(&credentials.password, "edge-auth-unknown-user", iterations);
        return Err(ApiError::LoginFailed);
    };
    let needs_rehash = match check_password(&credentials.password, &user.password, iterations) {
        Verdict::Valid { needs_rehash } => needs_rehash,
        Verdict::Invalid => return Err(ApiError::LoginFailed),
        Verdict::UnsupportedAlgorithm(algorithm) => {
            console_log!("login refused for user {}: password hash algorithm {algorithm} is not supported", user.id);
            return Err(ApiError::LoginFailed);
        }
    };
    if !user.can_log_in() {
        return Err(ApiError::LoginFailed);
    }
    let new_hash = if needs_rehash { Some(hash_password(&credentials.password, iterations)?) } else { None };
    let now = now();
    user.last_login = Some(timestamp(now));
    users.record_login(user.id, user.last_login.as_deref().unwrap_or_default(), new_hash.as_deref()).await?;
    Ok(Reply::ok(session_body(state, &user, now.timestamp())?).no_store())
}

async fn rotate(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let data = json_body(req, &state.config).await?;
    let token = refresh_token_field(&data)?;
    let now = now().timestamp();
    let claims = state.tokens.verify(&token, TokenType::Refresh, now).map_err(ApiError::BadRefreshToken)?;
    let blacklist = blacklist(ctx)?;
    if blacklist.contains(&claims.jti).await? {
        return Err(ApiError::BadRefreshToken(TokenError::Blacklisted));
    }
    let db = database(ctx)?;
    let user = match claims.user_id {
        Some(id) => Users::new(&db).by_id(id).await?,
        None => None,
    };
    let user = user.filter(User::can_log_in).ok_or(ApiError::NoActiveAccount)?;
    blacklist.add(&claims.jti, claims.expires_at, now).await?;
    let mut body = session_body(state, &user, now)?;
    if let Value::Object(map) = &mut body {
        map.remove("user");
    }
    Ok(Reply::ok(body).no_store())
}

async fn log_out(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let user = authenticate(req, ctx).await?;
    let data = json_body(req, &state.config).await?;
    let token = refresh_token_field(&data)?;
    let now = now().timestamp();
    let claims = state.tokens.verify(&token, TokenType::Refresh, now).map_err(ApiError::BadLogoutToken)?;
    let blacklist = blacklist(ctx)?;
    if blacklist.contains(&claims.jti).await? {
        return Err(ApiError::BadLogoutToken(TokenError::Blacklisted));
    }
    if claims.user_id != Some(user.id) {
        return Err(ApiError::TokenNotOwned);
    }
    blacklist.add(&claims.jti, claims.expires_at, now).await?;
    Ok(Reply::ok(json!({ "message": "Successfully logged out." })))
}

async fn update_profile(req: &mut Request, ctx: &Ctx) -> Outcome {
    let mut user = authenticate(req, ctx).await?;
    let changes = ProfileChanges::parse(&json_body(req, &ctx.data.config).await?)?;
    changes.apply(&mut user);
    Users::new(&database(ctx)?).save_profile(&user).await?;
    Ok(Reply::ok(user.profile()))
}

async fn replace_password(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let iterations = state.config.pbkdf2_iterations;
    let user = authenticate(req, ctx).await?;
    let data = json_body(req, &state.config).await?;
    let change = PasswordChange::parse(&data, &user, |old| {
        matches!(check_password(old, &user.password, iterations), Verdict::Valid { .. })
    })?;
    let hash = hash_password(&change.new_password, iterations)?;
    Users::new(&database(ctx)?).set_password(user.id, &hash).await?;
    Ok(Reply::ok(json!({ "message": "Password changed successfully." })))
}

/// The Bearer access token's user, checked as simplejwt's `JWTAuthentication` checks it.
async fn authenticate(req: &Request, ctx: &Ctx) -> std::result::Result<User, ApiError> {
    let Some(authorization) = header(req, "Authorization") else {
        return Err(ApiError::NotAuthenticated);
    };
    let parts: Vec<&str> = authorization.split_whitespace().collect();
    match parts.as_slice() {
        ["Bearer", token] => {
            let claims = ctx
                .data
                .tokens
                .verify(token, TokenType::Access, now().timestamp())
                .map_err(ApiError::BadAccessToken)?;
            let id = claims.user_id.ok_or(ApiError::NoUserIdentification)?;
            let user = Users::new(&database(ctx)?).by_id(id).await?.ok_or(ApiError::UserNotFound)?;
            if user.can_log_in() {
                Ok(user)
            } else {
                Err(ApiError::UserInactive)
            }
        }
        ["Bearer", ..] => Err(ApiError::BadAuthorizationHeader),
        _ => Err(ApiError::NotAuthenticated),
    }
}

/// The refresh token in a body: `refresh_token`, or simplejwt's own name `refresh`.
fn refresh_token_field(data: &serde_json::Map<String, Value>) -> std::result::Result<String, ApiError> {
    let name =
        if !data.contains_key("refresh_token") && data.contains_key("refresh") { "refresh" } else { "refresh_token" };
    let mut form = Form::new(data);
    let token = form.required(name, Text::REQUIRED);
    form.errors.into_result()?;
    token.ok_or(ApiError::Internal)
}

/// The token response body: a fresh access/refresh pair for `user`, and the profile.
fn session_body(state: &State, user: &User, now: i64) -> std::result::Result<Value, ApiError> {
    let access = state.tokens.mint(TokenType::Access, user.id, random_bytes()?, now);
    let refresh = state.tokens.mint(TokenType::Refresh, user.id, random_bytes()?, now);
    Ok(json!({
        "access_token": access.token,
        "refresh_token": refresh.token,
        "token_type": "bearer",
        "expires_in": state.tokens.ttl(TokenType::Access),
        "user": user.profile(),
    }))
}

fn hash_password(password: &str, iterations: u32) -> std::result::Result<String, ApiError> {
    Ok(make_password(password, &new_salt(&random_bytes()?), iterations))
}

fn database(ctx: &Ctx) -> std::result::Result<D1Database, ApiError> {
    ctx.d1("DB").or_internal("binding DB")
}

fn blacklist(ctx: &Ctx) -> std::result::Result<Blacklist, ApiError> {
    Ok(Blacklist::new(ctx.kv("TOKEN_BLACKLIST").or_internal("binding TOKEN_BLACKLIST")?))
}
