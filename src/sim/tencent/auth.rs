//! Request authentication as Tencent's API gateway does it: parse the TC3 `Authorization` header,
//! check the timestamp window, find the key, and recompute the signature from the received method,
//! path, query, signed headers and body bytes with the client's own pure signing functions
//! ([`crate::connectors::tencent::sign`]). Any byte changed in a signed part changes the signature.

use axum::http::{HeaderMap, Method, Uri};

use super::ApiError;
use crate::connectors::tencent::sign;
use crate::connectors::tencent::wire::SERVICE;

/// Largest distance between `X-TC-Timestamp` and the vendor clock: five minutes.
pub const MAX_SKEW_SECS: f64 = 300.0;

/// A key the simulator knows: its secret and the application it may use.
pub struct Key<'a> {
    /// `SecretKey`.
    pub secret_key: &'a str,
    /// The `SdkAppId` of the key's account.
    pub sdk_app_id: u64,
}

const SIGNATURE_FAILURE: &str =
    "The provided credentials could not be validated. Please check your signature is correct.";

fn signature_failure(why: &str) -> ApiError {
    ApiError::new(
        "AuthFailure.SignatureFailure",
        format!("{SIGNATURE_FAILURE} ({why})"),
    )
}

/// The request's timestamp, `X-TC-Timestamp`.
fn timestamp(headers: &HeaderMap) -> Result<i64, ApiError> {
    let raw = headers.get("x-tc-timestamp").ok_or_else(|| {
        ApiError::new(
            "MissingParameter",
            "The request is missing required parameter `X-TC-Timestamp`.",
        )
    })?;
    raw.to_str()
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                "InvalidParameterValue",
                "`X-TC-Timestamp` is not a unix time in seconds.",
            )
        })
}

/// Verifies the request's signature; the application its key may use.
pub fn verify<'k>(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: f64,
    lookup: impl FnOnce(&str) -> Option<Key<'k>>,
) -> Result<u64, ApiError> {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(sign::parse_authorization)
        .ok_or_else(|| {
            ApiError::new(
                "AuthFailure.InvalidAuthorization",
                "The Authorization header is missing or is not a TC3-HMAC-SHA256 authorization.",
            )
        })?;
    let timestamp = timestamp(headers)?;
    let skew = (timestamp as f64 - now).abs();
    if skew > MAX_SKEW_SECS {
        return Err(ApiError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp {timestamp} is {skew:.0} seconds away from the server time {:.0}; at most 300 are allowed.",
                now
            ),
        ));
    }
    let key = lookup(authorization.secret_id).ok_or_else(|| {
        ApiError::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )
    })?;
    let date = sign::utc_date(timestamp);
    if authorization.date != date || authorization.service != SERVICE {
        return Err(signature_failure(
            "the credential scope does not match the timestamp's UTC date and service ccc",
        ));
    }
    if !authorization.signed_headers.contains(&"content-type")
        || !authorization.signed_headers.contains(&"host")
    {
        return Err(signature_failure(
            "SignedHeaders must include content-type and host",
        ));
    }
    let mut signed = Vec::with_capacity(authorization.signed_headers.len());
    for name in &authorization.signed_headers {
        let value = headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| signature_failure(&format!("signed header {name} is missing")))?;
        signed.push((*name, value));
    }
    let canonical = sign::canonical_request(&sign::Request {
        method: method.as_str(),
        uri: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &signed,
        payload: body,
    });
    let scope = sign::credential_scope(&date, SERVICE);
    let to_sign = sign::string_to_sign(timestamp, &scope, &canonical);
    let expected = sign::signature(&sign::signing_key(key.secret_key, &date, SERVICE), &to_sign);
    if !sign::signatures_match(&expected, authorization.signature) {
        return Err(signature_failure("signature mismatch"));
    }
    Ok(key.sdk_app_id)
}
