//! The platform edge's rules, the same for every endpoint: CORS, the headers every response
//! carries, and the access log line.

use serde_json::Value;

use crate::config::Config;
use crate::error::Reply;
use crate::routes::ROUTES;

/// Whether a request is a CORS preflight (answered before routing, like django-cors-headers).
pub fn is_preflight(method: &str, origin: Option<&str>, requested_method: Option<&str>) -> bool {
    method == "OPTIONS" && origin.is_some() && requested_method.is_some()
}

/// Every method any endpoint serves, and OPTIONS, alphabetically: what a preflight may ask for.
pub fn cors_methods() -> String {
    // Every `Method` and OPTIONS, already in alphabetical order (no sort in the wasm).
    ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST"]
        .into_iter()
        .filter(|name| *name == "OPTIONS" || ROUTES.iter().any(|(_, method, _)| method.as_str() == *name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub const CORS_HEADERS: &str = "authorization, content-type";

/// The answer to a preflight: 200 always; the grant only for an allowed origin.
pub fn preflight(config: &Config, origin: &str) -> Reply {
    let reply = Reply::ok(Value::Object(Default::default()));
    if !config.origin_allowed(origin) {
        return reply.with_header("Vary", "Origin");
    }
    reply
        .with_header("Access-Control-Allow-Origin", origin)
        .with_header("Access-Control-Allow-Methods", cors_methods())
        .with_header("Access-Control-Allow-Headers", CORS_HEADERS)
        // Credentials (cookies) only carry the login back-off's device cookie: no request is
        // authenticated by a cookie, so this grants an allowed origin nothing it could forge.
        .with_header("Access-Control-Allow-Credentials", "true")
        .with_header("Access-Control-Max-Age", "86400")
        .with_header("Vary", "Origin")
}

/// CORS headers for an actual (non-preflight) request.
pub fn cors_headers(config: &Config, origin: Option<&str>) -> Vec<(&'static str, String)> {
    match origin {
        Some(origin) if config.origin_allowed(origin) => {
            vec![
                ("Access-Control-Allow-Origin", origin.to_owned()),
                ("Access-Control-Allow-Credentials", "true".to_owned()),
                ("Vary", "Origin".to_owned()),
            ]
        }
        Some(_) => vec![("Vary", "Origin".to_owned())],
        None => Vec::new(),
    }
}

/// One structured log line per request. Only these fields exist, so a password or token cannot
/// reach the log by accident.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccessLog<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    /// The endpoint's route pattern (`login/`, `sessions/:id/`), `-` when no endpoint matched.
    pub route: &'a str,
    pub status: u16,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    pub client_ip: &'a str,
}

impl AccessLog<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Carried by every response.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Config {
        Config { allowed_origins: vec!["https://app.example.com".into()], ..Config::default() }
    }

    #[test]
    fn the_preflight_may_ask_for_every_method_the_route_table_serves() {
        assert_eq!(cors_methods(), "DELETE, GET, HEAD, OPTIONS, PATCH, POST");
    }

    #[test]
    fn an_allowed_origin_gets_an_exact_grant_never_a_wildcard() {
        let reply = preflight(&config(), "https://app.example.com");
        assert_eq!(reply.status, 200);
        assert!(reply.headers.contains(&("Access-Control-Allow-Origin", "https://app.example.com".to_owned())));
        assert!(reply.headers.contains(&("Access-Control-Allow-Headers", "authorization, content-type".to_owned())));
        assert!(reply.headers.contains(&("Vary", "Origin".to_owned())));
        assert!(!reply.headers.iter().any(|(_, v)| v == "*"));
    }

    #[test]
    fn a_disallowed_origin_gets_no_grant() {
        let reply = preflight(&config(), "https://evil.example.com");
        assert_eq!(reply.status, 200);
        assert!(!reply.headers.iter().any(|(name, _)| name.starts_with("Access-Control-Allow")));
        assert!(cors_headers(&config(), Some("https://evil.example.com"))
            .iter()
            .all(|(name, _)| *name != "Access-Control-Allow-Origin"));
        assert_eq!(
            cors_headers(&config(), Some("https://app.example.com"))[0],
            ("Access-Control-Allow-Origin", "https://app.example.com".to_owned())
        );
    }

    #[test]
    fn the_access_log_is_one_json_object_with_a_fixed_set_of_fields() {
        let entry = AccessLog {
            request_id: "8f3c",
            method: "POST",
            route: "login/",
            status: 200,
            duration_ms: 412,
            user_id: Some(7),
            client_ip: "203.0.113.9",
        };
        let line = entry.to_json();
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            json!({"request_id": "8f3c", "method": "POST", "route": "login/", "status": 200,
                   "duration_ms": 412, "user_id": 7, "client_ip": "203.0.113.9"})
        );
        assert!(!line.contains('\n'));
        assert!(!AccessLog { user_id: None, ..entry }.to_json().contains("user_id"));
    }

    #[test]
    fn a_preflight_needs_origin_and_requested_method() {
        assert!(is_preflight("OPTIONS", Some("https://a.b"), Some("POST")));
        assert!(!is_preflight("OPTIONS", Some("https://a.b"), None));
        assert!(!is_preflight("OPTIONS", None, Some("POST")));
        assert!(!is_preflight("POST", Some("https://a.b"), Some("POST")));
    }
}
