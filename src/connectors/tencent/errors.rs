//! Tencent error codes → the shared [`ErrorKind`]s.
//!
//! Tencent answers business and authentication errors with HTTP 200 and `Response.Error.Code`; the code
//! alone decides the class. The table covers every code of Tencent's common error list and of the CCC
//! staff actions as Tencent's API reference lists them. A code nobody
//! documented is terminal ([`ErrorKind::Rejected`]) unless it is an `InternalError`: retrying a request
//! the vendor did not understand cannot help, and a terminal error shows up in status with its code.

use std::time::Duration;

use rand::Rng;

use crate::connectors::{ErrorKind, VendorError};

/// The message of `LimitExceeded.InsufficientLicense`, ahead of the vendor's own.
pub const NO_LICENCE: &str = "not enough seat licences: buy more or delete unused agents";

/// Vendor messages and codes are kept for people to read (logs, errors, conditions); this bounds how
/// much of one is kept, so a misbehaving endpoint answering with megabytes cannot flood them.
const MAX_TEXT_BYTES: usize = 512;

/// How long to wait after `RequestLimitExceeded`: the limit is per second, so about a second, spread
/// over half a second more so throttled callers do not come back in lockstep.
pub fn throttle_backoff() -> Duration {
    Duration::from_millis(1_000 + rand::rng().random_range(0..500))
}

/// The class of a Tencent error code.
pub fn kind_of(code: &str) -> ErrorKind {
    let family = code.split('.').next().unwrap_or(code);
    match code {
        "FailedOperation.DuplicatedAccount" => ErrorKind::AlreadyExists,
        // A skill group of that name exists (CreateCCCSkillGroup; UpdateCCCSkillGroup on a rename,
        // which the operator never sends): an adoption where policy allows.
        "InvalidParameterValue.SkillGroupExist" => ErrorKind::AlreadyExists,
        "InvalidParameterValue.AccountNotExist" => ErrorKind::NotFound,
        _ => match family {
            "AuthFailure" => ErrorKind::Credentials,
            "RequestLimitExceeded" => ErrorKind::RateLimited,
            "InternalError" | "ServiceUnavailable" | "ResourceUnavailable" | "ResourceInUse" => {
                ErrorKind::Transient
            }
            // Everything else, documented or not: the request itself is wrong or not allowed
            // (InvalidParameter*, MissingParameter, UnknownParameter, LimitExceeded*,
            // OperationDenied.*, UnauthorizedOperation, FailedOperation.*, InvalidAction, ...).
            _ => ErrorKind::Rejected,
        },
    }
}

/// Advice appended to the vendor's message where the code alone does not say what to do.
fn advice(code: &str) -> Option<&'static str> {
    Some(match code {
        "AuthFailure.SignatureExpire" => {
            "the request time is more than 5 minutes away from Tencent's clock: check this machine's clock (NTP)"
        }
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => {
            "the secretId in the credentials Secret is unknown to Tencent (check for a typo or a deleted key)"
        }
        "AuthFailure.SignatureFailure" => {
            "the secretKey in the credentials Secret does not match its secretId"
        }
        "InvalidParameterValue.InstanceNotExist" | "InvalidParameter.InstanceNotExist" => {
            "the provider's sdkAppId does not exist or does not belong to these credentials"
        }
        _ => return None,
    })
}

/// A classified error for a Tencent error code, message and request id.
pub fn classify(code: &str, message: &str, request_id: Option<String>) -> VendorError {
    let kind = kind_of(code);
    let message = crate::conditions::bounded(message, MAX_TEXT_BYTES);
    let mut text = if code == "LimitExceeded.InsufficientLicense" {
        format!("{NO_LICENCE} ({message})")
    } else {
        message.to_string()
    };
    if code == "AuthFailure.SignatureExpire" {
        // The vendor's text quotes the request's and the server's clocks, which change every second:
        // in a condition message that would rewrite the status at every look. The advice says it all.
        text = "the request signature expired".to_string();
    }
    if let Some(advice) = advice(code) {
        text = format!("{text}: {advice}");
    }
    let error = VendorError::new(kind, text)
        .with_code(crate::conditions::bounded(code, MAX_TEXT_BYTES))
        .with_request_id(request_id);
    if kind == ErrorKind::RateLimited {
        error.with_retry_after(throttle_backoff())
    } else {
        error
    }
}

/// Why a body could not be read as the Tencent envelope, without its content. serde's messages quote
/// the offending value (`invalid type: string "...", expected a map`), and a proxy or a misbehaving
/// endpoint may put anything there, an echoed request header included; so every quoted span is
/// replaced, and what is left (the kind of mismatch and where) is bounded.
pub fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let mut out = String::new();
    let mut quote = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            // Debug-quoted values escape their own quotes: skip the escaped character.
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => {
                out.push_str("\"…\"");
                quote = Some(c);
            }
            (None, c) => out.push(c),
        }
    }
    crate::conditions::bounded(&out, MAX_TEXT_BYTES)
}

/// A non-200 HTTP answer: Tencent answers errors with 200, so anything else comes from a proxy or an
/// overloaded front end and is worth retrying.
pub fn http_status(status: u16) -> VendorError {
    VendorError::transient(format!("Tencent answered HTTP {status}")).with_code(format!("HTTP{status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of the vendor note (common list, CCC business list, per-action lists).
    const DOCUMENTED: &[(&str, ErrorKind)] = &[
        ("FailedOperation.DuplicatedAccount", ErrorKind::AlreadyExists),
        ("InvalidParameterValue.AccountNotExist", ErrorKind::NotFound),
        ("AuthFailure.InvalidAuthorization", ErrorKind::Credentials),
        ("AuthFailure.InvalidSecretId", ErrorKind::Credentials),
        ("AuthFailure.MFAFailure", ErrorKind::Credentials),
        ("AuthFailure.SecretIdNotFound", ErrorKind::Credentials),
        ("AuthFailure.SignatureExpire", ErrorKind::Credentials),
        ("AuthFailure.SignatureFailure", ErrorKind::Credentials),
        ("AuthFailure.TokenFailure", ErrorKind::Credentials),
        ("AuthFailure.UnauthorizedOperation", ErrorKind::Credentials),
        ("RequestLimitExceeded", ErrorKind::RateLimited),
        (
            "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
            ErrorKind::RateLimited,
        ),
        ("RequestLimitExceeded.IPLimitExceeded", ErrorKind::RateLimited),
        ("RequestLimitExceeded.UinLimitExceeded", ErrorKind::RateLimited),
        ("InternalError", ErrorKind::Transient),
        ("InternalError.DBError", ErrorKind::Transient),
        ("ServiceUnavailable", ErrorKind::Transient),
        ("ResourceUnavailable", ErrorKind::Transient),
        ("ResourceInUse", ErrorKind::Transient),
        ("LimitExceeded", ErrorKind::Rejected),
        ("LimitExceeded.InsufficientLicense", ErrorKind::Rejected),
        ("LimitExceeded.BasePackageExpired", ErrorKind::Rejected),
        ("LimitExceeded.OutOfCountLimit", ErrorKind::Rejected),
        ("LimitExceeded.OutOfQuotaMaxCount", ErrorKind::Rejected),
        (
            "InvalidParameterValue.PhoneNumIsBoundOtherAccount",
            ErrorKind::Rejected,
        ),
        ("InvalidParameterValue.SkillGroupError", ErrorKind::Rejected),
        ("InvalidParameterValue.SkillGroupExist", ErrorKind::AlreadyExists),
        ("InvalidParameterValue.InstanceNotExist", ErrorKind::Rejected),
        ("InvalidParameterValue.PhoneNumInvalid", ErrorKind::Rejected),
        (
            "InvalidParameterValue.RingAllGroupMemberOverflow",
            ErrorKind::Rejected,
        ),
        ("InvalidParameterValue", ErrorKind::Rejected),
        ("InvalidParameter", ErrorKind::Rejected),
        ("InvalidParameter.InstanceNotExist", ErrorKind::Rejected),
        ("InvalidParameter.InvalidPhoneNumber", ErrorKind::Rejected),
        ("MissingParameter", ErrorKind::Rejected),
        ("UnknownParameter", ErrorKind::Rejected),
        ("OperationDenied.NotInWhiteList", ErrorKind::Rejected),
        ("OperationDenied.UinDisabled", ErrorKind::Rejected),
        ("UnauthorizedOperation", ErrorKind::Rejected),
        ("FailedOperation", ErrorKind::Rejected),
        ("FailedOperation.PermissionDenied", ErrorKind::Rejected),
        ("FailedOperation.CurStateNotAllowModify", ErrorKind::Rejected),
        ("ActionOffline", ErrorKind::Rejected),
        ("DryRunOperation", ErrorKind::Rejected),
        ("InvalidAction", ErrorKind::Rejected),
        ("InvalidRequest", ErrorKind::Rejected),
        ("IpInBlacklist", ErrorKind::Rejected),
        ("IpNotInWhitelist", ErrorKind::Rejected),
        ("NoSuchProduct", ErrorKind::Rejected),
        ("NoSuchVersion", ErrorKind::Rejected),
        ("RequestSizeLimitExceeded", ErrorKind::Rejected),
        ("ResponseSizeLimitExceeded", ErrorKind::Rejected),
        ("ResourceInsufficient", ErrorKind::Rejected),
        ("ResourceNotFound", ErrorKind::Rejected),
        ("UnsupportedOperation", ErrorKind::Rejected),
        ("UnsupportedProtocol", ErrorKind::Rejected),
        ("UnsupportedRegion", ErrorKind::Rejected),
    ];

    #[test]
    fn every_documented_code_has_its_class() {
        for (code, kind) in DOCUMENTED {
            let e = classify(code, "vendor says no", Some("req-1".into()));
            assert_eq!(e.kind, *kind, "{code}");
            assert_eq!(e.code.as_deref(), Some(*code));
            assert_eq!(e.request_id.as_deref(), Some("req-1"));
            assert_eq!(e.retryable, kind.retryable_by_default(), "{code}");
            // SignatureExpire's own text quotes clocks and is replaced (see `a_skewed_clock_is_explained`).
            if *code != "AuthFailure.SignatureExpire" {
                assert!(e.message.contains("vendor says no"), "{code}: {}", e.message);
            }
        }
    }

    #[test]
    fn credentials_and_rejections_are_terminal() {
        assert!(classify("AuthFailure.SignatureFailure", "bad", None).is_terminal());
        assert!(classify("LimitExceeded.InsufficientLicense", "no seats", None).is_terminal());
        assert!(!classify("FailedOperation.DuplicatedAccount", "dup", None).retryable);
        assert!(!classify("InvalidParameterValue.AccountNotExist", "gone", None).retryable);
    }

    #[test]
    fn throttling_waits_about_a_second() {
        let e = classify("RequestLimitExceeded", "slow down", None);
        let after = e.retry_after.unwrap();
        assert!(
            after >= Duration::from_secs(1) && after < Duration::from_millis(1_500),
            "{after:?}"
        );
    }

    #[test]
    fn licence_exhaustion_says_what_to_do() {
        let e = classify("LimitExceeded.InsufficientLicense", "seat licences used up", None);
        assert_eq!(
            e.to_string(),
            "LimitExceeded.InsufficientLicense: not enough seat licences: buy more or delete unused agents \
             (seat licences used up)"
        );
    }

    #[test]
    fn undocumented_codes_are_terminal_unless_internal() {
        assert_eq!(kind_of("SomethingNew.Entirely"), ErrorKind::Rejected);
        assert_eq!(kind_of("InternalError.Whatever"), ErrorKind::Transient);
        assert_eq!(kind_of("RequestLimitExceededX"), ErrorKind::Rejected);
    }

    #[test]
    fn a_skewed_clock_is_explained() {
        let vendor_text =
            "Signature expired. Timestamp 1796138064 is 400 seconds away from the server time 1796138464";
        let e = classify("AuthFailure.SignatureExpire", vendor_text, None);
        assert!(e.message.contains("clock"), "{}", e.message);
        // Nothing that changes from one call to the next, so a stalled agent's status stays put.
        assert!(!e.message.contains("1796138"), "{}", e.message);
    }

    #[test]
    fn malformed_bodies_are_described_without_their_values() {
        let e = serde_json::from_str::<std::collections::BTreeMap<String, u64>>(
            r#"{"Authorization": "TC3 \"quoted\" Credential=AKIDsecret"}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("AKIDsecret"),
            "serde quotes the value: {e}"
        );
        let reason = json_reason(&e);
        assert!(!reason.contains("AKIDsecret"), "{reason}");
        assert!(reason.contains("invalid type"), "{reason}");
    }

    #[test]
    fn other_http_statuses_are_transient() {
        let e = http_status(502);
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.retryable);
    }
}
