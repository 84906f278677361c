//! Huawei Cloud AICC: see [`client`].

pub mod auth;
mod client;
pub mod errors;
pub mod validate;
pub mod wire;

pub use client::{
    BURST, Client, DEFAULT_ENDPOINT, DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_TOKEN_LIFETIME_SECS, PAGE_SIZE,
};
