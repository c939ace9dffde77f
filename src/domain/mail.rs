//! Every mail the service sends, in one place: subject, plain-text and HTML parts. Pure; the
//! worker's transports (`app::mail`) deliver them. Links carry one-time secrets: they appear in
//! the mail and nowhere else (never in a log line or a response).

/// The length of the per-address budget's window (`EMAIL_RATE_LIMIT_PER_HOUR`): a `mail_quota`
/// row whose window started this long ago counts for nothing (the next mail starts a new one).
pub const BUDGET_WINDOW_SECS: i64 = 3_600;

/// A message ready for a transport.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: &'static str,
    pub text: String,
    pub html: String,
    /// Whether it counts against the per-address budget (`EMAIL_RATE_LIMIT_PER_HOUR`): mails an
    /// anonymous request can trigger do; notices of what the account holder just did do not.
    pub budgeted: bool,
}

/// Mails carry secrets: their `Debug` names the subject only.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// What to send.
pub enum Template<'a> {
    /// `password/reset/`: the link to set a new password.
    PasswordReset { link: &'a str, valid_for_secs: i64 },
    /// Registration or `registration/resend-email/`: the link that verifies the address.
    VerifyEmail { link: &'a str, valid_for_secs: i64 },
    /// `email/change/`: to the new address, the link that makes it the account's.
    ConfirmNewEmail { link: &'a str, valid_for_secs: i64 },
    /// Notice: the password was changed (`change-password/`).
    PasswordChanged,
    /// Notice: the password was reset through a mailed link.
    PasswordWasReset,
    /// Notice, to the old address: the account's address is now `new_email`.
    EmailChanged { new_email: &'a str },
    /// Notice: a second factor (`what`: "an authenticator app", "a passkey", "new recovery codes")
    /// was added to the account.
    SecondFactorAdded { what: &'a str },
    /// Notice: a second factor was removed.
    SecondFactorRemoved { what: &'a str },
}

const NOT_YOU: &str = "If this was not you, reset your password at once and contact support.";

impl Template<'_> {
    pub fn to(&self, address: &str) -> Mail {
        let (subject, paragraphs, link): (&'static str, Vec<String>, Option<&str>) = match self {
            Template::PasswordReset { link, valid_for_secs } => (
                "Reset your password",
                vec![
                    "Someone asked to reset the password of the account with this address. To choose a new \
                     password, open this link:"
                        .into(),
                    format!(
                        "The link works once, for {}. If you did not ask for it, ignore this mail: your password \
                         stays as it is.",
                        duration(*valid_for_secs)
                    ),
                ],
                Some(link),
            ),
            Template::VerifyEmail { link, valid_for_secs } => (
                "Verify your e-mail address",
                vec![
                    "Please confirm that this address is yours by opening this link:".into(),
                    format!("The link works once, for {}. If you did not sign up, ignore this mail.", duration(*valid_for_secs)),
                ],
                Some(link),
            ),
            Template::ConfirmNewEmail { link, valid_for_secs } => (
                "Confirm your new e-mail address",
                vec![
                    "Someone asked to make this the e-mail address of their account. To confirm, open this link:"
                        .into(),
                    format!(
                        "The link works once, for {}. Until it is opened, the account keeps its old address. If you \
                         did not ask for this, ignore this mail.",
                        duration(*valid_for_secs)
                    ),
                ],
                Some(link),
            ),
            Template::PasswordChanged => (
                "Your password was changed",
                vec!["The password of your account was just changed, and its other sessions were ended.".into(), NOT_YOU.into()],
                None,
            ),
            Template::PasswordWasReset => (
                "Your password was reset",
                vec![
                    "The password of your account was just reset through a link sent to this address, and every \
                     session was ended."
                        .into(),
                    NOT_YOU.into(),
                ],
                None,
            ),
            Template::EmailChanged { new_email } => (
                "Your e-mail address was changed",
                vec![
                    format!("The e-mail address of your account was changed to {new_email}. This address will receive no further mail about it."),
                    NOT_YOU.into(),
                ],
                None,
            ),
            Template::SecondFactorAdded { what } => (
                "Two-factor authentication: a security change to your account",
                vec![
                    format!("Two-factor authentication: {what} was just added to your account, and its other sessions were ended."),
                    NOT_YOU.into(),
                ],
                None,
            ),
            Template::SecondFactorRemoved { what } => (
                "Two-factor authentication: a security change to your account",
                vec![
                    format!("Two-factor authentication: {what} was just removed from your account, and its other sessions were ended."),
                    NOT_YOU.into(),
                ],
                None,
            ),
        };
        let budgeted = link.is_some();
        let (first, rest) = paragraphs.split_first().map_or((String::new(), &[][..]), |(f, r)| (f.clone(), r));
        let mut text = first.clone();
        let mut html = format!("<p>{}</p>", escape(&first));
        if let Some(link) = link {
            text.push_str(&format!("\n\n{link}"));
            html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>", escape(link)));
        }
        for paragraph in rest {
            text.push_str(&format!("\n\n{paragraph}"));
            html.push_str(&format!("<p>{}</p>", escape(paragraph)));
        }
        text.push('\n');
        Mail {
            to: address.to_owned(),
            subject,
            text,
            html: format!("<!doctype html><html><body>{html}</body></html>"),
            budgeted,
        }
    }
}

/// "3 days", "1 hour", "90 seconds": how long a link works, in the largest whole unit.
fn duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Text for HTML: what a configured template or an address could carry cannot become markup.
fn escape(text: &str) -> String {
    text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_mail_carries_its_link_in_both_parts_and_counts_against_the_budget() {
        let link = "http://localhost:3000/reset-password/NDI/dk7g1s-df74/";
        let mail = Template::PasswordReset { link, valid_for_secs: 259_200 }.to("ada@example.com");
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(mail.subject, "Reset your password");
        assert!(mail.text.contains(link) && mail.text.contains("3 days"), "{}", mail.text);
        assert!(mail.html.contains(&format!("href=\"{link}\"")));
        assert!(mail.budgeted);
    }

    #[test]
    fn notices_carry_no_link_and_are_not_budgeted() {
        for template in [
            Template::PasswordChanged,
            Template::PasswordWasReset,
            Template::EmailChanged { new_email: "n@x.io" },
            Template::SecondFactorAdded { what: "a passkey" },
            Template::SecondFactorRemoved { what: "an authenticator app" },
        ] {
            let mail = template.to("ada@example.com");
            assert!(!mail.budgeted, "{}", mail.subject);
            assert!(!mail.text.contains("http"), "{}", mail.text);
        }
    }

    #[test]
    fn what_goes_into_html_is_escaped() {
        let mail = Template::EmailChanged { new_email: "<script>\"x\"@evil.io" }.to("ada@example.com");
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;&quot;x&quot;@evil.io"));
        let mail = Template::VerifyEmail { link: "https://x/?a=1&b=\"2\"", valid_for_secs: 60 }.to("a@b.io");
        assert!(mail.html.contains("href=\"https://x/?a=1&amp;b=&quot;2&quot;\""), "{}", mail.html);
        assert!(mail.text.contains("1 minute."), "{}", mail.text);
    }

    #[test]
    fn a_mail_does_not_print_its_link() {
        let mail = Template::PasswordReset { link: "https://x/secret-token/", valid_for_secs: 3_600 }.to("a@b.io");
        let printed = format!("{mail:?} {mail:#?}");
        assert!(!printed.contains("secret-token") && printed.contains("Reset your password"), "{printed}");
    }

    #[test]
    fn durations_read_in_their_largest_whole_unit() {
        assert_eq!(duration(259_200), "3 days");
        assert_eq!(duration(3_600), "1 hour");
        assert_eq!(duration(5_400), "90 minutes");
        assert_eq!(duration(1), "1 second");
    }
}
