//! Ozonetel CloudAgent: the [`Client`], its API key and token policy and its plug into the shared
//! call pipeline ([`auth`]), its budgets ([`limits`]), [`wire`] bodies and [`errors`].

pub mod auth;
mod client;
pub mod errors;
pub mod limits;
pub mod model;
pub mod site;
pub mod skill_model;
pub mod wire;

pub use client::Client;
pub use errors as decode;
pub use limits::{in_periodic_check, periodic_check};
pub use site::DEFAULT_ENDPOINT;
