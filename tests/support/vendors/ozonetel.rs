//! The Ozonetel simulator and clients of it.
//!
//! The simulator's clock can run faster where a test needs the vendor's per-minute limits (with
//! `clock_scale = 60` a vendor minute passes in a real second); the clients' limits are scaled to
//! match.

use std::sync::Arc;

use ccop::api::{CredentialsSecretRef, OzonetelAuthMode, OzonetelProvider, RateLimit};
use ccop::connectors::ozonetel::Client;
use ccop::connectors::{ClientOptions, SecretData};
use ccop::sim::SimServer;
use ccop::sim::ozonetel::{Config, Sim};
use secrecy::SecretString;

use super::{Tap, loopback_options, serve_tapped};

/// An Ozonetel simulator on a clock running `clock_scale` times real time.
pub struct OzonetelRig {
    pub sim: Arc<Sim>,
    pub server: SimServer,
    pub tap: Arc<Tap>,
}

impl OzonetelRig {
    /// A simulator with `config`.
    pub async fn start(config: Config, clock_scale: f64) -> OzonetelRig {
        let sim = Sim::new(config, 7, clock_scale);
        let (server, tap) = serve_tapped(sim.router(), sim.core.clone()).await;
        OzonetelRig { sim, server, tap }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        self.server.base_url()
    }

    /// Provider settings pointing at the simulator.
    pub fn provider(&self, mode: OzonetelAuthMode) -> OzonetelProvider {
        OzonetelProvider {
            endpoint: Some(self.base()),
            user_name: self.sim.config().user_name.clone(),
            auth_mode: mode,
            credentials_secret_ref: CredentialsSecretRef {
                name: "ozonetel-creds".into(),
            },
        }
    }

    /// A client allowed to mint tokens, whose limits keep the default headroom (4 of 5 writes, 8 of
    /// 10 reads a vendor minute) on the simulator's scaled clock.
    pub fn client(&self, mode: OzonetelAuthMode) -> Client {
        self.client_with(
            mode,
            &self.sim.config().api_key.clone(),
            &ClientOptions::minting(),
        )
    }

    /// A client with this API key and options (the loopback origin is allowed on top of them; the
    /// clone shares `may_mint_tokens` with the caller's).
    pub fn client_with(&self, mode: OzonetelAuthMode, api_key: &str, options: &ClientOptions) -> Client {
        let scale = self.sim.core.clock.scale();
        let rate = RateLimit {
            requests_per_minute: Some((4.0 * scale) as u32),
            reads_per_minute: Some((8.0 * scale) as u32),
            deletions_per_minute: None,
        };
        let options = ClientOptions {
            endpoints: loopback_options(&self.server, options.retry.clone()).endpoints,
            ..options.clone()
        };
        Client::from_provider(
            &self.provider(mode),
            &rate,
            "ozonetel-creds",
            &secret(api_key),
            &options,
        )
        .expect("client builds")
    }
}

/// An Ozonetel credentials Secret.
pub fn secret(api_key: &str) -> SecretData {
    SecretData(
        [("apiKey".to_string(), SecretString::from(api_key))]
            .into_iter()
            .collect(),
    )
}
