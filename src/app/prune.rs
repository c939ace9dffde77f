//! The scheduled prune (`[triggers] crons` in wrangler.toml): deletes the rows nothing needs any
//! more (`domain::prune` says when each stops mattering), in bounded rounds, and logs one JSON
//! line of what it did. Never fails the invocation: a round that errs is logged and the run ends
//! there; the next run continues where this one stopped.

use worker::{console_error, console_log, Date, Env};

use crate::app::now;
use crate::app::state::State;
use crate::app::store::prune::{delete_batch, run_batch};
use crate::config::Config;
use crate::domain::mail::BUDGET_WINDOW_SECS;
use crate::domain::prune::{Budget, Cutoffs, Lifetimes, Run};
use crate::domain::sync::REMEMBER_IDS_SECS;
use crate::error::ApiError;

pub async fn run(env: &Env) {
    let Ok(state) = State::load(env) else {
        // What is wrong was logged by `State::load`; deleting by a configuration that cannot be
        // read could delete what a token still needs.
        return console_error!("prune: edge-auth is misconfigured; nothing pruned");
    };
    let config = &state.config;
    let started = Date::now().as_millis();
    let elapsed = || Date::now().as_millis().saturating_sub(started);
    let cutoffs = Cutoffs::at(now().timestamp(), &lifetimes(config));
    let mut run = Run::new(Budget { batch_size: config.prune.batch_size, max_batches: config.prune.max_batches });
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(e) => {
            run.failed();
            console_error!("prune: binding DB: {e}");
            return console_log!("{}", run.summary(elapsed()));
        }
    };
    loop {
        let tables = run.next_round(elapsed());
        if tables.is_empty() {
            break;
        }
        let round = async {
            let statements = tables
                .iter()
                .map(|table| delete_batch(&db, *table, &cutoffs, config.prune.batch_size))
                .collect::<Result<Vec<_>, ApiError>>()?;
            run_batch(&db, &statements).await
        };
        match round.await {
            Ok(counts) => tables.iter().zip(counts).for_each(|(table, count)| run.record(*table, count)),
            // The cause was logged where it happened.
            Err(_) => {
                console_error!("prune: a round failed; the next run continues");
                run.failed();
            }
        }
    }
    console_log!("{}", run.summary(elapsed()));
}

fn lifetimes(config: &Config) -> Lifetimes {
    Lifetimes {
        access_ttl_secs: config.access_ttl_secs,
        reuse_interval_secs: config.reuse_interval_secs,
        session_max_lifetime_secs: config.session_max_lifetime_secs,
        backoff: config.login_backoff,
        mail_window_secs: BUDGET_WINDOW_SECS,
        received_ids_secs: REMEMBER_IDS_SECS,
        event_retention_days: config.prune.event_retention_days,
    }
}
