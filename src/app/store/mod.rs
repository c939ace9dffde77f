//! Storage adapters: the SQL and KV calls, beside the code that runs them.

pub mod blacklist;
pub mod email_keys;
pub mod received;
pub mod revocation;
pub mod rotation;
pub mod sessions;
pub mod users;
