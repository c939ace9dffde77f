//! Request bodies as DRF's JSONParser sees them: JSON objects only, with DRF's errors (and, for
//! token introspection alone, form bodies as its FormParser sees them).

use serde_json::{Map, Value};

use crate::domain::urlencoded::pairs;

/// Why a body cannot be read as a JSON object; `crate::error` words each as DRF does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Over the configured limit (declared or as read).
    TooLarge,
    /// A non-empty body that is not `application/json`; carries the type as sent.
    UnsupportedMediaType(String),
    /// Not JSON; carries the parser's reason (no input echoed).
    Malformed(String),
    /// JSON `null`.
    NoData,
    /// JSON but not an object; carries Python's type name (`list`, `str`, `int`…).
    NotAnObject(&'static str),
}

/// A request body gathered chunk by chunk, never holding more than the limit.
///
/// A body that declares a `Content-Length` over the limit is refused before anything is read;
/// one without (chunked) is refused by the first chunk that takes it over, so the caller stops
/// reading there instead of buffering the rest.
#[derive(Debug)]
pub struct LimitedBody {
    limit: usize,
    bytes: Vec<u8>,
    /// Whether the request declared a (valid, within the limit) length.
    declared: bool,
}

/// How much of a refused body is still read (and dropped) before the 413 goes out. A client
/// still sending when the answer comes sees its connection reset instead of the 413 (a browser's
/// `fetch` rejects with a network error), so a body that declared a length a little over the
/// limit is drained; past this, or without a declared length (chunked: it could be endless, and
/// its sender may be waiting for the answer), the connection is cut: reading everything sent is
/// what the limit exists to avoid.
pub const DRAIN_BYTES: usize = 1 << 20;

/// Whether a refused body is drained: only one whose declared length is within `DRAIN_BYTES`.
pub fn drain_refused(content_length: Option<&str>) -> bool {
    content_length.and_then(|len| len.trim().parse::<u64>().ok()).is_some_and(|len| len <= DRAIN_BYTES as u64)
}

impl LimitedBody {
    /// Starts a body, refusing it unread when its `Content-Length` is over `limit`. A length
    /// that is not a number is ignored here: the limit still holds while reading.
    pub fn new(limit: usize, content_length: Option<&str>) -> Result<LimitedBody, BodyError> {
        let declared = content_length.and_then(|len| len.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(BodyError::TooLarge);
        }
        // Reserve what was declared (it is within the limit), nothing for a chunked body.
        let capacity = declared.map_or(0, |len| len as usize);
        Ok(LimitedBody { limit, bytes: Vec::with_capacity(capacity), declared: declared.is_some() })
    }

    /// Whether the request declared its length (a number within the limit): the runtime's
    /// framing then holds the body to it, and it can be read in one call.
    pub fn declared(&self) -> bool {
        self.declared
    }

    /// Appends a chunk, or refuses the body when the chunk takes it over the limit (nothing of
    /// that chunk is kept).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        if chunk.len() > self.limit - self.bytes.len() {
            return Err(BodyError::TooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// As DRF's parser negotiation: a non-empty body must be `application/json` (parameters allowed),
/// or it is 415 naming the type as sent.
pub fn require_json(content_type: Option<&str>, body: &[u8]) -> Result<(), BodyError> {
    if body.is_empty() || media_type(content_type).eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(BodyError::UnsupportedMediaType(content_type.unwrap_or("").to_owned()))
    }
}

/// Turns a raw body into the JSON object a form reads.
///
/// As DRF does: an empty body is an empty object whatever its type; a non-empty body must be
/// `application/json` (parameters allowed) or it is 415 naming the type as sent; bad JSON is 400
/// with the parser's reason; JSON that is not an object is 400 naming Python's type for it.
pub fn parse_json_object(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    require_json(content_type, body)?;
    let value: Value = serde_json::from_slice(body).map_err(|e| BodyError::Malformed(parse_reason(&e)))?;
    match value {
        Value::Object(map) => Ok(map),
        // DRF's serializer meets `None` before its type check.
        Value::Null => Err(BodyError::NoData),
        other => Err(BodyError::NotAnObject(python_type_name(&other))),
    }
}

/// The media type of a form body, which RFC 7662 has an introspection request sent as.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// As `parse_json_object`, and a form body too (DRF's `FormParser` beside its `JSONParser`): its
/// fields as strings, the last of a repeated name winning as in Django's `QueryDict`.
pub fn parse_form_or_json(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if body.is_empty() || !media_type(content_type).eq_ignore_ascii_case(FORM) {
        return parse_json_object(content_type, body);
    }
    // Inserted one by one: collecting into the map would sort (a stable sort in the wasm).
    let mut fields = Map::new();
    for (name, value) in pairs(body) {
        fields.insert(name, Value::String(value));
    }
    Ok(fields)
}

/// A `Content-Type` without its parameters.
fn media_type(content_type: Option<&str>) -> &str {
    content_type.unwrap_or("").split(';').next().unwrap_or("").trim()
}

/// serde_json's syntax error, reworded like Python's `json` module ("Expecting value: line 1
/// column 1 (char 0)" becomes "expected value at line 1 column 1"). Syntax errors never quote
/// the input, so nothing the client sent is echoed.
fn parse_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Invalid JSON".to_owned(),
    }
}

fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn a_declared_length_over_the_limit_is_refused_unread() {
        assert_eq!(LimitedBody::new(10, Some("11")).unwrap_err(), BodyError::TooLarge);
        assert_eq!(LimitedBody::new(10, Some(" 33554432 ")).unwrap_err(), BodyError::TooLarge);
        assert_eq!(LimitedBody::new(10, Some("18446744073709551615")).unwrap_err(), BodyError::TooLarge);
        assert!(LimitedBody::new(10, Some("10")).is_ok());
        assert!(LimitedBody::new(10, None).is_ok());
        // Not a number: read, and the limit is enforced on what actually arrives.
        assert!(LimitedBody::new(10, Some("lots")).is_ok());
    }

    #[test]
    fn chunks_are_gathered_up_to_exactly_the_limit() {
        let mut body = LimitedBody::new(10, None).unwrap();
        for chunk in [&b"{\"a\""[..], b"", b": 123}"] {
            body.push(chunk).unwrap();
        }
        assert_eq!(body.bytes(), b"{\"a\": 123}");
        assert_eq!(body.bytes().len(), 10);
    }

    #[test]
    fn the_chunk_that_crosses_the_limit_is_refused_and_not_kept() {
        let mut body = LimitedBody::new(10, None).unwrap();
        body.push(b"123456").unwrap();
        assert_eq!(body.push(b"12345"), Err(BodyError::TooLarge));
        assert_eq!(body.bytes(), b"123456");
        // A chunk far over the limit on its own is refused as well.
        let mut body = LimitedBody::new(10, Some("4")).unwrap();
        assert_eq!(body.push(&[b'x'; 4096]), Err(BodyError::TooLarge));
    }

    #[test]
    fn a_body_shorter_than_declared_is_still_read_against_the_limit() {
        // A lying Content-Length does not raise the limit.
        let mut body = LimitedBody::new(10, Some("2")).unwrap();
        body.push(b"1234567890").unwrap();
        assert_eq!(body.push(b"1"), Err(BodyError::TooLarge));
    }

    #[test]
    fn an_empty_body_is_an_empty_object_whatever_its_type() {
        assert_eq!(parse_json_object(Some("text/plain"), b"").unwrap(), Map::new());
        assert_eq!(parse_json_object(None, b"").unwrap(), Map::new());
    }

    #[test]
    fn a_json_object_is_accepted_with_or_without_a_charset() {
        let map = parse_json_object(Some("application/json; charset=utf-8"), br#"{"a": 1}"#).unwrap();
        assert_eq!(map["a"], 1);
        assert!(parse_json_object(Some("Application/JSON"), b"{}").is_ok());
    }

    #[test]
    fn other_content_types_are_unsupported_and_named_as_sent() {
        assert_eq!(
            parse_json_object(Some("text/plain"), b"hi"),
            Err(BodyError::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(
            parse_json_object(Some("application/x-www-form-urlencoded"), b"a=b"),
            Err(BodyError::UnsupportedMediaType("application/x-www-form-urlencoded".into()))
        );
        assert_eq!(parse_json_object(None, b"{}"), Err(BodyError::UnsupportedMediaType(String::new())));
    }

    #[test]
    fn malformed_json_is_a_parse_error_with_a_reason() {
        let Err(BodyError::Malformed(reason)) = parse_json_object(JSON, b"{\"email\": ") else {
            panic!("expected a parse error")
        };
        assert!(reason.starts_with("EOF while parsing"), "{reason}");
        assert!(matches!(parse_json_object(JSON, b"{'a': 1}"), Err(BodyError::Malformed(_))));
        assert!(matches!(parse_json_object(JSON, b"{} trailing"), Err(BodyError::Malformed(_))));
    }

    #[test]
    fn json_that_is_not_an_object_names_python_s_type() {
        for (body, kind) in
            [(&b"[1, 2]"[..], "list"), (b"\"text\"", "str"), (b"42", "int"), (b"4.2", "float"), (b"true", "bool")]
        {
            assert_eq!(parse_json_object(JSON, body), Err(BodyError::NotAnObject(kind)));
        }
    }

    #[test]
    fn a_form_body_is_read_where_forms_are_accepted() {
        let form = Some("application/x-www-form-urlencoded; charset=UTF-8");
        let map = parse_form_or_json(form, b"token=a.b%2Bc&token_type_hint=refresh_token&token=x+y").unwrap();
        assert_eq!(Value::Object(map), serde_json::json!({"token": "x y", "token_type_hint": "refresh_token"}));
        assert_eq!(parse_form_or_json(Some("Application/X-WWW-Form-Urlencoded"), b"token").unwrap()["token"], "");
        assert_eq!(parse_form_or_json(form, b"").unwrap(), Map::new());
    }

    #[test]
    fn where_forms_are_accepted_json_still_is_and_other_types_are_unsupported() {
        assert_eq!(parse_form_or_json(JSON, br#"{"token": "t"}"#).unwrap()["token"], "t");
        assert_eq!(parse_form_or_json(JSON, b"[]"), Err(BodyError::NotAnObject("list")));
        assert_eq!(
            parse_form_or_json(Some("multipart/form-data; boundary=x"), b"--x"),
            Err(BodyError::UnsupportedMediaType("multipart/form-data; boundary=x".into()))
        );
        assert_eq!(parse_form_or_json(None, b"token=t"), Err(BodyError::UnsupportedMediaType(String::new())));
    }

    #[test]
    fn a_json_null_is_no_data_as_drf_says() {
        assert_eq!(parse_json_object(JSON, b"null"), Err(BodyError::NoData));
    }

    #[test]
    fn a_refused_body_is_drained_only_when_it_declared_a_length_not_much_over_the_limit() {
        assert!(drain_refused(Some("70000")));
        assert!(drain_refused(Some(&DRAIN_BYTES.to_string())));
        assert!(!drain_refused(Some(&(DRAIN_BYTES + 1).to_string())));
        assert!(!drain_refused(Some("33554432")));
        assert!(!drain_refused(None), "chunked: cut at the limit, its sender may be waiting for the answer");
        assert!(!drain_refused(Some("soon")));
    }
}
