//! The refresh-token blacklist in KV: one key per dead `jti`, expiring with the token itself.

use worker::kv::KvStore;

use crate::app::OrInternal;
use crate::domain::tokens::blacklist_ttl_secs;
use crate::error::ApiError;

pub struct Blacklist {
    kv: KvStore,
}

impl Blacklist {
    pub fn new(kv: KvStore) -> Blacklist {
        Blacklist { kv }
    }

    pub async fn contains(&self, jti: &str) -> Result<bool, ApiError> {
        let entry = self.kv.get(jti).text().await.or_internal("blacklist.contains")?;
        Ok(entry.is_some())
    }

    /// Blacklists `jti` until the token would have expired anyway (`expires_at`, Unix seconds).
    pub async fn add(&self, jti: &str, expires_at: i64, now: i64) -> Result<(), ApiError> {
        self.kv
            .put(jti, expires_at.to_string())
            .or_internal("blacklist.add")?
            .expiration_ttl(blacklist_ttl_secs(expires_at, now))
            .execute()
            .await
            .or_internal("blacklist.add")
    }
}
