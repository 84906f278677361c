//! Test support that ships with the library, so the engine's unit tests, the integration tests and
//! anyone writing a new vendor share one reference: [`FakeVendor`], an in-memory vendor that honours
//! the [`Vendor`](crate::connectors::Vendor) contract and can be told to fail the way real vendors do.

pub mod fake;

pub use fake::{Answers, FakeVendor, Faults, Flaw};
