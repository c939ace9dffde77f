//! Mail delivery: Cloudflare's Email Service through the `send_email` binding `EMAIL`, or a
//! Resend-compatible HTTP API (`EMAIL_HTTP_URL`, secret `EMAIL_HTTP_TOKEN`); and the per-address
//! budget (`EMAIL_RATE_LIMIT_PER_HOUR`). Mail goes out after the response (`later`), so neither a
//! slow provider nor whether a mail was sent at all shows in what the client sees. A failure is
//! logged (what failed, never the message or its link) and changes nothing else.

use std::future::Future;
use std::rc::Rc;

use serde_json::json;
use worker::{console_error, console_log, query, D1Database, D1PreparedStatement, EmailAddress, Env, SendEmailBuilder};

use crate::app::state::State;
use crate::app::support::{post_json, OrInternal};
use crate::app::Ctx;
use crate::domain::mail::{Mail, BUDGET_WINDOW_SECS};
use crate::domain::recovery::key_hash;
use crate::error::ApiError;

/// How long a mail provider may take to answer (milliseconds): a hung one is abandoned.
const PROVIDER_TIMEOUT_MS: u32 = 10_000;

/// What background work needs: the bindings and the isolate's state, owned (it outlives the
/// request's handler).
pub struct Postbox {
    pub env: Env,
    pub state: Rc<State>,
}

impl Postbox {
    pub fn of(ctx: &Ctx) -> Postbox {
        Postbox { env: ctx.env.clone(), state: ctx.data.state.clone() }
    }

    pub fn database(&self) -> Result<D1Database, ApiError> {
        self.env.d1("DB").or_internal("binding DB")
    }

    /// Whether one more link mail may go to `address` this hour, counting it if so.
    pub async fn budget_allows(&self, address: &str, now: i64) -> Result<bool, ApiError> {
        let db = self.database()?;
        let row = self.count(&db, address, now)?.first::<Sent>(None).await.or_internal("mail_quota.count")?;
        Ok(self.allows(row))
    }

    /// Counts one more link mail to `address` this hour (to batch with a lookup: the same work
    /// for every address, known or not); read its row with `allows`.
    pub fn count(&self, db: &D1Database, address: &str, now: i64) -> Result<D1PreparedStatement, ApiError> {
        query!(
            db,
            "INSERT INTO mail_quota (address_hash, window_start, sent) VALUES (?1, ?2, 1)
             ON CONFLICT (address_hash) DO UPDATE SET
               sent = CASE WHEN window_start <= ?2 - ?3 THEN 1 ELSE sent + 1 END,
               window_start = CASE WHEN window_start <= ?2 - ?3 THEN ?2 ELSE window_start END
             RETURNING sent",
            key_hash(address),
            now,
            BUDGET_WINDOW_SECS,
        )
        .or_internal("binding mail_quota.count")
    }

    /// Whether the counted mail is within the budget.
    pub fn allows(&self, counted: Option<Sent>) -> bool {
        let allowed = counted.is_some_and(|row| row.sent <= self.state.config.mail.per_address_per_hour);
        if !allowed {
            console_log!("mail not sent: the recipient's hourly budget is spent");
        }
        allowed
    }

    /// Hands `mail` to the configured transport; a failure is logged, never returned.
    pub async fn deliver(&self, mail: &Mail) {
        let outcome = match &self.state.config.mail.http_url {
            Some(url) => self.over_http(url, mail).await,
            None => self.through_binding(mail).await,
        };
        if let Err(reason) = outcome {
            console_error!("mail delivery failed ({}): {reason}", mail.subject);
        }
    }

    async fn through_binding(&self, mail: &Mail) -> Result<(), String> {
        let binding = self.env.send_email("EMAIL").map_err(|_| "no send_email binding EMAIL".to_owned())?;
        let from = &self.state.config.mail.from;
        let builder = match display_address(from) {
            Some((name, address)) => SendEmailBuilder::builder_with_email_address_and_str(
                &EmailAddress::new(name, address),
                &mail.to,
                mail.subject,
            ),
            None => SendEmailBuilder::builder(from, &mail.to, mail.subject),
        }
        .text(&mail.text)
        .html(&mail.html)
        .build();
        // The binding's error names the rule it broke (a sender or recipient not allowed), not the
        // message.
        binding.send_with_builder(&builder).await.map(|_| ()).map_err(|e| String::from(e.message()))
    }

    async fn over_http(&self, url: &str, mail: &Mail) -> Result<(), String> {
        let body = json!({
            "from": self.state.config.mail.from,
            "to": [mail.to],
            "subject": mail.subject,
            "text": mail.text,
            "html": mail.html,
        });
        let bearer = self.state.mail_token.as_ref().map(|token| format!("Bearer {}", token.expose()));
        let headers: &[(&str, &str)] = match &bearer {
            Some(bearer) => &[("Authorization", bearer)],
            None => &[],
        };
        match post_json(url, headers, &body.to_string(), PROVIDER_TIMEOUT_MS).await {
            Ok((200..=299, _)) => Ok(()),
            Ok((status, _)) => Err(format!("the provider answered {status}")),
            Err("not a URL") => Err("EMAIL_HTTP_URL is not a URL".to_owned()),
            Err(_) => Err("the provider could not be reached".to_owned()),
        }
    }
}

/// A `mail_quota` row as counted.
#[derive(serde::Deserialize)]
pub struct Sent {
    sent: i64,
}

/// `Name <address>` as its two parts; `None` for a bare address.
fn display_address(from: &str) -> Option<(&str, &str)> {
    let (name, rest) = from.split_once('<')?;
    let address = rest.strip_suffix('>')?;
    Some((name.trim().trim_matches('"'), address.trim()))
}

/// Runs `work` after the response is sent (the request's `waitUntil`).
pub fn later(ctx: &Ctx, work: impl Future<Output = ()> + 'static) {
    ctx.data.background.wait_until(work);
}

/// Sends a notice (not budgeted) after the response.
pub fn notify(ctx: &Ctx, mail: Mail) {
    let postbox = Postbox::of(ctx);
    later(ctx, async move { postbox.deliver(&mail).await });
}
