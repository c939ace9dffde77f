//! Secrets a request carries or a response hands out, in types whose `Debug` never shows them:
//! a stray `{:?}` in a log line prints `Password(<redacted>)`, not the password. The text is
//! read only through `expose`, which names the moment a secret is used.

use std::fmt;

/// A plaintext password as the client sent it, before it is hashed or checked.
///
/// No `PartialEq`: a password is only ever checked against its hash (`domain::password`).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(text: String) -> Password {
        Password(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A bearer credential: a signed JWT or a device cookie's value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(text: String) -> Token {
        Token(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::new("correct-horse-battery".into());
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        assert_eq!(format!("{:#?}", Some(&password)), "Some(\n    Password(<redacted>),\n)");
        assert_eq!(password.expose(), "correct-horse-battery");
        let token = Token::new("eyJhbGciOiJIUzI1NiJ9.e30.sig".into());
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(token.expose(), "eyJhbGciOiJIUzI1NiJ9.e30.sig");
    }
}
