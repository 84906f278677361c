//! The vendor-neutral reconcile core: no Kubernetes client and no HTTP in here.
//!
//! ```text
//! spec ──normalize──▶ DesiredAgent ─┐
//!                                   ├─ plan ─▶ Plan (NoOp | Create | Update | Adopt | Delete | Refuse) + drift
//! vendor ───────────▶ ObservedAgent ┘
//! ```
//! Shared by the controller and the CLI, so both make exactly the same decisions.

mod applied;
mod digest;
mod export;
mod model;
mod normalize;
mod plan;

pub use applied::*;
pub use digest::*;
pub use export::*;
pub use model::*;
pub use normalize::*;
pub use plan::*;

#[cfg(test)]
mod tests;
