//! contact-center-operator: manages contact-center agent accounts (Tencent Cloud Contact Center, Huawei
//! Cloud AICC, Ozonetel CloudAgent) from Kubernetes custom resources.
//!
//! - [`api`]: the custom resources and their admission-time validation.
//! - [`core`]: spec → desired → plan, with no Kubernetes and no HTTP.
//! - [`conditions`]: kstatus conditions.
//! - [`vendor`]: the vendor trait, its error type, and one client per vendor.
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
pub mod manifest;
pub mod metrics;
pub mod sim;
pub mod testing;
pub mod validation;
