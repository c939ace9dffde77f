//! Storage that stays small: when each kind of row stops mattering, and how one scheduled run
//! spends its budget. Pure; `app::prune` runs the deletes (`app::store::prune` holds the SQL,
//! which applies exactly the predicates below).
//!
//! What a row still protects decides its cut-off:
//! - A refresh token's row is what refuses it once revoked or rotated, and what tells a replay
//!   from a token minted elsewhere (refresh/ would adopt an unknown one as a new session). It
//!   goes only once the token's own `exp` is past, plus a clock-skew grace: the token is then
//!   refused by its signature check before any row is read.
//! - A session's row: an access token whose `sid` names no session is refused like a revoked
//!   one (`Users::by_id_for_token`), and refresh/ adopts a token naming our `sid` only while that
//!   session row exists unrevoked, so deleting never revives anything; but a session that is not
//!   revoked keeps its last access token valid. A session goes once it is revoked or past its
//!   absolute lifetime, its refresh token rows are all gone (each after its token's `exp`), and
//!   its last access token has expired. So deleting one never cascades to a token row.
//! - A login back-off row goes once its failures have decayed to none and it blocks nothing:
//!   reserving an attempt then gives what a missing row gives.
//! - A one-time email key goes once used or expired (either is refused, as a missing key is).
//! - A mail budget row goes once its hour is over (the next mail starts a new window anyway).
//! - Received sync event ids go after `REMEMBER_IDS_SECS`, audit events after the retention.

use crate::domain::sessions::{Backoff, LoginFailures};

/// How far apart two isolates' clocks (or the signer's and the checker's) may be: rows that
/// guard a token stay this long past its `exp`.
pub const CLOCK_SKEW_GRACE_SECS: i64 = 300;

/// A run stops starting batches after this long (a Cron Trigger's wall time is bounded; what is
/// left waits for the next run).
pub const RUN_TIME_BUDGET_MS: u64 = 20_000;

pub const DAY_SECS: i64 = 86_400;

/// The tables the prune deletes from, in the order each round visits them (tokens before their
/// sessions, so a session's check finds fewer token rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    RefreshTokens,
    Sessions,
    LoginFailures,
    EmailKeys,
    MailQuota,
    SyncReceivedEvents,
    AuthEvents,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::RefreshTokens,
        Table::Sessions,
        Table::LoginFailures,
        Table::EmailKeys,
        Table::MailQuota,
        Table::SyncReceivedEvents,
        Table::AuthEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::RefreshTokens => "refresh_tokens",
            Table::Sessions => "sessions",
            Table::LoginFailures => "login_failures",
            Table::EmailKeys => "email_keys",
            Table::MailQuota => "mail_quota",
            Table::SyncReceivedEvents => "sync_received_events",
            Table::AuthEvents => "auth_events",
        }
    }

    fn index(self) -> usize {
        Table::ALL.iter().position(|table| *table == self).unwrap_or_default()
    }
}

/// The lifetimes the cut-offs follow from (the configuration's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_ttl_secs: i64,
    pub reuse_interval_secs: i64,
    pub session_max_lifetime_secs: i64,
    pub backoff: Backoff,
    pub mail_window_secs: i64,
    pub received_ids_secs: i64,
    pub event_retention_days: i64,
}

/// The instants each table's rows are compared with, for a run at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoffs {
    pub now: i64,
    /// Refresh tokens with `expires_at` before this can no longer be presented.
    pub tokens_expired_before: i64,
    /// Sessions last used before this have no unexpired access token left (a replay within the
    /// reuse interval mints one after `last_used_at`).
    pub sessions_idle_before: i64,
    /// Sessions created at or before this are past their absolute lifetime.
    pub sessions_born_by: i64,
    /// Back-off rows with no failure since this may have decayed (one failure per window).
    pub failures_quiet_since: i64,
    pub failure_window_secs: i64,
    /// Mail budget windows that started at or before this are over.
    pub mail_windows_started_by: i64,
    pub received_before: i64,
    pub events_before: i64,
}

impl Cutoffs {
    pub fn at(now: i64, lifetimes: &Lifetimes) -> Cutoffs {
        let tokens_expired_before = now.saturating_sub(CLOCK_SKEW_GRACE_SECS);
        Cutoffs {
            now,
            tokens_expired_before,
            sessions_idle_before: tokens_expired_before
                .saturating_sub(lifetimes.access_ttl_secs)
                .saturating_sub(lifetimes.reuse_interval_secs),
            sessions_born_by: now.saturating_sub(lifetimes.session_max_lifetime_secs),
            failures_quiet_since: now.saturating_sub(lifetimes.backoff.window_secs),
            failure_window_secs: lifetimes.backoff.window_secs,
            mail_windows_started_by: now.saturating_sub(lifetimes.mail_window_secs),
            received_before: now.saturating_sub(lifetimes.received_ids_secs),
            events_before: now.saturating_sub(lifetimes.event_retention_days.saturating_mul(DAY_SECS)),
        }
    }

    /// A refresh token's row may go: the token itself is refused by its `exp` by now.
    pub fn token_prunable(&self, expires_at: i64) -> bool {
        expires_at < self.tokens_expired_before
    }

    /// A session's row may go: dead (revoked or too old), with no refresh token row left (each
    /// goes once `token_prunable`, so none can still be presented, and deleting the session
    /// takes nothing with it) and its last access token expired.
    pub fn session_prunable(&self, session: &SessionFacts) -> bool {
        let dead = session.revoked || session.created_at <= self.sessions_born_by;
        dead && session.last_used_at < self.sessions_idle_before && session.token_rows == 0
    }

    /// A back-off row may go: it blocks nothing and its failures have decayed to none.
    pub fn failures_prunable(&self, row: &LoginFailures) -> bool {
        row.last_failure_at <= self.failures_quiet_since
            && row.blocked_until <= self.now
            && row.last_failure_at.saturating_add(i64::from(row.failures).saturating_mul(self.failure_window_secs))
                <= self.now
    }

    /// A one-time email key may go: used, or expired (`expires_at > now` is what works).
    pub fn email_key_prunable(&self, expires_at: i64, used: bool) -> bool {
        used || expires_at <= self.now
    }

    /// A mail budget row may go: its hour is over, the next mail starts a new one.
    pub fn mail_quota_prunable(&self, window_start: i64) -> bool {
        window_start <= self.mail_windows_started_by
    }
}

/// What the session rule reads of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    pub created_at: i64,
    pub last_used_at: i64,
    pub revoked: bool,
    /// Its refresh token rows still stored.
    pub token_rows: u32,
}

/// The budget of one run: rows per statement, and statements per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub batch_size: i64,
    pub max_batches: u32,
}

/// One run's progress: batches run, rows deleted per table, and which tables are done (a batch
/// that deleted fewer rows than it could found the last of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    budget: Budget,
    batches: u32,
    deleted: [i64; 7],
    done: [bool; 7],
    error: bool,
}

impl Run {
    pub fn new(budget: Budget) -> Run {
        Run { budget, batches: 0, deleted: [0; 7], done: [false; 7], error: false }
    }

    /// The tables to delete one batch from next (one statement each, one transaction), after
    /// `elapsed_ms` of this run: every table not done yet, as many as the budget has left,
    /// none once the time is up or a round failed.
    pub fn next_round(&self, elapsed_ms: u64) -> Vec<Table> {
        if self.error || elapsed_ms >= RUN_TIME_BUDGET_MS {
            return Vec::new();
        }
        let left = self.budget.max_batches.saturating_sub(self.batches) as usize;
        Table::ALL.into_iter().filter(|table| !self.done[table.index()]).take(left).collect()
    }

    /// One batch of `table` deleted `deleted` rows. Sessions are done only once their tokens
    /// are: each token batch can make more sessions prunable (a session waits for its last row).
    pub fn record(&mut self, table: Table, deleted: i64) {
        let i = table.index();
        self.batches += 1;
        self.deleted[i] += deleted;
        let waits = table == Table::Sessions && !self.done[Table::RefreshTokens.index()];
        self.done[i] |= deleted < self.budget.batch_size && !waits;
    }

    /// A round failed: the run stops here, and the next one continues.
    pub fn failed(&mut self) {
        self.error = true;
    }

    /// Every table had its last prunable row deleted.
    pub fn complete(&self) -> bool {
        self.done.iter().all(|done| *done)
    }

    pub fn deleted(&self, table: Table) -> i64 {
        self.deleted[table.index()]
    }

    /// The run's log line, one JSON object: rows deleted per table, batches run, whether
    /// everything due was deleted (else the next run continues), whether a round failed, and how
    /// long it took. Written by hand (table names need no escaping): `json!` costs 2.5 KB of wasm.
    pub fn summary(&self, elapsed_ms: u64) -> String {
        let deleted: Vec<String> =
            Table::ALL.iter().map(|table| format!("\"{}\":{}", table.name(), self.deleted(*table))).collect();
        format!(
            "{{\"event\":\"prune\",\"deleted\":{{{}}},\"batches\":{},\"complete\":{},\"error\":{},\"duration_ms\":{}}}",
            deleted.join(","),
            self.batches,
            self.complete(),
            self.error,
            elapsed_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(line: String) -> Value {
        serde_json::from_str(&line).expect("the log line is JSON")
    }

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3_600;

    fn lifetimes() -> Lifetimes {
        Lifetimes {
            access_ttl_secs: 1_800,
            reuse_interval_secs: 10,
            session_max_lifetime_secs: 30 * DAY_SECS,
            backoff: Backoff { threshold: 10, base_secs: 30, max_secs: 900, window_secs: 900 },
            mail_window_secs: HOUR,
            received_ids_secs: 30 * DAY_SECS,
            event_retention_days: 90,
        }
    }

    fn cutoffs() -> Cutoffs {
        Cutoffs::at(NOW, &lifetimes())
    }

    fn revoked_session(last_used_at: i64, token_rows: u32) -> SessionFacts {
        SessionFacts { created_at: NOW - DAY_SECS, last_used_at, revoked: true, token_rows }
    }

    #[test]
    fn a_refresh_token_row_stays_until_its_exp_is_past_by_the_clock_skew_grace() {
        let cut = cutoffs();
        // Revoked or not: the row is what refuses the token while it could be presented.
        assert!(!cut.token_prunable(NOW + 1));
        assert!(!cut.token_prunable(NOW - 1), "just expired: a skewed isolate may still accept it");
        assert!(!cut.token_prunable(NOW - CLOCK_SKEW_GRACE_SECS));
        assert!(cut.token_prunable(NOW - CLOCK_SKEW_GRACE_SECS - 1));
    }

    #[test]
    fn a_revoked_session_stays_while_any_row_of_its_refresh_tokens_does() {
        let cut = cutoffs();
        let long_idle = NOW - 8 * DAY_SECS;
        assert!(!cut.session_prunable(&revoked_session(long_idle, 1)));
        assert!(cut.session_prunable(&revoked_session(long_idle, 0)));
    }

    #[test]
    fn a_session_stays_until_its_last_access_token_and_a_replays_have_expired() {
        let cut = cutoffs();
        let access_window = 1_800 + 10 + CLOCK_SKEW_GRACE_SECS;
        assert!(!cut.session_prunable(&revoked_session(NOW - access_window, 0)));
        assert!(cut.session_prunable(&revoked_session(NOW - access_window - 1, 0)));
    }

    #[test]
    fn a_live_session_stays_even_when_idle_until_its_absolute_lifetime_is_over() {
        let cut = cutoffs();
        let idle =
            |created_at| SessionFacts { created_at, last_used_at: NOW - 8 * DAY_SECS, revoked: false, token_rows: 0 };
        assert!(!cut.session_prunable(&idle(NOW - 29 * DAY_SECS)));
        assert!(cut.session_prunable(&idle(NOW - 30 * DAY_SECS)));
        // Past its lifetime but with a token row left (one the config made longer): kept.
        assert!(!cut.session_prunable(&SessionFacts { token_rows: 1, ..idle(NOW - 40 * DAY_SECS) }));
    }

    #[test]
    fn a_back_off_row_goes_exactly_when_reserving_on_it_equals_reserving_on_no_row() {
        let cut = cutoffs();
        let policy = lifetimes().backoff;
        for failures in [1_u32, 3, 10, 12, 40] {
            for quiet in [0, 60, 899, 900, 901, 1_800, 9_000, 10_800, 36_000, 40_000] {
                for blocked_for in [0, 30, 900] {
                    let last_failure_at = NOW - quiet;
                    let blocked_until = if blocked_for == 0 { 0 } else { last_failure_at + blocked_for };
                    let row = LoginFailures { failures, last_failure_at, blocked_until };
                    let same_as_none = row.reserve(NOW, &policy) == LoginFailures::default().reserve(NOW, &policy);
                    if cut.failures_prunable(&row) {
                        assert!(same_as_none, "{row:?} pruned but not forgotten");
                    } else {
                        assert!(!same_as_none, "{row:?} kept though it counts for nothing");
                    }
                }
            }
        }
    }

    #[test]
    fn a_blocked_back_off_row_is_never_pruned() {
        let cut = cutoffs();
        let row = LoginFailures { failures: 1, last_failure_at: NOW - 10 * HOUR, blocked_until: NOW + 1 };
        assert!(!cut.failures_prunable(&row));
    }

    #[test]
    fn email_keys_go_once_used_or_expired_and_mail_budgets_once_their_hour_is_over() {
        let cut = cutoffs();
        assert!(!cut.email_key_prunable(NOW + 1, false));
        assert!(cut.email_key_prunable(NOW, false));
        assert!(cut.email_key_prunable(NOW + DAY_SECS, true));
        assert!(!cut.mail_quota_prunable(NOW - HOUR + 1));
        assert!(cut.mail_quota_prunable(NOW - HOUR));
    }

    #[test]
    fn events_and_received_ids_go_after_their_retention() {
        let cut = cutoffs();
        assert_eq!(cut.events_before, NOW - 90 * DAY_SECS);
        assert_eq!(cut.received_before, NOW - 30 * DAY_SECS);
        let shorter = Cutoffs::at(NOW, &Lifetimes { event_retention_days: 7, ..lifetimes() });
        assert_eq!(shorter.events_before, NOW - 7 * DAY_SECS);
    }

    #[test]
    fn a_run_visits_every_table_until_a_batch_comes_back_short() {
        let mut run = Run::new(Budget { batch_size: 100, max_batches: 40 });
        assert_eq!(run.next_round(0), Table::ALL.to_vec());
        for table in Table::ALL {
            run.record(table, if table == Table::RefreshTokens { 100 } else { 3 });
        }
        // A full batch may have left more, and sessions wait for their tokens.
        assert_eq!(run.next_round(0), vec![Table::RefreshTokens, Table::Sessions]);
        run.record(Table::RefreshTokens, 99);
        run.record(Table::Sessions, 0);
        assert!(run.next_round(0).is_empty());
        assert!(run.complete());
        assert_eq!((run.deleted(Table::RefreshTokens), run.deleted(Table::Sessions)), (199, 3));
    }

    #[test]
    fn sessions_are_not_done_while_their_tokens_are_not() {
        let mut run = Run::new(Budget { batch_size: 10, max_batches: 40 });
        run.record(Table::RefreshTokens, 10);
        run.record(Table::Sessions, 0);
        assert_eq!(&run.next_round(0)[..2], &[Table::RefreshTokens, Table::Sessions]);
        run.record(Table::RefreshTokens, 3);
        run.record(Table::Sessions, 2);
        assert!(!run.next_round(0).contains(&Table::Sessions));
    }

    #[test]
    fn a_run_stops_at_its_batch_budget_and_leaves_the_rest_for_the_next() {
        let mut run = Run::new(Budget { batch_size: 10, max_batches: 9 });
        let mut rounds = 0;
        loop {
            let tables = run.next_round(0);
            if tables.is_empty() {
                break;
            }
            rounds += 1;
            for table in tables {
                run.record(table, 10);
            }
        }
        assert_eq!((rounds, parsed(run.summary(0))["batches"].as_u64()), (2, Some(9)));
        assert!(!run.complete());
        assert_eq!(run.deleted(Table::RefreshTokens), 20);
        assert_eq!(run.deleted(Table::AuthEvents), 10);
    }

    #[test]
    fn a_run_stops_when_its_time_is_up_or_a_round_failed() {
        let mut run = Run::new(Budget { batch_size: 10, max_batches: 40 });
        assert!(run.next_round(RUN_TIME_BUDGET_MS).is_empty());
        run.failed();
        assert!(run.next_round(0).is_empty());
        assert_eq!(parsed(run.summary(5))["error"], true);
    }

    #[test]
    fn the_log_line_names_every_table() {
        let mut run = Run::new(Budget { batch_size: 10, max_batches: 40 });
        run.record(Table::Sessions, 4);
        let line = parsed(run.summary(12));
        assert_eq!(line["event"], "prune");
        assert_eq!(line["deleted"]["sessions"], 4);
        assert_eq!(line["deleted"].as_object().map(|tables| tables.len()), Some(7));
        assert_eq!((line["batches"].as_u64(), line["duration_ms"].as_u64()), (Some(1), Some(12)));
        assert_eq!(line["complete"], false);
    }
}
