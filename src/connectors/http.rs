//! HTTP hygiene shared by the vendor clients: one client per provider with timeouts and a user agent,
//! TLS verification always on, endpoints checked by the [`EndpointPolicy`], redirects never followed,
//! bounded response bodies, and transport errors classified without echoing URLs or headers.

use std::time::Duration;

use super::VendorError;

pub use super::endpoint::{Endpoint, EndpointPolicy, checked_endpoint};

/// Vendor responses larger than this are refused rather than buffered.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// One `reqwest::Client` per provider: TLS verification on (never configurable off), redirects never
/// followed, timeouts, a user agent naming the operator.
pub fn client(timeout: Duration) -> reqwest::Client {
    // The process-wide provider `main` installs; installed here too so library users and tests that
    // never run `main` get the same single provider instead of a panic. A second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("contact-center-operator/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        // A redirect would take the request — its body (passwords, the Huawei appSecret) and headers
        // such as Ozonetel's `apiKey`, which reqwest does not strip across hosts — to a host the
        // endpoint policy never checked. `Policy::none()` would hand the 3xx back to each vendor's
        // status mapping (Tencent retries it as a server error); failing the attempt here makes every
        // vendor see the same terminal `Redirected` error from `transport_error`.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            attempt.error(RedirectRefused)
        }))
        .build()
        .expect("a reqwest client with a rustls provider always builds")
}

/// Classifies a transport failure. Only the error kind is kept: reqwest's message can contain the URL,
/// which carries no secret here, but it is not needed either.
pub fn transport_error(e: &reqwest::Error) -> VendorError {
    if e.is_redirect() {
        return redirected();
    }
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
    // The 3xx answers reqwest does not treat as redirects (no usable Location, 300, 304) reach here.
    if resp.status().is_redirection() {
        return Err(redirected());
    }
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

/// The error for a vendor endpoint answering with a redirect. Terminal: following it is never right,
/// and asking again gets the same answer. The Location is not named (it could be anything).
pub fn redirected() -> VendorError {
    VendorError::new(
        super::ErrorKind::Rejected,
        "the vendor endpoint answered with a redirect, which is never followed: credentials are only sent to the endpoint the provider names",
    )
    .with_code(REDIRECTED)
}

/// The code of [`redirected`] errors.
pub const REDIRECTED: &str = "Redirected";

/// What the redirect policy fails every redirect with.
#[derive(Debug)]
struct RedirectRefused;

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("redirects are not followed")
    }
}

impl std::error::Error for RedirectRefused {}

fn oversized(limit: usize) -> VendorError {
    VendorError::transient(format!("vendor response larger than {limit} bytes refused"))
        .with_code("ResponseTooLarge")
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A listener that counts connections and answers each with `reply`.
    fn listener(reply: String) -> (String, Arc<AtomicUsize>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(mut stream) = stream else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn a_redirect_is_a_terminal_error_and_is_not_followed() {
        let (target, reached) = listener("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".into());
        for status in [
            "301 Moved Permanently",
            "302 Found",
            "307 Temporary Redirect",
            "308 Permanent Redirect",
        ] {
            let (redirecting, _) = listener(format!(
                "HTTP/1.1 {status}\r\nLocation: {target}/stolen\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ));
            let e = match client(Duration::from_secs(5))
                .post(&redirecting)
                .header("apiKey", "not-to-be-forwarded")
                .body("{\"password\":\"x\"}")
                .send()
                .await
            {
                Err(e) => transport_error(&e),
                Ok(resp) => panic!("{status}: answered {}", resp.status()),
            };
            assert_eq!(e.code.as_deref(), Some("Redirected"), "{status}: {e}");
            assert!(e.is_terminal(), "{status}: {e:?}");
            assert!(!e.to_string().contains(&target), "{e}");
        }
        assert_eq!(reached.load(Ordering::SeqCst), 0, "a redirect was followed");
    }

    #[tokio::test]
    async fn a_3xx_without_a_location_is_refused_when_read() {
        let (url, _) = listener("HTTP/1.1 300 Multiple Choices\r\nContent-Length: 0\r\n\r\n".into());
        let resp = client(Duration::from_secs(5)).get(&url).send().await.unwrap();
        let e = read_bounded(resp, 1024).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("Redirected"));
        assert!(e.is_terminal());
    }
}
