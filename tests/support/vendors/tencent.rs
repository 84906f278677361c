//! The Tencent simulator and clients of it.

use std::collections::HashMap;
use std::sync::Arc;

use ccop::api::{RateLimit, TencentProvider};
use ccop::connectors::SecretData;
use ccop::connectors::retry::RetryPolicy;
use ccop::connectors::tencent::Client;
use ccop::sim::SimServer;
use ccop::sim::tencent::{Config, Sim};
use secrecy::SecretString;
use serde_json::json;

use super::{Tap, loopback_options, quick_retries, serve_tapped, unique};

/// A Tencent simulator with an application of its own.
pub struct TencentRig {
    pub sim: Arc<Sim>,
    pub server: SimServer,
    pub tap: Arc<Tap>,
    pub config: Config,
}

impl TencentRig {
    /// A simulator with a fresh `SdkAppId` and the defaults, changed by `change`.
    pub async fn start(change: impl FnOnce(&mut Config)) -> TencentRig {
        let mut config = Config {
            sdk_app_id: 1_400_100_000 + unique(),
            ..Config::default()
        };
        change(&mut config);
        let sim = Sim::new(config.clone(), 7, 1.0);
        let (server, tap) = serve_tapped(sim.router(), sim.core.clone()).await;
        TencentRig {
            sim,
            server,
            tap,
            config,
        }
    }

    /// A client with the application's credentials and six quick retries.
    pub fn client(&self) -> Client {
        self.client_with(&self.config.secret_id, &self.config.secret_key, quick_retries(6))
    }

    /// A client with these credentials and retries.
    pub fn client_with(&self, id: &str, key: &str, retry: RetryPolicy) -> Client {
        let provider: TencentProvider = serde_json::from_value(json!({
            "endpoint": self.server.base_url(),
            "sdkAppId": self.config.sdk_app_id,
            "credentialsSecretRef": {"name": "tencent-creds"},
        }))
        .unwrap();
        let options = loopback_options(&self.server, retry);
        Client::from_provider(
            &provider,
            &RateLimit::default(),
            "tencent-creds",
            &secret_data(id, key),
            &options,
        )
        .unwrap()
    }
}

/// A Tencent credentials Secret.
pub fn secret_data(id: &str, key: &str) -> SecretData {
    SecretData(HashMap::from([
        ("secretId".to_string(), SecretString::from(id.to_string())),
        ("secretKey".to_string(), SecretString::from(key.to_string())),
    ]))
}
