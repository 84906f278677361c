//! contact-center-operator: manages contact-center agent accounts (Tencent Cloud Contact Center, Huawei
//! Cloud AICC, Ozonetel CloudAgent) from Kubernetes custom resources.
//!
//! - [`api`]: the custom resources and their admission-time validation.
//! - [`core`]: spec → desired → plan, with no Kubernetes, no HTTP and no vendor names.
//! - [`conditions`]: kstatus conditions.
//! - [`kind`]: which vendor ([`VendorKind`]), shared by every layer.
//! - [`connectors`]: the vendor trait, its error type, and one connector per vendor (client and model).
//! - [`sim`]: the vendor simulators.
//! - [`metrics`]: Prometheus metrics.
//! - [`cli`]: the `ccop` command.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod conditions;
pub mod connectors;
pub mod controller;
pub mod core;
pub mod engine;
pub mod kind;
pub mod manifest;
pub mod metrics;
pub mod sim;
pub mod testing;
pub mod validation;

pub use kind::VendorKind;
