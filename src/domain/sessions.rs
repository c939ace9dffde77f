//! Sessions (token families) and their rules, free of storage and of the clock: rotation
//! replays, the KV fast path, and the per-account login back-off. Every function takes `now`.
//!
//! The model (after Supabase Auth's): login and register start a session; every refresh token
//! belongs to one and is recorded in D1. A refresh consumes its token with one conditional
//! write, so only one successor is ever minted. Presenting a consumed token again within the
//! reuse interval returns that same successor (a retry, or two tabs racing); later, it is reuse
//! of a stolen token and the whole session is revoked.

use crate::domain::tokens::{TokenClaims, TokenType};

/// A refresh token's D1 record, read after its conditional consume did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub jti: String,
    pub session_id: String,
    pub user_id: i64,
    /// When it was rotated, if it was.
    pub used_at: Option<i64>,
    /// The token minted when it was rotated.
    pub successor: Option<Successor>,
    /// The token or its whole session was revoked.
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Successor {
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// What to do with a refresh token that could not be consumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// A repeat within the reuse interval: hand out the same successor again.
    SameSuccessor(TokenClaims),
    /// Reuse after the interval: the token was stolen or leaked; kill the whole family.
    RevokeSession,
    /// Revoked already (logout, password change, earlier reuse): refuse.
    Refuse,
}

/// Decides what a replayed refresh token gets.
pub fn on_replay(record: &TokenRecord, now: i64, reuse_interval_secs: i64) -> Replay {
    if record.revoked {
        return Replay::Refuse;
    }
    match (record.used_at, &record.successor) {
        (Some(used_at), Some(successor)) if now - used_at <= reuse_interval_secs => {
            Replay::SameSuccessor(TokenClaims {
                token_type: TokenType::Refresh,
                jti: successor.jti.clone(),
                user_id: Some(record.user_id),
                session_id: Some(record.session_id.clone()),
                issued_at: successor.issued_at,
                expires_at: successor.expires_at,
            })
        }
        (Some(_), _) => Replay::RevokeSession,
        (None, _) => Replay::Refuse,
    }
}

/// Why a `jti` is in the KV blacklist, as stored there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dead {
    /// Rotated at this time; replays may still be inside the reuse interval.
    Rotated { at: i64 },
    /// Logged out, or its session was revoked.
    Revoked,
}

impl Dead {
    pub fn encode(self) -> String {
        match self {
            Dead::Rotated { at } => format!("rotated:{at}"),
            Dead::Revoked => "revoked".to_owned(),
        }
    }

    /// Anything unreadable counts as revoked: the entry exists, so the token is dead.
    pub fn decode(value: &str) -> Dead {
        match value.strip_prefix("rotated:").and_then(|at| at.parse().ok()) {
            Some(at) => Dead::Rotated { at },
            None => Dead::Revoked,
        }
    }

    /// Whether the KV entry alone settles it (no D1 read). A rotated token goes on to D1: inside
    /// the reuse interval it gets the same successor, after it its session must be revoked.
    pub fn settles(self) -> bool {
        self == Dead::Revoked
    }
}

/// Per-account back-off after failed password checks: from the `threshold`-th failure on, each
/// further attempt waits `base_secs` × 2^(failures − threshold), at most `max_secs`. Failures
/// decay, one per `window_secs` without an attempt, instead of resetting after a quiet window.
/// `config` reads it from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub threshold: u32,
    pub base_secs: i64,
    pub max_secs: i64,
    pub window_secs: i64,
}

/// Failed logins recorded for one email address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct LoginFailures {
    pub failures: u32,
    pub last_failure_at: i64,
    pub blocked_until: i64,
}

impl LoginFailures {
    /// Seconds until the next login attempt may be made, when blocked.
    pub fn retry_after(&self, now: i64) -> Option<u64> {
        (self.blocked_until > now).then(|| (self.blocked_until - now).unsigned_abs())
    }

    /// Reserves one attempt at `now`, before the password is checked: refused with the wait
    /// while blocked; otherwise the record with this attempt counted as a failure (a right
    /// password then clears it). Failures decay by one per quiet `window_secs`. The one rule:
    /// `app::throttle` writes what this returns with a compare-and-set.
    pub fn reserve(&self, now: i64, policy: &Backoff) -> Result<LoginFailures, u64> {
        if let Some(wait) = self.retry_after(now) {
            return Err(wait);
        }
        let failures = self.decayed(now, policy).saturating_add(1);
        let blocked_until = block_secs(failures, policy).map_or(0, |delay| now + delay);
        Ok(LoginFailures { failures, last_failure_at: now, blocked_until })
    }

    /// The failures still counted at `now`: one fewer per whole `window_secs` since the last.
    pub fn decayed(&self, now: i64, policy: &Backoff) -> u32 {
        let forgotten = (now - self.last_failure_at).max(0) / policy.window_secs;
        self.failures.saturating_sub(u32::try_from(forgotten).unwrap_or(u32::MAX))
    }
}

/// How long the account waits after its `failures`-th failure in a row, if at all.
pub fn block_secs(failures: u32, policy: &Backoff) -> Option<i64> {
    let excess = failures.checked_sub(policy.threshold)?;
    Some(policy.base_secs.saturating_mul(1_i64 << excess.min(32)).min(policy.max_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn record(used_at: Option<i64>, revoked: bool) -> TokenRecord {
        TokenRecord {
            jti: "old".into(),
            session_id: "s1".into(),
            user_id: 7,
            used_at,
            successor: used_at.map(|at| Successor { jti: "new".into(), issued_at: at, expires_at: at + 604_800 }),
            revoked,
        }
    }

    #[test]
    fn a_repeat_within_the_reuse_interval_gets_the_same_successor() {
        let Replay::SameSuccessor(claims) = on_replay(&record(Some(NOW - 10), false), NOW, 10) else {
            panic!("expected the same successor")
        };
        assert_eq!(claims.jti, "new");
        assert_eq!(claims.session_id.as_deref(), Some("s1"));
        assert_eq!(claims.user_id, Some(7));
        assert_eq!((claims.issued_at, claims.expires_at), (NOW - 10, NOW - 10 + 604_800));
    }

    #[test]
    fn a_repeat_after_the_reuse_interval_revokes_the_session() {
        assert_eq!(on_replay(&record(Some(NOW - 11), false), NOW, 10), Replay::RevokeSession);
    }

    #[test]
    fn a_revoked_token_is_refused_even_inside_the_interval() {
        assert_eq!(on_replay(&record(Some(NOW), true), NOW, 10), Replay::Refuse);
        assert_eq!(on_replay(&record(None, true), NOW, 10), Replay::Refuse);
    }

    #[test]
    fn an_unused_token_that_could_not_be_consumed_is_refused() {
        assert_eq!(on_replay(&record(None, false), NOW, 10), Replay::Refuse);
    }

    #[test]
    fn kv_entries_round_trip_and_garbage_means_revoked() {
        for dead in [Dead::Rotated { at: NOW }, Dead::Revoked] {
            assert_eq!(Dead::decode(&dead.encode()), dead);
        }
        assert_eq!(Dead::decode("1"), Dead::Revoked);
        assert_eq!(Dead::decode("rotated:soon"), Dead::Revoked);
    }

    #[test]
    fn the_kv_fast_path_settles_revoked_tokens_and_defers_rotated_ones_to_d1() {
        assert!(Dead::Revoked.settles());
        assert!(!Dead::Rotated { at: NOW - 10 }.settles());
        assert!(!Dead::Rotated { at: NOW - 10_000 }.settles());
    }

    const POLICY: Backoff = Backoff { threshold: 3, base_secs: 2, max_secs: 10, window_secs: 60 };

    /// `n` failed attempts from `start`, each made as soon as the back-off allows.
    fn fail_times(n: u32, start: i64) -> LoginFailures {
        let (mut state, mut now) = (LoginFailures::default(), start);
        for _ in 0..n {
            state = state.reserve(now, &POLICY).unwrap();
            now = state.blocked_until.max(now + 1);
        }
        state
    }

    #[test]
    fn failures_below_the_threshold_do_not_block() {
        let state = fail_times(2, NOW);
        assert_eq!(state.failures, 2);
        assert_eq!(state.retry_after(NOW + 1), None);
    }

    #[test]
    fn the_threshold_th_attempt_is_reserved_and_blocks_the_ones_after_it() {
        let state = fail_times(3, NOW);
        assert_eq!(state.blocked_until, NOW + 2 + 2);
        assert_eq!(state.reserve(NOW + 3, &POLICY), Err(1));
        assert_eq!(state.reserve(NOW + 4, &POLICY).map(|s| s.failures), Ok(4));
    }

    #[test]
    fn back_off_doubles_from_the_threshold_up_to_the_maximum() {
        let mut state = LoginFailures::default();
        let mut delays = Vec::new();
        let mut now = NOW;
        for _ in 0..7 {
            state = state.reserve(now, &POLICY).unwrap();
            delays.push(state.blocked_until.saturating_sub(now).max(0));
            now = state.blocked_until.max(now + 1);
        }
        assert_eq!(delays, [0, 0, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn a_blocked_attempt_changes_nothing() {
        let state = fail_times(4, NOW);
        assert_eq!(state.reserve(state.blocked_until - 3, &POLICY), Err(3));
        assert!(state.reserve(state.blocked_until, &POLICY).is_ok());
    }

    #[test]
    fn failures_decay_one_per_quiet_window_instead_of_resetting() {
        let state = fail_times(5, NOW);
        let one_window = state.last_failure_at + POLICY.window_secs;
        assert_eq!(state.decayed(one_window - 1, &POLICY), 5);
        assert_eq!(state.decayed(one_window, &POLICY), 4);
        // After a quiet window the next failure is the 5th again: still past the threshold.
        let after = state.reserve(one_window, &POLICY).unwrap();
        assert_eq!(after.failures, 5);
        assert!(after.retry_after(one_window).is_some());
        assert_eq!(state.decayed(state.last_failure_at + 5 * POLICY.window_secs, &POLICY), 0);
        assert_eq!(state.decayed(state.last_failure_at - 100, &POLICY), 5, "a clock behind never adds failures");
    }
}
