//! The Huawei simulator and clients of it.

use std::sync::Arc;

use ccop::api::{CredentialsSecretRef, HuaweiProvider, RateLimit};
use ccop::connectors::huawei::Client;
use ccop::connectors::retry::RetryPolicy;
use ccop::connectors::{ClientOptions, SecretData};
use ccop::sim::SimServer;
use ccop::sim::huawei::{Config, Sim};
use secrecy::SecretString;

use super::{Tap, loopback_options, serve_tapped, unique};

/// A Huawei simulator, its server and the provider settings that point at it.
pub struct HuaweiRig {
    pub sim: Arc<Sim>,
    pub server: SimServer,
    pub tap: Arc<Tap>,
    pub provider: HuaweiProvider,
    pub creds: SecretData,
    pub options: ClientOptions,
}

impl HuaweiRig {
    /// A simulator with `config` (app key and secret made unique by `tag`) and a provider pointing at it.
    pub async fn start(tag: &str, config: Config) -> HuaweiRig {
        let n = unique();
        let config = Config {
            app_key: format!("contract-{tag}-{n}-app-key"),
            app_secret: format!("contract-{tag}-{n}-app-secret-Qx7"),
            ..config
        };
        let creds = secret_data(&config.app_key, &config.app_secret);
        let sim = Sim::new(config, 42, 1.0);
        let (server, tap) = serve_tapped(sim.router(), sim.core.clone()).await;
        let provider = HuaweiProvider {
            endpoint: Some(server.base_url()),
            tenant_space_id: None,
            wrap_request_body: false,
            token_lifetime_seconds: None,
            credentials_secret_ref: CredentialsSecretRef {
                name: "huawei-creds".into(),
            },
        };
        let options = loopback_options(
            &server,
            RetryPolicy {
                max_attempts: 8,
                max_delay: std::time::Duration::from_secs(2),
                ..super::quick_retries(8)
            },
        );
        HuaweiRig {
            sim,
            server,
            tap,
            provider,
            creds,
            options,
        }
    }

    /// A client at 1000 requests a second, so the client-side limiter never slows a test down.
    pub fn client(&self) -> Client {
        self.client_with(&self.provider, &self.options)
    }

    /// A client for these settings and options, with the rig's credentials.
    pub fn client_with(&self, provider: &HuaweiProvider, options: &ClientOptions) -> Client {
        self.client_for(provider, options, &self.creds)
    }

    /// A client for these settings, options and credentials.
    pub fn client_for(
        &self,
        provider: &HuaweiProvider,
        options: &ClientOptions,
        creds: &SecretData,
    ) -> Client {
        let rate = RateLimit {
            requests_per_minute: Some(60_000),
            ..RateLimit::default()
        };
        Client::from_provider(provider, &rate, "huawei-creds", creds, options).expect("client builds")
    }

    /// Calls of every action the simulator has seen.
    pub fn total_calls(&self) -> u64 {
        self.sim.core.calls().values().sum()
    }
}

/// A Huawei credentials Secret.
pub fn secret_data(app_key: &str, app_secret: &str) -> SecretData {
    SecretData(
        [("appKey", app_key), ("appSecret", app_secret)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
            .collect(),
    )
}

/// A simulator without the default request-per-second limit.
pub fn unlimited() -> Config {
    Config {
        requests_per_second: 0,
        ..Config::default()
    }
}
