//! TC3-HMAC-SHA256 against the vectors produced by the official Tencent Cloud Python SDK
//! (`tests/data/tc3-vectors.json`, checked in, so a clean clone of the repository is enough to run
//! it): every intermediate, byte for byte, so a failure names the
//! step that diverged. Then the SDK-signed requests go through the simulator's verifier: accepted as
//! sent, rejected with any byte of a signed part changed.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use ccop::connectors::tencent::sign::{self, Credentials, Request};
use ccop::sim::tencent::auth::{self, Key};
use secrecy::SecretString;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tc3-vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("the vectors file is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

/// One vector's inputs.
struct Case {
    name: String,
    secret_id: String,
    secret_key: String,
    host: String,
    service: String,
    method: String,
    content_type: String,
    query: String,
    timestamp: i64,
    body: Vec<u8>,
}

fn case(v: &Value) -> Case {
    let i = &v["inputs"];
    let body = hex::decode(s(i, "body_hex")).expect("body_hex is hex");
    assert_eq!(
        body,
        s(i, "body_utf8").as_bytes(),
        "{}: body_hex and body_utf8 agree",
        s(v, "name")
    );
    Case {
        name: s(v, "name").to_string(),
        secret_id: s(i, "secret_id").to_string(),
        secret_key: s(i, "secret_key").to_string(),
        host: s(i, "host").to_string(),
        service: s(i, "service").to_string(),
        method: s(i, "http_method").to_string(),
        content_type: s(i, "content_type").to_string(),
        query: s(i, "query_string").to_string(),
        timestamp: i["timestamp"].as_i64().expect("timestamp"),
        body,
    }
}

#[test]
fn every_vector_reproduces_every_intermediate() {
    let all = vectors();
    let list = all["vectors"].as_array().expect("vectors");
    assert!(!list.is_empty());
    for v in list {
        let c = case(v);
        let mid = &v["intermediate"];
        let headers = [
            ("content-type", c.content_type.as_str()),
            ("host", c.host.as_str()),
        ];
        let request = Request {
            method: &c.method,
            uri: "/",
            query: &c.query,
            headers: &headers,
            payload: &c.body,
        };
        assert_eq!(
            sign::sha256_hex(&c.body),
            s(mid, "hashed_request_payload"),
            "{}: payload hash",
            c.name
        );
        let canonical = sign::canonical_request(&request);
        assert_eq!(
            canonical,
            s(mid, "canonical_request"),
            "{}: canonical request",
            c.name
        );
        assert_eq!(
            sign::sha256_hex(canonical.as_bytes()),
            s(mid, "hashed_canonical_request"),
            "{}: canonical request hash",
            c.name
        );
        let date = sign::utc_date(c.timestamp);
        let scope = sign::credential_scope(&date, &c.service);
        assert_eq!(scope, s(mid, "credential_scope"), "{}: credential scope", c.name);
        let to_sign = sign::string_to_sign(c.timestamp, &scope, &canonical);
        assert_eq!(to_sign, s(mid, "string_to_sign"), "{}: string to sign", c.name);
        let signature = sign::signature(&sign::signing_key(&c.secret_key, &date, &c.service), &to_sign);
        assert_eq!(signature, s(&v["expected"], "signature"), "{}: signature", c.name);
        let credentials = Credentials::new(c.secret_id.clone(), SecretString::from(c.secret_key.clone()));
        let authorization = sign::sign(&request, &c.service, c.timestamp, &credentials);
        assert_eq!(
            authorization.as_str(),
            s(&v["expected"], "authorization"),
            "{}: Authorization",
            c.name
        );
        assert_eq!(
            authorization.as_str(),
            s(&v["expected"]["headers_sent"], "Authorization"),
            "{}: the header the SDK sent",
            c.name
        );
    }
}

#[test]
fn the_signature_documents_own_example_is_reproduced() {
    let all = vectors();
    let doc = &all["doc_example_cross_check"];
    let i = &doc["inputs"];
    let headers = [("content-type", s(i, "content_type")), ("host", s(i, "host"))];
    let request = Request {
        method: "POST",
        uri: "/",
        query: "",
        headers: &headers,
        payload: s(i, "body_utf8").as_bytes(),
    };
    let timestamp = i["timestamp"].as_i64().unwrap();
    let credentials = Credentials::new(
        s(i, "secret_id"),
        SecretString::from(s(i, "secret_key").to_string()),
    );
    let authorization = sign::sign(&request, s(i, "service"), timestamp, &credentials);
    let parsed = sign::parse_authorization(authorization.as_str()).unwrap();
    assert_eq!(parsed.signature, s(doc, "expected_signature_published_in_doc"));
    assert_eq!(parsed.date, "2019-02-25");
}

/// The request exactly as the SDK sent it.
fn sdk_request(v: &Value) -> (HeaderMap, Vec<u8>, Case) {
    let c = case(v);
    let mut headers = HeaderMap::new();
    for (name, value) in v["expected"]["headers_sent"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let body = c.body.clone();
    (headers, body, c)
}

fn verify(headers: &HeaderMap, method: &Method, uri: &str, body: &[u8], c: &Case) -> Result<u64, String> {
    let uri: Uri = uri.parse().unwrap();
    auth::verify(method, &uri, headers, body, c.timestamp as f64, |id| {
        (id == c.secret_id).then_some(Key {
            secret_key: &c.secret_key,
            sdk_app_id: 7,
        })
    })
    .map_err(|e| e.code)
}

#[test]
fn the_simulator_accepts_sdk_signed_requests_and_rejects_any_changed_byte() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let (headers, body, c) = sdk_request(v);
        let post = Method::POST;
        assert_eq!(
            verify(&headers, &post, "/", &body, &c),
            Ok(7),
            "{}: as sent by the SDK",
            c.name
        );

        // every byte of the body
        for at in 0..body.len() {
            let mut changed = body.clone();
            changed[at] ^= 0x01;
            assert_eq!(
                verify(&headers, &post, "/", &changed, &c),
                Err("AuthFailure.SignatureFailure".into()),
                "{}: body byte {at} changed",
                c.name
            );
        }
        // a byte appended or removed
        let mut longer = body.clone();
        longer.push(b' ');
        assert!(verify(&headers, &post, "/", &longer, &c).is_err());
        assert!(verify(&headers, &post, "/", &body[..body.len() - 1], &c).is_err());

        // each signed header, the timestamp, the signature, the method, path and query
        let with = |name: &str, value: &str| {
            let mut h = headers.clone();
            h.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
            h
        };
        let fail = Err("AuthFailure.SignatureFailure".to_string());
        assert_eq!(
            verify(&with("host", &format!("x{}", c.host)), &post, "/", &body, &c),
            fail
        );
        assert_eq!(
            verify(&with("content-type", "text/plain"), &post, "/", &body, &c),
            fail
        );
        let later = (c.timestamp + 1).to_string();
        assert_eq!(
            verify(&with("x-tc-timestamp", &later), &post, "/", &body, &c),
            fail
        );
        assert_eq!(verify(&headers, &Method::PUT, "/", &body, &c), fail);
        assert_eq!(verify(&headers, &post, "/x", &body, &c), fail);
        assert_eq!(verify(&headers, &post, "/?a=b", &body, &c), fail);
        let auth = headers["authorization"].to_str().unwrap();
        let last = auth.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &auth[..auth.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        assert_eq!(
            verify(&with("authorization", &flipped), &post, "/", &body, &c),
            fail
        );
        let other_id = auth.replacen(&c.secret_id, "AKIDsomebodyElse", 1);
        assert_eq!(
            verify(&with("authorization", &other_id), &post, "/", &body, &c),
            Err("AuthFailure.SecretIdNotFound".into())
        );
        let mut no_auth = headers.clone();
        no_auth.remove("authorization");
        assert_eq!(
            verify(&no_auth, &post, "/", &body, &c),
            Err("AuthFailure.InvalidAuthorization".into())
        );

        // The SDK does not sign X-TC-Action, X-TC-Region or X-TC-Language; neither does Tencent check
        // them against the signature.
        assert_eq!(
            verify(&with("x-tc-region", "ap-beijing"), &post, "/", &body, &c),
            Ok(7)
        );
        assert_eq!(
            verify(&with("x-tc-language", "en-US"), &post, "/", &body, &c),
            Ok(7)
        );

        // outside the five-minute window the signature does not matter any more
        let uri: Uri = "/".parse().unwrap();
        let lookup = |id: &str| {
            (id == c.secret_id).then_some(Key {
                secret_key: &c.secret_key,
                sdk_app_id: 7,
            })
        };
        let skewed = auth::verify(&post, &uri, &headers, &body, c.timestamp as f64 + 301.0, lookup);
        assert_eq!(skewed.unwrap_err().code, "AuthFailure.SignatureExpire");
        let edge = auth::verify(&post, &uri, &headers, &body, c.timestamp as f64 - 300.0, lookup);
        assert_eq!(edge, Ok(7), "exactly five minutes is still accepted");
    }
}

#[test]
fn requests_that_sign_more_headers_are_verified_too() {
    // The current signature document signs x-tc-action as well; a verifier must follow SignedHeaders.
    let credentials = Credentials::new("AKIDmore", SecretString::from("more-key".to_string()));
    let body = br#"{"SdkAppId":7,"StaffList":["a@example.com"]}"#;
    let signed = [
        ("content-type", "application/json; charset=utf-8"),
        ("host", "ccc.tencentcloudapi.com"),
        ("x-tc-action", "DeleteStaff"),
    ];
    let timestamp = 1_735_689_599; // 2024-12-31T23:59:59Z: the scope date is the UTC day
    let request = Request {
        method: "POST",
        uri: "/",
        query: "",
        headers: &signed,
        payload: body,
    };
    let authorization = sign::sign(&request, "ccc", timestamp, &credentials);
    assert!(authorization.as_str().contains("/2024-12-31/ccc/tc3_request"));
    assert!(
        authorization
            .as_str()
            .contains("SignedHeaders=content-type;host;x-tc-action,")
    );
    let mut headers = HeaderMap::new();
    for (n, v) in signed {
        headers.insert(n, HeaderValue::from_static(v));
    }
    headers.insert(
        "x-tc-timestamp",
        HeaderValue::from_str(&timestamp.to_string()).unwrap(),
    );
    headers.insert(
        "authorization",
        HeaderValue::from_str(authorization.as_str()).unwrap(),
    );
    let uri: Uri = "/".parse().unwrap();
    let lookup = |id: &str| {
        (id == "AKIDmore").then_some(Key {
            secret_key: "more-key",
            sdk_app_id: 7,
        })
    };
    assert_eq!(
        auth::verify(&Method::POST, &uri, &headers, body, timestamp as f64, lookup),
        Ok(7)
    );
    headers.insert("x-tc-action", HeaderValue::from_static("CreateStaff"));
    assert_eq!(
        auth::verify(&Method::POST, &uri, &headers, body, timestamp as f64, lookup)
            .unwrap_err()
            .code,
        "AuthFailure.SignatureFailure"
    );
}
