//! HTTP hygiene shared by the vendor clients: one client per provider with timeouts and a user agent,
//! TLS verification always on, plain HTTP only to loopback (the simulators), bounded response bodies,
//! and transport errors classified without echoing URLs or headers.

use std::net::IpAddr;
use std::time::Duration;

use super::VendorError;

/// Vendor responses larger than this are refused rather than buffered.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A vendor endpoint that passed [`checked_endpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL without a trailing slash, e.g. `https://ccc.tencentcloudapi.com`.
    pub base: String,
    /// The host (and port, when not the default) as sent in `Host`.
    pub host: String,
}

/// Accepts `https://host[:port]`, or `http://` only when the host is a loopback address (the
/// simulators); anything else is a configuration error.
pub fn checked_endpoint(raw: &str) -> Result<Endpoint, VendorError> {
    let reject = |why: &str| {
        VendorError::new(super::ErrorKind::Rejected, format!("endpoint {raw:?}: {why}"))
            .with_code("InvalidEndpoint")
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| reject("must start with https://"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') || authority.contains('@') {
        return Err(reject("must be scheme://host[:port] with no path or user info"));
    }
    let host_only = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match scheme {
        "https" => {}
        "http" if is_loopback(host_only) => {
            tracing::info!(
                endpoint = raw,
                "plain HTTP accepted because the endpoint is a loopback address (a simulator)"
            );
        }
        "http" => {
            return Err(reject(
                "plain http:// is only allowed for loopback addresses; use https://",
            ));
        }
        _ => return Err(reject("must start with https://")),
    }
    Ok(Endpoint {
        base: format!("{scheme}://{authority}"),
        host: authority.to_string(),
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One `reqwest::Client` per provider: TLS verification on (never configurable off), timeouts, a user
/// agent naming the operator.
pub fn client(timeout: Duration) -> reqwest::Client {
    // The process-wide provider `main` installs; installed here too so library users and tests that
    // never run `main` get the same single provider instead of a panic. A second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("contact-center-operator/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client with a rustls provider always builds")
}

/// Classifies a transport failure. Only the error kind is kept: reqwest's message can contain the URL,
/// which carries no secret here, but it is not needed either.
pub fn transport_error(e: &reqwest::Error) -> VendorError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body could not be read"
    } else {
        "request failed"
    };
    VendorError::transient(format!("vendor request {what}")).with_code("Transport")
}

/// Reads a response body, refusing more than `limit` bytes.
pub async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, VendorError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(oversized(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(oversized(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn oversized(limit: usize) -> VendorError {
    VendorError::transient(format!("vendor response larger than {limit} bytes refused"))
        .with_code("ResponseTooLarge")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_on_loopback() {
        assert_eq!(
            checked_endpoint("https://ccc.tencentcloudapi.com/").unwrap().host,
            "ccc.tencentcloudapi.com"
        );
        assert_eq!(
            checked_endpoint("http://127.0.0.1:8080").unwrap().base,
            "http://127.0.0.1:8080"
        );
        assert!(checked_endpoint("http://localhost:1").is_ok());
        assert!(checked_endpoint("http://[::1]:9000").is_ok());
        let e = checked_endpoint("http://10.0.0.1:80").unwrap_err();
        assert!(e.message.contains("only allowed for loopback"), "{e}");
        assert!(checked_endpoint("ftp://x").is_err());
        assert!(checked_endpoint("https://host/path").is_err());
        assert!(checked_endpoint("http://user@127.0.0.1").is_err());
    }
}
