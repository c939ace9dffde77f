//! `application/x-www-form-urlencoded`, as Django's `QueryDict` reads a form body: pairs split on
//! `&`, a name from its value on the first `=`, `+` a space, `%XX` the byte XX, the bytes UTF-8.
//! Also how RFC 6749 §2.3.1 encodes a client's id and secret before HTTP Basic.
//!
//! Written out: the `url` crate's parser would link its IDNA tables into the worker.

/// Decodes one name or value: `+` is a space, `%XX` the byte XX (either case); a `%` without two
/// hex digits after it stays as it is, as Python's `unquote` has it. Bytes that are not UTF-8
/// make the whole of it one U+FFFD (Python replaces each bad sequence: nothing here is text that
/// could survive either, a token, a name or a credential).
pub fn decode(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let byte = match text[i] {
            b'+' => b' ',
            b'%' => match escaped(text, i) {
                Some(byte) => {
                    i += 2;
                    byte
                }
                None => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| "\u{fffd}".to_owned())
}

/// The byte `%XX` at `at` stands for, if it is one.
fn escaped(text: &[u8], at: usize) -> Option<u8> {
    Some(hex_digit(*text.get(at + 1)?)? << 4 | hex_digit(*text.get(at + 2)?)?)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// A body's `(name, value)` pairs, decoded, in order: empty pieces (`a=1&&b=2`) are skipped and
/// a piece without `=` is a name with an empty value (Django keeps blank values).
pub fn pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    body.split(|byte| *byte == b'&').filter(|piece| !piece.is_empty()).map(|piece| {
        match piece.iter().position(|byte| *byte == b'=') {
            Some(at) => (decode(&piece[..at]), decode(&piece[at + 1..])),
            None => (decode(piece), String::new()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &str) -> Vec<(String, String)> {
        pairs(body.as_bytes()).collect()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn plus_is_a_space_and_percent_escapes_are_bytes() {
        assert_eq!(decode(b"a+b"), "a b");
        assert_eq!(decode(b"a%2Bb%2bc"), "a+b+c");
        assert_eq!(decode(b"%7e%7E%20%25"), "~~ %");
        assert_eq!(decode(b"caf%C3%A9"), "café");
    }

    #[test]
    fn a_percent_sign_without_two_hex_digits_stays_as_it_is() {
        assert_eq!(decode(b"100%"), "100%");
        assert_eq!(decode(b"%4"), "%4");
        assert_eq!(decode(b"%zz%4g"), "%zz%4g");
        assert_eq!(decode(b"%%41"), "%A");
    }

    #[test]
    fn bytes_that_are_not_utf8_make_it_the_replacement_character() {
        assert_eq!(decode(b"ab%FF%C3cd"), "\u{fffd}");
        assert_eq!(decode(b"ok%00"), "ok\0");
    }

    #[test]
    fn a_body_is_pairs_split_on_ampersands_and_the_first_equals_sign() {
        assert_eq!(
            all("token=abc.def.ghi&token_type_hint=access_token"),
            [pair("token", "abc.def.ghi"), pair("token_type_hint", "access_token")]
        );
        assert_eq!(all("a=b=c"), [pair("a", "b=c")]);
        assert_eq!(all("a%3Db=c%26d"), [pair("a=b", "c&d")]);
    }

    #[test]
    fn empty_pieces_are_skipped_and_a_bare_name_has_an_empty_value() {
        assert_eq!(all(""), []);
        assert_eq!(all("&&a=1&&"), [pair("a", "1")]);
        assert_eq!(all("token&x="), [pair("token", ""), pair("x", "")]);
        assert_eq!(all("=v"), [pair("", "v")]);
    }

    #[test]
    fn a_repeated_name_is_given_every_time_in_order() {
        assert_eq!(all("t=1&t=2"), [pair("t", "1"), pair("t", "2")]);
    }
}
