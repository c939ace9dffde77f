pub mod body;
pub mod email;
pub mod fields;
pub mod password;
pub mod password_rules;
pub mod sessions;
pub mod tokens;
pub mod user;
