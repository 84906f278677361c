//! The endpoint policy: which hosts a provider's credentials may be sent to.
//!
//! A provider's `endpoint` is written by whoever may create providers, and the operator sends Secret
//! material there (Tencent signatures, the Huawei appSecret, the Ozonetel apiKey, agent passwords). So
//! by default a provider may only talk to its own vendor's documented hosts, over HTTPS on port 443.
//! Any other origin — a proxy, a private endpoint, a simulator on loopback — must be named exactly on
//! the operator's allow-list (`ccop run --allowed-endpoints`), which only the operator's installer sets.
//!
//! Allow-list entries are exact origins, `scheme://host[:port]`. Wildcards (`*.example.com`) are not
//! supported: any host under a wildcard, including one an attacker can create, would receive
//! credentials, and the handful of real endpoints is easy to list. Plain `http://` is only accepted
//! for a loopback address (the simulators); everything else must be HTTPS.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::{ErrorKind, VendorError};
use crate::core::VendorKind;

/// The code of the error for an endpoint the policy refuses.
pub const ENDPOINT_NOT_ALLOWED: &str = "EndpointNotAllowed";

/// A vendor endpoint that passed [`checked_endpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL without a trailing slash, e.g. `https://ccc.tencentcloudapi.com`.
    pub base: String,
    /// The host (and port, when not the default) as sent in `Host`.
    pub host: String,
}

/// Which origins, beyond each vendor's documented hosts, vendor clients may talk to. The default
/// allows nothing more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    allowed: Arc<BTreeSet<Origin>>,
}

impl EndpointPolicy {
    /// The documented hosts plus exactly these origins (`scheme://host[:port]`; empty entries are
    /// skipped, so an empty `CCOP_ALLOWED_ENDPOINTS` means none). An entry that is not an origin, has
    /// a wildcard, or is plain `http://` to a host other than a loopback address is an error.
    pub fn allowing<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, String> {
        let mut policy = EndpointPolicy::default();
        for entry in entries {
            policy.allow(entry.as_ref())?;
        }
        Ok(policy)
    }

    /// Adds one origin to the allow-list (see [`EndpointPolicy::allowing`]).
    pub fn allow(&mut self, entry: &str) -> Result<(), String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Ok(());
        }
        // User info can hold a password: such an entry is refused without being echoed.
        let shown = if entry.contains('@') {
            "(an entry with user info)".to_string()
        } else {
            format!("{entry:?}")
        };
        let refuse = |why: &str| format!("allowed endpoint {shown}: {why}");
        if entry.contains('*') {
            return Err(refuse(
                "wildcards are not supported; list each origin as scheme://host[:port]",
            ));
        }
        let origin = Origin::parse(entry).map_err(|why| refuse(&why))?;
        if origin.scheme == Scheme::Http && !origin.host.is_loopback() {
            return Err(refuse(
                "plain http:// is only allowed for loopback addresses; use https://",
            ));
        }
        Arc::make_mut(&mut self.allowed).insert(origin);
        Ok(())
    }

    /// The allow-listed origins, normalised (`https://host`, `http://127.0.0.1:8080`).
    pub fn allowed(&self) -> Vec<String> {
        self.allowed.iter().map(Origin::to_string).collect()
    }

    fn allows(&self, origin: &Origin) -> bool {
        self.allowed.contains(origin)
    }
}

/// Checks a provider's endpoint against the policy: `vendor`'s documented hosts over HTTPS, or an
/// allow-listed origin. A malformed endpoint is `InvalidEndpoint`; a well-formed one the policy
/// refuses is [`ENDPOINT_NOT_ALLOWED`]. Both are terminal until the provider's spec (or the operator's
/// allow-list) changes.
pub fn checked_endpoint(
    raw: &str,
    vendor: VendorKind,
    policy: &EndpointPolicy,
) -> Result<Endpoint, VendorError> {
    let origin = Origin::parse(raw).map_err(|why| {
        // Never echo an endpoint with user info: it may carry a password.
        let shown = if raw.contains('@') {
            String::new()
        } else {
            format!(" {raw:?}")
        };
        VendorError::new(ErrorKind::Rejected, format!("endpoint{shown}: {why}")).with_code("InvalidEndpoint")
    })?;
    let refuse = |why: String| {
        VendorError::new(ErrorKind::Rejected, format!("endpoint {origin}: {why}"))
            .with_code(ENDPOINT_NOT_ALLOWED)
    };
    if !documented(vendor, &origin) && !policy.allows(&origin) {
        return Err(refuse(
            if origin.scheme == Scheme::Http && !origin.host.is_loopback() {
                "plain http:// is only allowed for loopback addresses; use https://".into()
            } else {
                format!(
                    "not a documented {vendor} endpoint ({}) and not on the operator's --allowed-endpoints list",
                    super::site(vendor).documented_hosts()
                )
            },
        ));
    }
    if origin.scheme == Scheme::Http {
        tracing::info!(
            endpoint = %origin,
            "plain HTTP accepted because the endpoint is a loopback address on the --allowed-endpoints list"
        );
    }
    Ok(Endpoint {
        base: origin.to_string(),
        host: origin.authority(),
    })
}

/// Whether `origin` is one of the API hosts `vendor` documents: HTTPS on the default port only.
fn documented(vendor: VendorKind, origin: &Origin) -> bool {
    let Host::Name(name) = &origin.host else {
        return false;
    };
    origin.scheme == Scheme::Https
        && origin.port == Scheme::Https.default_port()
        && super::site(vendor).documents_host(name)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Host {
    /// A DNS name, lower-cased.
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    fn is_loopback(&self) -> bool {
        match self {
            Host::Name(name) => name == "localhost",
            Host::V4(ip) => ip.is_loopback(),
            Host::V6(ip) => ip.is_loopback(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// `scheme://host:port`, normalised so that spellings of the same origin compare equal (host case,
/// an explicit default port, one trailing slash).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Origin {
    scheme: Scheme,
    host: Host,
    port: u16,
}

impl Origin {
    /// Parses an origin strictly: anything a URL parser could read differently from this code (user
    /// info, paths, percent-escapes, numeric host forms such as `127.1`) is refused rather than
    /// interpreted.
    fn parse(raw: &str) -> Result<Origin, String> {
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| "must start with https://".to_string())?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return Err("must start with https://".into()),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err("must be scheme://host[:port] with no user info".into());
        }
        if authority.is_empty()
            || authority
                .chars()
                .any(|c| matches!(c, '/' | '?' | '#' | '\\' | '%') || !c.is_ascii_graphic())
        {
            return Err("must be scheme://host[:port] with no path, query or escapes".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (inside, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| "an IPv6 address needs its closing ]".to_string())?;
                let ip = inside
                    .parse::<Ipv6Addr>()
                    .map_err(|_| "not an IPv6 address between [ and ]".to_string())?;
                (Host::V6(ip), after)
            }
            None => {
                let end = authority.find(':').unwrap_or(authority.len());
                let (host, after) = authority.split_at(end);
                (parse_host(host)?, after)
            }
        };
        let port = match port {
            "" => scheme.default_port(),
            _ => port
                .strip_prefix(':')
                .filter(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| "the port must be a number from 1 to 65535".to_string())?,
        };
        Ok(Origin { scheme, host, port })
    }

    /// `host[:port]`, the port left out when it is the scheme's default.
    fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// A dotted-quad IPv4 address or a DNS name of letters, digits and inner hyphens. A name whose last
/// label is numeric is refused: URL parsers read `127.1` or `0x7f.1` as IPv4 addresses.
fn parse_host(host: &str) -> Result<Host, String> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::V4(ip));
    }
    let name = host.to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric_last = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) || numeric_last {
        return Err("the host must be a DNS name or an IP address".into());
    }
    Ok(Host::Name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, vendor: VendorKind, policy: &EndpointPolicy) -> Result<Endpoint, String> {
        checked_endpoint(raw, vendor, policy).map_err(|e| e.to_string())
    }

    fn by_default(raw: &str, vendor: VendorKind) -> Result<Endpoint, String> {
        check(raw, vendor, &EndpointPolicy::default())
    }

    // Each vendor's documented hosts are tested in its own `site.rs`.

    #[test]
    fn malformed_endpoints_and_user_info_are_refused_without_echoing_user_info() {
        for raw in [
            "ccc.tencentcloudapi.com",
            "ftp://ccc.tencentcloudapi.com",
            "https://ccc.tencentcloudapi.com/path",
            "https://ccc.tencentcloudapi.com?x=1",
            "https://ccc.tencentcloudapi.com#x",
            "https://ccc%2etencentcloudapi.com",
            "https://ccc.tencentcloudapi.com\\@evil.example",
            "https://ccc.tencentcloudapi.com:0",
            "https://ccc.tencentcloudapi.com:65536",
            "https://ccc.tencentcloudapi.com:+443",
            "https://ccc.tencentcloudapi.com:",
            "https:// ccc.tencentcloudapi.com",
            "https://[::1",
            "https://",
            "http://127.1",
            "http://0x7f.0.0.1",
        ] {
            let e = by_default(raw, VendorKind::Tencent).expect_err(raw);
            assert!(e.starts_with("InvalidEndpoint: "), "{raw}: {e}");
        }
        for raw in [
            "https://user:hunter2@ccc.tencentcloudapi.com",
            "https://ccc.tencentcloudapi.com@evil.example",
        ] {
            let e = by_default(raw, VendorKind::Tencent).expect_err(raw);
            assert!(
                e.contains("no user info") && !e.contains("hunter2") && !e.contains("evil"),
                "{e}"
            );
        }
    }

    #[test]
    fn loopback_and_private_hosts_need_the_allow_list() {
        for raw in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "https://[::1]:8443",
            "https://10.0.0.1",
            "https://proxy.internal.example",
        ] {
            let e = by_default(raw, VendorKind::Huawei).expect_err(raw);
            assert!(e.contains("--allowed-endpoints"), "{raw}: {e}");
        }
        let policy = EndpointPolicy::allowing([
            "http://127.0.0.1:8080",
            "http://[::1]:9000/",
            "https://Proxy.Internal.Example",
        ])
        .unwrap();
        assert_eq!(
            check("http://127.0.0.1:8080", VendorKind::Huawei, &policy).unwrap(),
            Endpoint {
                base: "http://127.0.0.1:8080".into(),
                host: "127.0.0.1:8080".into()
            }
        );
        assert!(check("http://[::1]:9000", VendorKind::Tencent, &policy).is_ok());
        assert!(
            check(
                "https://proxy.internal.example:443/",
                VendorKind::Ozonetel,
                &policy
            )
            .is_ok()
        );
        // Exactly the listed origins: not another port, scheme or spelling of the address.
        for raw in [
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://127.0.0.2:8080",
            "https://proxy.internal.example:8443",
            "https://other.internal.example",
        ] {
            let e = check(raw, VendorKind::Huawei, &policy).expect_err(raw);
            assert!(e.starts_with("EndpointNotAllowed: "), "{raw}: {e}");
        }
        assert_eq!(
            policy.allowed(),
            [
                "http://127.0.0.1:8080",
                "http://[::1]:9000",
                "https://proxy.internal.example"
            ]
        );
    }

    #[test]
    fn plain_http_is_refused_outside_loopback_even_on_the_allow_list() {
        for entry in [
            "http://10.0.0.1",
            "http://service.besclouds.com",
            "http://localhost.example.com",
        ] {
            let e = EndpointPolicy::allowing([entry]).expect_err(entry);
            assert!(e.contains("only allowed for loopback"), "{e}");
        }
        let e = by_default("http://203.0.113.10", VendorKind::Tencent).unwrap_err();
        assert_eq!(
            e,
            "EndpointNotAllowed: endpoint http://203.0.113.10: plain http:// is only allowed for loopback addresses; use https://"
        );
    }

    #[test]
    fn allow_list_entries_are_exact_origins() {
        assert_eq!(
            EndpointPolicy::allowing(["", " "]).unwrap(),
            EndpointPolicy::default()
        );
        for entry in [
            "https://*.example.com",
            "*",
            "https://example.com/api",
            "example.com",
            "https://example.com:99999",
        ] {
            assert!(EndpointPolicy::allowing([entry]).is_err(), "{entry}");
        }
        let e = EndpointPolicy::allowing(["https://me:s3cret@example.com"]).unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
