//! Lenient decoding of Ozonetel response bodies into a success [`Reply`] or a classified
//! [`VendorError`].
//!
//! Ozonetel's bodies are inconsistent across and within endpoints: `status`
//! or `Status`, holding `"success"`, `"Success"`, `"false"`, `"error"` or `"Fail"`; `message`,
//! `Message` or `messages`, holding a string, an object of field → reason, or (AgentDetails) a list.
//! HTTP status codes are undocumented. So this module looks keys up case-insensitively, accepts every
//! value type, and decides success by HTTP 2xx *and* a success status (assumed: the
//! documentation says neither). It is
//! written to never panic, whatever the bytes: a property test feeds it arbitrary input.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::connectors::{ErrorKind, VendorError};

/// Backoff after "Max limit exceeded": the vendor counts a rolling minute, so a minute and a second
/// guarantees the window has moved on.
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(61);

/// Backoff after the legacy "only 1 hit will be allowed within a time frame of 5mins" body, which the
/// token-mode AgentDetails page shows: the message itself names five minutes.
pub const LEGACY_RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(300);

/// Vendor messages are kept in errors for people to read; this bounds how much of one is kept.
const MAX_MESSAGE_CHARS: usize = 300;

/// A body Ozonetel answered with success.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The `message` / `Message` / `messages` value: a text, or for AgentDetails the list of agents.
    pub message: Option<Value>,
    /// The whole body, for endpoints with fields of their own.
    pub body: Map<String, Value>,
}

/// The value of the first key that matches one of `names`, ignoring ASCII case.
pub fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A vendor message as text: a string as is; an object of field → reason as `field: reason; ...`;
/// anything else as compact JSON. Bounded to a few hundred characters.
pub fn message_text(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| match v {
                Value::String(reason) => format!("{k}: {reason}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    bounded(text.trim())
}

fn bounded(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .by_ref()
        .take(MAX_MESSAGE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Credentials shorter than this are not searched for in messages: a one-letter test key would
/// blank every message, and a real API key or token is far longer.
const MIN_REDACTED_LEN: usize = 6;

/// `error` with every occurrence of the given secrets in its message and code replaced by
/// `[redacted]`. The decoders keep only the documented message fields, but a gateway or a
/// misconfigured endpoint may still put the request's `apiKey` header into one of them.
pub fn redacted(mut error: VendorError, secrets: &[Option<&str>]) -> VendorError {
    for secret in secrets.iter().flatten().filter(|s| s.len() >= MIN_REDACTED_LEN) {
        if error.message.contains(secret) {
            error.message = error.message.replace(secret, "[redacted]");
        }
        if let Some(code) = error.code.as_mut().filter(|c| c.contains(secret)) {
            *code = code.replace(secret, "[redacted]");
        }
    }
    error
}

/// Decodes a response of any endpoint but generateToken.
pub fn decode(http_status: u16, body: &[u8]) -> Result<Reply, VendorError> {
    let Some(object) = json_object(body) else {
        return Err(unreadable(http_status, body));
    };
    let status = field(&object, &["status"]).map(status_text);
    let success = status
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("success"));
    if success && is_2xx(http_status) {
        return Ok(Reply {
            message: field(&object, &["message", "messages"]).cloned(),
            body: object,
        });
    }
    Err(error_from(http_status, status.as_deref(), &object))
}

/// Decodes a generateToken response: `{"token": "<JWT>", "message": ""}` on success (it carries no
/// status), one of the usual error bodies otherwise.
pub fn decode_token(http_status: u16, body: &[u8]) -> Result<SecretString, VendorError> {
    let Some(object) = json_object(body) else {
        return Err(unreadable(http_status, body));
    };
    if is_2xx(http_status)
        && let Some(Value::String(token)) = field(&object, &["token"])
        && !token.trim().is_empty()
    {
        return Ok(SecretString::from(token.trim().to_string()));
    }
    let status = field(&object, &["status"]).map(status_text);
    Err(error_from(http_status, status.as_deref(), &object))
}

fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

fn status_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a vendor message means, when it means something specific.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// The shared error kind.
    pub kind: ErrorKind,
    /// A stable code for the message family, kept in the error.
    pub code: &'static str,
    /// How long to wait before trying again, where the message implies it.
    pub retry_after: Option<Duration>,
    /// A hint for people, appended to the vendor's message.
    pub hint: Option<&'static str>,
}

impl Class {
    const fn new(kind: ErrorKind, code: &'static str) -> Self {
        Class {
            kind,
            code,
            retry_after: None,
            hint: None,
        }
    }
}

/// Code of "Invalid Token": the token was revoked by a newer one (or never valid).
pub const INVALID_TOKEN: &str = "InvalidToken";
/// Code of "Token Expired".
pub const TOKEN_EXPIRED: &str = "TokenExpired";
/// Code of "Max limit exceeded" and the legacy five-minute message.
pub const MAX_LIMIT_EXCEEDED: &str = "MaxLimitExceeded";

/// Maps each documented message family to the shared error kinds.
/// `None`: the message is not one of them; the caller decides by HTTP status, else it is a validation
/// error.
pub fn classify(message: &str) -> Option<Class> {
    let m = message.to_ascii_lowercase();
    let has = |needle: &str| m.contains(needle);
    let class = if has("max limit exceeded") {
        Class {
            retry_after: Some(RATE_LIMIT_BACKOFF),
            ..Class::new(ErrorKind::RateLimited, MAX_LIMIT_EXCEEDED)
        }
    } else if has("only 1 hit") || has("time frame of 5") {
        Class {
            retry_after: Some(LEGACY_RATE_LIMIT_BACKOFF),
            ..Class::new(ErrorKind::RateLimited, MAX_LIMIT_EXCEEDED)
        }
    } else if has("token expired") {
        Class::new(ErrorKind::Credentials, TOKEN_EXPIRED)
    } else if has("invalid token") {
        Class::new(ErrorKind::Credentials, INVALID_TOKEN)
    } else if has("token should not be") || has("missing token") {
        Class {
            hint: Some(
                "the account expects a token: set spec.ozonetel.authMode to Token if its API Authentication is TOKEN_AUTH",
            ),
            ..Class::new(ErrorKind::Credentials, "MissingToken")
        }
    } else if has("api key should not be null") {
        // Documented as the answer to a token-mode call on a BASIC_AUTH account.
        Class {
            hint: Some(
                "the account may use BASIC_AUTH: check spec.ozonetel.authMode and the apiKey in the Secret",
            ),
            ..Class::new(ErrorKind::Credentials, "ApiKeyMissing")
        }
    } else if has("invalid user details")
        || has("username or apikey")
        || has("username is null")
        || has("username should not be empty")
        || has("apikey should not be empty")
        || has("invalid apikey")
        || has("missing apikey")
        || has("authentication failed")
    {
        Class::new(ErrorKind::Credentials, "InvalidUserDetails")
    } else if has("agent not found") || has("invalid agent details") || has("already deleted") {
        Class::new(ErrorKind::NotFound, "AgentNotFound")
    } else if has("already exist") || (has("agent") && has("exist") && !negated_existence(&m)) {
        // The doc's ASSUMPTION: a create error that mentions an existing agent. A skill or group that
        // "does not exist" is a validation error, not a duplicate.
        Class::new(ErrorKind::AlreadyExists, "AgentAlreadyExists")
    } else {
        return None;
    };
    Some(class)
}

fn negated_existence(m: &str) -> bool {
    ["not exist", "doesn't exist", "does not exist", "no longer exist"]
        .iter()
        .any(|n| m.contains(n))
}

fn error_from(http_status: u16, status: Option<&str>, object: &Map<String, Value>) -> VendorError {
    let message = field(object, &["message", "messages"])
        .map(message_text)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| match status {
            Some(s) => format!("status {}", bounded(s)),
            None => "no status and no message".to_string(),
        });
    let with_http = if is_2xx(http_status) {
        message.clone()
    } else {
        format!("{message} (HTTP {http_status})")
    };
    if let Some(class) = classify(&message) {
        let text = match class.hint {
            Some(hint) => format!("{with_http}; {hint}"),
            None => with_http,
        };
        let mut e = VendorError::new(class.kind, text).with_code(class.code);
        if let Some(after) = class.retry_after {
            e = e.with_retry_after(after);
        }
        return e;
    }
    by_http_status(http_status, with_http)
}

/// Errors whose message says nothing specific: the HTTP status decides, else the vendor refused the
/// request as invalid (a validation error).
fn by_http_status(http_status: u16, message: String) -> VendorError {
    match http_status {
        401 | 403 => VendorError::new(ErrorKind::Credentials, message).with_code("Unauthorized"),
        429 => VendorError::new(ErrorKind::RateLimited, message)
            .with_code(MAX_LIMIT_EXCEEDED)
            .with_retry_after(RATE_LIMIT_BACKOFF),
        408 | 500..=599 => VendorError::transient(message).with_code(format!("HTTP{http_status}")),
        _ => VendorError::new(ErrorKind::Rejected, message).with_code("Rejected"),
    }
}

/// A body that is not a JSON object (a proxy's HTML page, a gateway's plain text, nothing). Its text is
/// never quoted: such a page is not the vendor's documented error and may echo the request back,
/// `apiKey` header included. Its size and the HTTP status are what a person can act on.
fn unreadable(http_status: u16, body: &[u8]) -> VendorError {
    let message = format!("non-JSON response (HTTP {http_status}, {} bytes)", body.len());
    match http_status {
        401 | 403 => VendorError::new(ErrorKind::Credentials, message).with_code("Unauthorized"),
        429 => VendorError::new(ErrorKind::RateLimited, message)
            .with_code(MAX_LIMIT_EXCEEDED)
            .with_retry_after(RATE_LIMIT_BACKOFF),
        400..=499 if http_status != 408 => {
            VendorError::new(ErrorKind::Rejected, message).with_code(format!("HTTP{http_status}"))
        }
        // 2xx with garbage, 408, 5xx: something between us and the vendor failed.
        _ => VendorError::transient(message).with_code("UnreadableResponse"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn err(status: u16, body: Value) -> VendorError {
        decode(status, body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn capitalised_success_with_a_text_message() {
        let r = decode(
            200,
            br#"{"Status":"Success","Message":"Agent Created Successfully"}"#,
        )
        .unwrap();
        assert_eq!(r.message, Some(json!("Agent Created Successfully")));
    }

    #[test]
    fn lower_case_success_with_a_list_of_agents() {
        let body = json!({"status":"success","message":[{"AgentId":"alice","AgentName":"Alice"}]});
        let r = decode(200, body.to_string().as_bytes()).unwrap();
        assert_eq!(r.message.unwrap()[0]["AgentId"], "alice");
    }

    #[test]
    fn delete_success_names_the_agent() {
        let r = decode(
            200,
            br#"{"Status":"Success","Message":"Agent alice Deleted Successfully"}"#,
        )
        .unwrap();
        assert_eq!(
            message_text(&r.message.unwrap()),
            "Agent alice Deleted Successfully"
        );
    }

    #[test]
    fn success_status_on_a_failing_http_status_is_an_error() {
        let e = err(503, json!({"status":"success","message":"ok"}));
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.message.contains("HTTP 503"), "{e}");
    }

    #[test]
    fn string_false_auth_errors_are_credentials() {
        for message in [
            "Invalid User Details",
            "userName or apiKey is Invalid",
            "Invalid userName or apiKey",
            "UserName is null",
            "userName should not be empty",
            "apiKey should not be empty",
            "Missing userName or apiKey",
            "Authentication Failed",
        ] {
            let e = err(200, json!({"status":"false","message":message,"data":null}));
            assert_eq!(e.kind, ErrorKind::Credentials, "{message}");
            assert!(!e.retryable, "{message}");
            assert!(e.is_terminal(), "{message}");
            assert!(e.message.contains(message), "{e}");
        }
    }

    #[test]
    fn token_errors_carry_their_own_codes() {
        let e = err(
            401,
            json!({"status":"false","message":"Invalid Token","data":null}),
        );
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (ErrorKind::Credentials, Some(INVALID_TOKEN))
        );
        let e = err(
            200,
            json!({"status":"false","message":"Token Expired","data":null}),
        );
        assert_eq!(e.code.as_deref(), Some(TOKEN_EXPIRED));
        let e = err(
            200,
            json!({"status":"false","message":"Token Should Not be Null or Empty.","data":null}),
        );
        assert_eq!(e.code.as_deref(), Some("MissingToken"));
        assert!(e.message.contains("authMode"), "a hint for people: {e}");
    }

    #[test]
    fn basic_mode_answer_to_a_token_call_is_a_credentials_error_with_a_hint() {
        let e = err(
            200,
            json!({"status":"false","message":"Api Key Should Not be Null or Empty.","data":null}),
        );
        assert_eq!(e.kind, ErrorKind::Credentials);
        assert!(e.message.contains("BASIC_AUTH"), "{e}");
    }

    #[test]
    fn max_limit_exceeded_is_rate_limited_for_at_least_a_minute() {
        for body in [
            json!({"status":"error","message":"Max limit exceeded"}),
            json!({"message":"Max limit exceeded","status":"error"}),
            json!({"Status":"Fail","Message":"max LIMIT exceeded"}),
        ] {
            let e = err(200, body);
            assert_eq!(e.kind, ErrorKind::RateLimited);
            assert!(e.retryable);
            assert!(e.retry_after.unwrap() >= Duration::from_secs(60));
        }
        let e = err(
            200,
            json!({"status":"error","message":"only 1 hit will be allowed within a time frame of 5mins"}),
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(e.retry_after.unwrap() >= Duration::from_secs(300));
    }

    #[test]
    fn field_validation_object_becomes_field_reason_text() {
        let e = err(
            200,
            json!({"Status":"Fail","Message":{"agentName":"Invalid agent name","password":"too short"}}),
        );
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(e.is_terminal());
        assert_eq!(e.message, "agentName: Invalid agent name; password: too short");
    }

    #[test]
    fn required_field_messages_are_validation_errors() {
        for message in [
            "Agent Name is required",
            "Password is required",
            "Email should not be null or empty",
            "Invalid email format",
        ] {
            let e = err(200, json!({"status":"error","message":message}));
            assert_eq!(e.kind, ErrorKind::Rejected, "{message}");
        }
    }

    #[test]
    fn not_found_family_including_plural_messages_key() {
        for body in [
            json!({"status":"error","message":"Agent not found"}),
            json!({"messages":"Invalid Agent Details","status":"error"}),
            json!({"status":"error","messages":"Invalid agent details or Agent is already deleted"}),
        ] {
            assert_eq!(err(200, body.clone()).kind, ErrorKind::NotFound, "{body}");
        }
    }

    #[test]
    fn existing_agent_is_already_exists_but_missing_skill_is_not() {
        let e = err(200, json!({"status":"error","message":"Agent Already Exists"}));
        assert_eq!(e.kind, ErrorKind::AlreadyExists);
        let e = err(
            200,
            json!({"status":"error","message":"AgentId alice exists in this account"}),
        );
        assert_eq!(e.kind, ErrorKind::AlreadyExists);
        let e = err(
            200,
            json!({"Status":"Fail","Message":{"assignSkills":"Skill for agent does not exist"}}),
        );
        assert_eq!(e.kind, ErrorKind::Rejected);
    }

    #[test]
    fn http_status_decides_unclassified_errors() {
        assert_eq!(
            err(401, json!({"status":"error","message":"nope"})).kind,
            ErrorKind::Credentials
        );
        assert_eq!(err(429, json!({"status":"error"})).kind, ErrorKind::RateLimited);
        assert_eq!(
            err(500, json!({"status":"error","message":"boom"})).kind,
            ErrorKind::Transient
        );
        assert_eq!(
            err(400, json!({"status":"error","message":"bad"})).kind,
            ErrorKind::Rejected
        );
        let e = err(200, json!({"status":"weird"}));
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Rejected, "status weird")
        );
        let e = err(200, json!({}));
        assert_eq!(e.message, "no status and no message");
    }

    #[test]
    fn non_json_bodies_are_classified_by_http_status() {
        let e = decode(503, b"injected fault: service unavailable").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(e.message, "non-JSON response (HTTP 503, 35 bytes)");
        assert_eq!(decode(200, b"<html>").unwrap_err().kind, ErrorKind::Transient);
        assert_eq!(decode(401, b"").unwrap_err().kind, ErrorKind::Credentials);
        assert_eq!(decode(404, b"not here").unwrap_err().kind, ErrorKind::Rejected);
        assert_eq!(decode(200, b"[1,2]").unwrap_err().kind, ErrorKind::Transient);
    }

    #[test]
    fn a_non_json_page_echoing_the_request_is_not_quoted() {
        let page = b"<html><body>Bad gateway. Your request:\nPOST /ca_apis/AgentDetails\napiKey: KEY-s3cr3t-123\n</body></html>";
        for status in [200, 401, 404, 429, 502] {
            let e = decode(status, page).unwrap_err();
            assert!(!e.to_string().contains("s3cr3t"), "{e}");
            assert!(!e.to_string().contains("html"), "{e}");
            assert_eq!(
                e.message,
                format!("non-JSON response (HTTP {status}, {} bytes)", page.len())
            );
            let e = decode_token(status, page).unwrap_err();
            assert!(!e.to_string().contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn secrets_echoed_into_a_message_are_redacted() {
        let e = err(
            200,
            json!({"status":"error","message":"bad header apiKey=KEY-s3cr3t-123 token=eyJtok.en"}),
        );
        let e = redacted(e, &[Some("KEY-s3cr3t-123"), Some("eyJtok.en"), None, Some("a")]);
        assert_eq!(e.message, "bad header apiKey=[redacted] token=[redacted]");
    }

    #[test]
    fn token_success_and_errors() {
        let t = decode_token(200, br#"{"token":"eyJ.abc.def","message":""}"#).unwrap();
        assert_eq!(t.expose_secret(), "eyJ.abc.def");
        let t = decode_token(200, br#"{"Token":"eyJ.x.y"}"#).unwrap();
        assert_eq!(t.expose_secret(), "eyJ.x.y");
        let e = decode_token(
            200,
            br#"{"status":"false","message":"UserName is null","data":null}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        let e = decode_token(200, br#"{"token":"","message":"Max limit exceeded"}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(decode_token(200, b"eyJ.bare.token").is_err());
    }

    #[test]
    fn long_and_control_character_messages_are_bounded() {
        let long = "x".repeat(5000) + "\n\u{0}";
        let e = err(200, json!({"status":"error","message":long}));
        assert!(e.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert!(!e.message.contains('\n'));
    }

    fn keys() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("status".to_string()),
            Just("Status".to_string()),
            Just("message".to_string()),
            Just("Message".to_string()),
            Just("messages".to_string()),
            Just("token".to_string()),
            ".{0,8}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("success".to_string()),
                Just("Max limit exceeded".to_string()),
                ".{0,40}"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(status in 0u16..1000, body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(status, &body);
            let _ = decode_token(status, &body);
        }

        #[test]
        fn never_panics_on_arbitrary_json(status in prop_oneof![Just(200u16), Just(401u16), Just(429u16), 0u16..1000], value in json_value()) {
            let body = serde_json::to_vec(&value).unwrap();
            match decode(status, &body) {
                Ok(_) => prop_assert!((200..300).contains(&status), "success only on 2xx"),
                Err(e) => prop_assert!(e.message.chars().count() <= 2 * MAX_MESSAGE_CHARS + 200),
            }
            let _ = decode_token(status, &body);
            let _ = message_text(&value);
        }
    }
}
