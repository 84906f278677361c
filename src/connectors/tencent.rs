//! Tencent Cloud Contact Center (CCC): the [`Client`], its TC3 signing ([`sign`]; `auth` plugs it
//! into the shared call pipeline), per-action [`limits`], [`wire`] types, [`errors`] and the
//! model ↔ staff [`fields`] (call [`forwarding`] in its own module).

mod auth;
pub mod batch;
mod client;
pub mod errors;
pub mod fields;
pub mod forwarding;
pub mod groups;
pub mod limits;
pub mod model;
pub mod sign;
pub mod site;
pub mod skills;
pub mod wire;

pub use client::{BATCH_TIMING, Client, DEFAULT_PER_MINUTE, PAGE_SIZE};
pub use site::DEFAULT_ENDPOINT;
