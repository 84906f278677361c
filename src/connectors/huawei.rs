//! Huawei Cloud AICC: the [`Client`], bearer tokens and its plug into the shared call pipeline
//! ([`auth`]), [`wire`] types, [`errors`] and the documented field rules ([`validate`]).

pub mod auth;
mod client;
pub mod errors;
pub mod model;
pub mod queue_model;
pub mod site;
pub mod validate;
pub mod wire;

pub use client::{BURST, Client, DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_TOKEN_LIFETIME_SECS, PAGE_SIZE};
pub use site::DEFAULT_ENDPOINT;
