//! The vendor-neutral reconcile core: no Kubernetes client and no HTTP in here.
//!
//! ```text
//! spec ──normalize──▶ DesiredAgent ─┐
//!                                   ├─ plan ─▶ Plan (NoOp | Create | Update | Adopt | Delete | Refuse) + drift
//! vendor ───────────▶ ObservedAgent ┘
//! ```
//! Shared by the controller and the CLI, so both make exactly the same decisions. What differs between
//! vendors (keys, codes, formats, their own fields) is asked of a [`VendorModel`], which each connector
//! implements; nothing here names a vendor.

mod applied;
mod digest;
mod enabled;
mod export;
mod group;
mod model;
mod normalize;
mod password;
mod plan;
mod vendor_model;

pub use applied::*;
pub use digest::*;
pub use enabled::*;
pub use export::*;
pub use group::*;
pub use model::*;
pub use normalize::*;
pub use password::*;
pub use plan::*;
pub use vendor_model::*;
