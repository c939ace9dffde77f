//! Request bodies as DRF's JSONParser sees them: JSON objects only, with DRF's errors.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Turns a raw body into the JSON object a form reads.
///
/// As DRF does: an empty body is an empty object whatever its type; a non-empty body must be
/// `application/json` (parameters allowed) or it is 415 naming the type as sent; bad JSON is 400
/// with the parser's reason; JSON that is not an object is 400 naming Python's type for it.
pub fn parse_json_object(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let sent = content_type.unwrap_or("");
    let media_type = sent.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType(sent.to_owned()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(parse_reason(&e)))?;
    match value {
        Value::Object(map) => Ok(map),
        // DRF's serializer meets `None` before its type check.
        Value::Null => Err(ApiError::NoData),
        other => Err(ApiError::NotAnObject(python_type_name(&other))),
    }
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
            Err(ApiError::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(
            parse_json_object(Some("application/x-www-form-urlencoded"), b"a=b"),
            Err(ApiError::UnsupportedMediaType("application/x-www-form-urlencoded".into()))
        );
        assert_eq!(parse_json_object(None, b"{}"), Err(ApiError::UnsupportedMediaType(String::new())));
    }

    #[test]
    fn malformed_json_is_a_parse_error_with_a_reason() {
        let Err(ApiError::MalformedJson(reason)) = parse_json_object(JSON, b"{\"email\": ") else {
            panic!("expected a parse error")
        };
        assert!(reason.starts_with("EOF while parsing"), "{reason}");
        assert!(matches!(parse_json_object(JSON, b"{'a': 1}"), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json_object(JSON, b"{} trailing"), Err(ApiError::MalformedJson(_))));
    }

    #[test]
    fn json_that_is_not_an_object_names_python_s_type() {
        for (body, kind) in
            [(&b"[1, 2]"[..], "list"), (b"\"text\"", "str"), (b"42", "int"), (b"4.2", "float"), (b"true", "bool")]
        {
            assert_eq!(parse_json_object(JSON, body), Err(ApiError::NotAnObject(kind)));
        }
    }

    #[test]
    fn a_json_null_is_no_data_as_drf_says() {
        assert_eq!(parse_json_object(JSON, b"null"), Err(ApiError::NoData));
        assert_eq!(ApiError::NoData.into_reply().body, serde_json::json!({"non_field_errors": ["No data provided"]}));
    }
}
