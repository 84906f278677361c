//! Huawei AICC failures → [`VendorError`].
//!
//! Two layers decide: the HTTP status (401 unauthorised, 403 authentication failed or IP not
//! allow-listed, 429 throttled, 5xx server trouble, 400/404 a bad path or parameters), and for HTTP 200
//! the body's result code (`resultCode` on `agentAccount/*`, `returnCode` on `skill/*`), where "0" is
//! success. Huawei publishes no catalogue of failure messages ("Error Codes: None" on every page), so
//! body failures are classified by what the message says, which is as much as the documentation allows.

use std::time::Duration;

use reqwest::StatusCode;

use super::wire::{AccountResult, Action, SkillResult, TokenResponse};
use crate::connectors::pipeline::Response;
use crate::connectors::token::Minted;
use crate::connectors::{ErrorKind, VendorError};

/// Vendor messages are cut to this many characters: enough to act on, never a whole echoed body.
const MAX_MESSAGE_CHARS: usize = 300;

/// Waited after a 429 that carries no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The error for a non-200 HTTP status of a business call or the token call. `message` is the vendor's
/// text from the body, when it had one. 401 is returned as `Credentials`; the caller re-mints the token
/// once before it gives up with it.
pub fn from_status(status: StatusCode, retry_after: Option<Duration>, message: Option<&str>) -> VendorError {
    let detail = message
        .map(clip)
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let code = format!("HTTP {}", status.as_u16());
    match status.as_u16() {
        401 => VendorError::new(
            ErrorKind::Credentials,
            format!("Huawei refused the access token (unauthorised){detail}"),
        ),
        403 => VendorError::new(
            ErrorKind::Credentials,
            format!(
                "Huawei refused the request (authentication failed; check the app key, the tenant space \
                 id and that the operator's egress IP is allow-listed){detail}"
            ),
        ),
        429 => VendorError::new(
            ErrorKind::RateLimited,
            format!("Huawei throttled the request{detail}"),
        )
        .with_retry_after(crate::connectors::retry::server_wait(
            retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        )),
        500..=599 => VendorError::transient(format!("Huawei server error{detail}")),
        _ => VendorError::new(
            ErrorKind::Rejected,
            format!("Huawei rejected the request path or parameters{detail}"),
        ),
    }
    .with_code(code)
}

/// The error for a token call that Huawei answered with 400, 401 or 403: the app key or app secret is
/// wrong (or the tenant is not entitled). Terminal until the Secret changes.
pub fn token_refused(status: StatusCode, message: Option<&str>) -> VendorError {
    let detail = message
        .map(clip)
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    VendorError::new(
        ErrorKind::Credentials,
        format!("Huawei refused the appKey/appSecret when issuing an access token{detail}"),
    )
    .with_code(format!("HTTP {}", status.as_u16()))
}

/// The error for a body-level failure (`resultCode`/`returnCode` other than "0") with the vendor's
/// message.
///
/// Classification by message, in this order:
/// - "already exist" (or "exist" without a negation): the account key is taken → `AlreadyExists`;
/// - "not exist" / "not found" about the account (not about a skill queue) → `NotFound`;
/// - anything else is the vendor refusing the request → `Rejected`, terminal, with its message.
pub fn from_result(family: &str, code: &str, message: &str) -> VendorError {
    let lower = message.to_ascii_lowercase();
    let negated = lower.contains("not exist") || lower.contains("not found");
    let kind = if lower.contains("already exist") || (lower.contains("exist") && !negated) {
        ErrorKind::AlreadyExists
    } else if negated && !lower.contains("skill") {
        ErrorKind::NotFound
    } else {
        ErrorKind::Rejected
    };
    let message = if message.trim().is_empty() {
        "Huawei reported a failure without a message".to_string()
    } else {
        clip(message)
    };
    VendorError::new(kind, message).with_code(format!("{family} {code}"))
}

/// A response that could not be understood. Never echoes the body: a token response carries the token.
pub fn unreadable(action: &str) -> VendorError {
    VendorError::transient(format!(
        "Huawei {action} returned a response that is not the documented JSON"
    ))
    .with_code("UnexpectedResponse")
}

/// The vendor's message in an error body: the first string among the fields Huawei and its API
/// gateway are known to use. Only that field is kept, never the whole body.
pub fn vendor_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["resultMessage", "description", "error_msg", "errorMsg", "message"]
        .iter()
        .find_map(|k| value.get(k)?.as_str().map(clip))
}

/// Reads `Retry-After` as delta-seconds (the only form Huawei's gateway is seen to use), capped at
/// [`MAX_SERVER_WAIT`](crate::connectors::retry::MAX_SERVER_WAIT).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    crate::connectors::retry::parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

fn clip(message: &str) -> String {
    let trimmed = message.trim();
    match trimmed.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

/// The code of a 401 on a business call: the access token was refused, and one new token may fix it.
pub const UNAUTHORIZED: &str = "HTTP 401";

/// A body-level result: "0" is success, anything else a failure with the vendor's message.
pub trait BodyResult {
    /// The failure the body reports, if any.
    fn failure(&self) -> Option<VendorError>;
}

/// The failure a body's result code reports: `"0"` is success, another code a failure with the
/// body's message, and no code at all a body that is not what the API documents. `family` is the
/// code's field (`resultCode` for agent accounts, `returnCode` for skills), `call` what the body
/// answered.
pub fn result_failure(
    family: &str,
    code: Option<&str>,
    message: Option<&str>,
    call: &str,
) -> Option<VendorError> {
    match code {
        Some("0") => None,
        Some(code) => Some(from_result(family, code, message.unwrap_or_default())),
        None => Some(unreadable(&format!("{call} call (no {family})"))),
    }
}

impl BodyResult for AccountResult {
    fn failure(&self) -> Option<VendorError> {
        result_failure(
            "resultCode",
            self.result_code.as_deref(),
            self.result_message.as_deref(),
            "agentAccount",
        )
    }
}

impl BodyResult for SkillResult {
    fn failure(&self) -> Option<VendorError> {
        skill_failure(self.return_code.as_deref(), self.description.as_deref())
    }
}

/// The failure of a `skill/*` answer (queues and the skill table share the `returnCode` family).
pub fn skill_failure(return_code: Option<&str>, description: Option<&str>) -> Option<VendorError> {
    result_failure("returnCode", return_code, description, "skill")
}

/// A business call's answer: the HTTP status first, then the body's result code (an HTTP 200 can
/// still be a failure).
pub fn decode_business<T>(action: Action, response: &Response) -> Result<T, VendorError>
where
    T: serde::de::DeserializeOwned + BodyResult,
{
    if response.status != StatusCode::OK {
        return Err(from_status(
            response.status,
            retry_after(&response.headers),
            vendor_message(&response.body).as_deref(),
        ));
    }
    let parsed: T = serde_json::from_slice(&response.body).map_err(|_| unreadable(action.name()))?;
    match parsed.failure() {
        Some(e) => Err(e),
        None => Ok(parsed),
    }
}

/// `tokenByAkSk`'s answer: 400, 401 and 403 refuse the app key or secret; the token is kept for the
/// lifetime granted, never longer than `asked_secs`.
pub fn decode_token(response: &Response, asked_secs: u32) -> Result<Minted, VendorError> {
    let message = || vendor_message(&response.body);
    match response.status.as_u16() {
        200 => {}
        400 | 401 | 403 => return Err(token_refused(response.status, message().as_deref())),
        _ => {
            return Err(from_status(
                response.status,
                retry_after(&response.headers),
                message().as_deref(),
            ));
        }
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&response.body).map_err(|_| unreadable("tokenByAkSk"))?;
    let value = parsed
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unreadable("tokenByAkSk (no AccessToken)"))?;
    Ok(super::auth::minted(value, parsed.expires, asked_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_the_shared_kinds() {
        let kind = |s: u16| from_status(StatusCode::from_u16(s).unwrap(), None, None).kind;
        assert_eq!(kind(401), ErrorKind::Credentials);
        assert_eq!(kind(403), ErrorKind::Credentials);
        assert_eq!(kind(429), ErrorKind::RateLimited);
        assert_eq!(kind(500), ErrorKind::Transient);
        assert_eq!(kind(503), ErrorKind::Transient);
        assert_eq!(kind(400), ErrorKind::Rejected);
        assert_eq!(kind(404), ErrorKind::Rejected);
        assert!(from_status(StatusCode::BAD_GATEWAY, None, None).retryable);
        assert!(!from_status(StatusCode::FORBIDDEN, None, None).retryable);
    }

    #[test]
    fn throttling_carries_retry_after_with_a_default() {
        let e = from_status(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(7)), None);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = from_status(StatusCode::TOO_MANY_REQUESTS, None, Some("too many requests"));
        assert_eq!(e.retry_after, Some(DEFAULT_RETRY_AFTER));
        assert!(e.to_string().contains("too many requests"), "{e}");
    }

    #[test]
    fn body_failures_are_classified_by_message() {
        let kind = |m: &str| from_result("resultCode", "1", m).kind;
        assert_eq!(kind("the agent account already exists"), ErrorKind::AlreadyExists);
        assert_eq!(kind("userAccount exists"), ErrorKind::AlreadyExists);
        assert_eq!(kind("the agent account does not exist"), ErrorKind::NotFound);
        assert_eq!(kind("agent not found"), ErrorKind::NotFound);
        // a missing skill queue is a spec problem, not a missing account
        assert_eq!(kind("the skill queue 9 does not exist"), ErrorKind::Rejected);
        assert_eq!(kind("password does not meet the policy"), ErrorKind::Rejected);
        let e = from_result("resultCode", "1", "old password is incorrect");
        assert!(e.is_terminal());
        assert_eq!(e.to_string(), "resultCode 1: old password is incorrect");
    }

    #[test]
    fn long_vendor_messages_are_clipped() {
        let e = from_result("returnCode", "2", &"x".repeat(5000));
        assert!(e.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn error_bodies_yield_only_the_message_field() {
        assert_eq!(
            vendor_message(br#"{"resultCode":"1","resultMessage":"token expired","AccessToken":"x"}"#)
                .as_deref(),
            Some("token expired")
        );
        assert_eq!(
            vendor_message(br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication"}"#)
                .as_deref(),
            Some("Incorrect IAM authentication")
        );
        assert_eq!(vendor_message(b"<html>502</html>"), None);
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert(
            reqwest::header::RETRY_AFTER,
            "18446744073709551615".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(crate::connectors::retry::MAX_SERVER_WAIT));
    }
}
