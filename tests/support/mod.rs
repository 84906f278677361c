//! Test support shared by the integration tests, the benchmark and the soak.
//!
//! Each test binary compiles this module on its own and uses only part of it, so unused items are
//! expected in any single binary: `dead_code` is allowed here rather than in every test file.
#![allow(dead_code)]

pub mod apiserver;
pub mod lease;
pub mod logs;
pub mod operator;
pub mod vendors;

/// Asserts, for each `(key, held, why)`, that the vendor holds the account `key` exactly when
/// `held`; `holds` looks the key up in the vendor's simulator.
pub fn assert_accounts(holds: impl Fn(&str) -> bool, expected: &[(&str, bool, &str)]) {
    for &(key, held, why) in expected {
        assert_eq!(holds(key), held, "account {key}: {why}");
    }
}

/// One YAML document, ending in `---`, for the Secret `namespace/name` whose `stringData` is the
/// flow mapping `data` (e.g. `{apiKey: "k"}`).
pub fn secret_yaml(namespace: &str, name: &str, data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\nstringData: {data}\n---\n"
    )
}

/// Polls `left` every `every` until it returns nothing, or panics after `within`, naming `what` and
/// what was still left.
pub async fn wait_until_none_left<T: std::fmt::Debug>(
    what: &str,
    within: std::time::Duration,
    every: std::time::Duration,
    mut left: impl AsyncFnMut() -> Vec<T>,
) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = left().await;
        if left.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never finished; left: {left:?}"
        );
        tokio::time::sleep(every).await;
    }
}
