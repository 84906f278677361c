//! Tencent Cloud Contact Center (CCC): see [`client`].

mod auth;
pub mod batch;
mod client;
pub mod errors;
pub mod fields;
pub mod limits;
pub mod sign;
pub mod skills;
pub mod wire;

pub use client::{BATCH_WINDOW, Client, DEFAULT_ENDPOINT, DEFAULT_PER_MINUTE, PAGE_SIZE};
