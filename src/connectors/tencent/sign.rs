//! TC3-HMAC-SHA256, Tencent Cloud API 3.0 request signing, as pure functions.
//!
//! Every step takes its inputs as parameters (the timestamp included) and returns text or bytes, so the
//! published vectors can check each intermediate and the simulator can verify a request with exactly the
//! code that signs it. The steps follow Tencent's "Signature v3" document:
//!
//! 1. [`canonical_request`]: method, URI, query, [`canonical_headers`], signed header names and the
//!    SHA-256 of the exact body bytes;
//! 2. [`string_to_sign`]: algorithm, timestamp, [`credential_scope`] (UTC date of the timestamp) and
//!    the SHA-256 of the canonical request;
//! 3. [`signing_key`]: `HMAC("TC3" + key, date)` → service → `tc3_request`, raw bytes at each step;
//! 4. [`signature`] and the [`authorization`] header.
//!
//! [`parse_authorization`] is the inverse of the last step, for the verifier.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The algorithm name, first word of the `Authorization` header and first line of the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The last element of the credential scope and of the key chain.
pub const TERMINATOR: &str = "tc3_request";

/// An API key pair: `SecretId` (sent in every request) and `SecretKey` (never sent, only used to sign).
#[derive(Clone)]
pub struct Credentials {
    secret_id: String,
    secret_key: SecretString,
}

impl Credentials {
    /// A key pair.
    pub fn new(secret_id: impl Into<String>, secret_key: SecretString) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key,
        }
    }

    /// The `SecretId`.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The `SecretKey`. Only the signer should read it.
    pub fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    /// Shows only the first four characters of the `SecretId` (enough to tell keys apart in a support
    /// case) and never the `SecretKey`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.secret_id.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("secret_id", &format_args!("{shown}…"))
            .field("secret_key", &format_args!("<redacted>"))
            .finish()
    }
}

/// The parts of an HTTP request that TC3 signs.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The path, `/` for every Tencent Cloud API.
    pub uri: &'a str,
    /// The canonical query string: empty for POST.
    pub query: &'a str,
    /// The signed headers as sent (name, value); at least `content-type` and `host`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact body bytes sent.
    pub payload: &'a [u8],
}

/// Lower-case hex of SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `CanonicalHeaders` and `SignedHeaders`: names and values lower-cased and trimmed, sorted by name,
/// each header followed by `\n`; the names joined by `;`. The signature document asks for lower-cased
/// values too; the SDKs only ever sign lower-case `content-type` and `host` values, so both readings
/// agree on what they send.
pub fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut lowered: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    lowered.sort();
    let canonical = lowered.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed = lowered
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// Step 1: the canonical request.
pub fn canonical_request(request: &Request<'_>) -> String {
    let (headers, signed) = canonical_headers(request.headers);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        request.uri,
        request.query,
        headers,
        signed,
        sha256_hex(request.payload)
    )
}

/// The UTC calendar date (`YYYY-MM-DD`) of a unix timestamp, as the credential scope wants it.
///
/// Computed with the days-to-civil algorithm of H. Hinnant's "chrono-compatible low-level date
/// algorithms", so the signer has no failure path for any `i64` timestamp.
pub fn utc_date(timestamp: i64) -> String {
    let z = timestamp.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `<date>/<service>/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// Step 2: the string to sign.
pub fn string_to_sign(timestamp: i64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Step 3: the signing key, `HMAC(HMAC(HMAC("TC3" + secret_key, date), service), "tc3_request")`.
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// Step 4: the hex signature of the string to sign.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(signing_key, string_to_sign.as_bytes()))
}

/// The `Authorization` header value.
pub fn authorization(secret_id: &str, scope: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// A finished `Authorization` header value. It is a credential for five minutes, so its `Debug` is
/// redacted and the client marks the header sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization(String);

impl Authorization {
    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<redacted>)")
    }
}

/// All four steps: the `Authorization` header for `request` signed at `timestamp` for `service`.
pub fn sign(
    request: &Request<'_>,
    service: &str,
    timestamp: i64,
    credentials: &Credentials,
) -> Authorization {
    let date = utc_date(timestamp);
    let scope = credential_scope(&date, service);
    let to_sign = string_to_sign(timestamp, &scope, &canonical_request(request));
    let key = signing_key(credentials.secret_key(), &date, service);
    let (_, signed_headers) = canonical_headers(request.headers);
    Authorization(authorization(
        credentials.secret_id(),
        &scope,
        &signed_headers,
        &signature(&key, &to_sign),
    ))
}

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    /// The `SecretId`.
    pub secret_id: &'a str,
    /// The credential-scope date.
    pub date: &'a str,
    /// The credential-scope service.
    pub service: &'a str,
    /// The signed header names, as listed.
    pub signed_headers: Vec<&'a str>,
    /// The hex signature.
    pub signature: &'a str,
}

/// Parses `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=<a;b>,
/// Signature=<hex>`. The three parts may come in any order and the space after each comma is optional
/// (the SDKs differ); anything else malformed is `None`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let (mut credential, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (name, val) = part.trim().split_once('=')?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return None,
        };
        if slot.replace(val).is_some() {
            return None;
        }
    }
    let mut scope = credential?.split('/');
    let (secret_id, date, service, terminator) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if scope.next().is_some() || terminator != TERMINATOR || secret_id.is_empty() {
        return None;
    }
    let signed_headers: Vec<&str> = signed?.split(';').collect();
    if signed_headers.iter().any(|h| h.is_empty()) {
        return None;
    }
    Some(ParsedAuthorization {
        secret_id,
        date,
        service,
        signed_headers,
        signature: sig?,
    })
}

/// Compares two signatures in time independent of where they differ.
pub fn signatures_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_matches_a_calendar_library() {
        let mut t: i64 = -5_000_000_000;
        while t < 10_000_000_000 {
            let expected = jiff::Timestamp::from_second(t)
                .unwrap()
                .strftime("%Y-%m-%d")
                .to_string();
            assert_eq!(utc_date(t), expected, "timestamp {t}");
            t += 7_777_777;
        }
        // the last second of a day belongs to that day, the next second to the next
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
    }

    #[test]
    fn canonical_headers_are_lowercased_trimmed_and_sorted() {
        let (canonical, signed) = canonical_headers(&[
            ("Host", " ccc.tencentcloudapi.com "),
            ("X-TC-Action", "CreateStaff"),
            ("Content-Type", "application/json"),
        ]);
        assert_eq!(
            canonical,
            "content-type:application/json\nhost:ccc.tencentcloudapi.com\nx-tc-action:createstaff\n"
        );
        assert_eq!(signed, "content-type;host;x-tc-action");
    }

    #[test]
    fn authorization_round_trips_through_the_parser() {
        let header = authorization("AKIDx", "2024-01-02/ccc/tc3_request", "content-type;host", "ab12");
        let parsed = parse_authorization(&header).unwrap();
        assert_eq!(
            parsed,
            ParsedAuthorization {
                secret_id: "AKIDx",
                date: "2024-01-02",
                service: "ccc",
                signed_headers: vec!["content-type", "host"],
                signature: "ab12",
            }
        );
        // Go SDK style: no space after the commas
        assert!(parse_authorization(&header.replace(", ", ",")).is_some());
    }

    #[test]
    fn malformed_authorization_headers_are_refused() {
        for bad in [
            "",
            "TC3-HMAC-SHA1 Credential=a/2024-01-01/ccc/tc3_request, SignedHeaders=host, Signature=x",
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/ccc/tc2_request, SignedHeaders=host, Signature=x",
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/ccc, SignedHeaders=host, Signature=x",
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/ccc/tc3_request, Signature=x",
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/ccc/tc3_request, SignedHeaders=host, Signature=x, Signature=y",
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/ccc/tc3_request, SignedHeaders=host;;x, Signature=x",
            "TC3-HMAC-SHA256 Credential=/2024-01-01/ccc/tc3_request, SignedHeaders=host, Signature=x",
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn any_changed_byte_changes_the_signature() {
        let creds = Credentials::new("AKIDtest", SecretString::from("key"));
        let headers = [("content-type", "application/json"), ("host", "h.example")];
        let base = Request {
            method: "POST",
            uri: "/",
            query: "",
            headers: &headers,
            payload: br#"{"SdkAppId":1}"#,
        };
        let reference = sign(&base, "ccc", 1_700_000_000, &creds);
        let other_headers = [("content-type", "application/json"), ("host", "h.example2")];
        let with_reference_rest = |request: &Request| sign(request, "ccc", 1_700_000_000, &creds);
        let variants = [
            with_reference_rest(&Request {
                payload: br#"{"SdkAppId":2}"#,
                ..base
            }),
            with_reference_rest(&Request {
                headers: &other_headers,
                ..base
            }),
            with_reference_rest(&Request {
                method: "GET",
                ..base
            }),
            sign(&base, "ccc", 1_700_000_001, &creds),
            sign(&base, "cvm", 1_700_000_000, &creds),
            sign(
                &base,
                "ccc",
                1_700_000_000,
                &Credentials::new("AKIDtest", SecretString::from("kez")),
            ),
        ];
        for v in variants {
            assert_ne!(v, reference);
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let creds = Credentials::new("AKIDsecretid0123", SecretString::from("the-secret-key"));
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("the-secret-key") && !shown.contains("AKIDsecretid0123"),
            "{shown}"
        );
        let auth = sign(
            &Request {
                method: "POST",
                uri: "/",
                query: "",
                headers: &[("host", "h")],
                payload: b"",
            },
            "ccc",
            0,
            &creds,
        );
        assert_eq!(format!("{auth:?}"), "Authorization(<redacted>)");
    }

    #[test]
    fn signature_comparison_needs_every_byte() {
        assert!(signatures_match("abcd", "abcd"));
        assert!(!signatures_match("abcd", "abce"));
        assert!(!signatures_match("abcd", "abc"));
    }
}
