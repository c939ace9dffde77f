//! The refresh-token blacklist in KV: one key per dead `jti`, expiring with the token itself.

use worker::kv::KvStore;

use crate::app::support::OrInternal;
use crate::domain::sessions::Dead;
use crate::domain::tokens::blacklist_ttl_secs;
use crate::error::ApiError;

pub struct Blacklist {
    kv: KvStore,
}

impl Blacklist {
    pub fn new(kv: KvStore) -> Blacklist {
        Blacklist { kv }
    }

    /// Why `jti` is dead, if KV knows it is. A miss proves nothing (KV is eventually
    /// consistent): D1 has the last word.
    pub async fn lookup(&self, jti: &str) -> Result<Option<Dead>, ApiError> {
        let entry = self.kv.get(jti).text().await.or_internal("blacklist.lookup")?;
        Ok(entry.as_deref().map(Dead::decode))
    }

    /// Blacklists `jti` until the token would have expired anyway (`expires_at`, Unix seconds).
    pub async fn add(&self, jti: &str, why: Dead, expires_at: i64, now: i64) -> Result<(), ApiError> {
        self.kv
            .put(jti, why.encode())
            .or_internal("blacklist.add")?
            .expiration_ttl(blacklist_ttl_secs(expires_at, now))
            .execute()
            .await
            .or_internal("blacklist.add")
    }
}
