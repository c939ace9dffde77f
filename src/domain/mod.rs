pub mod body;
pub mod client;
pub mod fields;
pub mod password;
pub mod password_rules;
pub mod sessions;
pub mod tokens;
pub mod user;
